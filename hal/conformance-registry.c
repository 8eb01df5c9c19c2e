// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The conformance checks of a HAL with thaw's registry: real resources of
 * every kind, registered, released, dumped and taken back, each checked
 * for its number, flags, offset and contents; then the error paths, the
 * ordering rules and the budget with a thousand resources.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"
#include "util.h"

#define SHM_SIZE  (128 * 1024)
#define DATA_SIZE 8192
#define DATA_POS  5000
#define BUDGET_MS 100.0

struct tres {
	const char *name;
	int fd;
	int id;
	struct stat st;
};

struct reg {
	struct conf_ctx *c;
	struct tres fds[16];
	size_t n_fds;
	key_t key1, key2;
	void *shm1, *shm2;
	int shm_reg1, shm_reg2;
	int quiesced, replays, handshakes, refills;
	char order[64];
	int reentry;
	char data_path[200], log_path[200];
};

static int count_quiesce(int fd, void *userdata)
{
	struct reg *g = userdata;

	g->quiesced++;
	return 0;
}

static int latency_replay(int fd, enum hal_reason reason, void *userdata)
{
	struct reg *g = userdata;
	int32_t us = 100;

	g->replays++;
	return write(fd, &us, sizeof(us)) == sizeof(us) ? 0 : -EIO;
}

static int counted_handshake(int fd, enum hal_reason reason, void *userdata)
{
	struct reg *g = userdata;

	g->handshakes++;
	return peer_handshake(fd, reason, NULL);
}

static void pattern(void *p, size_t size, int seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		b[i] = (unsigned char)(i * 31 + seed);
}

static bool pattern_ok(const void *p, size_t size, int seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i] != (unsigned char)(i * 31 + seed))
			return false;
	return true;
}

static int refill2(void *addr, size_t size, void *userdata)
{
	struct reg *g = userdata;

	g->refills++;
	pattern(addr, size, 2);
	return 0;
}

