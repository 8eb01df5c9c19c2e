// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"
#include "util.h"

static int listen_on(int type, const char *name, bool abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();

	snprintf(sa.sun_path + abstract, sizeof(sa.sun_path) - abstract, "%s",
		 name);
	len = offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name);
	if (!abstract)
		unlink(name);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 4096) < 0) {
		int r = negative_errno();

		close_fd(fd);
		return r;
	}
	return fd;
}

int peer_listen(struct peer *p, const char *dir, struct peer_stats *stats)
{
	*p = (struct peer){ .stream_fd = -1,
			    .seqpacket_fd = -1,
			    .stop_fd = -1,
			    .stats = stats };

	snprintf(p->path, sizeof(p->path), "%s/peer.sock", dir);
	snprintf(p->abstract, sizeof(p->abstract), "thaw-hal-peer-%d",
		 (int)getpid());

	p->stream_fd = listen_on(SOCK_STREAM, p->path, false);
	if (p->stream_fd < 0)
		return p->stream_fd;
	p->seqpacket_fd = listen_on(SOCK_SEQPACKET, p->abstract, true);
	if (p->seqpacket_fd < 0)
		return p->seqpacket_fd;
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	return p->stop_fd < 0 ? negative_errno() : 0;
}

static void serve_one(struct peer *p, int fd)
{
	char buf[64];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close(fd);
		return;
	}
	buf[n] = '\0';

	if (strncmp(buf, "HELLO", 5) == 0) {
		p->stats->handshakes++;
		/* A lost reply shows on the client's side. */
		(void)send(fd, "WELCOME", 7, MSG_NOSIGNAL);
	} else if (strncmp(buf, "PING", 4) == 0) {
		p->stats->pings++;
		(void)send(fd, "PONG", 4, MSG_NOSIGNAL);
	}
}

static void *serve(void *userdata)
{
	struct peer *p = userdata;
	struct epoll_event ev[64];
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, p->stream_fd,
		  &(struct epoll_event){ .events = EPOLLIN,
					 .data.fd = p->stream_fd });
	epoll_ctl(ep, EPOLL_CTL_ADD, p->seqpacket_fd,
		  &(struct epoll_event){ .events = EPOLLIN,
					 .data.fd = p->seqpacket_fd });
	epoll_ctl(ep, EPOLL_CTL_ADD, p->stop_fd,
		  &(struct epoll_event){ .events = EPOLLIN,
					 .data.fd = p->stop_fd });

	for (;;) {
		int n = epoll_wait(ep, ev, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd, c;

			if (fd == p->stop_fd) {
				close(ep);
				return NULL;
			}
			if (fd != p->stream_fd && fd != p->seqpacket_fd) {
				serve_one(p, fd);
				continue;
			}
			c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				epoll_ctl(ep, EPOLL_CTL_ADD, c,
					  &(struct epoll_event){
						  .events = EPOLLIN,
						  .data.fd = c });
		}
	}
}

int peer_run(struct peer *p)
{
	int r = pthread_create(&p->thread, NULL, serve, p);

	p->running = r == 0;
	return -r;
}

void peer_stop(struct peer *p)
{
	if (p->running) {
		eventfd_write(p->stop_fd, 1);
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	p->stream_fd = close_fd(p->stream_fd);
	p->seqpacket_fd = close_fd(p->seqpacket_fd);
	p->stop_fd = close_fd(p->stop_fd);
	if (p->path[0])
		unlink(p->path);
}

int peer_connect(const struct peer *p, bool abstract, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *name = abstract ? p->abstract : p->path;
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, (abstract ? SOCK_SEQPACKET : SOCK_STREAM) | flags,
		    0);
	if (fd < 0)
		return negative_errno();

	snprintf(sa.sun_path + abstract, sizeof(sa.sun_path) - abstract, "%s",
		 name);
	len = offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name);
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		int r = negative_errno();

		close_fd(fd);
		return r;
	}
	return fd;
}

/* Sends @msg and waits (at most a second) for the answer @want. */
static int round_trip(int fd, const char *msg, const char *want)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;

	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		return negative_errno();
	if (poll(&pfd, 1, 1000) <= 0)
		return -ETIMEDOUT;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != strlen(want) || memcmp(buf, want, n) != 0)
		return -EPROTO;
	return 0;
}

int peer_handshake(int fd, enum hal_reason reason, void *userdata)
{
	return round_trip(fd, "HELLO", "WELCOME");
}

int peer_ping(int fd)
{
	return round_trip(fd, "PING", "PONG");
}
