// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An unmodified program for the snapshot tests: it knows nothing of thaw
 * (no libthaw, no HAL).  It fills some memory with a pattern, keeps a
 * file open, a socketpair inside itself and a TCP listening socket on
 * 127.0.0.1, and answers each connection with one line:
 *
 *   served=N file=FIRST-LINE mem=ok|bad pair=ok|bad
 *
 *   snap-server [--port N] [--file PATH] [--hold PATH] [--mib N]
 *
 * --port 0 (the default) lets the kernel choose; the port is printed on
 * stdout ("listening on 127.0.0.1:PORT").  --hold opens PATH read-only
 * and keeps it (a device the dump must refuse, say).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct state {
	int listen_fd;
	int file_fd;
	int pair[2];
	uint64_t *mem;
	size_t words;
	uint64_t sum;
	unsigned served;
};

static uint64_t checksum(const uint64_t *mem, size_t words)
{
	uint64_t s = 0;

	for (size_t i = 0; i < words; i++)
		s = (s ^ mem[i]) * 0x100000001b3ULL;
	return s;
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("snap-server: listen");
		exit(1);
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

/* The file's first line, read through the fd kept open since start. */
static void file_line(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static bool pair_works(int pair[2])
{
	char c = 0;

	return write(pair[0], "x", 1) == 1 && read(pair[1], &c, 1) == 1 &&
	       c == 'x';
}

static void serve(struct state *s, int cfd)
{
	char line[512], text[256] = "-";

	if (s->file_fd >= 0)
		file_line(s->file_fd, text, sizeof(text));
	s->served++;
	snprintf(line, sizeof(line), "served=%u file=%s mem=%s pair=%s\n",
		 s->served, text,
		 checksum(s->mem, s->words) == s->sum ? "ok" : "bad",
		 pair_works(s->pair) ? "ok" : "bad");
	if (write(cfd, line, strlen(line)) < 0)
		perror("snap-server: write");
	close(cfd);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "hold", required_argument, NULL, 'h' },
		{ "mib", required_argument, NULL, 'm' },
		{ 0 },
	};
	struct state s = { .file_fd = -1 };
	int port = 0, c;
	size_t mib = 4;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		if (c == 'p')
			port = atoi(optarg);
		else if (c == 'f')
			s.file_fd = open(optarg, O_RDONLY);
		else if (c == 'h' && open(optarg, O_RDONLY) < 0)
			perror("snap-server: --hold");
		else if (c == 'm')
			mib = strtoul(optarg, NULL, 10);
		else if (c == '?')
			return 2;
	}

	s.words = mib * 1024 * 1024 / sizeof(uint64_t);
	s.mem = malloc(s.words * sizeof(uint64_t));
	if (!s.mem || socketpair(AF_UNIX, SOCK_STREAM, 0, s.pair) < 0)
		return 1;
	for (size_t i = 0; i < s.words; i++)
		s.mem[i] = (i * 0x9e3779b97f4a7c15ULL) ^ (i >> 7);
	s.sum = checksum(s.mem, s.words);

	s.listen_fd = listen_on(port);
	for (;;) {
		int cfd = accept(s.listen_fd, NULL, NULL);

		if (cfd >= 0)
			serve(&s, cfd);
	}
}
