/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * An outside peer for the HAL's sockets: a server thread answering an
 * app-level handshake ("HELLO" -> "WELCOME") and pings ("PING" -> "PONG")
 * on a stream socket bound to a path and a seqpacket socket with an
 * abstract name.  Used by the conformance suite and the benchmark.
 */

#include <pthread.h>
#include <stdbool.h>
#include <sys/un.h>

#include "thaw/hal.h"

struct peer_stats {
	volatile unsigned handshakes;
	volatile unsigned pings;
};

struct peer {
	int stream_fd;	  /* listening, bound to path */
	int seqpacket_fd; /* listening, abstract name */
	int stop_fd;	  /* eventfd that ends the thread */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char abstract[64]; /* without the leading NUL */
	struct peer_stats *stats;
	pthread_t thread;
	bool running;
};

/* Binds and listens (in @dir, name derived from our pid); no thread yet. */
int peer_listen(struct peer *p, const char *dir, struct peer_stats *stats);

/* Starts the serving thread. */
int peer_run(struct peer *p);

/* Stops the thread and closes everything; accepts a never-started peer. */
void peer_stop(struct peer *p);

/* Connects to the peer's stream (path) or seqpacket (abstract) socket. */
int peer_connect(const struct peer *p, bool abstract, int flags);

/* The handshake, as a hal_reopen_fn (userdata unused). */
int peer_handshake(int fd, enum hal_reason reason, void *userdata);

/* One ping round trip; 0 or a negative errno. */
int peer_ping(int fd);
