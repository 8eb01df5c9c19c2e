// SPDX-License-Identifier: LGPL-2.1-or-later
#include "exres.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/shm.h>
#include <thaw/hal.h>

#include "exapp.h"
#include "unix-socket.h"
#include "util.h"

int exres_open_device(const char *path, int flags)
{
	_cleanup_close_ int fd = open(path, flags | O_CLOEXEC);
	int r;

	if (fd < 0)
		return negative_errno();

	r = hal_device_register(fd, path, NULL, NULL, NULL);
	if (r < 0)
		return r;

	return TAKE_FD(fd);
}

static int peer_handshake(int fd, enum hal_reason reason, void *userdata)
{
	/* Inside a HAL call: its 100 ms budget bounds the wait. */
	return expeer_hello(fd, userdata, 50);
}

int exres_connect_peer(const char *path, const char *app)
{
	_cleanup_close_ int fd = unix_socket_connect(path);
	int r;

	if (fd < 0)
		return fd;

	r = expeer_hello(fd, app, 2000);
	if (r < 0)
		return r;

	r = hal_socket_register(fd, peer_handshake, (void *)app);
	if (r < 0)
		return r;

	return TAKE_FD(fd);
}

int exres_open_rw_file(const char *path, int flags, mode_t mode)
{
	_cleanup_close_ int fd = open(path, flags | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return negative_errno();

	r = hal_file_register(fd, path);
	if (r < 0)
		return r;

	return TAKE_FD(fd);
}

void *exres_attach_shm(key_t key, size_t *ret_size)
{
	struct shmid_ds ds;
	void *addr;
	int id, r;

	id = shmget(key, 0, 0);
	if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0)
		return NULL;

	addr = shmat(id, NULL, 0);
	if (addr == (void *)-1)
		return NULL;

	/* A copy lets the HAL refill the segment should it be gone at a
	 * restore (after a reboot, before its peer is back). */
	r = hal_shm_register(addr, HAL_SHM_SAVE, NULL, NULL);
	if (r < 0) {
		shmdt(addr);
		errno = -r;
		return NULL;
	}

	*ret_size = ds.shm_segsz;
	return addr;
}
