// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HAL against real CRIU, with thaw's CRIU options (no --ext-unix-sk,
 * no --shell-job, no plugin).  An app, started as PID 1 of its own PID
 * namespace and session leader, holds one resource of each kind.
 *
 * Without the HAL calls each kind alone makes the dump fail (the growing
 * file: the restore).  With them the app holding all kinds dumps and
 * keeps running, its image restores while the original still runs, and
 * after the post calls each copy proves every resource works (a device
 * read, a socket round trip after its handshake, the shm contents, the
 * file's data) in a report file this driver reads.
 *
 * usage: hal-every-kind            (the driver)
 *        hal-every-kind --app MODE DIR KEY LOOPDEV PEERPATH   (the app)
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"
#include "swrk.h"
#include "thaw/hal.h"
#include "thaw/hal_criu.h"
#include "util.h"

#define WAKE_SIGNAL SIGUSR1
#define SHM_SIZE    (256 * 1024)
#define FILE_SIZE   4096
#define FD_DEV	    20
#define FD_BLK	    21
#define FD_SOCK	    22
#define FD_FILE	    23

enum {
	CMD_DUMPED = 1,
	CMD_RESTORED = 2,
	CMD_GROW = 3
};

/* ---- the app ---- */

struct app {
	const char *mode, *dir, *loopdev, *peer_path;
	key_t key;
	void *shm;
	int shmid;
	char report[256];
	int fl[24], fdfl[24];
};

static void say(struct app *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends one line to the report; holds no fd across a dump. */
static void say(struct app *a, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A truncated line still ends in its newline, inside line[]. */
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(a->report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* A lost line shows as missing in the report. */
		ssize_t w = write(fd, line, (size_t)n);

		(void)w;
		close(fd);
	}
}

static int wait_cmd(void)
{
	siginfo_t si;
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, WAKE_SIGNAL);
	while (sigwaitinfo(&m, &si) < 0)
		;
	return si.si_value.sival_int;
}

static void pattern(unsigned char *p, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static int place(int fd, int want)
{
	if (fd < 0 || dup2(fd, want) < 0)
		return -1;
	close(fd);
	return want;
}

static int latency_replay(int fd, enum hal_reason reason, void *userdata)
{
	int32_t us = 50;

	return write(fd, &us, sizeof(us)) == sizeof(us) ? 0 : -EIO;
}

static int open_kind(struct app *a, const char *kind)
{
	char path[300];
	unsigned char buf[FILE_SIZE];
	int id, r = 0;

	if (streq(kind, "device") || streq(kind, "all"))
		r |= place(open("/dev/cpu_dma_latency", O_RDWR), FD_DEV) < 0;
	if (streq(kind, "block") || streq(kind, "all")) {
		r |= place(open(a->loopdev, O_RDONLY), FD_BLK) < 0;
		lseek(FD_BLK, 4096, SEEK_SET);
	}
	if (streq(kind, "socket") || streq(kind, "all")) {
		struct peer p = { 0 };

		snprintf(p.path, sizeof(p.path), "%s", a->peer_path);
		r |= place(peer_connect(&p, false, 0), FD_SOCK) < 0;
		r |= peer_handshake(FD_SOCK, HAL_REASON_DUMP, NULL) < 0;
	}
	if (streq(kind, "shm") || streq(kind, "all")) {
		id = shmget(a->key, SHM_SIZE, IPC_CREAT | 0600);
		a->shmid = id;
		a->shm = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
		r |= a->shm == (void *)-1;
		if (a->shm != (void *)-1)
			pattern(a->shm, SHM_SIZE, 3);
	}
	if (streq(kind, "file") || streq(kind, "all")) {
		snprintf(path, sizeof(path), "%s/data", a->dir);
		r |= place(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600),
			   FD_FILE) < 0;
		pattern(buf, sizeof(buf), 5);
		r |= write(FD_FILE, buf, sizeof(buf)) != sizeof(buf);
		lseek(FD_FILE, 1000, SEEK_SET);
	}
	for (int fd = FD_DEV; fd <= FD_FILE; fd++) {
		a->fl[fd] = fcntl(fd, F_GETFL);
		a->fdfl[fd] = fcntl(fd, F_GETFD);
	}
	return r ? -EIO : 0;
}

static int register_all(struct app *a)
{
	int r = 0;

	r |= hal_device_register(FD_DEV, NULL, NULL, latency_replay, NULL) < 0;
	r |= hal_device_register(FD_BLK, NULL, NULL, NULL, NULL) < 0;
	r |= hal_socket_register(FD_SOCK, peer_handshake, NULL) < 0;
	r |= hal_shm_register(a->shm, HAL_SHM_SAVE, NULL, NULL) < 0;
	r |= hal_file_register(FD_FILE, NULL) < 0;
	return r ? -EIO : 0;
}

/* Each resource works and is where it was; one report line per check. */
static int prove(struct app *a, const char *phase)
{
	unsigned char buf[SHM_SIZE], want[SHM_SIZE];
	int bad = 0, fd;

	for (fd = FD_DEV; fd <= FD_FILE; fd++)
		if (fcntl(fd, F_GETFL) != a->fl[fd] ||
		    fcntl(fd, F_GETFD) != a->fdfl[fd]) {
			say(a, "%s FAIL fd %d flags", phase, fd);
			bad++;
		}
	bad += read(FD_DEV, buf, 4) != 4;
	say(a, "%s %s device read", phase, bad ? "FAIL" : "ok");
	fd = lseek(FD_BLK, 0, SEEK_CUR) == 4096 &&
	     pread(FD_BLK, buf, 512, 0) == 512;
	bad += !fd;
	say(a, "%s %s block device at offset 4096 reads", phase,
	    fd ? "ok" : "FAIL");
	fd = peer_ping(FD_SOCK) == 0;
	bad += !fd;
	say(a, "%s %s socket round trip after handshake", phase,
	    fd ? "ok" : "FAIL");
	pattern(want, SHM_SIZE, 3);
	fd = memcmp(a->shm, want, SHM_SIZE) == 0;
	bad += !fd;
	say(a, "%s %s shm contents at %p", phase, fd ? "ok" : "FAIL", a->shm);
	if (streq(phase, "post-restore")) {
		/* The driver removed the segment: it must be a new one. */
		int id = shmget(a->key, 0, 0);

		fd = id >= 0 && id != a->shmid;
		bad += !fd;
		say(a, "%s %s shm re-created by key (id %d, was %d)", phase,
		    fd ? "ok" : "FAIL", id, a->shmid);
	}
	pattern(want, FILE_SIZE, 5);
	fd = lseek(FD_FILE, 0, SEEK_CUR) == 1000 &&
	     pread(FD_FILE, buf, FILE_SIZE, 0) == FILE_SIZE &&
	     memcmp(buf, want, FILE_SIZE) == 0;
	bad += !fd;
	say(a, "%s %s file data and offset", phase, fd ? "ok" : "FAIL");
	return bad;
}

static void grow(struct app *a)
{
	unsigned char buf[FILE_SIZE];
	off_t at = lseek(FD_FILE, 0, SEEK_CUR);

	pattern(buf, sizeof(buf), 6);
	if (pwrite(FD_FILE, buf, sizeof(buf), FILE_SIZE) == sizeof(buf))
		say(a, "grown");
	lseek(FD_FILE, at, SEEK_SET);
}

static void on_wake(int sig)
{
}

static int app_main(struct app *a)
{
	bool hal = streq(a->mode, "all");
	int r;

	/* PID 1 of a namespace gets only signals it has a handler for. */
	signal(WAKE_SIGNAL, on_wake);
	if (open_kind(a, a->mode) < 0 || (hal && register_all(a) < 0)) {
		say(a, "setup FAIL %s", strerror(errno));
		return 1;
	}
	if (hal) {
		r = HAL_CRIU_PreCheckpointNotify();
		say(a, "pre %d %s", r, hal_last_report());
	} else
		say(a, "pre 0 holding %s", a->mode);

	for (;;) {
		int cmd = wait_cmd();

		if (cmd == CMD_GROW) {
			grow(a);
		} else if (cmd == CMD_DUMPED) {
			r = HAL_CRIU_PostDumpNotify();
			say(a, "post-dump %d %s", r, hal_last_report());
			say(a, "post-dump proved %d", prove(a, "post-dump"));
			grow(a);
		} else if (cmd == CMD_RESTORED) {
			r = HAL_CRIU_PostRestoreNotify();
			say(a, "post-restore %d %s", r, hal_last_report());
			say(a, "post-restore proved %d",
			    prove(a, "post-restore"));
		}
	}
}

/* ---- the driver ---- */

struct drv {
	char dir[64], loopdev[64];
	struct peer peer;
	struct peer_stats stats;
	key_t key;
	char self[4096];
	int failures;
};

static void check(struct drv *d, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(struct drv *d, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	d->failures += !ok;
}

struct start {
	struct drv *d;
	const char *mode;
	const char *report;
};

static int app_exec(void *userdata)
{
	struct start *s = userdata;
	char key[32];
	int null = open("/dev/null", O_RDWR);

	setsid();
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close_range(3, ~0U, 0);
	snprintf(key, sizeof(key), "%d", (int)s->d->key);
	execl(s->d->self, s->d->self, "--app", s->mode, s->d->dir, key,
	      s->d->loopdev, s->d->peer.path, s->report, (char *)NULL);
	_exit(127);
}

static pid_t app_start(struct drv *d, const char *mode, const char *report)
{
	static char stack[256 * 1024];
	struct start s = { d, mode, report };

	unlink(report);
	/* The clone shares nothing but the arguments it copies at exec. */
	return clone(app_exec, stack + sizeof(stack),
		     CLONE_NEWPID | CLONE_VFORK | SIGCHLD, &s);
}

/* Waits for a report line that starts with @prefix; copies it out. */
static bool wait_line(const char *report, const char *prefix, char *out,
		      size_t size, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 5) {
		char line[1024];
		FILE *f = fopen(report, "re");

		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, prefix, strlen(prefix)) == 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(out, size, "%s", line);
				fclose(f);
				return true;
			}
		if (f)
			fclose(f);
		usleep(5000);
	}
	return false;
}

