// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The app of libthaw's end-to-end test, run by the real thawd: it fills
 * 4 MiB with a pattern, registers a hook pair, says it is ready and asks
 * for its own checkpoint.  Every outcome is written as one line to the
 * file named by the "report" field of its launch parameters, which it
 * reads with thaw_launch_params() (a restored copy's argv is the frozen
 * one, its parameters are the new launch's).  With "--hold PATH" (read
 * only) or "--hold-rw PATH" it also holds those devices, from fd 40 on,
 * and a restored copy checks that they are back.  It always keeps a TCP
 * connection to itself over 127.0.0.1 (both ends inside its tree, which
 * thawd dumps with --tcp-established), and a restored copy checks that it
 * still carries data:
 *
 *   dumped trail=<hooks>            the original, after the dump
 *   restored mem=ok trail=<hooks> devices=ok tcp=ok
 *                                   the copy, after the restore
 *   event <params>                  a new launch reached the running app
 *   error <what>: <why>             anything else
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thaw/thaw.h"

#define MEM_SIZE      (4 << 20)

#define HOLD_FIRST_FD 40
#define HOLD_MAX      8

static unsigned char *mem;
static char trail[128];
static struct {
	const char *path;
	int mode;
} held[HOLD_MAX];
static int n_held;
static int tcp_end[2] = { -1, -1 };

/* A TCP connection to itself; the listening socket is closed again. */
static int tcp_self(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int one = 1, l;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	tcp_end[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp_end[0] < 0 ||
	    connect(tcp_end[0], (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	tcp_end[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	return tcp_end[1] < 0 ? -1 : 0;
}

/* Whether the connection carries a few bytes each way. */
static bool tcp_ok(void)
{
	char buf[4];

	for (int i = 0; i < 2; i++)
		if (write(tcp_end[i], "ping", 4) != 4 ||
		    read(tcp_end[1 - i], buf, 4) != 4 || memcmp(buf, "ping", 4))
			return false;
	return true;
}

static int hold(char **argv, int argc)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		int mode = strcmp(argv[i], "--hold-rw") ? O_RDONLY : O_RDWR;
		int fd = open(argv[i + 1], mode | O_CLOEXEC);

		if (n_held == HOLD_MAX || fd < 0 ||
		    dup3(fd, HOLD_FIRST_FD + n_held, O_CLOEXEC) < 0)
			return -1;
		close(fd);
		held[n_held].path = argv[i + 1];
		held[n_held++].mode = mode;
	}
	return 0;
}

/* Whether every held device is back at its number, same device and mode. */
static bool devices_ok(void)
{
	for (int i = 0; i < n_held; i++) {
		int fd = HOLD_FIRST_FD + i;
		struct stat st, want;
		char buf[4];

		if (fstat(fd, &st) < 0 || stat(held[i].path, &want) < 0 ||
		    st.st_rdev != want.st_rdev ||
		    (fcntl(fd, F_GETFL) & O_ACCMODE) != held[i].mode ||
		    !(fcntl(fd, F_GETFD) & FD_CLOEXEC) ||
		    read(fd, buf, sizeof(buf)) != sizeof(buf))
			return false;
	}
	return true;
}

static int before(void *userdata)
{
	strcat(trail, "b ");
	return 0;
}

static void after(int result, void *userdata)
{
	size_t len = strlen(trail);

	snprintf(trail + len, sizeof(trail) - len, "a(%d) ", result);
}

/* Appends @line to the report file of the current launch. */
static void report(const char *line)
{
	struct json_object *params, *path;
	char *json = NULL;
	FILE *f;

	if (thaw_launch_params(&json) < 0)
		return;
	params = json_tokener_parse(json);
	if (params && json_object_object_get_ex(params, "report", &path)) {
		f = fopen(json_object_get_string(path), "ae");
		if (f) {
			fprintf(f, "%s params=%s\n", line, json);
			fclose(f);
		}
	}
	json_object_put(params);
	free(json);
}

static bool mem_ok(void)
{
	for (size_t i = 0; i < MEM_SIZE; i++)
		if (mem[i] != (unsigned char)(i * 13 + 1))
			return false;
	return true;
}

static void after_checkpoint(int r)
{
	char line[256];

	if (r == THAW_CHECKPOINT_DUMPED) {
		snprintf(line, sizeof(line), "dumped trail=%s", trail);
	} else if (r == THAW_CHECKPOINT_RESTORED) {
		snprintf(line, sizeof(line),
			 "restored mem=%s trail=%sdevices=%s tcp=%s",
			 mem_ok() ? "ok" : "BAD", trail,
			 devices_ok() ? "ok" : "BAD", tcp_ok() ? "ok" : "BAD");
		if (thaw_ready() < 0)
			snprintf(line, sizeof(line), "error ready: %s",
				 thaw_last_error());
	} else {
		snprintf(line, sizeof(line), "error checkpoint %d: %s", r,
			 thaw_last_error());
	}
	report(line);
}

int main(int argc, char **argv)
{
	int efd, r;

	if (hold(argv, argc) < 0 || tcp_self() < 0)
		return 1;

	mem = malloc(MEM_SIZE);
	if (!mem)
		return 1;
	for (size_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (unsigned char)(i * 13 + 1);

	if (thaw_hook_add(before, after, NULL) < 0)
		return 1;
	efd = thaw_launch_event_fd();
	if (efd < 0)
		return 1;

	r = thaw_ready();
	if (r < 0) {
		report("error ready");
		return 1;
	}
	after_checkpoint(thaw_checkpoint());

	for (;;) {
		struct pollfd p = { .fd = efd, .events = POLLIN };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return 1;
		if (thaw_launch_event_read() > 0)
			report("event");
	}
}
