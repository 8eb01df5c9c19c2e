// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who may reach thawd: the socket's file mode decides who connects (root
 * and the socket's group, mode 0660); among those who connect, root and
 * the group's members make manager requests, and an app (a pid in the
 * tree of an app thawd started) asks only for itself.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "thawd.h"
#include "util.h"

/* Supplementary groups looked at per caller; more are not. */
#define ACCESS_MAX_GROUPS 256

static int group_resolve(const char *name, gid_t *ret)
{
	struct group *g;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name && !*end && !errno && n < (gid_t)-1) {
		*ret = (gid_t)n;
		return 0;
	}
	g = getgrnam(name);
	if (!g)
		return -ENOENT;
	*ret = g->gr_gid;
	return 0;
}

/* The run folder holds the socket: the group may traverse it, no more. */
static int run_dir_open_to(const struct thawd *d, gid_t gid)
{
	_cleanup_free_ char *copy = strdup(d->cfg.socket_path);
	struct stat st;

	if (!copy)
		return -ENOMEM;
	if (!streq(dirname(copy), d->cfg.run_dir) ||
	    stat(d->cfg.run_dir, &st) < 0 || (st.st_mode & 07777) != 0700)
		return 0;
	if (chown(d->cfg.run_dir, 0, gid) < 0 ||
	    chmod(d->cfg.run_dir, 0710) < 0)
		return negative_errno();
	return 0;
}

int access_setup(struct thawd *d)
{
	gid_t gid;
	int r;

	if (!d->cfg.group)
		return 0;
	r = group_resolve(d->cfg.group, &gid);
	if (r < 0)
		return log_errno(LOG_ERR, r, "no group '%s'", d->cfg.group);

	d->socket_gid = gid;
	/* A socket systemd passed from elsewhere keeps its unit's mode. */
	if (access(d->cfg.socket_path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (chown(d->cfg.socket_path, 0, gid) < 0 ||
	    chmod(d->cfg.socket_path, 0660) < 0)
		return log_errno(LOG_ERR, negative_errno(),
				 "cannot give %s to group %u",
				 d->cfg.socket_path, (unsigned)gid);
	r = run_dir_open_to(d, gid);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot open %s to group %u",
				 d->cfg.run_dir, (unsigned)gid);
	log_info("socket %s: mode 0660, group %u", d->cfg.socket_path,
		 (unsigned)gid);
	return 0;
}

bool access_may_manage(const struct thawd *d, int fd, const struct ucred *cred)
{
	gid_t groups[ACCESS_MAX_GROUPS];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || cred->gid == d->socket_gid)
		return true;
	/* The caller's groups as they were when it connected. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->socket_gid)
			return true;
	return false;
}
