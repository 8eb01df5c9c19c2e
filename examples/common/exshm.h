/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The layout of the segment livemenu shares with shmpeer: this header,
 * then size - sizeof(header) bytes whose XXH3-64 is checksum. */

#include <stdint.h>

#define EXSHM_MAGIC 0x74686177736d6531ull /* "thawsme1" */

struct exshm_header {
	uint64_t magic;
	uint64_t size;
	uint64_t seed;
	uint64_t checksum;
};
