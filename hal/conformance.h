/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * hal-criu-conformance: the parent (runner) dumps the child and serves
 * its sockets; the child loads the HAL under test and runs the checks.
 * They share one anonymous mapping, which CRIU dumps with the child.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mix.h"
#include "peer.h"
#include "thaw/hal.h"

#define CONF_LOG_SIZE (256 * 1024)

struct conf_shared {
	volatile int dump_req;	/* the child bumps it to ask for a dump */
	volatile int dump_done; /* the parent sets it to dump_req when done */
	int dump_rc;
	char dump_err[4096];
	struct peer_stats stats;
	volatile size_t log_len;
	char log[CONF_LOG_SIZE]; /* "P|F|I <test>\t<detail>\n" records */
};

struct conf_ctx {
	struct conf_shared *sh;
	struct hal_ops hal; /* the HAL under test, from dlsym() */
	const struct peer *peer;
	char dir[128];	  /* scratch folder */
	char loopdev[64]; /* read-only loop device */
	int n_mix;	  /* resources for the budget check */
};

/* Records one check; returns @ok. */
bool conf_check(struct conf_ctx *c, bool ok, const char *test, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
void conf_info(struct conf_ctx *c, const char *test, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Asks the parent to dump us; 0 or CRIU's negative errno. */
int conf_dump(struct conf_ctx *c);

#define MAX_SNAP 256

/* The fd table and System V attachments of the calling process. */
struct fd_snap {
	int fd;
	char what[160]; /* target, or a socket's peer */
	unsigned flags;
	long long pos;
};

struct snap {
	size_t n_fds, n_shm;
	struct fd_snap fds[MAX_SNAP];
	char shm[32][96]; /* "start-end perms /SYSVkey" */
};

void snap_take(struct snap *s);

/* Lists what differs into @out; returns the number of differences. */
int snap_diff(const struct snap *a, const struct snap *b, char *out,
	      size_t size);

/* Runs one HAL call, checking its return value and the 100 ms budget. */
int conf_timed(struct conf_ctx *c, int (*call)(void), const char *test,
	       const char *name, int want);

/* Checks that nothing blocks the dump any more, then dumps for real. */
void conf_check_dumpable(struct conf_ctx *c, const char *test);

/* Checks that the fd table and attachments are as in @before. */
void conf_check_same(struct conf_ctx *c, const struct snap *before,
		     const char *test, const char *what);

/* The checks from outside, for any HAL. */
void conf_outside_run(struct conf_ctx *c);

/* The registry's checks, for a HAL with thaw's registry. */
void conf_registry_run(struct conf_ctx *c);

/* The child's exit code when the library cannot be used at all. */
#define CONF_EXIT_UNUSABLE 3

/* The child's whole run: loads @lib and checks it; returns its exit code. */
int conf_child_run(struct conf_ctx *c, const char *lib);
