// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "unix-socket.h"
#include "util.h"

/* When the first answer is this late, stderr says what is going on. */
#define PROGRESS_AFTER_MS 500
/* thawd bounds its own work; this only stops waiting for a hung thawd. */
#define ANSWER_TIMEOUT_MS (5 * 60 * 1000)
#define LINE_MAX_BYTES	  (64 * 1024)

static int send_line(int fd, const char *line)
{
	size_t len = strlen(line);
	_cleanup_free_ char *buf = malloc(len + 2);
	size_t off = 0;

	if (!buf)
		return -ENOMEM;
	snprintf(buf, len + 2, "%s\n", line);
	len++;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		off += (size_t)n;
	}
	return 0;
}

struct reader {
	int fd;
	char buf[LINE_MAX_BYTES + 1];
	size_t len;
	uint64_t started;
	bool progress_shown;
	const char *progress;
};

/* Waits for input, with the progress note once the answer is late. */
static int reader_wait(struct reader *r, bool first)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	for (;;) {
		uint64_t waited =
			(now_usec(CLOCK_MONOTONIC) - r->started) / 1000;
		int timeout = -1, n;

		if (first && !r->progress_shown && r->progress)
			timeout = waited >= PROGRESS_AFTER_MS ?
					  0 :
					  (int)(PROGRESS_AFTER_MS - waited);
		else if (first)
			timeout = waited >= ANSWER_TIMEOUT_MS ?
					  0 :
					  (int)(ANSWER_TIMEOUT_MS - waited);

		n = poll(&p, 1, timeout);
		if (n > 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (first && !r->progress_shown && r->progress) {
			fprintf(stderr, "thawctl: %s\n", r->progress);
			r->progress_shown = true;
			continue;
		}
		return -ETIMEDOUT;
	}
}

/* Stores the next line (NUL-terminated, no newline) in *ret_line. */
static int reader_line(struct reader *r, bool first, char **ret_line)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		ssize_t n;
		int e;

		if (nl) {
			size_t used = (size_t)(nl - r->buf) + 1;
			char *line = strndup(r->buf, used - 1);

			if (!line)
				return -ENOMEM;
			memmove(r->buf, r->buf + used, r->len - used);
			r->len -= used;
			*ret_line = line;
			return 0;
		}
		if (r->len >= LINE_MAX_BYTES)
			return -EMSGSIZE;

		e = reader_wait(r, first);
		if (e < 0)
			return e;
		n = recv(r->fd, r->buf + r->len, LINE_MAX_BYTES - r->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ECONNRESET;
		r->len += (size_t)n;
	}
}

static int exchange_run(const struct cli_args *a, struct reader *r,
			const char *line,
			int (*on_line)(const struct cli_args *a,
				       const char *text, void *userdata),
			void *userdata)
{
	_cleanup_close_ int fd = -1;
	char progress[256];
	int e;

	fd = unix_socket_connect(a->socket_path);
	if (fd < 0) {
		log_err("cannot reach thawd at %s: %s", a->socket_path,
			strerror(-fd));
		return EXIT_UNREACHABLE;
	}

	r->started = now_usec(CLOCK_MONOTONIC);
	e = send_line(fd, line);
	if (e < 0) {
		log_err("cannot send the request to thawd: %s", strerror(-e));
		return EXIT_UNREACHABLE;
	}

	r->fd = fd;
	r->progress = cli_progress_text(a, progress, sizeof(progress));
	for (bool first = true;; first = false) {
		_cleanup_free_ char *text = NULL;
		int code;

		e = reader_line(r, first, &text);
		if (e < 0 && !first && e == -ECONNRESET)
			return EXIT_OK;
		if (e < 0) {
			log_err("%s thawd's answer: %s",
				e == -ETIMEDOUT ? "gave up waiting for" :
						  "lost",
				strerror(-e));
			return EXIT_BAD_ANSWER;
		}
		code = on_line(a, text, userdata);
		if (code != EXIT_OK || !cli_command_streams(a))
			return code;
	}
}

int cli_exchange(const struct cli_args *a, const char *line,
		 int (*on_line)(const struct cli_args *a, const char *text,
				void *userdata),
		 void *userdata)
{
	/* On the heap: the line buffer is 64 KiB. */
	struct reader *r = calloc(1, sizeof(*r));
	int code;

	if (!r) {
		log_err("out of memory");
		return EXIT_BAD_ANSWER;
	}
	code = exchange_run(a, r, line, on_line, userdata);
	free(r);
	return code;
}
