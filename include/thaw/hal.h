/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libhal-criu's registry: how code inside an app (vendor driver
 * libraries, middleware, the app itself) announces the resources that the
 * HAL calls of thaw/hal_criu.h must release before a dump and take back
 * after it.  Also the census of what in a process blocks a dump, which
 * thawd links too (as the static library hal-census).
 *
 * ABI: the library is libhal-criu.so.1; every function here keeps its
 * signature and meaning for the life of SONAME 1.
 *
 * Rules for every registry function:
 * - Thread-safe.  Registering and unregistering may happen at any time,
 *   from any thread, except from inside one of the callbacks below
 *   (which return -EDEADLK if they try).  A callback may call
 *   hal_count(), the census functions and hal_census_check_set();
 *   hal_last_report() returns "" there.
 * - The app keeps owning the fds and mappings it registers: the HAL
 *   closes and reopens them only inside the three HAL calls, and never
 *   closes one on unregistering.  An fd number must not be closed or
 *   reused by the app while it is registered.
 * - Callbacks run inside the HAL calls, on the caller's thread, and must
 *   return quickly (the three calls share a budget of 100 ms).  A
 *   callback returns 0 or a negative errno.
 * - Nothing is written to stdout or stderr; nothing aborts.
 *
 * While released (from the pre-checkpoint call to the post call that
 * takes it back), a registered fd number holds an empty, sealed,
 * read-only memfd named "thaw-hal-reserved" (reads return 0, writes fail
 * with EBADF) and a shared memory range an inaccessible private mapping,
 * so that nothing else in the app takes them; CRIU dumps both as they
 * are, and the census counts them as the HAL's.
 *
 * Ordering: each resource has a priority (0 unless given).  The
 * pre-checkpoint call releases resources from the highest priority to
 * the lowest, and within one priority the last registered first; the
 * post calls take them back in exactly the opposite order.  A component
 * that must be released before another (because it uses it) gets a
 * higher priority.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a resource is being taken back. */
enum hal_reason {
	HAL_REASON_DUMP = 1,	 /* after a dump, in the original */
	HAL_REASON_RESTORE = 2,	 /* after a restore, in the copy */
	HAL_REASON_ROLLBACK = 3, /* the pre-checkpoint call failed */
};

/* Called before a device fd is closed, e.g. to drain queued requests. */
typedef int (*hal_quiesce_fn)(int fd, void *userdata);

/*
 * Called after a device fd was reopened (at its number) to replay its
 * state, typically ioctls.  Also used as the handshake of a socket: it
 * then redoes the app-level greeting on the reconnected fd.
 */
typedef int (*hal_reopen_fn)(int fd, enum hal_reason reason, void *userdata);

/*
 * Refills a System V segment that had to be re-created after a restore.
 * @addr is where it is attached, @size its size.
 */
typedef int (*hal_refill_fn)(void *addr, size_t size, void *userdata);

/* Releases and re-acquires anything else. */
typedef int (*hal_release_fn)(void *userdata);
typedef int (*hal_acquire_fn)(enum hal_reason reason, void *userdata);

/*
 * Every registration function returns a resource id (> 0) for
 * hal_unregister() and hal_priority_set(), or a negative errno: -EBADF
 * when @fd is not open, -EINVAL when it is of the wrong kind, -EEXIST
 * when it is registered already, -ENOMEM, -EDEADLK from a callback.
 */

/*
 * A character or block device fd.  @path is the path to reopen it by, or
 * NULL to take the one the fd was opened by.  Before the dump @quiesce
 * (may be NULL) runs, then the fd is closed; afterwards the device is
 * reopened by path with the same access mode and status flags, put back
 * at @fd with its close-on-exec flag, at its old offset when the device
 * seeks, and then @replay (may be NULL) runs on it.
 */
int hal_device_register(int fd, const char *path, hal_quiesce_fn quiesce,
			hal_reopen_fn replay, void *userdata);

