// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Feeds arbitrary bytes to thawd's app manifest parser, through a memfd
 * so that the parser reads a file exactly as it does in thawd.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *manifest = NULL;
	char *error = NULL;
	char path[64];
	int fd;

	log_set_max_level(LOG_EMERG);

	fd = memfd_create("manifest.json", MFD_CLOEXEC);
	if (fd < 0)
		return 0;

	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		app_manifest_load(path, &manifest, &error);
	}

	app_manifest_free(manifest);
	free(error);
	close(fd);
	return 0;
}
