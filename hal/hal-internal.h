/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the parts of libhal-criu share and never export: the registry's
 * calls behind the three platform calls, its answers to the census, and
 * the report buffer.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stddef.h>

#include "thaw/hal.h"

#define HAL_VERSION "1.0.0"

/* The name of the memfd that keeps released fd numbers reserved. */
#define HAL_RESERVED_NAME "thaw-hal-reserved"

/* Its seals, by which the HAL recognizes it at an fd number. */
#define HAL_RESERVED_SEALS \
	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* The three calls, returning 0 or a negative errno. */
int hal_pre_checkpoint(void);
int hal_post_dump(void);
int hal_post_restore(void);

/*
 * Asked by the census about the calling process: whether an fd, or a
 * mapping starting at @start, is registered.  Weak: the static
 * hal-census library that thawd links has no registry.
 */
bool hal_registry_has_fd(int fd) __attribute__((weak));
bool hal_registry_has_mapping(unsigned long start) __attribute__((weak));

/* A growing text; on ENOMEM it keeps what it has and sets failed. */
struct hal_text {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void hal_text_add(struct hal_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hal_text_addv(struct hal_text *t, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void hal_text_done(struct hal_text *t);
