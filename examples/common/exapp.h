/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the example apps share: their options, the large pseudo-random
 * state a cold start builds and a restored copy checks, their log lines
 * (stdout, one line each, which thawd reads into its log) and a line
 * protocol client for the peer services.
 *
 * Options are "--name=value" or "--name value" on the command line, else
 * an environment variable, else a default.  None of this is thread-safe.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The value of --name, else of the environment variable env, else NULL. */
const char *exapp_arg(int argc, char **argv, const char *name, const char *env);

/* Same, parsed as an unsigned number ("25%" reads as 25); def when
 * absent; -EINVAL when malformed. */
int exapp_arg_u64(int argc, char **argv, const char *name, const char *env,
		  uint64_t def, uint64_t *ret);

/* Prints "app: message" on stdout as one line and flushes it; fmt must be
 * a string literal. */
#define exapp_log(app, fmt, ...)                              \
	((void)printf("%s: " fmt "\n", (app), ##__VA_ARGS__), \
	 (void)fflush(stdout))

#define EXSTATE_SAMPLE_STRIDE 64

struct exstate {
	uint64_t *words;
	size_t size; /* bytes, a multiple of the page size */
	uint64_t seed;
	unsigned compressible_pct;
	unsigned passes;
	uint64_t checksum; /* of the whole state, taken when built */
	/* Check one page in EXSTATE_SAMPLE_STRIDE only (--verify sample), so
	 * that a lazily restored copy is not made to fetch every page. */
	bool verify_sample;
	uint64_t sample_checksum;
	uint64_t build_usec;
};

/*
 * Reads --size (MiB), --seed, --compressible (percent), --passes and
 * --verify (full or sample) (and THAW_EX_SIZE_MIB, THAW_EX_SEED,
 * THAW_EX_COMPRESSIBLE, THAW_EX_PASSES, THAW_EX_VERIFY)
 * into *state, with def_mib as the default size.  Returns 0 or -EINVAL.
 */
int exstate_configure(struct exstate *state, int argc, char **argv,
		      uint64_t def_mib);

/*
 * Builds the state: the compressible share is text that repeats per page,
 * the rest pseudo-random from the seed, mixed in several hashing passes
 * (the work a cold start does).  Records its checksum.
 * Returns 0 or -ENOMEM.
 */
int exstate_build(struct exstate *state);

/* Whether the state's checksum (of every page, or of the sampled ones)
 * still equals the one taken when built. */
bool exstate_is_intact(const struct exstate *state);

/*
 * One round trip on a peer connection: sends "PING <token>", expects
 * "PONG <token>" within timeout_ms.  Returns 0, -EPROTO on a wrong
 * answer, -ETIMEDOUT, -ECONNRESET when the peer closed, or another
 * negative errno.
 */
int expeer_round_trip(int fd, const char *token, int timeout_ms);

/* Reads and discards what is pending on a peer connection; returns
 * -ECONNRESET when the peer closed it, else 0. */
int expeer_drain(int fd);

/*
 * Checks an app's resources after a dump or a restore: writes a readable
 * account ("settings socket round trip ok") into report and returns 0, or
 * a negative errno when one does not work (report says which).
 */
typedef int (*exapp_check_fn)(void *userdata, char *report, size_t size);

/*
 * What every example does once its cold initialization is done: tells
 * thawd it is ready, asks for its checkpoint, and in the original after
 * the dump as in a restored copy proves its state and resources intact
 * (check) and says so in its log; a restored copy then reads its launch
 * parameters and tells thawd it is ready.  Without thawd (-ENOTCONN) it
 * just carries on.  Then serves: watches the fds in watch (peer
 * connections, drained) and thawd's launch events.  Returns only on
 * failure: the process's exit status.
 */
int exapp_checkpoint_and_run(const char *app, const struct exstate *state,
			     exapp_check_fn check, void *userdata,
			     const int *watch, size_t nwatch);

/*
 * The greeting on a fresh peer connection: sends "HELLO <name>", expects
 * "WELCOME <name> ..." within timeout_ms.  Same returns as
 * expeer_round_trip().
 */
int expeer_hello(int fd, const char *name, int timeout_ms);