/*
 * A Unix socket (stream, seqpacket or datagram) connected to a peer
 * outside the process, by path or abstract name.  Closed before the dump;
 * afterwards a new socket of the same type is connected to the same
 * address, put back at @fd with its flags (O_NONBLOCK, close-on-exec), and
 * @handshake (may be NULL) redoes the app-level greeting on it.
 * Returns -ENOTCONN when the socket is not connected, -EINVAL when the
 * peer has no name to reconnect to (e.g. one end of a socketpair).
 */
int hal_socket_register(int fd, hal_reopen_fn handshake, void *userdata);

/* hal_shm_register() flags. */
enum {
	/* Keep a copy of the contents, to refill a re-created segment. */
	HAL_SHM_SAVE = 1 << 0,
};

/*
 * A System V shared memory attachment starting at @addr.  Detached before
 * the dump (the address range stays reserved) and re-attached at @addr
 * with the same access afterwards.  When the segment no longer exists
 * (after a restore following a reboot), it is re-created with its key,
 * size and mode, then refilled by @refill when given, else from the copy
 * taken before the dump when @flags has HAL_SHM_SAVE; without either it
 * comes back zeroed (and the report says so).  A segment already marked
 * for removal (IPC_RMID) that only this process has attached dies with
 * the detach: its contents are then kept whatever @flags say, and the
 * segment that replaces it is marked for removal again.  Returns -EINVAL
 * when @addr is not the start of a System V attachment.
 */
int hal_shm_register(const void *addr, unsigned flags, hal_refill_fn refill,
		     void *userdata);

/*
 * A regular file, usually open for writing on persistent storage.  Before
 * the dump its data, when it is open for writing, is written out and
 * waited for (then one fdatasync() per file system), and the fd closed;
 * afterwards the file is reopened by @path (NULL: the path it was opened
 * by) with the same flags and put back at @fd with its offset, whatever
 * the file's size has become meanwhile.
 */
int hal_file_register(int fd, const char *path);

/*
 * Anything else: @release runs before the dump, @acquire after it.
 * Either may be NULL.  @name (copied; may be NULL) appears in reports.
 * When @release fails the pre-checkpoint call fails; @acquire is not
 * called for a resource whose release failed.
 */
int hal_custom_register(const char *name, int priority, hal_release_fn release,
			hal_acquire_fn acquire, void *userdata);

/*
 * Sets the priority of a registered resource (see "Ordering" above).
 * Returns 0, -ENOENT for an unknown id, -EBUSY while it is released.
 */
int hal_priority_set(int id, int priority);

/*
 * Forgets a resource; its fd or mapping stays as it is.  A resource that
 * the last post call could not take back is forgotten with what reserves
 * its number or range (the number is closed, the range unmapped).
 * Returns 0, -ENOENT for an unknown id, -EBUSY between a pre-checkpoint
 * call and the post call that follows it, -EDEADLK from a callback.
 */
int hal_unregister(int id);

/* The number of registered resources. */
size_t hal_count(void);

/*
 * A readable account of the last HAL call: one line per resource that
 * failed ("device fd 7 (/dev/hwrng): reopen: No such device"), or the
 * census's list of blockers when the pre-checkpoint call refused.  ""
 * when everything worked.  Never NULL.  The text stays valid on the
 * calling thread until its next call of this function.
 */
