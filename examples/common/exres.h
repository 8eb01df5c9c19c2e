/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The example apps' resources that CRIU cannot dump, each opened here and
 * registered with the HAL (libhal-criu's registry), which lets go of it
 * before every dump and takes it back, at the same fd number or address,
 * after the dump and after a restore.
 *
 * Each call returns what it opened or a negative errno.
 */

#include <stddef.h>
#include <sys/types.h>

/* A character device, opened with flags (O_CLOEXEC is added). */
int exres_open_device(const char *path, int flags);

/*
 * A stream connection to a peer service's Unix socket.  After each
 * reconnection the HAL redoes the handshake: "HELLO <app>" answered by
 * "WELCOME <app> ...".
 */
int exres_connect_peer(const char *path, const char *app);

/* A read-write file on persistent storage, synced and closed before each
 * dump, reopened at its offset after. */
int exres_open_rw_file(const char *path, int flags, mode_t mode);

/*
 * Attaches the System V segment of key (which must exist), detached before
 * each dump and re-attached at the same address after.  Stores its size in
 * *ret_size.  Returns the address, or NULL with errno set.
 */
void *exres_attach_shm(key_t key, size_t *ret_size);
