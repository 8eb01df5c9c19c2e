// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What each kind of resource does on release and on re-acquire.  Released
 * fd numbers are not left free: they hold a read-only memfd until the fd
 * comes back, so nothing else in the app can take the number meanwhile,
 * and CRIU dumps the memfd like any other.  Released shared memory leaves
 * an inaccessible anonymous reservation over its range for the same
 * reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "resource.h"
#include "util.h"

/* The status flags that open(2) takes back. */
#define REOPEN_FLAGS                                                       \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_DIRECT | \
	 O_NOATIME | O_LARGEFILE)

static int fd_path(int fd, char **ret)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;
	char *p;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';

	if (buf[0] != '/')
		return -EINVAL;

	p = strdup(buf);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

bool fd_is_reserved(int fd)
{
	/* Cheaper than readlink(), and CRIU restores seals with the memfd. */
	return fcntl(fd, F_GET_SEALS) == HAL_RESERVED_SEALS;
}

static int fd_flags_read(struct resource *r)
{
	r->fd_flags = fcntl(r->fd, F_GETFD);
	if (r->fd_flags < 0)
		return negative_errno();

	r->fl_flags = fcntl(r->fd, F_GETFL);
	return r->fl_flags < 0 ? negative_errno() : 0;
}

static int fd_init_common(struct resource *r, const char *path)
{
	int k = fd_flags_read(r);

	if (k < 0)
		return k;
	if (!path)
		return fd_path(r->fd, &r->path);
	if (path[0] != '/')
		return -EINVAL;

	r->path = strdup(path);
	return r->path ? 0 : -ENOMEM;
}

int res_device_init(struct resource *r, const char *path)
{
	struct stat st;

	if (fstat(r->fd, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;

	return fd_init_common(r, path);
}

int res_file_init(struct resource *r, const char *path)
{
	struct stat st;

	if (fstat(r->fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_nlink == 0)
		return -ENOENT;

	r->st_dev = st.st_dev;
	return fd_init_common(r, path);
}

int res_socket_init(struct resource *r)
{
	socklen_t len = sizeof(r->sock_type);
	struct sockaddr_un sa = { 0 };
	socklen_t sa_len = sizeof(sa);

	if (getsockopt(r->fd, SOL_SOCKET, SO_TYPE, &r->sock_type, &len) < 0)
		return errno == ENOTSOCK ? -EINVAL : negative_errno();

	if (getpeername(r->fd, (struct sockaddr *)&sa, &sa_len) < 0)
		return negative_errno();
	if (sa.sun_family != AF_UNIX)
		return -EINVAL;
	if (sa_len <= offsetof(struct sockaddr_un, sun_path))
		return -EINVAL;

	r->peer = sa;
	r->peer_len = sa_len;
	return fd_flags_read(r);
}

/* Finds the System V attachment that starts at @addr in our maps. */
static int shm_find(const void *addr, unsigned long *ret_end, int *ret_id,
		    bool *ret_writable)
{
	unsigned long start, end, ino;
	char perms[8], path[64];
	char line[512];
	FILE *f;
	int r = -EINVAL;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return negative_errno();

	while (fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %63s", &start, &end,
			   perms, &ino, path) < 4)
			continue;
		if (start != (unsigned long)addr)
			continue;
		if (strncmp(path, "/SYSV", 5) == 0 && perms[3] == 's') {
			*ret_end = end;
			*ret_id = (int)ino;
			*ret_writable = perms[1] == 'w';
			r = 0;
		}
		break;
	}

	fclose(f);
	return r;
}

int res_shm_init(struct resource *r, const void *addr)
{
	struct shmid_ds ds;
	unsigned long end;
	bool writable;
	int k;

	k = shm_find(addr, &end, &r->shmid, &writable);
	if (k < 0)
		return k;

	if (shmctl(r->shmid, IPC_STAT, &ds) < 0)
		return negative_errno();

	r->addr = (void *)addr;
	r->size = ds.shm_segsz;
	r->key = ds.shm_perm.__key;
	r->mode = ds.shm_perm.mode & 0777;
	r->shmflg = writable ? 0 : SHM_RDONLY;

	/* Allocated and touched now, to keep page faults out of the call. */
	if (r->flags & HAL_SHM_SAVE) {
		r->saved = malloc(r->size);
		if (!r->saved)
			return -ENOMEM;
		memset(r->saved, 0, r->size);
	}
	return 0;
}

void res_describe(const struct resource *r, struct hal_text *t)
{
	switch (r->kind) {
	case RES_DEVICE:
		hal_text_add(t, "device fd %d (%s)", r->fd, r->path);
		break;
	case RES_FILE:
		hal_text_add(t, "file fd %d (%s)", r->fd, r->path);
		break;
	case RES_SOCKET:
		hal_text_add(t, "socket fd %d (%s%.*s)", r->fd,
			     r->peer.sun_path[0] ? "" : "@",
			     (int)(r->peer_len -
				   offsetof(struct sockaddr_un, sun_path) -
				   (r->peer.sun_path[0] ? 0 : 1)),
			     r->peer.sun_path + (r->peer.sun_path[0] ? 0 : 1));
		break;
	case RES_SHM:
		hal_text_add(t, "shm key 0x%08x at %p (%zu bytes)",
			     (unsigned)r->key, r->addr, r->size);
		break;
	case RES_CUSTOM:
		hal_text_add(t, "custom '%s'", r->name ? r->name : "");
		break;
	}
}

void res_free(struct resource *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->saved);
	free(r->name);
	free(r);
}

