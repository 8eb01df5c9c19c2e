// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A deliberately broken vendor HAL, which the conformance suite must fail:
 * it holds /dev/cpu_dma_latency from its constructor, closes it before the
 * dump, but reopens it afterwards at whatever number is free and without
 * its flags, and forgets it entirely after a restore.
 */
#include <fcntl.h>
#include <unistd.h>

#include "thaw/hal_criu.h"

#define EXPORT __attribute__((visibility("default")))

static int dev_fd = -1;

__attribute__((constructor)) static void broken_init(void)
{
	int fd = open("/dev/cpu_dma_latency", O_RDWR | O_CLOEXEC);

	/* Somewhere far from the lowest free number. */
	dev_fd = fd >= 0 ? dup3(fd, 77, O_CLOEXEC) : -1;
	if (fd >= 0)
		close(fd);
}

EXPORT int HAL_CRIU_PreCheckpointNotify(void)
{
	if (dev_fd >= 0)
		close(dev_fd);
	dev_fd = -1;
	return HAL_CRIU_OK;
}

EXPORT int HAL_CRIU_PostDumpNotify(void)
{
	if (dev_fd < 0)
		dev_fd = open("/dev/cpu_dma_latency", O_RDWR);
	return HAL_CRIU_OK;
}

EXPORT int HAL_CRIU_PostRestoreNotify(void)
{
	return HAL_CRIU_OK;
}
