/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libthaw: what a checkpointable app links to be dumped by thawd once its
 * initialization is done, and to learn afterwards whether it is the
 * original process or a copy restored from that image.
 *
 * Every call here may block and talks to thawd over its control socket
 * ($THAW_SOCKET, set by thawd); none may be called from a signal handler.
 * The library never writes to the app's stdout or stderr, never logs and
 * never aborts the process; every fd it opens is O_CLOEXEC.
 *
 * Signals: libthaw uses SIGRTMIN + 4 (thawd's verdict after a dump) and
 * SIGRTMIN + 5 (a new launch) and blocks both as it is loaded, in the
 * loading thread, so that the threads the app creates afterwards inherit
 * the mask; the app must not unblock them or use them for itself.
 *
 * PID 1: an app runs as PID 1 of its own PID namespace, where a signal
 * whose action is the default one is ignored, SIGTERM included.  On the
 * first libthaw call of a process that is PID 1 and leaves SIGTERM at
 * SIG_DFL, libthaw installs a SIGTERM handler that calls _exit(143) (128 +
 * SIGTERM, the status the default action would have meant).  An app with
 * its own handler keeps it.
 */

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What thaw_checkpoint() reports on success. */
enum thaw_checkpoint_result {
	/* No dump was made (checkpointing is off for this app or launch). */
	THAW_CHECKPOINT_SKIPPED = 0,
	/* This process is the original, just dumped and left running. */
	THAW_CHECKPOINT_DUMPED = 1,
	/* This process is a copy just restored from the image. */
	THAW_CHECKPOINT_RESTORED = 2,
};

/*
 * A hook runs around every checkpoint: @before just before the HAL
 * releases what CRIU cannot dump, @after once the HAL has taken it back,
 * both after the dump and after a restore.  @after is told which of the
 * two happened (an enum thaw_checkpoint_result, or the negative errno
 * thaw_checkpoint() returns when the checkpoint failed).  Either may be
 * NULL.  A @before hook that returns a negative errno stops the
 * checkpoint: the @before hooks after it in the order do not run, its own
 * @after is not called, and the @after hooks of the hooks whose @before
 * already completed are called with -ECANCELED.  Hooks run on the thread
 * that called thaw_checkpoint() and must not call it themselves.
 */
typedef int (*thaw_before_fn)(void *userdata);
typedef void (*thaw_after_fn)(int result, void *userdata);

/*
 * Registers a pair of hooks.  Before hooks run last registered first,
 * after hooks first registered first.  Thread-safe.
 *
 * Returns 0, -EINVAL when both functions are NULL, -ENOMEM.
 */
int thaw_hook_add(thaw_before_fn before, thaw_after_fn after, void *userdata);

/*
 * Runs the before hooks and HAL_CRIU_PreCheckpointNotify(), asks thawd to
 * dump this process (its whole tree) leaving it running, waits for the
 * verdict, then runs HAL_CRIU_PostDumpNotify() or
 * HAL_CRIU_PostRestoreNotify() and the after hooks.
 *
 * The connection to thawd is closed before the dump, so nothing of it is
 * in the image; the verdict arrives as SIGRTMIN + 4, sent with sigqueue()
 * after the dump (see docs/design.md).  The wait lasts
 * $THAW_CHECKPOINT_TIMEOUT seconds (1 to 3600), 60 by default.  Calls from
 * several threads are serialized.
 *
 * Returns an enum thaw_checkpoint_result, or a negative errno: -ENOTCONN
 * when the process was not launched by thawd, -ECANCELED when a before
 * hook or the HAL refused, -EIO when the dump failed or the HAL could not
 * take back what it had released after the dump, -ENOTRECOVERABLE in a
 * restored copy whose HAL could not take back its resources (the copy
 * should exit: thawd then starts the app cold), -ETIMEDOUT when thawd
 * gave no verdict in time, thawd's errorCode when it refused the request.
 * On any other failure the app keeps running with everything the HAL
 * released taken back; thaw_last_error() says why.
 */
int thaw_checkpoint(void);

/*
 * Tells thawd that the app is ready: after its initialization when it
 * started cold, after thaw_checkpoint() returned THAW_CHECKPOINT_RESTORED
 * when it was restored.  This is the moment every launch is timed to.
 *
 * Returns 0, -ENOTCONN when not launched by thawd, or another negative
 * errno when thawd could not be told.
 */
int thaw_ready(void);

/*
 * The parameters of the launch that started this process, restored it, or
 * (for a preloaded app) made it the launched app: a JSON object as text,
 * "{}" when there were none.  A restored app must use this, not its argv
 * or environment, which are those of the process that was dumped.
 *
 * On success stores a string the caller frees in *ret_json and returns 0;
 * returns -EINVAL when ret_json is NULL, -ENOTCONN when not launched by
 * thawd, -ENOMEM, -EIO for an answer thawd should not have given, or
 * thawd's errorCode when it refused.
 */
int thaw_launch_params(char **ret_json);

/*
 * A file descriptor (a signalfd for SIGRTMIN + 5, O_CLOEXEC and
 * O_NONBLOCK) that becomes readable each time thawd delivers a new launch
 * to this running process, as when a preloaded app becomes the launched
 * one.  Poll it, consume it with thaw_launch_event_read() and then call
 * thaw_launch_params().  It is created on first use, owned by libthaw
 * (never close it), the same fd on every call, and survives checkpoints.
 * Thread-safe.
 *
 * Returns the fd, or a negative errno.
 */
int thaw_launch_event_fd(void);

/*
 * Consumes the pending launch events of thaw_launch_event_fd().
 * Returns the number consumed (0 when none), or a negative errno.
 */
int thaw_launch_event_read(void);

/*
 * A readable account of the last failure of a call on this thread: the
 * HAL's report of which resource failed and why (when the HAL exports
 * hal_last_report()), thawd's reason for a refused request or failed
 * dump, or why thawd skipped a checkpoint.  Never NULL; "" when nothing
 * failed.  Each call of thaw_checkpoint(), thaw_ready() and
 * thaw_launch_params() clears it first.  The text belongs to the thread
 * and stays valid until its next libthaw call.
 */
const char *thaw_last_error(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *thaw_version(void);

#ifdef __cplusplus
}
#endif
