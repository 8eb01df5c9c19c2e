// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "internal.h"
#include "util.h"

static int socket_connect(void)
{
	const char *path = getenv("THAW_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (!path || !*path) {
		error_set("THAW_SOCKET is not set: not launched by thawd");
		return -ENOTCONN;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		error_set("THAW_SOCKET is too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();

	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		error_set("cannot connect to thawd at %s: %s", path,
			  strerror(errno));
		return negative_errno();
	}
	return TAKE_FD(fd);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a thawd that went away must not kill us. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return negative_errno();
	}
}

/* Reads up to the first newline; the answer is a single line. */
static int recv_line(int fd, char **ret_line)
{
	_cleanup_free_ char *buf = malloc(THAW_LINE_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;

	while (len < THAW_LINE_MAX) {
		ssize_t n;
		int r = wait_readable(fd, THAW_REQUEST_TIMEOUT_MS);

		if (r < 0)
			return r;
		n = recv(fd, buf + len, THAW_LINE_MAX - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ECONNRESET;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - n, '\n', (size_t)n)) {
			*ret_line = TAKE_PTR(buf);
			return 0;
		}
	}
	return -EMSGSIZE;
}

static int exchange(const char *request, char **ret_line)
{
	_cleanup_close_ int fd = socket_connect();
	int r;

	if (fd < 0)
		return fd;

	r = send_all(fd, request, strlen(request));
	if (r >= 0)
		r = send_all(fd, "\n", 1);
	if (r >= 0)
		r = recv_line(fd, ret_line);
	if (r < 0 && r != -ENOTCONN)
		error_set("no answer from thawd: %s", strerror(-r));
	return r;
}

int request_send(const char *request, struct json_object **ret_answer)
{
	_cleanup_free_ char *line = NULL;
	struct json_object *answer;
	int r;

	r = exchange(request, &line);
	if (r < 0)
		return r;

	answer = json_tokener_parse(line);
	if (!answer || !json_object_is_type(answer, json_type_object)) {
		json_object_put(answer);
		error_set("thawd's answer is not a JSON object");
		return -EBADMSG;
	}
	*ret_answer = answer;
	return 0;
}

int answer_verdict(struct json_object *answer, const char *what)
{
	struct json_object *v;
	int code = -EIO;

	if (json_object_object_get_ex(answer, "returnValue", &v) &&
	    json_object_get_boolean(v))
		return 0;

	if (json_object_object_get_ex(answer, "errorCode", &v)) {
		int c = json_object_get_int(v);

		if (c < 0)
			code = c;
	}
	if (json_object_object_get_ex(answer, "errorText", &v))
		error_set("thawd refused %s: %s", what,
			  json_object_get_string(v));
	else
		error_set("thawd refused %s: %s", what, strerror(-code));
	return code;
}
