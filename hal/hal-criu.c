// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The platform's three HAL calls: the one place where thaw's negative
 * errno values become the platform's OK / NOT_OK.
 */
#include "hal-internal.h"
#include "thaw/hal_criu.h"

#define EXPORT __attribute__((visibility("default")))

static int to_platform(int r)
{
	return r < 0 ? HAL_CRIU_NOT_OK : HAL_CRIU_OK;
}

EXPORT int HAL_CRIU_PreCheckpointNotify(void)
{
	return to_platform(hal_pre_checkpoint());
}

EXPORT int HAL_CRIU_PostDumpNotify(void)
{
	return to_platform(hal_post_dump());
}

EXPORT int HAL_CRIU_PostRestoreNotify(void)
{
	return to_platform(hal_post_restore());
}
