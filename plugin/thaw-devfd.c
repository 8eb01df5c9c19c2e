// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * thaw-devfd.so, a CRIU plugin: dumps character and block device fds by
 * reference (path, open flags, offset) and reopens them at restore, so
 * that a device fd the app holds no longer makes CRIU refuse the dump.
 * CRIU puts the reopened fd at the app's number with its fd flags.
 *
 * Only devices the app's policy allows are handled.  thawd passes the
 * allowed paths in the environment of CRIU:
 *
 *     THAW_DEVFD_ALLOW=/dev/hwrng:/dev/cpu_dma_latency:/dev/input/event*
 *
 * a colon-separated list of fnmatch(3) patterns (FNM_PATHNAME: '*' never
 * crosses a '/').  Unset or empty, nothing is allowed and CRIU fails on
 * device fds as it does without the plugin.  The list is checked both at
 * the dump and at the restore.  A fd this plugin does not handle is
 * passed on (-ENOTSUP) to the next plugin or to CRIU's own refusal.
 *
 * Records: one file per dumped fd in the image folder,
 * thaw-devfd-<CRIU file id>.img, text:
 *
 *     thaw-devfd 1
 *     type char|block
 *     rdev MAJOR:MINOR
 *     flags 0x<open flags, F_GETFL>
 *     pos <offset, -1 when the device cannot seek>
 *     path <path, to the end of the line>
 *
 * A restore fails (so that thawd starts the app cold) when the path is no
 * longer allowed, is missing, or names another device than at the dump.
 * The offset is restored where the device seeks; a device that ignores
 * seeks keeps the position it starts with.
 *
 * Load it by naming its folder in CRIU_LIBS_DIR (or criu --libdir).
 * Built against CRIU 3.17's criu-plugin.h, it loads in CRIU 4.x too.
 */
#include <criu/criu-plugin.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

#define RECORD_MAGIC	"thaw-devfd 1"
#define RECORD_NAME_MAX 64
#define RECORD_SIZE_MAX (PATH_MAX + 256)
/* Flags that make sense only when a file is created or first opened. */
#define OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY)

struct devfd {
	bool is_block;
	dev_t rdev;
	int flags;
	int64_t pos;
	char path[PATH_MAX];
};

/* Whether THAW_DEVFD_ALLOW has a pattern that matches @path. */
static bool path_allowed(const char *path)
{
	const char *list = getenv("THAW_DEVFD_ALLOW");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (!list || !*list)
		return false;
	copy = strdup(list);
	if (!copy)
		return false;

	for (char *p = strtok_r(copy, ":", &save); p;
	     p = strtok_r(NULL, ":", &save))
		if (fnmatch(p, path, FNM_PATHNAME) == 0)
			return true;
	return false;
}

static bool is_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
}

/* The path @fd was opened by, as CRIU sees it. */
static int fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	if (buf[0] != '/' || strchr(buf, '\n'))
		return -ENOTSUP;
	return 0;
}

/* Whether @path still names the device @st describes. */
static int path_check(const char *path, bool is_block, dev_t rdev)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return negative_errno();
	if (!is_device(&st) || S_ISBLK(st.st_mode) != is_block ||
	    st.st_rdev != rdev)
		return -ENODEV;
	return 0;
}

static int record_write(int id, const struct devfd *d)
{
	char name[RECORD_NAME_MAX], text[RECORD_SIZE_MAX];
	_cleanup_close_ int fd = -1;
	int len;

	snprintf(name, sizeof(name), "thaw-devfd-%d.img", id);
	len = snprintf(text, sizeof(text),
		       RECORD_MAGIC "\ntype %s\nrdev %u:%u\nflags 0x%x\n"
				    "pos %" PRId64 "\npath %s\n",
		       d->is_block ? "block" : "char", major(d->rdev),
		       minor(d->rdev), (unsigned)d->flags, d->pos, d->path);
	if (len < 0 || (size_t)len >= sizeof(text))
		return -ENAMETOOLONG;

	fd = openat(criu_get_image_dir(), name,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, text, (size_t)len) != len)
		return -EIO;
	return 0;
}

