// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libthaw without CRIU: hook order and failure rules, the requests it
 * sends and how it reads thawd's answers (a thread here plays thawd's
 * side of the socket and of the wake signal), the launch event fd, and
 * the SIGTERM handler of PID 1.  The real HAL is linked; no app resource
 * is registered with it, so its calls have nothing to do.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "thaw/hal.h"
#include "thaw/thaw.h"

/* What the hooks did, in order: "b1 b2 a2 ..." */
static char trail[256];

static void trail_add(const char *fmt, ...)
{
	size_t len = strlen(trail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(trail + len, sizeof(trail) - len, fmt, ap);
	va_end(ap);
}

static int fail_at;

static int before(void *userdata)
{
	int n = (int)(intptr_t)userdata;

	trail_add("b%d ", n);
	return n == fail_at ? -EBUSY : 0;
}

static void after(int result, void *userdata)
{
	trail_add("a%d(%d) ", (int)(intptr_t)userdata, result);
}

static int reset(void **state)
{
	hooks_reset();
	trail[0] = '\0';
	fail_at = 0;
	return 0;
}

static void add_three(void)
{
	for (intptr_t i = 1; i <= 3; i++)
		assert_int_equal(thaw_hook_add(before, after, (void *)i), 0);
}

static void test_hook_order(void **state)
{
	struct thaw_hook *h;
	size_t n, first;

	add_three();
	assert_int_equal(hooks_snapshot(&h, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(hooks_run_before(h, n, &first), 0);
	assert_int_equal(first, 0);
	hooks_run_after(h, n, first, THAW_CHECKPOINT_DUMPED);
	assert_string_equal(trail, "b3 b2 b1 a1(1) a2(1) a3(1) ");
	free(h);
}

static void test_hook_add_invalid(void **state)
{
	assert_int_equal(thaw_hook_add(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(thaw_hook_add(NULL, after, NULL), 0);
	assert_int_equal(thaw_hook_add(before, NULL, NULL), 0);
}

/* A failing before hook: no HAL call, no request, after hooks of those
 * that completed only. */
static void test_hook_failure_stops(void **state)
{
	add_three();
	fail_at = 2;
	setenv("THAW_SOCKET", "/nonexistent/thawd.sock", 1);
	assert_int_equal(thaw_checkpoint(), -ECANCELED);
	assert_string_equal(trail, "b3 b2 a3(-125) ");
	assert_non_null(strstr(thaw_last_error(), "hook"));
}

static void test_first_hook_failure(void **state)
{
	add_three();
	fail_at = 3;
	setenv("THAW_SOCKET", "/nonexistent/thawd.sock", 1);
	assert_int_equal(thaw_checkpoint(), -ECANCELED);
	assert_string_equal(trail, "b3 ");
}

static void test_not_launched_by_thawd(void **state)
{
	add_three();
	unsetenv("THAW_SOCKET");
	assert_int_equal(thaw_checkpoint(), -ENOTCONN);
	assert_string_equal(trail, "");
	assert_int_not_equal(thaw_last_error()[0], '\0');
	assert_int_equal(thaw_ready(), -ENOTCONN);
}

/* thawd's side, played by a thread: one connection, one canned answer. */
struct fake {
	char dir[64];
	char path[128];
	int listen_fd;
	const char *reply;
	bool wake;
	int wake_value;
	char got[512];
	pthread_t thread;
};

static void *fake_serve(void *userdata)
{
	struct fake *f = userdata;
	int c = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	ssize_t n, len = 0;
	char drain[64];

	if (c < 0)
		return NULL;
	while (len < (ssize_t)sizeof(f->got) - 1 &&
	       !memchr(f->got, '\n', (size_t)len)) {
		n = read(c, f->got + len, sizeof(f->got) - 1 - (size_t)len);
		if (n <= 0)
			break;
		len += n;
	}
	f->got[len] = '\0';
	if (write(c, f->reply, strlen(f->reply)) < 0 || write(c, "\n", 1) < 0)
		f->wake = false;
	/* thawd dumps only once the app has closed its end. */
	while (read(c, drain, sizeof(drain)) > 0)
		;
	close(c);
	if (f->wake)
		sigqueue(getpid(), THAW_WAKE_SIGNAL,
			 (union sigval){ .sival_int = f->wake_value });
	return NULL;
}

static void fake_start(struct fake *f, const char *reply, bool wake, int value)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(f->dir, "/tmp/thaw-libthaw-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/thawd.sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	f->reply = reply;
	f->wake = wake;
	f->wake_value = value;
	setenv("THAW_SOCKET", f->path, 1);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
	rmdir(f->dir);
}

static void test_ready(void **state)
{
	struct fake f;

	fake_start(&f, "{\"returnValue\":true}", false, 0);
	assert_int_equal(thaw_ready(), 0);
	fake_stop(&f);
	assert_string_equal(f.got, "{\"method\":\"ready\"}\n");
	assert_string_equal(thaw_last_error(), "");
}

static void test_ready_refused(void **state)
{
	struct fake f;

	fake_start(&f,
		   "{\"returnValue\":false,\"errorCode\":-1,"
		   "\"errorText\":\"not an app of thawd\"}",
		   false, 0);
	assert_int_equal(thaw_ready(), -EPERM);
	fake_stop(&f);
	assert_non_null(strstr(thaw_last_error(), "not an app of thawd"));
}

static void test_launch_params(void **state)
{
	struct fake f;
	char *json = NULL;

	fake_start(&f,
		   "{\"returnValue\":true,\"params\":{\"page\":\"tv\","
		   "\"n\":[1,2]}}",
		   false, 0);
	assert_int_equal(thaw_launch_params(&json), 0);
	fake_stop(&f);
	assert_string_equal(f.got, "{\"method\":\"launchParams\"}\n");
	assert_string_equal(json, "{\"page\":\"tv\",\"n\":[1,2]}");
	free(json);

	fake_start(&f, "{\"returnValue\":true}", false, 0);
	assert_int_equal(thaw_launch_params(&json), 0);
	fake_stop(&f);
	assert_string_equal(json, "{}");
	free(json);

	fake_start(&f, "this is no JSON", false, 0);
	assert_int_equal(thaw_launch_params(&json), -EIO);
	fake_stop(&f);

	fake_start(&f, "{\"returnValue\":true,\"params\":[1]}", false, 0);
	assert_int_equal(thaw_launch_params(&json), -EIO);
	fake_stop(&f);
	assert_int_equal(thaw_launch_params(NULL), -EINVAL);
}

static void test_checkpoint_verdicts(void **state)
{
	static const struct {
		int value, expect;
	} cases[] = {
		{ THAW_CHECKPOINT_DUMPED, THAW_CHECKPOINT_DUMPED },
		{ THAW_CHECKPOINT_RESTORED, THAW_CHECKPOINT_RESTORED },
		{ -ENOSPC, -EIO },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f;
		char want[64];

		reset(NULL);
		add_three();
		fake_start(&f, "{\"returnValue\":true,\"accepted\":true}", true,
			   cases[i].value);
		assert_int_equal(thaw_checkpoint(), cases[i].expect);
		fake_stop(&f);
		assert_string_equal(f.got, "{\"method\":\"checkpoint\"}\n");
		snprintf(want, sizeof(want), "b3 b2 b1 a1(%d) a2(%d) a3(%d) ",
			 cases[i].expect, cases[i].expect, cases[i].expect);
		assert_string_equal(trail, want);
	}
	assert_non_null(strstr(thaw_last_error(), "No space left"));
}

static void test_checkpoint_skipped(void **state)
{
	struct fake f;

	add_three();
	fake_start(&f,
		   "{\"returnValue\":true,\"accepted\":false,"
		   "\"reason\":\"checkpointing is off for the app\"}",
		   false, 0);
	assert_int_equal(thaw_checkpoint(), THAW_CHECKPOINT_SKIPPED);
	fake_stop(&f);
	assert_string_equal(trail, "b3 b2 b1 a1(0) a2(0) a3(0) ");
	assert_non_null(strstr(thaw_last_error(), "off for the app"));
}

static void test_checkpoint_timeout(void **state)
{
	struct fake f;

	setenv("THAW_CHECKPOINT_TIMEOUT", "1", 1);
	fake_start(&f, "{\"returnValue\":true,\"accepted\":true}", false, 0);
	assert_int_equal(thaw_checkpoint(), -ETIMEDOUT);
	fake_stop(&f);
	unsetenv("THAW_CHECKPOINT_TIMEOUT");
}

static void test_checkpoint_refused(void **state)
{
	struct fake f;

	add_three();
	fake_start(&f,
		   "{\"returnValue\":false,\"errorCode\":-16,"
		   "\"errorText\":\"busy\"}",
		   false, 0);
	assert_int_equal(thaw_checkpoint(), -EBUSY);
	fake_stop(&f);
	assert_string_equal(trail, "b3 b2 b1 a1(-16) a2(-16) a3(-16) ");
}

/* A HAL resource that fails where told to, so that the real HAL fails. */
static int hal_fail_release, hal_fail_acquire;

static int custom_release(void *userdata)
{
	return hal_fail_release ? -EBUSY : 0;
}

static int custom_acquire(enum hal_reason reason, void *userdata)
{
	return hal_fail_acquire == (int)reason ? -ENODEV : 0;
}

static void test_hal_refuses(void **state)
{
	int id = hal_custom_register("test-gadget", 0, custom_release,
				     custom_acquire, NULL);

	assert_true(id > 0);
	add_three();
	hal_fail_release = 1;
	setenv("THAW_SOCKET", "/nonexistent/thawd.sock", 1);
	assert_int_equal(thaw_checkpoint(), -ECANCELED);
	assert_string_equal(trail, "b3 b2 b1 a1(-125) a2(-125) a3(-125) ");
	assert_non_null(strstr(thaw_last_error(), "PreCheckpointNotify"));
	assert_non_null(strstr(thaw_last_error(), "test-gadget"));
	hal_fail_release = 0;
	assert_int_equal(hal_unregister(id), 0);
}

static void test_hal_take_back_fails(void **state)
{
	static const struct {
		int verdict, reason, expect;
		const char *call, *trail;
	} cases[] = {
		{ THAW_CHECKPOINT_DUMPED, HAL_REASON_DUMP, -EIO,
		  "PostDumpNotify", "b3 b2 b1 a1(-5) a2(-5) a3(-5) " },
		{ THAW_CHECKPOINT_RESTORED, HAL_REASON_RESTORE,
		  -ENOTRECOVERABLE, "PostRestoreNotify",
		  "b3 b2 b1 a1(-131) a2(-131) a3(-131) " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int id = hal_custom_register("test-gadget", 0, custom_release,
					     custom_acquire, NULL);
		struct fake f;

		assert_true(id > 0);
		reset(NULL);
		add_three();
		hal_fail_acquire = cases[i].reason;
		fake_start(&f, "{\"returnValue\":true,\"accepted\":true}", true,
			   cases[i].verdict);
		assert_int_equal(thaw_checkpoint(), cases[i].expect);
		fake_stop(&f);
		assert_string_equal(trail, cases[i].trail);
		assert_non_null(strstr(thaw_last_error(), cases[i].call));
		assert_non_null(strstr(thaw_last_error(), "test-gadget"));

		/* The next post call takes the resource back. */
		hal_fail_acquire = 0;
		(void)hal_unregister(id);
	}
}

static void test_timeout_env(void **state)
{
	unsetenv("THAW_CHECKPOINT_TIMEOUT");
	assert_int_equal(checkpoint_timeout(), 60);
	setenv("THAW_CHECKPOINT_TIMEOUT", "5", 1);
	assert_int_equal(checkpoint_timeout(), 5);
	setenv("THAW_CHECKPOINT_TIMEOUT", "0", 1);
	assert_int_equal(checkpoint_timeout(), 60);
	setenv("THAW_CHECKPOINT_TIMEOUT", "12s", 1);
	assert_int_equal(checkpoint_timeout(), 60);
	unsetenv("THAW_CHECKPOINT_TIMEOUT");
}

static void test_launch_event(void **state)
{
	union sigval v = { .sival_int = 0 };
	int fd = thaw_launch_event_fd();
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_true(fd >= 0);
	assert_int_equal(thaw_launch_event_fd(), fd);
	assert_int_equal(thaw_launch_event_read(), 0);
	assert_int_equal(sigqueue(getpid(), THAW_LAUNCH_SIGNAL, v), 0);
	assert_int_equal(sigqueue(getpid(), THAW_LAUNCH_SIGNAL, v), 0);
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(thaw_launch_event_read(), 2);
	assert_int_equal(thaw_launch_event_read(), 0);
}

/* Runs @fn as PID 1 of a new PID namespace; returns its wait status. */
static int as_pid1(void (*fn)(void))
{
	pid_t outer = fork();
	int status;

	assert_true(outer >= 0);
	if (outer == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID) < 0)
			_exit(90);
		inner = fork();
		if (inner == 0) {
			fn();
			_exit(0);
		}
		if (inner < 0 || waitpid(inner, &status, 0) < 0)
			_exit(91);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 92);
	}
	assert_int_equal(waitpid(outer, &status, 0), outer);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void pid1_plain(void)
{
	if (getpid() != 1)
		_exit(93);
	(void)thaw_version();
	kill(1, SIGTERM);
	_exit(0); /* the handler should have exited first */
}

static void pid1_own_handler(void)
{
	signal(SIGTERM, SIG_IGN);
	(void)thaw_version();
	kill(1, SIGTERM);
	_exit(7);
}

static void test_pid1_sigterm(void **state)
{
	assert_int_equal(as_pid1(pid1_plain), 128 + SIGTERM);
	assert_int_equal(as_pid1(pid1_own_handler), 7);
}

static void test_version(void **state)
{
	assert_non_null(thaw_version());
	assert_non_null(strchr(thaw_version(), '.'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_hook_order, reset),
		cmocka_unit_test_setup(test_hook_add_invalid, reset),
		cmocka_unit_test_setup(test_hook_failure_stops, reset),
		cmocka_unit_test_setup(test_first_hook_failure, reset),
		cmocka_unit_test_setup(test_not_launched_by_thawd, reset),
		cmocka_unit_test_setup(test_ready, reset),
		cmocka_unit_test_setup(test_ready_refused, reset),
		cmocka_unit_test_setup(test_launch_params, reset),
		cmocka_unit_test_setup(test_checkpoint_verdicts, reset),
		cmocka_unit_test_setup(test_checkpoint_skipped, reset),
		cmocka_unit_test_setup(test_checkpoint_timeout, reset),
		cmocka_unit_test_setup(test_checkpoint_refused, reset),
		cmocka_unit_test_setup(test_hal_refuses, reset),
		cmocka_unit_test_setup(test_hal_take_back_fails, reset),
		cmocka_unit_test(test_timeout_env),
		cmocka_unit_test(test_launch_event),
		cmocka_unit_test(test_pid1_sigterm),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
