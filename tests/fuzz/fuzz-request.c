// SPDX-License-Identifier: LGPL-2.1-or-later
/* Feeds arbitrary bytes to thawd's control request parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request *request = NULL;
	char *error = NULL;

	if (request_parse((const char *)data, size, &request, &error) == 0)
		request_method_to_string(request->method);

	request_free(request);
	free(error);
	return 0;
}
