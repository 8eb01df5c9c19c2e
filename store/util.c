// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

/* Keeps the first reason given: it is the one closest to the fault. */
void set_reason(char **ret_reason, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (!ret_reason || *ret_reason)
		return;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0)
		*ret_reason = s;
	va_end(ap);
}

bool app_id_is_valid(const char *app_id)
{
	size_t n;

	if (!app_id || app_id[0] == '\0' || app_id[0] == '.')
		return false;

	n = strspn(app_id, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	return n == strlen(app_id) && n <= NAME_MAX_LEN;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);
	char *p;

	if (!copy)
		return -ENOMEM;

	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*p = '/';
	}

	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

DIR *dir_open_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d)
		close_fd(fd);
	return d;
}

static int rm_rf_children(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close_fd(fd);
		return negative_errno();
	}

	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name) < 0 && r == 0)
			r = negative_errno();
	}

	closedir(d);
	return r;
}

int rm_rf_at(int dirfd, const char *name)
{
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return negative_errno();

	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();

	rm_rf_children(fd);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

void remove_new_at(int app_fd)
{
	DIR *d = dir_open_at(app_fd, ".");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, ".new-", 5) == 0)
			rm_rf_at(app_fd, de->d_name);
	closedir(d);
}

int fsync_at(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int write_all(int fd, const void *buf, size_t size)
{
	const char *p = buf;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int write_file_at(int dirfd, const char *name, const char *text)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return negative_errno();

	r = write_all(fd, text, strlen(text));
	if (r < 0)
		return r;

	if (fsync(fd) < 0)
		return negative_errno();
	return 0;
}

int read_file_at(int dirfd, const char *name, size_t max, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();

	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;

	for (;;) {
		ssize_t n = read(fd, buf + len, max - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == max)
			return -EFBIG;
	}

	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return (int)len;
}

int parse_seq(const char *name, const char *prefix, uint64_t *ret)
{
	size_t n = strlen(prefix);
	char *end;
	unsigned long long v;

	if (strncmp(name, prefix, n) != 0 || name[n] < '0' || name[n] > '9')
		return -EINVAL;

	errno = 0;
	v = strtoull(name + n, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;

	*ret = v;
	return 0;
}

int current_seq_at(int app_fd, uint64_t *ret)
{
	char target[64];
	ssize_t n;

	n = readlinkat(app_fd, CURRENT_NAME, target, sizeof(target) - 1);
	if (n < 0)
		return negative_errno();
	target[n] = '\0';

	if (parse_seq(target, "img-", ret) < 0)
		return -EBADMSG;
	return 0;
}

/* Opens the image `current` names; -ENOENT when there is none. */
int open_current_at(int app_fd, uint64_t *ret_seq)
{
	int r = current_seq_at(app_fd, ret_seq);
	int fd;

	if (r < 0)
		return r == -ENOENT ? -ENOENT : -EBADMSG;
	fd = openat(app_fd, CURRENT_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	return fd;
}

/* Bytes a folder's files take on disk, counted by blocks. */
uint64_t dir_usage_at(int parent_fd, const char *name)
{
	DIR *d = dir_open_at(parent_fd, name);
	struct dirent *de;
	uint64_t sum = 0;

	if (!d)
		return 0;

	while ((de = readdir(d))) {
		struct stat st;

		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			    0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}

	closedir(d);
	return sum;
}

int open_app_dir(struct store *store, enum store_tier tier, const char *app,
		 bool create)
{
	int fd;

	if (store->dir_fd[tier] < 0)
		return -ENOENT;

	if (create && mkdirat(store->dir_fd[tier], app, 0700) < 0 &&
	    errno != EEXIST)
		return negative_errno();

	fd = openat(store->dir_fd[tier], app,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	return fd;
}

const char *tier_name(enum store_tier tier)
{
	return tier == STORE_TIER_TMPFS ? "tmpfs" : "persistent";
}

static bool hook_matches(const char *env, const char *op, const char *step)
{
	const char *want = getenv(env);
	size_t n = strlen(op);

	return want && strncmp(want, op, n) == 0 && want[n] == ':' &&
	       streq(want + n + 1, step);
}

/*
 * Test hooks: THAW_STORE_KILL_AT=op:step makes the process SIGKILL itself
 * when it reaches that step, THAW_STORE_STOP_AT=op:step SIGSTOP itself
 * there (a test then cuts the power under it), so that tests crash it
 * exactly there.
 */
void kill_point(const char *op, const char *step)
{
	if (hook_matches("THAW_STORE_KILL_AT", op, step))
		raise(SIGKILL);
	if (hook_matches("THAW_STORE_STOP_AT", op, step))
		raise(SIGSTOP);
}
