/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The platform's checkpoint HAL: three calls that the app-side library
 * (libthaw) makes inside a checkpointable app around each CRIU dump and
 * after each restore.  A SoC vendor implements them for the resources of
 * its drivers; thaw's reference implementation is libhal-criu, whose
 * registry (thaw/hal.h) lets any code in the app announce what it holds.
 *
 * CRIU cannot dump character and block device fds, stream Unix sockets
 * connected to peers outside the dumped tree, or System V shared memory
 * outside an IPC namespace, and a restore fails when a file the app holds
 * has changed size since the dump.  The first call lets go of these; the
 * other two take them back.
 *
 * Common rules for all three:
 * - Each returns HAL_CRIU_OK (0) on success and HAL_CRIU_NOT_OK (-1) on
 *   failure; nothing else.
 * - Each returns within 100 ms (the platform's budget), including with a
 *   thousand resources to handle.
 * - None aborts the process, raises a signal, or writes to its stdout or
 *   stderr.  A library that also exports
 *   `const char *hal_last_report(void)` describes there, after each
 *   call, what failed and on which resource.
 * - Calling one twice in a row is harmless: the second call finds
 *   nothing left to do and returns HAL_CRIU_OK.
 * - They are called from one thread at a time, never from a signal
 *   handler; other threads of the app keep running meanwhile and must
 *   not use the resources in the window between the first call and the
 *   post call that follows it.
 */

#ifdef __cplusplus
extern "C" {
#endif

#define HAL_CRIU_OK	0
#define HAL_CRIU_NOT_OK (-1)

/*
 * Called just before the dump, once the app's own before-checkpoint
 * hooks have run.  Closes every resource CRIU cannot dump: device fds
 * (after an optional quiesce step), Unix socket connections to outside
 * peers, rw files on persistent storage (synced first), and detaches
 * System V shared memory.
 *
 * Returns HAL_CRIU_OK when everything was released: the process can be
 * dumped.  Returns HAL_CRIU_NOT_OK when something could not be released
 * (or, when the library checks first, when something that blocks the
 * dump is held that no one registered); then whatever the call had
 * already released has been taken back, the app is as it was before the
 * call, and no dump must follow.
 */
int HAL_CRIU_PreCheckpointNotify(void);

/*
 * Called in the original process after the dump (successful or not),
 * which left it running.  Takes back everything the pre-checkpoint call
 * released: each fd at its number with its flags (and its offset where
 * the file seeks), sockets reconnected and their handshakes redone,
 * shared memory re-attached at its address.
 *
 * Goes through every resource even when some fail.  Returns HAL_CRIU_OK
 * when all are back, HAL_CRIU_NOT_OK otherwise; a failed resource stays
 * released (its number and address reserved) and the next post call
 * tries it again.
 */
int HAL_CRIU_PostDumpNotify(void);

/*
 * Called in a copy just restored from the image, before it does anything
 * else.  Does what HAL_CRIU_PostDumpNotify() does, in a process that may
 * run after a reboot: a shared memory segment that no longer exists is
 * re-created by its key and refilled.  Same return values and failure
 * behaviour as HAL_CRIU_PostDumpNotify().
 */
int HAL_CRIU_PostRestoreNotify(void);

#ifdef __cplusplus
}
#endif