static void tell(pid_t pid, int cmd)
{
	sigqueue(pid, WAKE_SIGNAL, (union sigval){ .sival_int = cmd });
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static void shm_remove(key_t key)
{
	int id = shmget(key, 0, 0);

	if (id >= 0)
		shmctl(id, IPC_RMID, NULL);
}

/* The census, taken from outside as thawd does, names the blocker. */
static void census_expect(struct drv *d, pid_t pid, const char *what,
			  bool blocked)
{
	struct hal_census *c = NULL;
	char *text = NULL;
	int r;

	r = hal_census_take(pid, &c);
	if (r == 0)
		r = hal_census_format(c, true, &text);
	check(d, r == 0 && (c->n_blockers > 0) == blocked,
	      "census of %s from outside: %zu blocker(s) %s", what,
	      c ? c->n_blockers : 0, text ? text : "");
	free(text);
	hal_census_free(c);
}

/* One kind alone, no HAL calls: the dump (or the restore) must fail. */
static void without_hal(struct drv *d, const char *kind)
{
	char report[128], img[128], line[1024], err[4096];
	pid_t pid, restored = -1;
	int r;

	snprintf(report, sizeof(report), "%s/report-%s", d->dir, kind);
	snprintf(img, sizeof(img), "%s/img-%s", d->dir, kind);
	mkdir(img, 0700);

	pid = app_start(d, kind, report);
	if (!wait_line(report, "pre ", line, sizeof(line), 5000)) {
		check(d, false, "without HAL, %s: app did not start", kind);
		stop(pid);
		return;
	}

	census_expect(d, pid, kind, !streq(kind, "file"));
	r = swrk_dump(pid, img, err, sizeof(err));
	if (!streq(kind, "file")) {
		check(d, r < 0, "without HAL, %s alone: dump %s", kind,
		      r < 0 ? "fails" : "SUCCEEDED");
		if (r < 0)
			printf("     CRIU: %s", err);
	} else {
		check(d, r == 0, "without HAL, growing file: dump succeeds");
		tell(pid, CMD_GROW);
		wait_line(report, "grown", line, sizeof(line), 5000);
		r = r == 0 ? swrk_restore(img, &restored, err, sizeof(err)) :
			     -1;
		check(d, r < 0, "without HAL, growing file: restore %s",
		      r < 0 ? "fails" : "SUCCEEDED");
		if (r < 0)
			printf("     CRIU: %s", err);
		stop(restored);
	}
	stop(pid);
	shm_remove(d->key);
}

static bool expect(struct drv *d, const char *report, const char *prefix,
		   const char *want)
{
	char line[1024] = "";
	bool ok = wait_line(report, prefix, line, sizeof(line), 5000) &&
		  strstr(line, want);

	check(d, ok, "%s", line[0] ? line : prefix);
	return ok;
}

static void proofs(struct drv *d, const char *report, const char *phase)
{
	static const char *const what[] = { "device read",
					    "block device at offset",
					    "socket round trip", "shm contents",
					    "file data and offset" };
	char prefix[64];

	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		snprintf(prefix, sizeof(prefix), "%s ok %s", phase, what[i]);
		expect(d, report, prefix, "ok");
	}
}