static int devfd_dump(int fd, int id)
{
	struct devfd d = { 0 };
	struct stat st;
	off_t pos;
	int r;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!is_device(&st))
		return -ENOTSUP;
	r = fd_path(fd, d.path, sizeof(d.path));
	if (r < 0)
		return r == -ENOTSUP ? r : -ENOTSUP;
	if (!path_allowed(d.path))
		return -ENOTSUP;

	d.is_block = S_ISBLK(st.st_mode);
	d.rdev = st.st_rdev;
	r = path_check(d.path, d.is_block, d.rdev);
	if (r < 0)
		return r;

	d.flags = fcntl(fd, F_GETFL);
	if (d.flags < 0)
		return negative_errno();
	pos = lseek(fd, 0, SEEK_CUR);
	d.pos = pos < 0 ? -1 : (int64_t)pos;
	return record_write(id, &d);
}

static int record_parse(char *text, struct devfd *d)
{
	char *save = NULL, *line;
	unsigned maj = 0, min = 0;
	char type[16] = "";
	int fields = 0;

	line = strtok_r(text, "\n", &save);
	if (!line || !streq(line, RECORD_MAGIC))
		return -EBADMSG;

	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, "type %15s", type) == 1)
			fields |= 1;
		else if (sscanf(line, "rdev %u:%u", &maj, &min) == 2)
			fields |= 2;
		else if (sscanf(line, "flags %i", &d->flags) == 1)
			fields |= 4;
		else if (sscanf(line, "pos %" SCNd64, &d->pos) == 1)
			fields |= 8;
		else if (!strncmp(line, "path /", 6) &&
			 strlen(line + 5) < sizeof(d->path)) {
			strcpy(d->path, line + 5);
			fields |= 16;
		}
	}
	if (fields != 31 || (!streq(type, "char") && !streq(type, "block")))
		return -EBADMSG;
	d->is_block = streq(type, "block");
	d->rdev = makedev(maj, min);
	return 0;
}

static int record_read(int id, struct devfd *d)
{
	char name[RECORD_NAME_MAX], text[RECORD_SIZE_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(name, sizeof(name), "thaw-devfd-%d.img", id);
	fd = openat(criu_get_image_dir(), name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOTSUP : negative_errno();
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		return negative_errno();
	text[n] = '\0';
	return record_parse(text, d);
}

static int devfd_restore(int id)
{
	struct devfd d = { 0 };
	_cleanup_close_ int fd = -1;
	int r;

	r = record_read(id, &d);
	if (r < 0)
		return r;
	if (!path_allowed(d.path))
		return -EPERM;
	r = path_check(d.path, d.is_block, d.rdev);
	if (r < 0)
		return r;

	fd = open(d.path, (d.flags & ~OPEN_ONLY_FLAGS) | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	/* The device could have been swapped between the check and here. */
	r = path_check(d.path, d.is_block, d.rdev);
	if (r < 0)
		return r;
	/*
	 * A device that ignores seeks (noop_llseek, as cpu_dma_latency)
	 * answers with its own position: there is nothing more to restore.
	 */
	if (d.pos > 0 && lseek(fd, (off_t)d.pos, SEEK_SET) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

static int devfd_init(int stage)
{
	return 0;
}

static void devfd_exit(int stage, int ret)
{
}

/*
 * The descriptor CRIU looks up, written out rather than through
 * criu-plugin.h's macros so that it holds its hooks from the start.
 */
cr_plugin_desc_t CR_PLUGIN_DESC = {
	.name = "thaw-devfd",
	.init = devfd_init,
	.exit = devfd_exit,
	.version = CRIU_PLUGIN_VERSION,
	.max_hooks = CR_PLUGIN_HOOK__MAX,
	.hooks = {
		[CR_PLUGIN_HOOK__DUMP_EXT_FILE] = devfd_dump,
		[CR_PLUGIN_HOOK__RESTORE_EXT_FILE] = devfd_restore,
	},
};
