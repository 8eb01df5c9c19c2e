// SPDX-License-Identifier: LGPL-2.1-or-later
/* The growing text behind reports and census listings. */
#include <stdio.h>
#include <stdlib.h>

#include "hal-internal.h"

void hal_text_addv(struct hal_text *t, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (t->failed)
		return;

	va_copy(aq, ap);
	n = vsnprintf(t->buf ? t->buf + t->len : NULL,
		      t->buf ? t->cap - t->len : 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		t->failed = true;
		return;
	}

	if (!t->buf || t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *b = realloc(t->buf, cap < 256 ? 256 : cap);

		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap < 256 ? 256 : cap;
		vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	}
	t->len += n;
}

void hal_text_add(struct hal_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hal_text_addv(t, fmt, ap);
	va_end(ap);
}

void hal_text_done(struct hal_text *t)
{
	free(t->buf);
	*t = (struct hal_text){ 0 };
}