static void with_hal(struct drv *d)
{
	char report[128], img[128], err[4096];
	pid_t pid, restored = -1;
	unsigned hs;
	int r;

	snprintf(report, sizeof(report), "%s/report-all", d->dir);
	snprintf(img, sizeof(img), "%s/img-all", d->dir);
	mkdir(img, 0700);

	pid = app_start(d, "all", report);
	if (!expect(d, report, "pre ", "pre 0")) {
		stop(pid);
		return;
	}

	census_expect(d, pid, "every kind after the pre-checkpoint call",
		      false);
	r = swrk_dump(pid, img, err, sizeof(err));
	check(d, r == 0 && kill(pid, 0) == 0,
	      "with HAL, every kind: dump succeeds, app left running");
	if (r < 0)
		printf("     CRIU: %s", err);

	hs = d->stats.handshakes;
	tell(pid, CMD_DUMPED);
	expect(d, report, "post-dump 0", "post-dump 0");
	proofs(d, report, "post-dump");
	expect(d, report, "post-dump proved", "proved 0");
	check(d, d->stats.handshakes == hs + 1,
	      "the socket's handshake was redone after the dump");
	expect(d, report, "grown", "grown");

	/* As after a reboot: the segment is gone when the copy wakes. */
	shm_remove(d->key);
	hs = d->stats.handshakes;
	r = r == 0 ? swrk_restore(img, &restored, err, sizeof(err)) : -1;
	check(d, r == 0,
	      "with HAL: the image restores while the original runs (pid %d and %d)",
	      (int)pid, (int)restored);
	if (r < 0)
		printf("     CRIU: %s", err);
	if (r == 0) {
		tell(restored, CMD_RESTORED);
		expect(d, report, "post-restore 0", "post-restore 0");
		proofs(d, report, "post-restore");
		expect(d, report, "post-restore ok shm re-created",
		       "re-created");
		expect(d, report, "post-restore proved", "proved 0");
		check(d, d->stats.handshakes == hs + 1,
		      "the restored copy redid the socket's handshake");
	}

	stop(restored);
	stop(pid);
	shm_remove(d->key);
}