const char *hal_last_report(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *hal_version(void);

/*
 * The census: every fd and every shared (or device) mapping of a process,
 * with what a CRIU dump would make of it.
 */
enum hal_verdict {
	HAL_VERDICT_DUMPS,   /* CRIU dumps it as it is */
	HAL_VERDICT_HAL,     /* registered: the HAL releases it */
	HAL_VERDICT_BLOCKS,  /* the dump fails while it is held, or (a TCP
			      * connection to a peer outside) its restore
			      * could not carry it on */
	HAL_VERDICT_UNKNOWN, /* a kind the census does not know CRIU dumps */
	HAL_VERDICT_PLUGIN,  /* a device fd the CRIU plugin reopens by path */
	HAL_VERDICT_IGNORED, /* a device fd policy says to leave as it is */
};

struct hal_census_entry {
	int fd;		     /* -1 for a mapping */
	unsigned long start; /* a mapping's range, 0 for an fd */
	unsigned long end;
	char type[16];	/* "chr", "blk", "reg", "unix", "sysv-shm" ... */
	char name[256]; /* path, or peer of a socket */
	char note[96];	/* why this verdict */
	enum hal_verdict verdict;
};

struct hal_census {
	pid_t pid;
	size_t n_entries;
	size_t n_blockers; /* entries with HAL_VERDICT_BLOCKS */
	struct hal_census_entry *entries;
};

/*
 * Takes the census of process @pid (0: the caller).  Root (or the same
 * uid) is needed for another process.  Fds the caller registered count as
 * HAL_VERDICT_HAL only when @pid is the caller itself.  Sockets count as
 * inside when their peer is held by @pid or one of its descendants.
 *
 * On success stores a census the caller frees with hal_census_free() in
 * *ret and returns 0; returns -ESRCH, -EACCES or -ENOMEM otherwise.
 */
int hal_census_take(pid_t pid, struct hal_census **ret);

/*
 * The census of process @pid as one process of the tree CRIU dumps from
 * @root (0: the caller), @pid being @root or one of its descendants:
 * sockets count as inside when their peer (a Unix socket's peer, the
 * other end of a TCP connection) is held by @root or one of its
 * descendants.  A connected TCP socket's entry (type "tcp" or "tcp6") is
 * named "peer ADDR:PORT" ("peer [ADDR6]:PORT"): with both ends inside it
 * dumps (thaw runs CRIU with --tcp-established); to a peer outside it
 * blocks, since a restored copy could not carry it on.
 * hal_census_take(pid) is hal_census_take_tree(pid, pid).
 * Returns as hal_census_take(), and -EINVAL for a negative pid.
 */
int hal_census_take_tree(pid_t pid, pid_t root, struct hal_census **ret);

/* Frees a census; accepts NULL; returns NULL. */
struct hal_census *hal_census_free(struct hal_census *census);

/*
 * Formats a census as text, one line per entry ("fd 9 chr /dev/hwrng:
 * blocks (unregistered device 10:183)"), only the blockers when
 * @blockers_only.  Stores a string the caller frees in *ret_text and
 * returns 0, or -ENOMEM.
 */
int hal_census_format(const struct hal_census *census, bool blockers_only,
		      char **ret_text);

/* "dumps", "hal", "blocks", "unknown", "plugin", "ignored". */
const char *hal_verdict_to_string(enum hal_verdict verdict);

/* What the census makes of an unregistered character or block device. */
enum hal_device_policy {
	HAL_DEVICE_REFUSE, /* it blocks the dump (the default) */
	HAL_DEVICE_PLUGIN, /* the CRIU plugin reopens it by path */
	HAL_DEVICE_IGNORE, /* leave it, list it, do not refuse */
};

/*
 * Sets the policy for unregistered devices whose path matches the
 * fnmatch(3) @pattern (FNM_PATHNAME).  The first pattern added that
 * matches wins; a device no pattern matches is refused.  At most 64
 * patterns.  Returns 0, -EINVAL, -E2BIG or -ENOMEM.
 */
int hal_device_policy_add(const char *pattern, enum hal_device_policy policy);

/* Forgets every pattern. */
void hal_device_policy_clear(void);

/*
 * When @enabled, the pre-checkpoint call first takes the census of the
 * process and refuses (HAL_CRIU_NOT_OK, releasing nothing) while anything
 * blocks the dump, listing the blockers in hal_last_report().  Off by
 * default; the environment variable THAW_HAL_CENSUS=1 turns it on.
 */
void hal_census_check_set(bool enabled);

#ifdef __cplusplus
}
#endif
