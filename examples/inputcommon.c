// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The input service: holds character devices open (the machine's input
 * devices; /dev/hwrng and /dev/cpu_dma_latency stand in for them), builds
 * its key maps and keeps a connection to the system bus daemon.
 *
 * usage: thaw-example-inputcommon [--size MiB] [--seed N]
 *        [--compressible PCT] [--passes N] [--bus-socket PATH]
 *        [--rng-device PATH] [--latency-device PATH]
 * (or THAW_EX_SIZE_MIB, ..., THAW_EX_BUS_SOCKET)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <thaw/thaw.h>
#include <unistd.h>

#include "exapp.h"
#include "exres.h"
#include "util.h"

#define APP		   "inputcommon"
#define LATENCY_REQUEST_US 1000

struct input {
	struct exstate state;
	int rng_fd;
	int latency_fd;
	int bus_fd;
	unsigned round_trips;
};

static int check_devices(struct input *in)
{
	uint8_t buf[16];
	int32_t latency;

	if (read(in->rng_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -EIO;
	/* The latency device reads back the current system-wide request. */
	if (read(in->latency_fd, &latency, sizeof(latency)) !=
	    (ssize_t)sizeof(latency))
		return -EIO;
	return latency <= LATENCY_REQUEST_US ? 0 : -EIO;
}

/* A latency request lives as long as its fd: the HAL reopens the device,
 * the app makes its request again. */
static int request_latency(int fd)
{
	int32_t request = LATENCY_REQUEST_US;

	if (write(fd, &request, sizeof(request)) != (ssize_t)sizeof(request))
		return negative_errno();
	return 0;
}

static void after_checkpoint(int result, void *userdata)
{
	struct input *in = userdata;

	(void)request_latency(in->latency_fd);
}

static int check(void *userdata, char *report, size_t size)
{
	struct input *in = userdata;
	char token[32];
	int d, b;

	d = check_devices(in);
	snprintf(token, sizeof(token), "input-%u", ++in->round_trips);
	b = expeer_round_trip(in->bus_fd, token, 2000);

	snprintf(report, size, "devices read %s, bus socket round trip %s",
		 d < 0 ? strerror(-d) : "ok", b < 0 ? strerror(-b) : "ok");
	return d < 0 ? d : b;
}

static int open_resources(struct input *in, int argc, char **argv)
{
	const char *bus =
		exapp_arg(argc, argv, "bus-socket", "THAW_EX_BUS_SOCKET");
	const char *rng = exapp_arg(argc, argv, "rng-device", NULL);
	const char *lat = exapp_arg(argc, argv, "latency-device", NULL);
	int r;

	in->rng_fd = exres_open_device(rng ? rng : "/dev/hwrng", O_RDONLY);
	if (in->rng_fd < 0)
		return in->rng_fd;

	in->latency_fd =
		exres_open_device(lat ? lat : "/dev/cpu_dma_latency", O_RDWR);
	if (in->latency_fd < 0)
		return in->latency_fd;
	r = request_latency(in->latency_fd);
	if (r < 0)
		return r;
	r = thaw_hook_add(NULL, after_checkpoint, in);
	if (r < 0)
		return r;

	in->bus_fd = exres_connect_peer(
		bus ? bus : "/run/thaw-examples/busd.sock", APP);
	return in->bus_fd < 0 ? in->bus_fd : 0;
}

int main(int argc, char **argv)
{
	struct input in = { .rng_fd = -1, .latency_fd = -1, .bus_fd = -1 };
	int r;

	if (exstate_configure(&in.state, argc, argv, 64) < 0) {
		fprintf(stderr, "inputcommon: bad option\n");
		return 2;
	}

	r = exstate_build(&in.state);
	if (r < 0) {
		exapp_log(APP, "cannot build state: %s", strerror(-r));
		return 1;
	}

	r = open_resources(&in, argc, argv);
	if (r < 0) {
		exapp_log(APP, "cannot open its devices and bus: %s",
			  strerror(-r));
		return 1;
	}

	exapp_log(
		APP,
		"cold init: state %zu MiB in %.2f s, 2 devices open, bus connected",
		in.state.size >> 20, in.state.build_usec / 1e6);
	return exapp_checkpoint_and_run(APP, &in.state, check, &in, &in.bus_fd,
					1);
}
