// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a vendor HAL without thaw's registry looks like when it is right:
 * its driver holds /dev/cpu_dma_latency with a latency request; before
 * the dump it closes it, afterwards it reopens it at the same number with
 * the same flags and replays the request.  The conformance suite checks
 * it from the outside and must pass it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "thaw/hal_criu.h"

#define EXPORT	 __attribute__((visibility("default")))
#define DEV_PATH "/dev/cpu_dma_latency"
#define DEV_FD	 77

static int32_t latency_us = 20;
static int flags = -1; /* the fd's flags while it is closed */

static int request(int fd)
{
	return write(fd, &latency_us, sizeof(latency_us)) ==
			       sizeof(latency_us) ?
		       0 :
		       -EIO;
}

__attribute__((constructor)) static void example_init(void)
{
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	if (dup3(fd, DEV_FD, O_CLOEXEC) == DEV_FD)
		request(DEV_FD);
	close(fd);
}

static int reopen(void)
{
	int fd;

	if (flags < 0)
		return 0;
	fd = open(DEV_PATH, (flags & ~O_CLOEXEC) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dup3(fd, DEV_FD, O_CLOEXEC) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	flags = -1;
	return request(DEV_FD);
}

EXPORT int HAL_CRIU_PreCheckpointNotify(void)
{
	int fl = fcntl(DEV_FD, F_GETFL);

	if (fl < 0)
		return flags >= 0 ? HAL_CRIU_OK : HAL_CRIU_NOT_OK;
	flags = fl & (O_ACCMODE | O_NONBLOCK);
	return close(DEV_FD) == 0 ? HAL_CRIU_OK : HAL_CRIU_NOT_OK;
}

EXPORT int HAL_CRIU_PostDumpNotify(void)
{
	return reopen() == 0 ? HAL_CRIU_OK : HAL_CRIU_NOT_OK;
}

EXPORT int HAL_CRIU_PostRestoreNotify(void)
{
	return reopen() == 0 ? HAL_CRIU_OK : HAL_CRIU_NOT_OK;
}
