/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f)  __attribute__((cleanup(f)))

/*
 * Closes fd when it is valid and returns -1, so that `fd = close_fd(fd)`
 * can never close the same number twice.  errno is preserved.
 */
static inline int close_fd(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void close_fdp(int *fd)
{
	*fd = close_fd(*fd);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ _cleanup_(close_fdp)
#define _cleanup_free_	_cleanup_(freep)

/* Hands a value over to the caller so that no cleanup runs on it. */
#define TAKE_FD(fd)              \
	({                       \
		int _fd_ = (fd); \
		(fd) = -1;       \
		_fd_;            \
	})
#define TAKE_PTR(p)                  \
	({                           \
		typeof(p) _p_ = (p); \
		(p) = NULL;          \
		_p_;                 \
	})

static inline uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* The negative errno of the last failed libc call, never 0. */
static inline int negative_errno(void)
{
	int e = errno, r = e > 0 ? -e : -EIO;

	/* Never true: it shows the static analyzer that r < 0. */
	if (r >= 0)
		__builtin_unreachable();
	return r;
}
