/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One registered resource, and what each kind does with it. */

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "hal-internal.h"

enum res_kind {
	RES_DEVICE,
	RES_SOCKET,
	RES_SHM,
	RES_FILE,
	RES_CUSTOM,
};

struct resource {
	int id;
	enum res_kind kind;
	int priority;
	unsigned long seq;
	bool released;

	/* fd kinds */
	int fd;
	int fd_flags; /* F_GETFD */
	int fl_flags; /* F_GETFL */
	off_t offset;
	bool seekable;
	dev_t st_dev; /* files: the file system they are on */
	char *path;

	/* sockets */
	int sock_type;
	struct sockaddr_un peer;
	socklen_t peer_len;

	/* System V shared memory */
	void *addr;
	size_t size;
	key_t key;
	int shmid;
	int shmflg;
	int mode;
	unsigned flags;
	bool dest; /* marked for removal: the detach destroys it */
	void *saved;

	hal_quiesce_fn quiesce;
	hal_reopen_fn reopen;
	hal_refill_fn refill;
	hal_release_fn release;
	hal_acquire_fn acquire;
	void *userdata;
	char *name;
};

/* Shared by the releases of one pre-checkpoint call. */
struct release_ctx {
	int reserved_fd; /* read-only memfd put at released fd numbers */
};

/* Fills the kind-specific part of @r from what the process holds. */
int res_device_init(struct resource *r, const char *path);
int res_socket_init(struct resource *r);
int res_shm_init(struct resource *r, const void *addr);
int res_file_init(struct resource *r, const char *path);

/*
 * Releases @r, or takes it back.  Both return 0 or a negative errno and
 * add a clause naming the failed step to @why on failure (@why may also
 * get a note on success).  res_acquire() returns 1 when the resource is
 * back but its replay or handshake callback failed.
 */
int res_release(struct resource *r, struct release_ctx *ctx,
		struct hal_text *why);
int res_acquire(struct resource *r, enum hal_reason reason,
		struct hal_text *why);

/* "device fd 7 (/dev/hwrng)" into @t. */
void res_describe(const struct resource *r, struct hal_text *t);

/* Drops what a released resource still reserves (its fd or range). */
void res_forget(struct resource *r);

void res_free(struct resource *r);

/* Whether fd @fd holds the HAL's reservation. */
bool fd_is_reserved(int fd);
