// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The child of hal-criu-conformance: loads the HAL and checks its
 * contract.  With thaw's registry it registers real resources of every
 * kind and checks each one; with only the three calls it checks from the
 * outside (the fd table and System V attachments before and after each
 * call).  Both get the real dump, the time budget and the repeat rules.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"
#include "util.h"

#define BUDGET_USEC 100000

static void fd_what(int fd, const char *target, char *what, size_t size)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	size_t off = offsetof(struct sockaddr_un, sun_path);

	if (strncmp(target, "socket:", 7) != 0 ||
	    getpeername(fd, (struct sockaddr *)&sa, &len) < 0 || len <= off) {
		snprintf(what, size, "%s", target);
		return;
	}
	if (sa.sun_path[0])
		snprintf(what, size, "socket to %s", sa.sun_path);
	else
		snprintf(what, size, "socket to @%.*s", (int)(len - off - 1),
			 sa.sun_path + 1);
}

static void fd_info(int fd, struct fd_snap *s)
{
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "pos: %lld", &s->pos);
		sscanf(line, "flags: %o", &s->flags);
	}
	fclose(f);
}

/*
 * Whether the offset of @fd means anything: some devices accept lseek()
 * and ignore it, while their reads still move the offset.
 */
static bool fd_seeks(int fd)
{
	off_t cur = lseek(fd, 0, SEEK_CUR);
	bool moved;

	if (cur < 0)
		return false;
	moved = lseek(fd, cur + 1, SEEK_SET) == cur + 1;
	lseek(fd, cur, SEEK_SET);
	return moved;
}

void snap_take(struct snap *s)
{
	char link[64], target[160], line[512];
	FILE *maps;

	s->n_fds = s->n_shm = 0;
	for (int fd = 0; fd < 1024 && s->n_fds < MAX_SNAP; fd++) {
		struct fd_snap *e = &s->fds[s->n_fds];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		*e = (struct fd_snap){ .fd = fd };
		fd_what(fd, target, e->what, sizeof(e->what));
		fd_info(fd, e);
		if (!fd_seeks(fd))
			e->pos = -1;
		s->n_fds++;
	}

	maps = fopen("/proc/self/maps", "re");
	while (maps && fgets(line, sizeof(line), maps))
		if (strstr(line, "/SYSV") && s->n_shm < 32) {
			unsigned long a, b;
			char perms[8], name[64];

			if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %63s", &a, &b,
				   perms, name) == 4)
				snprintf(s->shm[s->n_shm++], 96,
					 "%lx-%lx %s %s", a, b, perms, name);
		}
	if (maps)
		fclose(maps);
}

/* Lists what differs between two snapshots into @out; returns how much. */
int snap_diff(const struct snap *a, const struct snap *b, char *out,
	      size_t size)
{
	size_t used = 0;
	int n = 0;

	out[0] = '\0';
#define ADD(...)                                                  \
	do {                                                      \
		n++;                                              \
		if (used < size)                                  \
			used += snprintf(out + used, size - used, \
					 __VA_ARGS__);            \
	} while (0)

	for (size_t i = 0; i < a->n_fds; i++) {
		const struct fd_snap *x = &a->fds[i], *y = NULL;

		for (size_t j = 0; j < b->n_fds && !y; j++)
			if (b->fds[j].fd == x->fd)
				y = &b->fds[j];
		if (!y)
			ADD("fd %d (%s) missing; ", x->fd, x->what);
		else if (strcmp(x->what, y->what) != 0)
			ADD("fd %d is %s, was %s; ", x->fd, y->what, x->what);
		else if (x->flags != y->flags)
			ADD("fd %d flags 0%o, were 0%o; ", x->fd, y->flags,
			    x->flags);
		else if (x->pos != y->pos)
			ADD("fd %d offset %lld, was %lld; ", x->fd, y->pos,
			    x->pos);
	}
	for (size_t j = 0; j < b->n_fds; j++) {
		bool found = false;

		for (size_t i = 0; i < a->n_fds && !found; i++)
			found = a->fds[i].fd == b->fds[j].fd;
		if (!found)
			ADD("fd %d (%s) new; ", b->fds[j].fd, b->fds[j].what);
	}
	for (size_t i = 0; i < a->n_shm; i++) {
		bool found = false;

		for (size_t j = 0; j < b->n_shm && !found; j++)
			found = strcmp(a->shm[i], b->shm[j]) == 0;
		if (!found)
			ADD("shm %s not attached; ", a->shm[i]);
	}
#undef ADD
	return n;
}

/* Runs one HAL call, checking its result and budget. */
int conf_timed(struct conf_ctx *c, int (*call)(void), const char *test,
	       const char *name, int want)
{
	uint64_t t0 = now_usec(CLOCK_MONOTONIC), dt;
	int r = call();
	const char *rep;

	dt = now_usec(CLOCK_MONOTONIC) - t0;
	rep = c->hal.last_report ? c->hal.last_report() : "";
	conf_check(c, r == want, test, "%s returned %d (want %d)%s%s", name, r,
		   want, *rep ? "; report: " : "", rep);
	conf_check(c, dt < BUDGET_USEC, test, "%s took %.3f ms (budget 100 ms)",
		   name, dt / 1000.0);
	return r;
}

