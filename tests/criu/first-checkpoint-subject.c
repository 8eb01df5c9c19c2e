// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The subject of the first checkpoint test, in the shape of CRIU's zdtm
 * cases: it prepares state, has itself dumped through a CRIU service, and
 * the copy restored from that image checks the state and reports.
 *
 * The subject starts as PID 1 of a new PID namespace, so that its image
 * can be restored while the original still runs.  It holds a regular
 * file at a known offset and a pipe with unread data, fills memory with
 * a seeded pattern, and asks the service to dump it, leaving it running.
 * The original then writes REPORT.dumped and waits to be killed; the
 * restored copy checks everything and writes REPORT.restored.
 *
 * usage: first-checkpoint-subject SERVICE_SOCKET IMAGES_DIR DATA_FILE REPORT
 */
#include <criu.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define STATE_SIZE    (16u << 20)
#define DATA_OFFSET   123
#define DATA_FD	      17
#define PIPE_READ_FD  18
#define PIPE_WRITE_FD 19
#define PIPE_MESSAGE  "still in the pipe"
#define SEED	      0x7468617775ull

struct subject {
	const char *service;
	const char *images;
	const char *data_path;
	const char *report;
	uint64_t *state;
};

static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill_state(uint64_t *state)
{
	uint64_t x = SEED;

	for (size_t i = 0; i < STATE_SIZE / sizeof(*state); i++)
		state[i] = next_random(&x);
}

static size_t first_state_mismatch(const uint64_t *state)
{
	uint64_t x = SEED;

	for (size_t i = 0; i < STATE_SIZE / sizeof(*state); i++)
		if (state[i] != next_random(&x))
			return i;
	return SIZE_MAX;
}

/* Moves fd to a fixed number, so that the restored copy can find it. */
static int move_fd(int fd, int target, int flags)
{
	if (dup3(fd, target, flags) < 0)
		return negative_errno();
	close(fd);
	return 0;
}

static int prepare_fds(const struct subject *s)
{
	int fds[2], fd, r;

	fd = open(s->data_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();

	for (int i = 0; i < 1000; i++)
		if (write(fd, "x", 1) != 1)
			return negative_errno();

	if (lseek(fd, DATA_OFFSET, SEEK_SET) < 0)
		return negative_errno();

	r = move_fd(fd, DATA_FD, 0);
	if (r < 0)
		return r;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return negative_errno();

	if (write(fds[1], PIPE_MESSAGE, strlen(PIPE_MESSAGE)) < 0)
		return negative_errno();

	r = move_fd(fds[0], PIPE_READ_FD, O_CLOEXEC);
	if (r < 0)
		return r;

	return move_fd(fds[1], PIPE_WRITE_FD, 0);
}

static void report(const struct subject *s, const char *suffix,
		   const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%s", s->report, suffix);
	f = fopen(path, "we");
	if (!f)
		_exit(3);
	fprintf(f, "%s\n", text);
	fclose(f);
}

static int dump_self(const struct subject *s)
{
	_cleanup_close_ int dir = -1;
	int r;

	dir = open(s->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return negative_errno();

	r = criu_init_opts();
	if (r < 0)
		return r;

	/* No pid: the service dumps the caller, named by its credentials. */
	criu_set_service_address(s->service);
	criu_set_images_dir_fd(dir);
	criu_set_leave_running(true);
	criu_set_log_level(4);
	criu_set_log_file("dump.log");
	return criu_dump();
}

/* Reads our pid as the host sees it: /proc is the host's procfs. */
static long host_pid(void)
{
	char buf[32] = { 0 };

	if (readlink("/proc/self", buf, sizeof(buf) - 1) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static int check_fds(char *why, size_t size)
{
	char buf[64] = { 0 };
	off_t offset;
	int flags;

	offset = lseek(DATA_FD, 0, SEEK_CUR);
	if (offset != DATA_OFFSET) {
		snprintf(why, size, "data file offset %jd, not %d",
			 (intmax_t)offset, DATA_OFFSET);
		return -1;
	}

	flags = fcntl(DATA_FD, F_GETFL);
	if ((flags & O_ACCMODE) != O_RDWR) {
		snprintf(why, size, "data file flags %#x lost O_RDWR", flags);
		return -1;
	}

	if (fcntl(PIPE_READ_FD, F_GETFD) != FD_CLOEXEC) {
		snprintf(why, size, "pipe read end lost FD_CLOEXEC");
		return -1;
	}

	if (read(PIPE_READ_FD, buf, sizeof(buf) - 1) !=
		    (ssize_t)strlen(PIPE_MESSAGE) ||
	    !streq(buf, PIPE_MESSAGE)) {
		snprintf(why, size, "pipe held '%s'", buf);
		return -1;
	}
	return 0;
}

static void check_restored(const struct subject *s)
{
	char text[256];
	size_t bad;

	bad = first_state_mismatch(s->state);
	if (bad != SIZE_MAX) {
		snprintf(text, sizeof(text), "FAIL memory differs at word %zu",
			 bad);
		report(s, "restored", text);
		return;
	}

	if (check_fds(text + 5, sizeof(text) - 5) < 0) {
		memcpy(text, "FAIL ", 5);
		report(s, "restored", text);
		return;
	}

	snprintf(text, sizeof(text), "OK host-pid=%ld ns-pid=%d", host_pid(),
		 (int)getpid());
	report(s, "restored", text);
}

static int redirect_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();

	for (int i = 0; i <= 2; i++)
		if (dup2(fd, i) < 0)
			return negative_errno();

	close(fd);
	return 0;
}

static int run_subject(struct subject *s)
{
	char text[128];
	int r;

	if (setsid() < 0)
		return 1;

	/* Nothing of the test's terminal or pipes goes into the image. */
	if (redirect_stdio() < 0)
		return 1;

	s->state = mmap(NULL, STATE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->state == MAP_FAILED)
		return 1;
	fill_state(s->state);

	r = prepare_fds(s);
	if (r < 0) {
		snprintf(text, sizeof(text), "FAIL prepare: %s", strerror(-r));
		report(s, "dumped", text);
		return 1;
	}

	r = dump_self(s);
	if (r < 0) {
		snprintf(text, sizeof(text), "FAIL dump: %s", strerror(-r));
		report(s, "dumped", text);
		return 1;
	}

	if (r == 1) {
		check_restored(s);
	} else {
		snprintf(text, sizeof(text), "OK host-pid=%ld", host_pid());
		report(s, "dumped", text);
	}

	/* Both copies stay alive until the test kills them. */
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct subject s;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr,
			"usage: %s SERVICE_SOCKET IMAGES_DIR "
			"DATA_FILE REPORT\n",
			argv[0]);
		return 2;
	}

	s = (struct subject){ argv[1], argv[2], argv[3], argv[4], NULL };

	/* A fork into a new PID namespace: the child is its PID 1. */
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL,
			     NULL, 0);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	if (pid == 0)
		_exit(run_subject(&s));

	printf("%d\n", (int)pid);
	return 0;
}