static int step_failed(struct hal_text *why, const char *step, int err)
{
	hal_text_add(why, "%s: %s", step, strerror(-err));
	return err;
}

/* Puts the reservation at r->fd, which closes what the app had there. */
static int fd_release(struct resource *r, struct release_ctx *ctx,
		      struct hal_text *why)
{
	off_t off;

	if (r->kind == RES_DEVICE || r->kind == RES_FILE) {
		off = lseek(r->fd, 0, SEEK_CUR);
		r->seekable = off >= 0;
		r->offset = off >= 0 ? off : 0;
	}

	if (dup3(ctx->reserved_fd, r->fd, O_CLOEXEC) < 0)
		return step_failed(why, "close", negative_errno());
	return 0;
}

/* Moves the freshly opened @nfd to r->fd with the app's flags. */
static int fd_put_back(struct resource *r, int nfd, struct hal_text *why)
{
	int flags = r->fd_flags & FD_CLOEXEC ? O_CLOEXEC : 0;

	if (!fd_is_reserved(r->fd)) {
		close_fd(nfd);
		return step_failed(why, "fd number taken meanwhile", -EBUSY);
	}

	if (dup3(nfd, r->fd, flags) < 0) {
		int err = negative_errno();

		close_fd(nfd);
		return step_failed(why, "dup3", err);
	}

	close_fd(nfd);
	return 0;
}

static int path_reopen(struct resource *r, struct hal_text *why)
{
	int fl = (r->fl_flags & REOPEN_FLAGS) | O_CLOEXEC | O_NOCTTY;
	int nfd;

	nfd = open(r->path, fl);
	if (nfd < 0)
		return step_failed(why, "reopen", negative_errno());

	/* A device that ignores lseek() answers with another offset. */
	if (r->seekable && lseek(nfd, r->offset, SEEK_SET) < 0 &&
	    errno != ESPIPE && errno != EINVAL) {
		int err = negative_errno();

		close_fd(nfd);
		return step_failed(why, "seek", err);
	}

	return fd_put_back(r, nfd, why);
}

