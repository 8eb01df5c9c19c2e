// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dlfcn.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "internal.h"
#include "thaw/hal_criu.h"
#include "util.h"

#define EXPORT __attribute__((visibility("default")))

static __thread char last_error[512];

void error_set(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	errno = saved;
}

void error_clear(void)
{
	last_error[0] = '\0';
}

/* The HAL's account of its last failure, when this HAL keeps one. */
static const char *hal_report(void)
{
	const char *(*report)(void);
	const char *s;

	*(void **)&report = dlsym(RTLD_DEFAULT, "hal_last_report");
	if (!report)
		return "";
	s = report();
	return s ?: "";
}

static void error_from_hal(const char *call)
{
	const char *why = hal_report();

	error_set("%s failed%s%s", call, *why ? ": " : "", why);
}

static const char *answer_text(struct json_object *answer, const char *key,
			       const char *fallback)
{
	struct json_object *v;

	if (!json_object_object_get_ex(answer, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return fallback;
	return json_object_get_string(v);
}

EXPORT int thaw_hook_add(thaw_before_fn before, thaw_after_fn after,
			 void *userdata)
{
	lib_init();
	return hooks_add(before, after, userdata);
}

/*
 * Asks thawd for the dump and waits for its verdict: an enum
 * thaw_checkpoint_result, or a negative errno.  The socket is closed before
 * the wait, so that nothing of it is in the image.
 */
static int checkpoint_ask(void)
{
	struct json_object *answer = NULL, *accepted;
	int r, value;

	wake_drain();

	r = request_send("{\"method\":\"checkpoint\"}", &answer);
	if (r < 0)
		return r;
	r = answer_verdict(answer, "the checkpoint");
	if (r >= 0 &&
	    json_object_object_get_ex(answer, "accepted", &accepted) &&
	    !json_object_get_boolean(accepted)) {
		error_set("thawd skipped the checkpoint: %s",
			  answer_text(answer, "reason", "no reason given"));
		r = THAW_CHECKPOINT_SKIPPED;
	} else if (r >= 0) {
		r = 1; /* accepted: the verdict comes as a signal */
	}
	json_object_put(answer);
	if (r <= 0)
		return r;

	r = wake_wait(checkpoint_timeout(), &value);
	if (r < 0) {
		error_set("thawd gave no verdict in %d s",
			  checkpoint_timeout());
		return r;
	}
	if (value == THAW_CHECKPOINT_DUMPED ||
	    value == THAW_CHECKPOINT_RESTORED)
		return value;
	if (value < 0) {
		error_set("thawd could not dump this process: %s",
			  strerror(-value));
		return -EIO;
	}
	return THAW_CHECKPOINT_SKIPPED;
}

/*
 * Has the HAL take back what it released; returns result, or -EIO in the
 * original, or -ENOTRECOVERABLE in a restored copy: there nothing is left
 * to go on with, as the resources were released by another process.
 */
static int hal_take_back(int result)
{
	if (result == THAW_CHECKPOINT_RESTORED) {
		if (HAL_CRIU_PostRestoreNotify() == 0)
			return result;
		error_from_hal("HAL_CRIU_PostRestoreNotify");
		return -ENOTRECOVERABLE;
	}

	if (HAL_CRIU_PostDumpNotify() == 0)
		return result;
	/* A failure that came first says more than this one. */
	if (result >= 0)
		error_from_hal("HAL_CRIU_PostDumpNotify");
	return result >= 0 ? -EIO : result;
}

static int checkpoint_hooked(const struct thaw_hook *hooks, size_t n)
{
	size_t first = n;
	int r;

	r = hooks_run_before(hooks, n, &first);
	if (r < 0) {
		error_set("a before-checkpoint hook refused: %s", strerror(-r));
		r = -ECANCELED;
		goto after;
	}

	if (HAL_CRIU_PreCheckpointNotify() != 0) {
		/* The HAL has taken back what it had already released. */
		error_from_hal("HAL_CRIU_PreCheckpointNotify");
		r = -ECANCELED;
		goto after;
	}

	signals_block();
	r = hal_take_back(checkpoint_ask());
after:
	hooks_run_after(hooks, n, first, r);
	return r;
}

EXPORT int thaw_checkpoint(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	_cleanup_free_ struct thaw_hook *hooks = NULL;
	const char *path = getenv("THAW_SOCKET");
	size_t n;
	int r;

	lib_init();
	error_clear();

	if (!path || !*path) {
		error_set("THAW_SOCKET is not set: not launched by thawd");
		return -ENOTCONN;
	}

	r = hooks_snapshot(&hooks, &n);
	if (r < 0)
		return r;

	pthread_mutex_lock(&lock);
	r = checkpoint_hooked(hooks, n);
	pthread_mutex_unlock(&lock);
	return r;
}

EXPORT int thaw_ready(void)
{
	struct json_object *answer;
	int r;

	lib_init();
	error_clear();

	r = request_send("{\"method\":\"ready\"}", &answer);
	if (r < 0)
		return r;
	r = answer_verdict(answer, "ready");
	json_object_put(answer);
	return r;
}

static int params_copy(struct json_object *answer, char **ret_json)
{
	struct json_object *params;
	const char *text = "{}";
	char *copy;

	if (json_object_object_get_ex(answer, "params", &params) &&
	    json_object_is_type(params, json_type_object))
		text = json_object_to_json_string_ext(params,
						      JSON_C_TO_STRING_PLAIN);
	else if (params && !json_object_is_type(params, json_type_null)) {
		error_set("thawd's launch parameters are not an object");
		return -EIO;
	}

	copy = strdup(text ?: "{}");
	if (!copy)
		return -ENOMEM;
	*ret_json = copy;
	return 0;
}

EXPORT int thaw_launch_params(char **ret_json)
{
	struct json_object *answer;
	int r;

	lib_init();
	error_clear();
	if (!ret_json)
		return -EINVAL;

	r = request_send("{\"method\":\"launchParams\"}", &answer);
	if (r < 0)
		return r == -EBADMSG ? -EIO : r;
	r = answer_verdict(answer, "launchParams");
	if (r >= 0)
		r = params_copy(answer, ret_json);
	json_object_put(answer);
	return r;
}

static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;
static int event_fd = -1;

EXPORT int thaw_launch_event_fd(void)
{
	sigset_t set;
	int r;

	lib_init();
	signals_block();

	pthread_mutex_lock(&event_lock);
	if (event_fd < 0) {
		sigemptyset(&set);
		sigaddset(&set, THAW_LAUNCH_SIGNAL);
		event_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	}
	r = event_fd >= 0 ? event_fd : negative_errno();
	pthread_mutex_unlock(&event_lock);
	return r;
}

EXPORT int thaw_launch_event_read(void)
{
	struct signalfd_siginfo si;
	int fd, count = 0;

	fd = thaw_launch_event_fd();
	if (fd < 0)
		return fd;

	for (;;) {
		ssize_t n = read(fd, &si, sizeof(si));

		if (n == (ssize_t)sizeof(si)) {
			count++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return count;
		return n < 0 ? negative_errno() : -EIO;
	}
}

EXPORT const char *thaw_last_error(void)
{
	lib_init();
	return last_error;
}

EXPORT const char *thaw_version(void)
{
	lib_init();
	return THAW_LIB_VERSION;
}