/* Opens @path at fd @want with @flags; returns @want or -errno. */
static int open_at(int want, const char *path, int flags)
{
	int fd = open(path, flags & ~O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (dup3(fd, want, flags & O_CLOEXEC) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return want;
}

static int move_to(int fd, int want)
{
	if (fd < 0)
		return fd;
	if (dup3(fd, want, O_CLOEXEC) < 0)
		return -errno;
	close(fd);
	return want;
}

static void add(struct reg *g, const char *name, int fd, int id)
{
	struct tres *t = &g->fds[g->n_fds++];

	*t = (struct tres){ .name = name, .fd = fd, .id = id };
	fstat(fd, &t->st);
	conf_check(g->c, fd >= 0 && id > 0, "register", "%s at fd %d: id %d",
		   name, fd, id);
}

static void *shm_make(key_t key, int seed, bool rdonly)
{
	int id = shmget(key, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0600);
	void *p;

	if (id < 0)
		return NULL;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return NULL;
	pattern(p, SHM_SIZE, seed);
	if (!rdonly)
		return p;
	shmdt(p);
	p = shmat(id, NULL, SHM_RDONLY);
	return p == (void *)-1 ? NULL : p;
}

static void devices_open(struct reg *g)
{
	const struct hal_ops *h = &g->c->hal;
	int fd;

	fd = open_at(40, "/dev/null", O_RDWR | O_APPEND);
	add(g, "/dev/null", fd, h->device_register(fd, NULL, NULL, NULL, g));
	fd = open_at(41, "/dev/urandom", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	add(g, "/dev/urandom", fd, h->device_register(fd, NULL, NULL, NULL, g));
	fd = open_at(42, "/dev/cpu_dma_latency", O_RDWR);
	add(g, "/dev/cpu_dma_latency", fd,
	    h->device_register(fd, NULL, NULL, latency_replay, g));
	fd = open_at(43, "/dev/hwrng", O_RDONLY | O_CLOEXEC);
	add(g, "/dev/hwrng", fd,
	    h->device_register(fd, NULL, count_quiesce, NULL, g));
	fd = open_at(44, "/dev/loop-control", O_RDWR);
	add(g, "/dev/loop-control", fd,
	    h->device_register(fd, NULL, NULL, NULL, g));
	fd = open_at(45, "/dev/fuse", O_RDWR | O_CLOEXEC);
	add(g, "/dev/fuse", fd, h->device_register(fd, NULL, NULL, NULL, g));
	fd = open_at(46, g->c->loopdev, O_RDONLY);
	if (fd >= 0)
		lseek(fd, 4096, SEEK_SET);
	add(g, "loop block device (ro)", fd,
	    h->device_register(fd, NULL, NULL, NULL, g));
}

static void others_open(struct reg *g)
{
	const struct hal_ops *h = &g->c->hal;
	char buf[DATA_SIZE];
	int fd;

	fd = move_to(peer_connect(g->c->peer, false, 0), 47);
	if (fd >= 0)
		peer_handshake(fd, HAL_REASON_DUMP, NULL);
	add(g, "unix stream (path)", fd,
	    h->socket_register(fd, counted_handshake, g));
	fd = move_to(peer_connect(g->c->peer, true, SOCK_NONBLOCK), 48);
	if (fd >= 0)
		peer_handshake(fd, HAL_REASON_DUMP, NULL);
	add(g, "unix seqpacket (abstract)", fd,
	    h->socket_register(fd, counted_handshake, g));

	pattern(buf, sizeof(buf), 9);
	fd = open_at(49, g->data_path, O_RDWR | O_CREAT | O_TRUNC);
	if (fd >= 0 && (write(fd, buf, sizeof(buf)) != sizeof(buf) ||
			lseek(fd, DATA_POS, SEEK_SET) != DATA_POS))
		fd = -EIO;
	add(g, "rw file, unsynced", fd, h->file_register(fd, NULL));
	fd = open_at(50, g->log_path,
		     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC);
	add(g, "append-only file", fd, h->file_register(fd, NULL));

	g->shm1 = shm_make(g->key1, 1, false);
	g->shm2 = shm_make(g->key2, 2, true);
	g->shm_reg1 = g->shm1 ?
			      h->shm_register(g->shm1, HAL_SHM_SAVE, NULL, g) :
			      -ENOMEM;
	g->shm_reg2 = g->shm2 ? h->shm_register(g->shm2, 0, refill2, g) :
				-ENOMEM;
	conf_check(g->c, g->shm_reg1 > 0, "register",
		   "System V rw, saved contents: id %d", g->shm_reg1);
	conf_check(g->c, g->shm_reg2 > 0, "register",
		   "System V read-only, refill callback: id %d", g->shm_reg2);
}

static void bad_registrations(struct reg *g)
{
	const struct hal_ops *h = &g->c->hal;
	int r;

	r = h->device_register(40, NULL, NULL, NULL, NULL);
	conf_check(g->c, r == -EEXIST, "register/errors",
		   "same fd twice: %d (want -EEXIST)", r);
	r = h->socket_register(49, NULL, NULL);
	conf_check(g->c, r == -EINVAL, "register/errors",
		   "a file as a socket: %d (want -EINVAL)", r);
	r = h->device_register(900, NULL, NULL, NULL, NULL);
	conf_check(g->c, r == -EBADF, "register/errors",
		   "a closed fd: %d (want -EBADF)", r);
	r = h->file_register(40, NULL);
	conf_check(g->c, r == -EINVAL, "register/errors",
		   "a device as a file: %d (want -EINVAL)", r);
	r = h->shm_register(g, 0, NULL, NULL);
	conf_check(g->c, r == -EINVAL, "register/errors",
		   "a non-shm address: %d (want -EINVAL)", r);
}

static void census_registered(struct reg *g)
{
	struct hal_census *h = NULL;
	size_t hal = 0;
	int r;

	if (!g->c->hal.census_take)
		return;
	r = g->c->hal.census_take(0, &h);
	if (!conf_check(g->c, r == 0, "census", "hal_census_take(0): %d", r))
		return;
	for (size_t i = 0; i < h->n_entries; i++)
		hal += h->entries[i].verdict == HAL_VERDICT_HAL;
	conf_check(g->c, h->n_blockers == 0 && hal == g->n_fds + 2, "census",
		   "%zu blockers, %zu entries the HAL's (want 0, %zu)",
		   h->n_blockers, hal, g->n_fds + 2);
	g->c->hal.census_free(h);
}

/* After the pre-checkpoint call: none of the resources is still open. */
static void check_released(struct reg *g)
{
	size_t open_still = 0;
	char names[512] = "";

	for (size_t i = 0; i < g->n_fds; i++) {
		struct tres *t = &g->fds[i];
		struct stat st;

		if (fstat(t->fd, &st) == 0 && st.st_dev == t->st.st_dev &&
		    st.st_ino == t->st.st_ino) {
			open_still++;
			strncat(names, t->name,
				sizeof(names) - strlen(names) - 2);
			strcat(names, " ");
		}
	}
	conf_check(g->c, open_still == 0, "pre/released",
		   "%zu of %zu fds still open %s", open_still, g->n_fds, names);
	conf_check(g->c, shmdt(g->shm1) < 0 && shmdt(g->shm2) < 0,
		   "pre/released", "System V segments detached");
	conf_check(g->c, g->quiesced == 1, "pre/released",
		   "quiesce callback ran %d time(s)", g->quiesced);
}

static void grow_files(struct reg *g)
{
	int fd = open(g->data_path, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "grown after the dump", 20) != 20)
			conf_info(g->c, "grow", "append failed");
		close(fd);
	}
}

static void check_usable(struct reg *g, const char *test)
{
	char buf[DATA_SIZE], want[DATA_SIZE];
	struct stat st;

	conf_check(g->c, read(41, buf, 16) == 16, test, "/dev/urandom reads");
	conf_check(g->c, read(42, buf, 4) == 4, test,
		   "/dev/cpu_dma_latency reads its value");
	conf_check(g->c, read(43, buf, 1) == 1, test, "/dev/hwrng reads");
	conf_check(g->c, write(40, "x", 1) == 1, test, "/dev/null writes");
	conf_check(g->c,
		   fstat(44, &st) == 0 && st.st_rdev == g->fds[4].st.st_rdev,
		   test, "/dev/loop-control is the same device");
	conf_check(g->c,
		   fstat(45, &st) == 0 && st.st_rdev == g->fds[5].st.st_rdev,
		   test, "/dev/fuse is the same device");
	conf_check(g->c, pread(46, buf, 512, 0) == 512, test,
		   "loop block device reads");
	conf_check(g->c, peer_ping(47) == 0, test, "stream socket round trip");
	conf_check(g->c, peer_ping(48) == 0, test,
		   "seqpacket socket round trip");

	pattern(want, sizeof(want), 9);
	conf_check(g->c,
		   pread(49, buf, sizeof(buf), 0) == sizeof(buf) &&
			   memcmp(buf, want, sizeof(buf)) == 0,
		   test, "rw file data intact");
	if (fstat(49, &st) < 0)
		st.st_size = -1;
	conf_check(g->c, st.st_size == DATA_SIZE + 20, test,
		   "rw file reopened at its new size (%lld)",
		   (long long)st.st_size);
	conf_check(g->c, pattern_ok(g->shm1, SHM_SIZE, 1), test,
		   "rw System V contents at %p", g->shm1);
	conf_check(g->c, pattern_ok(g->shm2, SHM_SIZE, 2), test,
		   "read-only System V contents at %p", g->shm2);
}

static void main_cycle(struct reg *g, const struct snap *s0)
{
	static struct snap now;
	struct conf_ctx *c = g->c;
	int hs;

	conf_timed(c, c->hal.pre, "pre", "PreCheckpointNotify", 0);
	check_released(g);
	conf_check_dumpable(c, "pre/dump");
	grow_files(g);

	hs = g->handshakes;
	conf_timed(c, c->hal.post_dump, "post-dump", "PostDumpNotify", 0);
	conf_check_same(c, s0, "post-dump", "numbers, flags, offsets");
	check_usable(g, "post-dump");
	conf_check(c, g->handshakes == hs + 2 && g->replays == 1, "post-dump",
		   "handshakes %d (want 2), replays %d (want 1)",
		   g->handshakes - hs, g->replays);

	/* The reads above moved offsets: compare with the table as it is. */
	snap_take(&now);
	conf_timed(c, c->hal.post_dump, "repeat", "PostDumpNotify again", 0);
	conf_check_same(c, &now, "repeat", "after a second PostDumpNotify");
	conf_check(c, g->handshakes == hs + 2 && g->replays == 1, "repeat",
		   "nothing redone by the second call");
}

static void restore_cycle(struct reg *g)
{
	static struct snap s0_, *s0 = &s0_;
	struct conf_ctx *c = g->c;
	int r1, r2;

	snap_take(s0);
	conf_timed(c, c->hal.pre, "restore", "PreCheckpointNotify", 0);
	conf_timed(c, c->hal.pre, "repeat", "PreCheckpointNotify again", 0);
	conf_check_dumpable(c, "restore/dump");

	/* As after a reboot: the segments are gone. */
	r1 = shmctl(shmget(g->key1, 0, 0), IPC_RMID, NULL);
	r2 = shmctl(shmget(g->key2, 0, 0), IPC_RMID, NULL);
	conf_info(c, "restore", "segments removed: %d %d", r1, r2);

	conf_timed(c, c->hal.post_restore, "post-restore", "PostRestoreNotify",
		   0);
	conf_check_same(c, s0, "post-restore", "numbers, flags, offsets");
	check_usable(g, "post-restore");
	conf_check(c, g->refills == 1, "post-restore",
		   "refill callback ran %d time(s)", g->refills);
}

static int fail_release(void *userdata)
{
	return -EIO;
}

static void check_rollback(struct reg *g)
{
	static struct snap s0_, *s0 = &s0_;
	struct conf_ctx *c = g->c;
	const char *rep;
	int id;

	snap_take(s0);
	id = c->hal.custom_register("failing-release", -100, fail_release, NULL,
				    NULL);
	conf_timed(c, c->hal.pre, "rollback", "PreCheckpointNotify", -1);
	rep = c->hal.last_report ? c->hal.last_report() : "";
	conf_check(c, strstr(rep, "failing-release") != NULL, "rollback",
		   "report names the failed resource");
	conf_check_same(c, s0, "rollback", "everything taken back");
	check_usable(g, "rollback");
	c->hal.unregister(id);
}

static int order_release(void *userdata);
static int order_acquire(enum hal_reason reason, void *userdata);

struct order_item {
	struct reg *g;
	char tag;
};

static int order_release(void *userdata)
{
	struct order_item *o = userdata;
	size_t n = strlen(o->g->order);

	o->g->order[n] = o->tag;
	if (o->tag == 'D')
		o->g->reentry = o->g->c->hal.device_register(40, NULL, NULL,
							     NULL, NULL);
	return 0;
}

static int order_acquire(enum hal_reason reason, void *userdata)
{
	struct order_item *o = userdata;
	size_t n = strlen(o->g->order);

	o->g->order[n] = (char)(o->tag - 'A' + 'a');
	return 0;
}

static void check_order(struct reg *g)
{
	struct conf_ctx *c = g->c;
	struct order_item items[] = {
		{ g, 'A' }, { g, 'B' }, { g, 'C' }, { g, 'D' }
	};
	int prio[] = { 0, 5, 0, -5 }, ids[4];

	for (int i = 0; i < 4; i++)
		ids[i] = c->hal.custom_register("order", prio[i], order_release,
						order_acquire, &items[i]);
	g->order[0] = '\0';
	c->hal.pre();
	c->hal.post_dump();
	conf_check(c, strcmp(g->order, "BCADdacb") == 0, "order",
		   "release then acquire: %s (want BCADdacb)", g->order);
	conf_check(c, g->reentry == -EDEADLK, "order",
		   "registering from a callback: %d (want -EDEADLK)",
		   g->reentry);
	for (int i = 0; i < 4; i++)
		c->hal.unregister(ids[i]);
}

static void check_post_failure(struct reg *g)
{
	struct conf_ctx *c = g->c;
	static struct snap s1, now;
	char link[200], diff[1024];
	const char *rep;
	int fd, id, n;

	snprintf(link, sizeof(link), "%s/null-link", c->dir);
	if (symlink("/dev/null", link) < 0)
		return;
	fd = open_at(55, link, O_RDWR);
	id = c->hal.device_register(fd, link, NULL, NULL, NULL);
	snap_take(&s1);

	c->hal.pre();
	unlink(link);
	conf_timed(c, c->hal.post_dump, "post/failure", "PostDumpNotify", -1);
	rep = c->hal.last_report ? c->hal.last_report() : "";
	conf_check(c, strstr(rep, "fd 55") != NULL, "post/failure",
		   "report names fd 55: %s", rep);
	snap_take(&now);
	n = snap_diff(&s1, &now, diff, sizeof(diff));
	conf_check(c, n == 1 && strstr(diff, "fd 55"), "post/failure",
		   "every other resource back (%d difference(s): %s)", n, diff);

	if (symlink("/dev/null", link) == 0)
		conf_timed(c, c->hal.post_dump, "post/failure",
			   "PostDumpNotify retried", 0);
	conf_check_same(c, &s1, "post/failure", "back after the retry");

	c->hal.pre();
	n = c->hal.unregister(id);
	conf_check(c, n == -EBUSY, "unregister",
		   "while released: %d (want -EBUSY)", n);
	c->hal.post_dump();
	c->hal.unregister(id);
	close(fd);
	unlink(link);
}

static void check_census_mode(struct reg *g)
{
	struct conf_ctx *c = g->c;
	static struct snap s2;
	const char *rep;
	int fd;

	if (!c->hal.census_check_set)
		return;
	fd = open_at(56, "/dev/hwrng", O_RDONLY | O_CLOEXEC);
	snap_take(&s2);
	c->hal.census_check_set(true);
	conf_timed(c, c->hal.pre, "census-mode", "PreCheckpointNotify", -1);
	rep = c->hal.last_report ? c->hal.last_report() : "";
	conf_check(c, strstr(rep, "fd 56") && strstr(rep, "/dev/hwrng"),
		   "census-mode", "report lists the blocker: %s", rep);
	conf_check_same(c, &s2, "census-mode", "nothing released");
	c->hal.census_check_set(false);
	c->hal.post_dump();
	close(fd);
}

/* Runs @call and returns its duration in ms; counts wrong results. */
static double call_ms(int (*call)(void), int *wrong)
{
	uint64_t t0 = now_usec(CLOCK_MONOTONIC);

	*wrong += call() != 0;
	return (now_usec(CLOCK_MONOTONIC) - t0) / 1000.0;
}

/*
 * The budget with a thousand resources.  Each call's best of three
 * rounds counts, so that a busy machine's scheduling (other tests run
 * alongside) is not charged to the HAL; every round is reported.
 */
static void check_budget(struct reg *g)
{
	static const char *const names[] = { "PreCheckpointNotify",
					     "PostDumpNotify",
					     "PostRestoreNotify" };
	struct conf_ctx *c = g->c;
	double t[3][3], best[3] = { 1e9, 1e9, 1e9 };
	int wrong = 0, r;
	struct mix m;

	r = mix_open(&m, &c->hal, c->peer, c->dir, (size_t)c->n_mix);
	if (!conf_check(c, r == 0, "budget", "%d resources of the mix: %s",
			c->n_mix, r == 0 ? "registered" : strerror(-r)))
		return;

	for (int i = 0; i < 3; i++) {
		mix_dirty(&m);
		t[i][0] = call_ms(c->hal.pre, &wrong);
		t[i][1] = call_ms(c->hal.post_dump, &wrong);
		mix_dirty(&m);
		c->hal.pre();
		t[i][2] = call_ms(c->hal.post_restore, &wrong);
		for (int k = 0; k < 3; k++)
			best[k] = t[i][k] < best[k] ? t[i][k] : best[k];
	}
	mix_close(&m, &c->hal);

	conf_check(c, wrong == 0, "budget",
		   "%d call(s) failed with %d resources", wrong, c->n_mix);
	for (int k = 0; k < 3; k++)
		conf_check(
			c, best[k] < BUDGET_MS, "budget",
			"%s with %d resources: %.3f ms (rounds %.3f %.3f %.3f; budget 100 ms)",
			names[k], c->n_mix, best[k], t[0][k], t[1][k], t[2][k]);
}

static void teardown(struct reg *g)
{
	for (size_t i = 0; i < g->n_fds; i++) {
		g->c->hal.unregister(g->fds[i].id);
		close(g->fds[i].fd);
	}
	g->c->hal.unregister(g->shm_reg1);
	g->c->hal.unregister(g->shm_reg2);
	shmctl(shmget(g->key1, 0, 0), IPC_RMID, NULL);
	shmctl(shmget(g->key2, 0, 0), IPC_RMID, NULL);
}

void conf_registry_run(struct conf_ctx *c)
{
	static struct reg g;
	static struct snap s0;

	g.c = c;
	g.key1 = (key_t)(0x7a000000 | (getpid() & 0xffffff));
	g.key2 = (key_t)(0x7b000000 | (getpid() & 0xffffff));
	snprintf(g.data_path, sizeof(g.data_path), "%s/data.bin", c->dir);
	snprintf(g.log_path, sizeof(g.log_path), "%s/app.log", c->dir);

	devices_open(&g);
	others_open(&g);
	bad_registrations(&g);
	census_registered(&g);
	snap_take(&s0);

	main_cycle(&g, &s0);
	restore_cycle(&g);
	check_rollback(&g);
	check_order(&g);
	check_post_failure(&g);
	check_census_mode(&g);
	check_budget(&g);
	conf_outside_run(c);
	teardown(&g);
}