static int socket_reconnect(struct resource *r, struct hal_text *why)
{
	int nfd, err;

	/* Non-blocking so that a full backlog fails instead of stalling. */
	nfd = socket(AF_UNIX, r->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (nfd < 0)
		return step_failed(why, "socket", negative_errno());

	if (connect(nfd, (struct sockaddr *)&r->peer, r->peer_len) < 0) {
		err = negative_errno();
		close_fd(nfd);
		return step_failed(why, "connect", err);
	}

	if (!(r->fl_flags & O_NONBLOCK) && fcntl(nfd, F_SETFL, 0) < 0) {
		err = negative_errno();
		close_fd(nfd);
		return step_failed(why, "fcntl", err);
	}

	return fd_put_back(r, nfd, why);
}

/*
 * A segment marked for removal (the usual IPC_RMID right after shmat())
 * dies with our detach when no one else has it attached: keep its
 * contents then, whatever the flags say.
 */
static int shm_save_dying(struct resource *r)
{
	struct shmid_ds ds;

	if (shmctl(r->shmid, IPC_STAT, &ds) < 0)
		return negative_errno();
	r->dest = ds.shm_perm.mode & SHM_DEST;
	if (!r->dest || ds.shm_nattch > 1 || r->saved || r->refill)
		return 0;

	r->saved = malloc(r->size);
	return r->saved ? 0 : -ENOMEM;
}

static int shm_release(struct resource *r, struct hal_text *why)
{
	void *p;
	int k;

	k = shm_save_dying(r);
	if (k < 0)
		return step_failed(why, "stat", k);

	if (r->saved) {
		/* One call maps the pages that the copy would fault in one by one. */
		madvise(r->addr, r->size, MADV_POPULATE_READ);
		memcpy(r->saved, r->addr, r->size);
	}

	if (shmdt(r->addr) < 0)
		return step_failed(why, "shmdt", negative_errno());

	p = mmap(r->addr, r->size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p == MAP_FAILED)
		return step_failed(why, "reserve", negative_errno());
	return 0;
}

/* The segment to attach: the old one if it is still there, else by key. */
static int shm_lookup(struct resource *r, bool *ret_created)
{
	struct shmid_ds ds;
	int id;

	if (shmctl(r->shmid, IPC_STAT, &ds) == 0 &&
	    ds.shm_perm.__key == r->key && ds.shm_segsz == r->size) {
		*ret_created = false;
		return r->shmid;
	}

	if (r->key != IPC_PRIVATE) {
		id = shmget(r->key, r->size, 0);
		if (id >= 0) {
			*ret_created = false;
			return id;
		}
		if (errno != ENOENT)
			return negative_errno();
	}

	id = shmget(r->key, r->size, IPC_CREAT | IPC_EXCL | r->mode);
	if (id < 0)
		return negative_errno();
	*ret_created = true;
	return id;
}

static int shm_refill(struct resource *r, struct hal_text *why)
{
	void *p = r->addr;
	int k = 0;

	if (!r->refill && !r->saved) {
		hal_text_add(why, "re-created empty, no saved contents");
		return 0;
	}

	if (r->shmflg & SHM_RDONLY) {
		p = shmat(r->shmid, NULL, 0);
		if (p == (void *)-1)
			return step_failed(why, "shmat for refill",
					   negative_errno());
	}

	if (r->refill)
		k = r->refill(p, r->size, r->userdata);
	else
		memcpy(p, r->saved, r->size);

	if (p != r->addr)
		shmdt(p);
	return k < 0 ? step_failed(why, "refill", k) : 0;
}

static int shm_acquire(struct resource *r, struct hal_text *why)
{
	bool created;
	void *p;
	int id;

	id = shm_lookup(r, &created);
	if (id < 0)
		return step_failed(why, "shmget", id);

	p = shmat(id, r->addr, r->shmflg | SHM_REMAP);
	if (p == (void *)-1) {
		int err = negative_errno();

		if (created)
			shmctl(id, IPC_RMID, NULL);
		return step_failed(why, "shmat", err);
	}

	r->shmid = id;
	if (!created)
		return 0;

	/* A re-created segment goes when the app detaches, as the old one. */
	if (r->dest)
		shmctl(id, IPC_RMID, NULL);
	return shm_refill(r, why);
}

int res_release(struct resource *r, struct release_ctx *ctx,
		struct hal_text *why)
{
	int k;

	switch (r->kind) {
	case RES_DEVICE:
		if (r->quiesce) {
			k = r->quiesce(r->fd, r->userdata);
			if (k < 0)
				return step_failed(why, "quiesce", k);
		}
		return fd_release(r, ctx, why);
	case RES_SOCKET:
	case RES_FILE:
		return fd_release(r, ctx, why);
	case RES_SHM:
		return shm_release(r, why);
	case RES_CUSTOM:
		k = r->release ? r->release(r->userdata) : 0;
		return k < 0 ? step_failed(why, "release", k) : 0;
	}
	return -EINVAL;
}

int res_acquire(struct resource *r, enum hal_reason reason,
		struct hal_text *why)
{
	int k;

	switch (r->kind) {
	case RES_DEVICE:
	case RES_FILE:
		k = path_reopen(r, why);
		break;
	case RES_SOCKET:
		k = socket_reconnect(r, why);
		break;
	case RES_SHM:
		return shm_acquire(r, why);
	case RES_CUSTOM:
		k = r->acquire ? r->acquire(reason, r->userdata) : 0;
		return k < 0 ? step_failed(why, "acquire", k) : 0;
	default:
		return -EINVAL;
	}

	if (k < 0 || !r->reopen)
		return k;

	/* The fd is back: a failed replay is reported but does not undo it. */
	k = r->reopen(r->fd, reason, r->userdata);
	if (k < 0) {
		step_failed(why, r->kind == RES_SOCKET ? "handshake" : "replay",
			    k);
		return 1;
	}
	return 0;
}

void res_forget(struct resource *r)
{
	if (r->kind == RES_SHM)
		munmap(r->addr, r->size);
	else if (r->kind != RES_CUSTOM && fd_is_reserved(r->fd))
		close(r->fd);
}
