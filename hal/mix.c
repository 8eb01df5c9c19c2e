// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "mix.h"
#include "util.h"

#define MIX_SHM_SIZE (64 * 1024)

static const char *const devices[] = { "/dev/null", "/dev/urandom",
				       "/dev/cpu_dma_latency" };

/* Replays a latency request on a reopened /dev/cpu_dma_latency. */
static int latency_replay(int fd, enum hal_reason reason, void *userdata)
{
	int32_t us = 100;

	return write(fd, &us, sizeof(us)) == sizeof(us) ? 0 : -EIO;
}

static int nop_release(void *userdata)
{
	return 0;
}

static int nop_acquire(enum hal_reason reason, void *userdata)
{
	return 0;
}

static int open_one(struct mix *m, const struct hal_ops *ops,
		    const struct peer *p, size_t i)
{
	int slot = m->kind == MIX_ALL ? (int)(i % 10) : (int)m->kind;
	char path[256];
	int fd;

	if (slot <= 2) {
		fd = open(devices[slot], (slot == 1 ? O_RDONLY : O_RDWR));
		m->fds[i] = fd;
		return fd < 0 ?
			       negative_errno() :
			       ops->device_register(
				       fd, NULL, NULL,
				       slot == 2 ? latency_replay : NULL, NULL);
	}
	if (slot <= 4) {
		fd = peer_connect(p, slot == 4, 0);
		m->fds[i] = fd < 0 ? -1 : fd;
		if (fd >= 0 && peer_handshake(fd, HAL_REASON_DUMP, NULL) < 0)
			return -EPROTO;
		return fd < 0 ? fd :
				ops->socket_register(fd, peer_handshake, NULL);
	}
	if (slot == 5) {
		m->shmids[i] =
			shmget(IPC_PRIVATE, MIX_SHM_SIZE, IPC_CREAT | 0600);
		if (m->shmids[i] < 0)
			return negative_errno();
		m->addrs[i] = shmat(m->shmids[i], NULL, 0);
		if (m->addrs[i] == (void *)-1) {
			m->addrs[i] = NULL;
			return negative_errno();
		}
		memset(m->addrs[i], (int)i, MIX_SHM_SIZE);
		return ops->shm_register(m->addrs[i], HAL_SHM_SAVE, NULL, NULL);
	}
	if (slot <= 8) {
		snprintf(path, sizeof(path), "%s/mix-%zu", m->dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		m->fds[i] = fd;
		return fd < 0 ? negative_errno() : ops->file_register(fd, NULL);
	}
	return ops->custom_register("mix", 0, nop_release, nop_acquire, NULL);
}

int mix_open(struct mix *m, const struct hal_ops *ops, const struct peer *p,
	     const char *dir, size_t n)
{
	return mix_open_kind(m, ops, p, dir, n, MIX_ALL);
}

static bool is_file(const struct mix *m, size_t i)
{
	int slot = m->kind == MIX_ALL ? (int)(i % 10) : (int)m->kind;

	return slot >= MIX_FILE && slot < MIX_CUSTOM;
}

int mix_open_kind(struct mix *m, const struct hal_ops *ops,
		  const struct peer *p, const char *dir, size_t n,
		  enum mix_kind kind)
{
	*m = (struct mix){ .n = n, .kind = kind };
	snprintf(m->dir, sizeof(m->dir), "%s", dir);
	m->ids = calloc(n, sizeof(*m->ids));
	m->fds = malloc(n * sizeof(*m->fds));
	m->shmids = malloc(n * sizeof(*m->shmids));
	m->addrs = calloc(n, sizeof(*m->addrs));
	/* -1 before any failure: mix_close() reads them. */
	if (m->fds)
		memset(m->fds, 0xff, n * sizeof(*m->fds));
	if (m->shmids)
		memset(m->shmids, 0xff, n * sizeof(*m->shmids));
	if (!m->ids || !m->fds || !m->shmids || !m->addrs) {
		mix_close(m, ops);
		return -ENOMEM;
	}

	for (size_t i = 0; i < n; i++) {
		int r = open_one(m, ops, p, i);

		if (r < 0) {
			mix_close(m, ops);
			return r;
		}
		m->ids[i] = r;
	}
	return mix_dirty(m);
}

int mix_dirty(struct mix *m)
{
	static char page[4096];

	memset(page, 'd', sizeof(page));
	for (size_t i = 0; i < m->n; i++) {
		if (is_file(m, i) && m->fds[i] >= 0 &&
		    write(m->fds[i], page, sizeof(page)) != sizeof(page))
			return -EIO;
	}
	return 0;
}

void mix_close(struct mix *m, const struct hal_ops *ops)
{
	char path[256];

	for (size_t i = 0; m->ids && i < m->n; i++) {
		if (m->ids[i] > 0)
			ops->unregister(m->ids[i]);
		if (m->fds && m->fds[i] >= 0)
			close(m->fds[i]);
		if (m->addrs && m->addrs[i])
			shmdt(m->addrs[i]);
		if (m->shmids && m->shmids[i] >= 0)
			shmctl(m->shmids[i], IPC_RMID, NULL);
		if (is_file(m, i)) {
			snprintf(path, sizeof(path), "%s/mix-%zu", m->dir, i);
			unlink(path);
		}
	}
	free(m->ids);
	free(m->fds);
	free(m->shmids);
	free(m->addrs);
	*m = (struct mix){ 0 };
}
