/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A realistic mix of registered resources for the budget checks of the
 * conformance suite and the benchmark: per ten, three real devices, two
 * sockets that reconnect with a handshake, one System V segment, three
 * files with unsynced data and one custom callback pair.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "peer.h"
#include "thaw/hal.h"

/* A HAL's calls, linked or found with dlsym(); the registry's may be NULL. */
struct hal_ops {
	void *dl;
	int (*pre)(void);
	int (*post_dump)(void);
	int (*post_restore)(void);
	const char *(*last_report)(void);
	const char *(*version)(void);
	int (*device_register)(int, const char *, hal_quiesce_fn, hal_reopen_fn,
			       void *);
	int (*socket_register)(int, hal_reopen_fn, void *);
	int (*shm_register)(const void *, unsigned, hal_refill_fn, void *);
	int (*file_register)(int, const char *);
	int (*custom_register)(const char *, int, hal_release_fn,
			       hal_acquire_fn, void *);
	int (*unregister)(int);
	int (*census_take)(pid_t, struct hal_census **);
	struct hal_census *(*census_free)(struct hal_census *);
	void (*census_check_set)(bool);
};

/* The kinds of the mix, for mix_open_kind(). */
enum mix_kind {
	MIX_ALL = -1,
	MIX_NULL,
	MIX_URANDOM,
	MIX_LATENCY,   /* /dev/cpu_dma_latency, with a replay callback */
	MIX_STREAM,    /* to a path, with a handshake */
	MIX_SEQPACKET, /* to an abstract name, with a handshake */
	MIX_SHM,       /* 64 KiB, contents saved */
	MIX_FILE,      /* with 4 KiB of unsynced data */
	MIX_CUSTOM = 9,
};

struct mix {
	enum mix_kind kind;
	size_t n;
	int *ids;    /* registry ids */
	int *fds;    /* -1 where none */
	int *shmids; /* -1 where none */
	void **addrs;
	char dir[160];
};

/*
 * Opens and registers @n resources of the mix (files in @dir, sockets to
 * @peer).  Returns 0 or the first negative errno; on failure what was
 * opened is closed again.
 */
int mix_open(struct mix *m, const struct hal_ops *ops, const struct peer *p,
	     const char *dir, size_t n);

/* Like mix_open(), with @n resources of one kind (or MIX_ALL). */
int mix_open_kind(struct mix *m, const struct hal_ops *ops,
		  const struct peer *p, const char *dir, size_t n,
		  enum mix_kind kind);

/* Writes unsynced data to each file of the mix. */
int mix_dirty(struct mix *m);

/* Unregisters and closes everything; accepts an empty mix. */
void mix_close(struct mix *m, const struct hal_ops *ops);
