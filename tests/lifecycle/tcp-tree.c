// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An unmodified program (no libthaw) whose TCP connection has both ends in
 * its own tree: it listens on 127.0.0.1, connects to itself, forks a child
 * that keeps the connecting end (and one end of a Unix socketpair), and
 * relays through the child for each client of its listening socket:
 *
 *   served=N tcp=ok|bad unix=ok|bad [peer=ok|bad]
 *
 *   tcp-tree [--peer PORT]
 *
 * The port it listens on is printed on stdout ("listening on
 * 127.0.0.1:PORT").  --peer also connects to 127.0.0.1:PORT, a peer
 * outside its tree, and keeps that connection (peer=ok while it is open).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int addr_of(int port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){ .sin_family = AF_INET,
				    .sin_port = htons((uint16_t)port) };
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static int listen_any(int *ret_port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	/* As servers do: clients' TIME_WAIT must not keep it from binding
	 * its port again (at a restore too). */
	addr_of(0, &sa);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*ret_port = ntohs(sa.sin_port);
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	addr_of(port, &sa);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* Reads one line ending in '\n' into @buf; returns its length or -1. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

static bool write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	return write(fd, s, n) == (ssize_t)n;
}

/* The child: echoes each line it reads on either socket. */
static void child_run(int tcp, int unix_end)
{
	struct pollfd p[2] = { { .fd = tcp, .events = POLLIN },
			       { .fd = unix_end, .events = POLLIN } };
	char line[128], out[160];

	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read_line(p[i].fd, line, sizeof(line)) < 0)
				_exit(0);
			snprintf(out, sizeof(out), "echo %s", line);
			if (!write_all(p[i].fd, out))
				_exit(0);
		}
	}
}

/* Sends "ping N" through @fd and checks the child's echo. */
static bool relay(int fd, unsigned n)
{
	char msg[64], want[80], got[128];

	snprintf(msg, sizeof(msg), "ping %u\n", n);
	snprintf(want, sizeof(want), "echo %s", msg);
	return write_all(fd, msg) && read_line(fd, got, sizeof(got)) > 0 &&
	       strcmp(got, want) == 0;
}

/* Whether the connection to the outside peer is still open. */
static bool peer_open(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "peer", 1, NULL, 'p' }, {} };
	int port, peer_port = 0, peer = -1, l, c, a, sv[2], opt;
	unsigned served = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'p')
			return 2;
		peer_port = atoi(optarg);
	}

	l = listen_any(&port);
	if (l < 0 || (c = connect_to(port)) < 0 ||
	    (a = accept(l, NULL, NULL)) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    (peer_port && (peer = connect_to(peer_port)) < 0)) {
		perror("tcp-tree: set-up");
		return 1;
	}

	switch (fork()) {
	case -1:
		perror("tcp-tree: fork");
		return 1;
	case 0:
		close(l);
		close(a);
		close(sv[0]);
		if (peer >= 0)
			close(peer);
		child_run(c, sv[1]);
	}
	close(c);
	close(sv[1]);

	printf("listening on 127.0.0.1:%d\n", port);
	fflush(stdout);

	for (;;) {
		int client = accept(l, NULL, NULL);
		char answer[128];
		bool tcp_ok, unix_ok;

		if (client < 0)
			continue;
		served++;
		tcp_ok = relay(a, served);
		unix_ok = relay(sv[0], served);
		snprintf(answer, sizeof(answer), "served=%u tcp=%s unix=%s%s\n",
			 served, tcp_ok ? "ok" : "bad", unix_ok ? "ok" : "bad",
			 peer < 0	 ? "" :
			 peer_open(peer) ? " peer=ok" :
					   " peer=bad");
		write_all(client, answer);
		close(client);
	}
}
