// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A local service the example apps keep a connection to (built as
 * settingsd for home and as busd for inputcommon).  It is not
 * checkpointable: it is what an app's socket points outside to.  Line
 * protocol: "PING <token>" is answered "PONG <token>", "HELLO <name>" is
 * answered "WELCOME <name> <client number>".
 *
 * usage: PEER --socket PATH
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "exapp.h"
#include "util.h"

#define MAX_CLIENTS 64

struct client {
	int fd;
	unsigned number;
	size_t len;
	char buf[512];
};

static struct client clients[MAX_CLIENTS];
static unsigned nclients, served;

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	(void)unlink(path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0)
		return negative_errno();

	return TAKE_FD(fd);
}

static void answer(struct client *c, const char *line)
{
	char out[600];
	int len;

	if (strncmp(line, "PING ", 5) == 0)
		len = snprintf(out, sizeof(out), "PONG %s\n", line + 5);
	else if (strncmp(line, "HELLO ", 6) == 0)
		len = snprintf(out, sizeof(out), "WELCOME %s %u\n", line + 6,
			       c->number);
	else
		len = snprintf(out, sizeof(out), "ERROR unknown request\n");

	(void)send(c->fd, out, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Returns false when the client went away. */
static bool serve(struct client *c)
{
	ssize_t k = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	char *nl;

	if (k <= 0)
		return k < 0 && errno == EINTR;
	c->len += (size_t)k;

	while ((nl = memchr(c->buf, '\n', c->len))) {
		*nl = '\0';
		answer(c, c->buf);
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
	}
	if (c->len == sizeof(c->buf) - 1)
		c->len = 0;
	return true;
}

static void accept_one(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (nclients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	clients[nclients++] = (struct client){ .fd = fd, .number = ++served };
	exapp_log(PEER_NAME, "client %u connected", served);
}

static void drop(unsigned i)
{
	exapp_log(PEER_NAME, "client %u left", clients[i].number);
	close(clients[i].fd);
	clients[i] = clients[--nclients];
}

int main(int argc, char **argv)
{
	const char *path = exapp_arg(argc, argv, "socket", PEER_SOCKET_ENV);
	int lfd;

	signal(SIGPIPE, SIG_IGN);
	if (!path) {
		fprintf(stderr, "usage: %s --socket PATH\n", argv[0]);
		return 2;
	}

	lfd = listen_on(path);
	if (lfd < 0) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", PEER_NAME,
			path, strerror(-lfd));
		return 1;
	}
	exapp_log(PEER_NAME, "listening on %s", path);

	for (;;) {
		struct pollfd pfd[MAX_CLIENTS + 1];

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (unsigned i = 0; i < nclients; i++)
			pfd[i + 1] = (struct pollfd){ .fd = clients[i].fd,
						      .events = POLLIN };
		if (poll(pfd, nclients + 1, -1) < 0 && errno != EINTR)
			return 1;

		for (unsigned i = nclients; i > 0; i--)
			if (pfd[i].revents && !serve(&clients[i - 1]))
				drop(i - 1);
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
	}
}
