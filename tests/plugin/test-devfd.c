// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The plugin's own logic without CRIU: which fds it takes (devices that
 * THAW_DEVFD_ALLOW allows), the record it writes, what it refuses at the
 * restore (a policy that no longer allows the path, another device at
 * the path, a damaged record), and the fd it gives back.  CRIU's
 * criu_get_image_dir() is this file's temporary folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* NOLINTNEXTLINE(bugprone-suspicious-include): tests its static functions */
#include "../../plugin/thaw-devfd.c"

static char dir[64];
static int dir_fd = -1;

int criu_get_image_dir(void)
{
	return dir_fd;
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/thaw-devfd-unit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dir_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	return dir_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	close(dir_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *record_text(int id)
{
	static char text[1024];
	char name[64];
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "thaw-devfd-%d.img", id);
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

static void test_allow_patterns(void **state)
{
	unsetenv("THAW_DEVFD_ALLOW");
	assert_false(path_allowed("/dev/null"));
	setenv("THAW_DEVFD_ALLOW", "", 1);
	assert_false(path_allowed("/dev/null"));
	setenv("THAW_DEVFD_ALLOW", "/dev/hwrng:/dev/input/event*:/dev/nul?", 1);
	assert_true(path_allowed("/dev/hwrng"));
	assert_true(path_allowed("/dev/input/event3"));
	assert_false(path_allowed("/dev/input/by-id/event3"));
	assert_true(path_allowed("/dev/null"));
	assert_false(path_allowed("/dev/zero"));
	setenv("THAW_DEVFD_ALLOW", "/dev/*", 1);
	assert_false(path_allowed("/dev/input/event3"));
}

static void test_not_mine(void **state)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	setenv("THAW_DEVFD_ALLOW", "/*:/*/*:/*/*/*", 1);
	assert_int_equal(devfd_dump(fd, 1), -ENOTSUP);
	close(fd);

	setenv("THAW_DEVFD_ALLOW", "/dev/zero", 1);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(devfd_dump(fd, 2), -ENOTSUP);
	close(fd);
	assert_null(record_text(2));
}

static void test_round_trip(void **state)
{
	struct stat st, want;
	int fd, back;

	setenv("THAW_DEVFD_ALLOW", "/dev/null", 1);
	fd = open("/dev/null", O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(devfd_dump(fd, 7), 0);
	close(fd);
	assert_non_null(strstr(record_text(7), "thaw-devfd 1\ntype char\n"));
	assert_non_null(strstr(record_text(7), "\npath /dev/null\n"));

	back = devfd_restore(7);
	assert_true(back >= 0);
	assert_int_equal(fcntl(back, F_GETFL) &
				 (O_ACCMODE | O_APPEND | O_NONBLOCK),
			 O_WRONLY | O_APPEND | O_NONBLOCK);
	assert_int_equal(fstat(back, &st), 0);
	assert_int_equal(stat("/dev/null", &want), 0);
	assert_int_equal(st.st_rdev, want.st_rdev);
	close(back);

	/* The policy of the restore is checked too. */
	setenv("THAW_DEVFD_ALLOW", "/dev/zero", 1);
	assert_int_equal(devfd_restore(7), -EPERM);
	/* An id with no record is not this plugin's. */
	assert_int_equal(devfd_restore(8), -ENOTSUP);
}

static void write_record(int id, const char *text)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "thaw-devfd-%d.img", id);
	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_restore_refusals(void **state)
{
	struct stat zero;

	assert_int_equal(stat("/dev/zero", &zero), 0);
	setenv("THAW_DEVFD_ALLOW", "/dev/null:/dev/nonexistent", 1);

	/* /dev/null now is not the device that was dumped. */
	write_record(20, "thaw-devfd 1\ntype char\nrdev 1:5\nflags 0x2\n"
			 "pos -1\npath /dev/null\n");
	assert_int_equal(devfd_restore(20), -ENODEV);
	write_record(21, "thaw-devfd 1\ntype block\nrdev 1:3\nflags 0x2\n"
			 "pos -1\npath /dev/null\n");
	assert_int_equal(devfd_restore(21), -ENODEV);
	write_record(22, "thaw-devfd 1\ntype char\nrdev 1:3\nflags 0x2\n"
			 "pos -1\npath /dev/nonexistent\n");
	assert_int_equal(devfd_restore(22), -ENOENT);
	write_record(23, "thaw-devfd 2\ntype char\nrdev 1:3\nflags 0x2\n"
			 "pos -1\npath /dev/null\n");
	assert_int_equal(devfd_restore(23), -EBADMSG);
	write_record(24, "thaw-devfd 1\ntype char\nrdev 1:3\npos -1\n"
			 "path /dev/null\n");
	assert_int_equal(devfd_restore(24), -EBADMSG);
	write_record(25, "thaw-devfd 1\ntype char\nrdev 1:3\nflags 0x2\n"
			 "pos -1\npath /dev/null\n");
	assert_true(devfd_restore(25) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_patterns),
		cmocka_unit_test(test_not_mine),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_restore_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
