// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A real process through the store: a subject in its own PID namespace
 * fills memory with a pattern drawn from a random magic number; CRIU
 * (swrk, as thawd runs it) dumps it into store_writer_begin()'s folder;
 * the image is published and persisted; the tmpfs copy is deleted;
 * store_image_open() brings it back from the persistent copy; CRIU
 * restores from it, and the restored copy proves itself by reporting
 * the magic and its memory's checksum, computed after the restore.
 *
 *   store-criu-test CRIU TMPFS_DIR PERSIST_DIR WORK_DIR
 */
#include <criu.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "store.h"
#include "util.h"

#define APP	  "criu-subject"
#define MEM_SIZE  (4u << 20)
#define FAIL(...) (fprintf(stderr, "FAIL: " __VA_ARGS__), exit(1))

static uint64_t pattern_sum(uint64_t magic, uint64_t *mem, size_t n)
{
	uint64_t x = magic | 1, sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (mem)
			mem[i] = x;
		sum += x * (i + 1);
	}
	return sum;
}

static uint64_t memory_sum(const uint64_t *mem, size_t n)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += mem[i] * (i + 1);
	return sum;
}

/*
 * The subject: waits for SIGUSR1, then writes what its memory holds.  Its
 * cwd is the test's own folder: CRIU's parasite makes a folder of a fixed
 * name in the cwd of a task whose /proc is not its PID namespace's, so two
 * tasks dumped at once from one cwd collide.
 */
static void subject(uint64_t magic, const char *report, const char *cwd)
{
	size_t n = MEM_SIZE / sizeof(uint64_t);
	uint64_t *mem = malloc(MEM_SIZE);
	int fd = open("/dev/null", O_RDWR);
	sigset_t set;
	int sig;

	if (!mem || fd < 0 || chdir(cwd) < 0)
		_exit(1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	/* Nothing inherited (ctest's own log, say) may enter the image. */
	close_range(3, ~0u, 0);
	setsid();
	pattern_sum(magic, mem, n);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		FILE *f;

		if (sigwait(&set, &sig) != 0)
			continue;
		f = fopen(report, "we");
		if (!f)
			continue;
		fprintf(f, "OK magic=%llu sum=%llu nspid=%d\n",
			(unsigned long long)magic,
			(unsigned long long)memory_sum(mem, n), (int)getpid());
		fclose(f);
	}
}

static criu_opts *opts_new(const char *criu, int work_fd)
{
	criu_opts *o = NULL;

	if (criu_local_init_opts(&o) < 0 ||
	    criu_local_set_service_binary(o, criu) < 0)
		FAIL("criu_local_init_opts\n");
	criu_local_set_log_level(o, 4);
	criu_local_set_work_dir_fd(o, work_fd);
	return o;
}

static void dump(struct store *s, const char *criu, int work_fd, pid_t pid)
{
	_cleanup_free_ char *reason = NULL;
	char exe[4096], link[64];
	struct store_deps deps = { .exe_path = exe,
				   .pid = pid,
				   .criu_version = "4.2.1",
				   .hal_version = "test" };
	struct store_writer *w;
	criu_opts *o;
	int r;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	r = (int)readlink(link, exe, sizeof(exe) - 1);
	if (r < 0)
		FAIL("readlink %s: %m\n", link);
	exe[r] = '\0';
	if (store_writer_begin(s, APP, &w) < 0)
		FAIL("store_writer_begin\n");

	o = opts_new(criu, work_fd);
	criu_local_set_images_dir_fd(o, store_writer_dirfd(w));
	criu_local_set_pid(o, pid);
	criu_local_set_leave_running(o, true);
	criu_local_set_log_file(o, "dump.log");
	r = criu_local_dump(o);
	criu_local_free_opts(o);
	if (r < 0)
		FAIL("criu dump: %d (see dump.log in the work dir)\n", r);

	r = store_writer_publish(w, &deps, &reason);
	if (r < 0)
		FAIL("publish: %s: %s\n", strerror(-r), reason);
	printf("dumped and published pid %d\n", (int)pid);
}

