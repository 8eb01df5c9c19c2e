// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The lines common/log.c writes on each target and the fields they carry.
 * The syslog and journal paths are checked against sockets of the test's
 * own: the test runs in a private mount namespace with tmpfs over /dev
 * and /run, and binds datagram sockets at /dev/log and at the journal's
 * socket path, so nothing reaches (or needs) the host's loggers.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int stderr_saved = -1;
static int stderr_pipe = -1;

static void capture_begin(void)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stderr);
	stderr_saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	assert_true(stderr_saved >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	stderr_pipe = p[0];
}

/* Restores stderr and returns what was written to it meanwhile. */
static char *capture_end(void)
{
	static char buf[4096];
	size_t len = 0;
	ssize_t n;

	fflush(stderr);
	assert_int_equal(dup2(stderr_saved, STDERR_FILENO), STDERR_FILENO);
	stderr_saved = close_fd(stderr_saved);

	while ((n = read(stderr_pipe, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	stderr_pipe = close_fd(stderr_pipe);
	buf[len] = '\0';
	return buf;
}

static int bind_dgram(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 2 };
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* One datagram as a string, or NULL when none is waiting. */
static char *recv_line(int fd, int flags)
{
	static char buf[8192];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, flags);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* Whether a native journal datagram holds the line "KEY=VALUE". */
static bool journal_has(const char *msg, const char *field)
{
	size_t len = strlen(field);

	for (const char *p = msg; *p;) {
		const char *nl = strchrnul(p, '\n');

		if ((size_t)(nl - p) == len && strncmp(p, field, len) == 0)
			return true;
		p = *nl ? nl + 1 : nl;
	}
	return false;
}

static int private_namespace(void **state)
{
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0) {
		fprintf(stderr, "test-log: private mount namespace: %m\n");
		return -1;
	}

	if (mkdir("/run/systemd", 0755) < 0 ||
	    mkdir("/run/systemd/journal", 0755) < 0)
		return -1;

	unsetenv("JOURNAL_STREAM");
	return 0;
}

static void parse_levels_and_targets(void **state)
{
	assert_int_equal(log_level_from_string("err"), LOG_ERR);
	assert_int_equal(log_level_from_string("error"), LOG_ERR);
	assert_int_equal(log_level_from_string("warning"), LOG_WARNING);
	assert_int_equal(log_level_from_string("warn"), LOG_WARNING);
	assert_int_equal(log_level_from_string("info"), LOG_INFO);
	assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
	assert_int_equal(log_level_from_string("7"), LOG_DEBUG);
	assert_int_equal(log_level_from_string("3"), LOG_ERR);
	assert_int_equal(log_level_from_string("8"), -EINVAL);
	assert_int_equal(log_level_from_string("-1"), -EINVAL);
	assert_int_equal(log_level_from_string(""), -EINVAL);
	assert_int_equal(log_level_from_string("loud"), -EINVAL);
	assert_int_equal(log_level_from_string(NULL), -EINVAL);
	assert_string_equal(log_level_to_string(LOG_NOTICE), "notice");
	assert_null(log_level_to_string(8));

	assert_int_equal(log_target_from_string("auto"), LOG_TARGET_AUTO);
	assert_int_equal(log_target_from_string("stderr"), LOG_TARGET_STDERR);
	assert_int_equal(log_target_from_string("syslog"), LOG_TARGET_SYSLOG);
	assert_int_equal(log_target_from_string("journal"), LOG_TARGET_JOURNAL);
	assert_int_equal(log_target_from_string("kmsg"), -EINVAL);
}

static void stderr_lines_carry_app_and_pid(void **state)
{
	char *out;
	int r;

	log_setup("thawd", LOG_TARGET_STDERR, LOG_INFO);

	capture_begin();
	log_app(LOG_INFO, "home", 1234, "restored from tmpfs in %d ms", 84);
	log_info("listening on %s", "/run/thaw/thawd.sock");
	errno = EAGAIN;
	r = log_app_errno(LOG_WARNING, -EBADMSG, "livemenu", 77,
			  "image invalidated");
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(r, -EBADMSG);
	r = log_errno(LOG_ERR, -ENOENT, "no image for %s", "home");
	assert_int_equal(r, -ENOENT);
	assert_int_equal(log_app(LOG_INFO, "home", 1, "x"), 0);
	out = capture_end();

	assert_string_equal(
		out, "thawd: home[1234]: restored from tmpfs in 84 ms\n"
		     "thawd: listening on /run/thaw/thawd.sock\n"
		     "thawd: livemenu[77]: image invalidated: Bad message\n"
		     "thawd: no image for home: No such file or directory\n"
		     "thawd: home[1]: x\n");
}

static void level_filters_lines(void **state)
{
	char *out;

	log_setup("thawd", LOG_TARGET_STDERR, LOG_WARNING);
	assert_int_equal(log_get_max_level(), LOG_WARNING);

	capture_begin();
	log_info("not shown");
	log_debug("not shown");
	log_warning("shown");
	log_set_max_level(LOG_DEBUG);
	log_debug("debug %d", 1);
	log_set_max_level(LOG_ERR);
	log_warning("not shown");
	log_err("error %d", 2);
	out = capture_end();

	assert_string_equal(out,
			    "thawd: shown\nthawd: debug 1\nthawd: error 2\n");
}

static void syslog_lines_carry_app_and_pid(void **state)
{
	char expect[128], *line;
	int fd = bind_dgram("/dev/log");

	log_setup("thawd", LOG_TARGET_SYSLOG, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_SYSLOG);

	log_app(LOG_INFO, "home", 1234, "restored from tmpfs in %d ms", 84);
	line = recv_line(fd, 0);
	assert_non_null(line);
	/* <facility * 8 + level>, then a timestamp, then "ident[pid]: " */
	assert_true(strncmp(line, "<30>", 4) == 0);
	snprintf(expect, sizeof(expect),
		 " thawd[%d]: home[1234]: restored from tmpfs in 84 ms",
		 (int)getpid());
	assert_non_null(strstr(line, expect));

	log_debug("filtered out");
	log_app_errno(LOG_ERR, -EIO, "livemenu", 9,
		      "cold after failed restore");
	line = recv_line(fd, 0);
	assert_non_null(line);
	assert_true(strncmp(line, "<27>", 4) == 0);
	snprintf(
		expect, sizeof(expect),
		" thawd[%d]: livemenu[9]: cold after failed restore: Input/output error",
		(int)getpid());
	assert_non_null(strstr(line, expect));

	log_warning("disk full");
	line = recv_line(fd, 0);
	assert_non_null(line);
	snprintf(expect, sizeof(expect), " thawd[%d]: disk full",
		 (int)getpid());
	assert_true(strncmp(line, "<28>", 4) == 0);
	assert_non_null(strstr(line, expect));
	assert_null(recv_line(fd, MSG_DONTWAIT));

	log_setup("thawd", LOG_TARGET_STDERR, LOG_INFO);
	close(fd);
	unlink("/dev/log");
}

static void journal_entries_carry_fields(void **state)
{
	int fd = bind_dgram(JOURNAL_SOCKET);
	char *msg;

	log_setup("thawd", LOG_TARGET_JOURNAL, LOG_INFO);

	log_app_errno(LOG_WARNING, -EBADMSG, "home", 1234, "image invalidated");
	msg = recv_line(fd, 0);
	assert_non_null(msg);
	assert_true(journal_has(
		msg, "MESSAGE=home: image invalidated: Bad message"));
	assert_true(journal_has(msg, "PRIORITY=4"));
	assert_true(journal_has(msg, "SYSLOG_IDENTIFIER=thawd"));
	assert_true(journal_has(msg, "THAW_APP=home"));
	assert_true(journal_has(msg, "THAW_PID=1234"));
	assert_true(journal_has(msg, "ERRNO=74"));

	log_debug("filtered out");
	log_info("listening");
	msg = recv_line(fd, 0);
	assert_non_null(msg);
	assert_true(journal_has(msg, "MESSAGE=listening"));
	assert_true(journal_has(msg, "PRIORITY=6"));
	assert_null(strstr(msg, "THAW_APP="));
	assert_null(strstr(msg, "THAW_PID="));
	assert_null(strstr(msg, "ERRNO="));
	assert_null(recv_line(fd, MSG_DONTWAIT));

	close(fd);
	unlink(JOURNAL_SOCKET);
}

static void journal_unreachable_falls_back_to_stderr(void **state)
{
	char *out;

	unlink(JOURNAL_SOCKET);
	log_setup("thawd", LOG_TARGET_JOURNAL, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	capture_begin();
	log_app(LOG_INFO, "home", 5, "cold");
	out = capture_end();

	assert_string_equal(out, "thawd: home[5]: cold\n");
}

static void auto_picks_journal_only_for_our_stderr(void **state)
{
	int fd = bind_dgram(JOURNAL_SOCKET);
	char env[64];
	struct stat st;

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);

	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_setup("thawd", LOG_TARGET_AUTO, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_JOURNAL);
	close(fd);
	unlink(JOURNAL_SOCKET);

	snprintf(env, sizeof(env), "%ju:%ju", (uintmax_t)st.st_dev,
		 (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	log_setup("thawd", LOG_TARGET_AUTO, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	setenv("JOURNAL_STREAM", "garbage", 1);
	log_setup("thawd", LOG_TARGET_AUTO, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);

	unsetenv("JOURNAL_STREAM");
	log_setup("thawd", LOG_TARGET_AUTO, LOG_INFO);
	assert_int_equal(log_get_target(), LOG_TARGET_STDERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_levels_and_targets),
		cmocka_unit_test(stderr_lines_carry_app_and_pid),
		cmocka_unit_test(level_filters_lines),
		cmocka_unit_test(syslog_lines_carry_app_and_pid),
		cmocka_unit_test(journal_entries_carry_fields),
		cmocka_unit_test(journal_unreachable_falls_back_to_stderr),
		cmocka_unit_test(auto_picks_journal_only_for_our_stderr),
	};

	return cmocka_run_group_tests(tests, private_namespace, NULL);
}
