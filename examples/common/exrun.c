// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thaw/thaw.h>

#include "exapp.h"
#include "util.h"

#define MAX_WATCH 8

static int prove(const char *app, const char *when, const struct exstate *state,
		 exapp_check_fn check, void *userdata)
{
	char report[512] = "";
	bool intact = exstate_is_intact(state);
	int r = check ? check(userdata, report, sizeof(report)) : 0;

	exapp_log(app, "%s: state %zu MiB %schecksum %s, %s", when,
		  state->size >> 20, state->verify_sample ? "sampled " : "",
		  intact ? "ok" : "MISMATCH",
		  report[0] ? report : "no resources");
	if (!intact)
		return -EBADMSG;
	return r;
}

static void log_params(const char *app, const char *when)
{
	_cleanup_free_ char *params = NULL;

	if (thaw_launch_params(&params) >= 0)
		exapp_log(app, "%s: launch params %s", when, params);
}

static int after_checkpoint(const char *app, int r, const struct exstate *state,
			    exapp_check_fn check, void *userdata)
{
	switch (r) {
	case THAW_CHECKPOINT_DUMPED:
		return prove(app, "dumped", state, check, userdata);
	case THAW_CHECKPOINT_RESTORED:
		r = prove(app, "restored", state, check, userdata);
		if (r < 0)
			return r;
		log_params(app, "restored");
		r = thaw_ready();
		if (r < 0)
			exapp_log(app, "restored: ready not told: %s",
				  strerror(-r));
		return 0;
	case THAW_CHECKPOINT_SKIPPED:
		exapp_log(app, "checkpoint skipped");
		return 0;
	case -ENOTCONN:
		exapp_log(app, "not launched by thawd: running alone");
		return 0;
	case -ENOTRECOVERABLE:
		/* A restored copy without its resources: thawd starts the
		 * app cold once this one is gone. */
		exapp_log(app, "restored without its resources, exiting: %s",
			  thaw_last_error());
		return r;
	default:
		/* A failed checkpoint leaves the app running as it was. */
		exapp_log(app, "checkpoint failed: %s (%s): running on",
			  strerror(-r), thaw_last_error());
		return 0;
	}
}

/* Waits for one round of events; a watched peer that closed its end is
 * dropped from watch (the app lives on without it). */
static void serve(const char *app, int *watch, size_t nwatch)
{
	struct pollfd pfd[MAX_WATCH + 1];
	size_t idx[MAX_WATCH + 1];
	int efd = thaw_launch_event_fd();
	size_t n = 0;

	for (size_t i = 0; i < nwatch; i++)
		if (watch[i] >= 0) {
			idx[n] = i;
			pfd[n++] = (struct pollfd){ .fd = watch[i],
						    .events = POLLIN };
		}
	if (efd >= 0) {
		idx[n] = SIZE_MAX;
		pfd[n++] = (struct pollfd){ .fd = efd, .events = POLLIN };
	}

	if (poll(pfd, n, -1) < 0)
		return;

	for (size_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (idx[i] == SIZE_MAX) {
			if (thaw_launch_event_read() > 0)
				log_params(app, "launched again");
		} else if (expeer_drain(pfd[i].fd) < 0) {
			exapp_log(app, "peer on fd %d closed", pfd[i].fd);
			watch[idx[i]] = -1;
		}
	}
}

int exapp_checkpoint_and_run(const char *app, const struct exstate *state,
			     exapp_check_fn check, void *userdata,
			     const int *watch, size_t nwatch)
{
	int w[MAX_WATCH];
	int r;

	if (nwatch > MAX_WATCH)
		nwatch = MAX_WATCH;
	if (nwatch)
		memcpy(w, watch, nwatch * sizeof(*w));

	r = thaw_ready();
	if (r < 0 && r != -ENOTCONN)
		exapp_log(app, "ready not told: %s", strerror(-r));

	r = after_checkpoint(app, thaw_checkpoint(), state, check, userdata);
	if (r < 0)
		return 3;

	for (;;)
		serve(app, w, nwatch);
}
