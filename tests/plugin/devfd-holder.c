// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The app of the plugin test: PID 1 of its own PID namespace, it holds
 * three device fds at fixed numbers (/dev/cpu_dma_latency read-write and
 * non-blocking at 42, a loop block device at 43 positioned at 8192 and
 * close-on-exec, /dev/hwrng at 44) and 1 MiB of patterned memory, then
 * waits.  On SIGUSR1 it checks all of that and writes PASS or FAIL with
 * the reason into the report file: sent to a restored copy, it tells
 * whether the plugin gave the fds back as they were.
 *
 * usage: devfd-holder LOOPDEV REPORT READY
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FD_LATENCY 42
#define FD_LOOP	   43
#define FD_RNG	   44
#define LOOP_POS   8192
#define MEM_SIZE   (1 << 20)

static const char *loop_path;
static unsigned char loop_bytes[64];
static unsigned char *mem;

static int fd_at(const char *path, int flags, int number, int fd_flags)
{
	int fd = open(path, flags);

	if (fd < 0 || dup3(fd, number, fd_flags) < 0)
		return -1;
	close(fd);
	return 0;
}

static int setup(void)
{
	int32_t latency = 100;

	if (fd_at("/dev/cpu_dma_latency", O_RDWR | O_NONBLOCK, FD_LATENCY, 0) <
		    0 ||
	    fd_at(loop_path, O_RDONLY, FD_LOOP, O_CLOEXEC) < 0 ||
	    fd_at("/dev/hwrng", O_RDONLY, FD_RNG, 0) < 0)
		return -1;
	if (write(FD_LATENCY, &latency, sizeof(latency)) != sizeof(latency))
		return -1;
	if (pread(FD_LOOP, loop_bytes, sizeof(loop_bytes), LOOP_POS) !=
		    sizeof(loop_bytes) ||
	    lseek(FD_LOOP, LOOP_POS, SEEK_SET) != LOOP_POS)
		return -1;

	mem = malloc(MEM_SIZE);
	if (!mem)
		return -1;
	for (size_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (unsigned char)(i * 7 + 3);
	return 0;
}

static char failure[512];

static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	return -1;
}

static int check_fd(int fd, const char *path, int want_fl, int want_fdfl)
{
	struct stat st, want;
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	if (fl < 0 || fstat(fd, &st) < 0)
		return fail("fd %d is not open", fd);
	if (stat(path, &want) < 0 || st.st_rdev != want.st_rdev ||
	    (st.st_mode & S_IFMT) != (want.st_mode & S_IFMT))
		return fail("fd %d is not %s", fd, path);
	if ((fl & (O_ACCMODE | O_NONBLOCK | O_APPEND)) != want_fl)
		return fail("fd %d has flags 0%o, not 0%o", fd, fl, want_fl);
	if ((fdfl & FD_CLOEXEC) != want_fdfl)
		return fail("fd %d has fd flags %d, not %d", fd, fdfl,
			    want_fdfl);
	return 0;
}

static int check(void)
{
	unsigned char buf[64];
	int32_t latency;

	for (size_t i = 0; i < MEM_SIZE; i++)
		if (mem[i] != (unsigned char)(i * 7 + 3))
			return fail("memory differs at %zu", i);
	if (check_fd(FD_LATENCY, "/dev/cpu_dma_latency", O_RDWR | O_NONBLOCK,
		     0) < 0 ||
	    check_fd(FD_LOOP, loop_path, O_RDONLY, FD_CLOEXEC) < 0 ||
	    check_fd(FD_RNG, "/dev/hwrng", O_RDONLY, 0) < 0)
		return -1;
	if (lseek(FD_LOOP, 0, SEEK_CUR) != LOOP_POS)
		return fail("fd %d is at offset %lld, not %d", FD_LOOP,
			    (long long)lseek(FD_LOOP, 0, SEEK_CUR), LOOP_POS);
	if (read(FD_LOOP, buf, sizeof(buf)) != sizeof(buf) ||
	    memcmp(buf, loop_bytes, sizeof(buf)))
		return fail("fd %d reads other bytes at its offset", FD_LOOP);
	if (read(FD_LATENCY, &latency, sizeof(latency)) != sizeof(latency))
		return fail("fd %d cannot be read: %s", FD_LATENCY,
			    strerror(errno));
	if (read(FD_RNG, buf, 8) != 8)
		return fail("fd %d cannot be read: %s", FD_RNG,
			    strerror(errno));
	return 0;
}

static void report(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s\n", text);
	fclose(f);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	if (argc != 4)
		return 2;
	loop_path = argv[1];
	/* What the test runner leaked to us would be dumped too. */
	close_range(3, ~0U, 0);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setsid();

	if (setup() < 0) {
		report(argv[2], "FAIL setup");
		return 1;
	}
	report(argv[3], "ready");

	for (;;) {
		if (sigwait(&set, &sig) != 0 || sig == SIGTERM)
			return 0;
		if (check() < 0) {
			char text[600];

			snprintf(text, sizeof(text), "FAIL %s", failure);
			report(argv[2], text);
		} else {
			report(argv[2], "PASS");
		}
	}
}
