/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Real CRIU for the conformance suite and the HAL's tests: dumps and
 * restores through libcriu in swrk mode, with the options thawd itself
 * uses (--tcp-established with the nftables network lock, no
 * --ext-unix-sk, no --shell-job, no plugin).  The binary is
 * $THAW_CRIU, else the one the build was configured with.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The CRIU binary these helpers run. */
const char *swrk_criu_binary(void);

/*
 * Dumps the tree of @pid into the existing folder @dir, leaving it
 * running.  Returns 0 or a negative errno; on failure copies CRIU's
 * error lines from @dir/dump.log into @err (may be NULL).
 */
int swrk_dump(pid_t pid, const char *dir, char *err, size_t err_size);

/*
 * Restores the image in @dir as a child of the caller.  Stores the
 * restored root's pid in *ret_pid and returns 0, or returns a negative
 * errno with CRIU's error lines from @dir/restore.log in @err.
 */
int swrk_restore(const char *dir, pid_t *ret_pid, char *err, size_t err_size);
