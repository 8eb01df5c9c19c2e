/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libthaw's internals, shared by its files and its unit tests; nothing
 * here is exported from libthaw.so.
 */

#include <signal.h>
#include <stddef.h>

#include "thaw/thaw.h"

struct json_object;

/* thawd's verdict after a self-dump; see docs/design.md. */
#define THAW_WAKE_SIGNAL (SIGRTMIN + 4)
/* thawd's notice that a new launch reached this running process. */
#define THAW_LAUNCH_SIGNAL (SIGRTMIN + 5)

/* How long thaw_checkpoint() waits for the verdict unless told. */
#define THAW_CHECKPOINT_TIMEOUT_DEFAULT_S 60
/* How long any request waits for thawd's one-line answer. */
#define THAW_REQUEST_TIMEOUT_MS 10000
/* The largest line either side may send. */
#define THAW_LINE_MAX (64 * 1024)

struct thaw_hook {
	thaw_before_fn before;
	thaw_after_fn after;
	void *userdata;
};

int hooks_add(thaw_before_fn before, thaw_after_fn after, void *userdata);

/* A copy of the registered hooks, in registration order; free() it. */
int hooks_snapshot(struct thaw_hook **ret_hooks, size_t *ret_n);

/* Forgets every hook (unit tests only). */
void hooks_reset(void);

/*
 * Runs the before hooks of hooks[0..n) last first.  Stores in *first_done
 * the lowest index whose before hook completed (n when none did), whether
 * or not one failed.  A hook fails by returning a negative value; the
 * hooks below it are then not run.  Returns 0 or that negative value.
 */
int hooks_run_before(const struct thaw_hook *hooks, size_t n,
		     size_t *first_done);

/* Runs the after hooks of hooks[first..n) first registered first. */
void hooks_run_after(const struct thaw_hook *hooks, size_t n, size_t first,
		     int result);

/* Per-thread account of the last failure, read by thaw_last_error(). */
void error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void error_clear(void);

/*
 * Sends one request line to the thawd named by $THAW_SOCKET, reads its
 * one-line answer, closes the connection and parses the answer.
 * Returns 0 and the answer object (json_object_put() it), -ENOTCONN when
 * $THAW_SOCKET is unset, -EBADMSG for an answer that is no JSON object,
 * -ETIMEDOUT, or the negative errno of the failed socket call.
 */
int request_send(const char *request, struct json_object **ret_answer);

/*
 * 0 when the answer says "returnValue": true; otherwise its errorCode
 * (-EIO when it has none) with its errorText made the thread's error.
 */
int answer_verdict(struct json_object *answer, const char *what);

/* Runs once per process before any libthaw call does its work. */
void lib_init(void);

/*
 * Waits for THAW_WAKE_SIGNAL sent with sigqueue() and stores its value.
 * Returns 0, -ETIMEDOUT, or another negative errno.
 */
int wake_wait(int timeout_s, int *ret_value);

/* Drops a stale THAW_WAKE_SIGNAL left pending. */
void wake_drain(void);

/* Blocks THAW_WAKE_SIGNAL and THAW_LAUNCH_SIGNAL in the calling thread. */
void signals_block(void);

/* THAW_CHECKPOINT_TIMEOUT in seconds, or the default when unset/bad. */
int checkpoint_timeout(void);
