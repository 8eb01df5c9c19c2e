// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Feeds arbitrary text to the image store's manifest parser, the part of
 * a manifest that is read before any of its hashes can be trusted.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest *m = NULL;
	char *text;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (manifest_from_text(text, &m) == 0)
		manifest_total_size(m);

	manifest_free(m);
	free(text);
	return 0;
}