static int run_line(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");

	if (!p)
		return -1;
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return pclose(p) == 0 && out[0] ? 0 : -1;
}

static void cleanup(struct drv *d)
{
	char cmd[256];

	peer_stop(&d->peer);
	shm_remove(d->key);
	if (d->loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", d->loopdev);
		if (system(cmd) != 0)
			printf("cannot detach %s\n", d->loopdev);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", d->dir);
}

static int driver_main(void)
{
	static struct drv d;
	static const char *const kinds[] = { "device", "block", "socket", "shm",
					     "file" };
	char cmd[256];
	ssize_t n;

	n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
	snprintf(d.dir, sizeof(d.dir), "/tmp/hal-every-kind-XXXXXX");
	if (n < 0 || !mkdtemp(d.dir))
		return 1;
	d.key = (key_t)(0x6b000000 | (getpid() & 0xffffff));
	snprintf(
		cmd, sizeof(cmd),
		"truncate -s 1M %s/loop.img && losetup -f --show -r %s/loop.img",
		d.dir, d.dir);
	if (run_line(cmd, d.loopdev, sizeof(d.loopdev)) < 0 ||
	    peer_listen(&d.peer, d.dir, &d.stats) < 0 ||
	    peer_run(&d.peer) < 0) {
		printf("FAIL set-up: %s\n", strerror(errno));
		d.loopdev[0] = d.loopdev[0] == '/' ? d.loopdev[0] : '\0';
		cleanup(&d);
		return 1;
	}

	printf("CRIU %s, options as thawd's: no ext-unix-sk, no shell-job, no plugin\n",
	       swrk_criu_binary());
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		without_hal(&d, kinds[i]);
	with_hal(&d);

	cleanup(&d);
	printf("%d failure(s)\n", d.failures);
	return d.failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct app a;
	sigset_t m;

	/* Blocked before anything can send it; sigwaitinfo() takes it. */
	sigemptyset(&m);
	sigaddset(&m, WAKE_SIGNAL);
	sigprocmask(SIG_BLOCK, &m, NULL);

	if (argc == 8 && streq(argv[1], "--app")) {
		a.mode = argv[2];
		a.dir = argv[3];
		a.key = (key_t)atoi(argv[4]);
		a.loopdev = argv[5];
		a.peer_path = argv[6];
		snprintf(a.report, sizeof(a.report), "%s", argv[7]);
		return app_main(&a);
	}
	return driver_main();
}