static size_t blockers(struct conf_ctx *c, char *out, size_t size)
{
	struct hal_census *h = NULL;
	size_t n, used = 0;

	out[0] = '\0';
	if (hal_census_take(0, &h) < 0)
		return (size_t)-1;
	for (size_t i = 0; i < h->n_entries && used < size; i++)
		if (h->entries[i].verdict == HAL_VERDICT_BLOCKS)
			used += snprintf(out + used, size - used, "%s%d %s %s",
					 used ? "; " : "fd ", h->entries[i].fd,
					 h->entries[i].type,
					 h->entries[i].name);
	n = h->n_blockers;
	hal_census_free(h);
	return n;
}

/* After a pre-checkpoint call: nothing blocks, and CRIU agrees. */
void conf_check_dumpable(struct conf_ctx *c, const char *test)
{
	char text[1024];
	size_t n = blockers(c, text, sizeof(text));
	int r;

	conf_check(c, n == 0, test, "census: %zu blocker(s) left open%s%s", n,
		   n ? ": " : "", text);
	r = conf_dump(c);
	conf_check(c, r == 0, test, "real CRIU dump %s%s%s",
		   r == 0 ? "succeeded, process left running" : "failed: ",
		   r == 0 ? "" : strerror(-r), r == 0 ? "" : "");
	if (r < 0)
		conf_info(c, test, "CRIU: %s", c->sh->dump_err);
}

void conf_check_same(struct conf_ctx *c, const struct snap *before,
		     const char *test, const char *what)
{
	static struct snap now;
	char diff[2048];
	int n;

	snap_take(&now);
	n = snap_diff(before, &now, diff, sizeof(diff));
	conf_check(c, n == 0, test, "%s: fd table and shm as before%s%s", what,
		   n ? ": " : "", diff);
}

/* The checks that need nothing but the three calls. */
void conf_outside_run(struct conf_ctx *c)
{
	static struct snap s0;
	char text[1024];
	size_t n;

	snap_take(&s0);
	n = blockers(c, text, sizeof(text));
	conf_info(c, "outside",
		  "%zu fds, %zu shm attachments, %zu blocker(s)%s%s", s0.n_fds,
		  s0.n_shm, n, n ? ": " : "", text);

	/* A post call with nothing released is harmless. */
	conf_timed(c, c->hal.post_dump, "outside/early", "PostDumpNotify first",
		   0);
	conf_check_same(c, &s0, "outside/early",
			"after a post call before any pre call");

	if (conf_timed(c, c->hal.pre, "outside/pre", "PreCheckpointNotify",
		       0) == 0)
		conf_check_dumpable(c, "outside/dump");
	conf_timed(c, c->hal.post_dump, "outside/post-dump", "PostDumpNotify",
		   0);
	conf_check_same(c, &s0, "outside/post-dump", "after PostDumpNotify");

	conf_timed(c, c->hal.post_dump, "outside/repeat",
		   "PostDumpNotify again", 0);
	conf_check_same(c, &s0, "outside/repeat",
			"after a second PostDumpNotify");

	conf_timed(c, c->hal.pre, "outside/repeat", "PreCheckpointNotify", 0);
	conf_timed(c, c->hal.pre, "outside/repeat", "PreCheckpointNotify again",
		   0);
	conf_check_dumpable(c, "outside/repeat");
	conf_timed(c, c->hal.post_restore, "outside/post-restore",
		   "PostRestoreNotify", 0);
	conf_check_same(c, &s0, "outside/post-restore",
			"after PostRestoreNotify");
}

static int load(struct conf_ctx *c, const char *lib)
{
	struct hal_ops *h = &c->hal;

	h->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!conf_check(c, h->dl != NULL, "load", "dlopen: %s",
			h->dl ? "ok" : dlerror()))
		return -ENOENT;

#define SYM(field, name) (*(void **)&h->field = dlsym(h->dl, name))
	SYM(pre, "HAL_CRIU_PreCheckpointNotify");
	SYM(post_dump, "HAL_CRIU_PostDumpNotify");
	SYM(post_restore, "HAL_CRIU_PostRestoreNotify");
	SYM(last_report, "hal_last_report");
	SYM(version, "hal_version");
	SYM(device_register, "hal_device_register");
	SYM(socket_register, "hal_socket_register");
	SYM(shm_register, "hal_shm_register");
	SYM(file_register, "hal_file_register");
	SYM(custom_register, "hal_custom_register");
	SYM(unregister, "hal_unregister");
	SYM(census_take, "hal_census_take");
	SYM(census_free, "hal_census_free");
	SYM(census_check_set, "hal_census_check_set");
#undef SYM

	if (!conf_check(c, h->pre && h->post_dump && h->post_restore, "load",
			"the three HAL_CRIU_* calls are exported"))
		return -ENOENT;
	conf_info(c, "load", "version %s, report %s, registry %s",
		  h->version ? h->version() : "(none)",
		  h->last_report ? "yes" : "no",
		  h->device_register ? "yes" : "no");
	return 0;
}

int conf_child_run(struct conf_ctx *c, const char *lib)
{
	if (load(c, lib) < 0)
		return CONF_EXIT_UNUSABLE;

	if (c->hal.device_register && c->hal.socket_register &&
	    c->hal.shm_register && c->hal.file_register &&
	    c->hal.custom_register && c->hal.unregister)
		conf_registry_run(c);
	else
		conf_outside_run(c);
	return 0;
}
