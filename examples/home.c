// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The home screen: builds a large in-memory state (the launcher's model,
 * 256 MiB by default) and keeps a connection to the settings service.
 *
 * usage: thaw-example-home [--size MiB] [--seed N] [--compressible PCT]
 *                          [--passes N] [--settings-socket PATH]
 * (or THAW_EX_SIZE_MIB, THAW_EX_SEED, THAW_EX_COMPRESSIBLE, THAW_EX_PASSES,
 * THAW_EX_SETTINGS_SOCKET)
 */
#include <stdio.h>
#include <string.h>

#include "exapp.h"
#include "exres.h"

#define APP "home"

struct home {
	struct exstate state;
	int settings_fd;
	unsigned round_trips;
};

static int check(void *userdata, char *report, size_t size)
{
	struct home *h = userdata;
	char token[32];
	int r;

	snprintf(token, sizeof(token), "home-%u", ++h->round_trips);
	r = expeer_round_trip(h->settings_fd, token, 2000);
	snprintf(report, size, "settings socket round trip %s",
		 r < 0 ? strerror(-r) : "ok");
	return r;
}

int main(int argc, char **argv)
{
	struct home h = { .settings_fd = -1 };
	const char *sock = exapp_arg(argc, argv, "settings-socket",
				     "THAW_EX_SETTINGS_SOCKET");
	int r;

	if (!sock)
		sock = "/run/thaw-examples/settingsd.sock";
	if (exstate_configure(&h.state, argc, argv, 256) < 0) {
		fprintf(stderr, "home: bad option\n");
		return 2;
	}

	r = exstate_build(&h.state);
	if (r < 0) {
		exapp_log(APP, "cannot build state: %s", strerror(-r));
		return 1;
	}

	h.settings_fd = exres_connect_peer(sock, APP);
	if (h.settings_fd < 0) {
		exapp_log(APP, "cannot reach settings service at %s: %s", sock,
			  strerror(-h.settings_fd));
		return 1;
	}

	exapp_log(
		APP,
		"cold init: state %zu MiB (%u%% compressible) in %.2f s, settings socket connected",
		h.state.size >> 20, h.state.compressible_pct,
		h.state.build_usec / 1e6);
	return exapp_checkpoint_and_run(APP, &h.state, check, &h,
					&h.settings_fd, 1);
}