static pid_t restore(struct store *s, const char *criu, int work_fd,
		     enum store_tier want)
{
	_cleanup_free_ char *reason = NULL, *repair = NULL;
	struct store_image *img = NULL;
	criu_opts *o;
	pid_t pid;
	int r;

	r = store_image_open(s, APP, &img, &reason, &repair);
	if (r < 0)
		FAIL("store_image_open: %s: %s\n", strerror(-r), reason);
	printf("image from %s, checked in %llu us, repair: %s\n",
	       store_image_source(img) == STORE_TIER_TMPFS ? "tmpfs" :
							     "persistent",
	       (unsigned long long)store_image_check_usec(img),
	       repair ? repair : "none");
	if (store_image_source(img) != want)
		FAIL("image came from the wrong tier\n");

	o = opts_new(criu, work_fd);
	criu_local_set_images_dir_fd(o, store_image_dirfd(img));
	criu_local_set_log_file(o, "restore.log");
	pid = criu_local_restore_child(o);
	criu_local_free_opts(o);
	store_image_close(img);
	if (pid <= 0)
		FAIL("criu restore: %d (see restore.log)\n", (int)pid);
	return pid;
}

static void expect_report(pid_t pid, const char *report, uint64_t magic)
{
	char line[256] = "", want[128];
	int i;

	unlink(report);
	kill(pid, SIGUSR1);
	for (i = 0; i < 100; i++) {
		FILE *f = fopen(report, "re");

		if (f && fgets(line, sizeof(line), f))
			i = 1000;
		if (f)
			fclose(f);
		if (i < 1000)
			usleep(50000);
	}

	snprintf(want, sizeof(want), "OK magic=%llu sum=%llu nspid=1\n",
		 (unsigned long long)magic,
		 (unsigned long long)pattern_sum(magic, NULL,
						 MEM_SIZE / sizeof(uint64_t)));
	if (!streq(line, want))
		FAIL("restored copy %d reported '%s', wanted '%s'\n", (int)pid,
		     line, want);
	printf("process %d reported: %s", (int)pid, line);
}

static void kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	struct store_config c = { 0 };
	_cleanup_free_ char *reason = NULL, *report = NULL, *rm = NULL;
	struct store *s;
	uint64_t magic;
	sigset_t set;
	pid_t pid;
	int work_fd, r;

	if (argc != 5)
		FAIL("usage: store-criu-test CRIU TMPFS PERSIST WORK\n");
	c.tmpfs_dir = argv[2];
	c.persist_dir = argv[3];
	c.criu_version = "4.2.1";
	c.hal_version = "test";
	work_fd = open(argv[4], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (work_fd < 0 || asprintf(&report, "%s/report", argv[4]) < 0 ||
	    getrandom(&magic, sizeof(magic), 0) != sizeof(magic))
		FAIL("set-up\n");
	r = store_open(&c, &s, &reason);
	if (r < 0)
		FAIL("store_open: %s\n", reason);

	/* Blocked before the clone, so that an early signal waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL,
			     NULL, 0);
	if (pid < 0)
		FAIL("clone: %m\n");
	if (pid == 0)
		subject(magic, report, argv[4]);
	expect_report(pid, report, magic); /* the original, before the dump */
	dump(s, argv[1], work_fd, pid);
	kill_wait(pid);

	r = store_persist(s, APP, &reason);
	if (r < 0)
		FAIL("store_persist: %s\n", reason);
	if (asprintf(&rm, "rm -rf '%s/%s'", argv[2], APP) < 0 || system(rm))
		FAIL("cannot delete the tmpfs copy\n");

	pid = restore(s, argv[1], work_fd, STORE_TIER_PERSIST);
	expect_report(pid, report, magic);
	kill_wait(pid);

	/* Again from the tmpfs copy, which the first restore wrote into. */
	pid = restore(s, argv[1], work_fd, STORE_TIER_TMPFS);
	expect_report(pid, report, magic);
	kill_wait(pid);

	store_free(s);
	printf("PASS\n");
	return 0;
}
