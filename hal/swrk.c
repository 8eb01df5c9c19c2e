// SPDX-License-Identifier: LGPL-2.1-or-later
#include <criu.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "swrk.h"
#include "thaw-config.h"
#include "util.h"

const char *swrk_criu_binary(void)
{
	const char *e = getenv("THAW_CRIU");

	return e && *e ? e : THAW_CRIU_BINARY_DEFAULT;
}

/* Copies the lines of @log that carry an error into @err. */
static void log_errors(const char *dir, const char *log, char *err,
		       size_t err_size)
{
	char path[4096], line[512];
	size_t used = 0;
	FILE *f;

	if (!err || err_size == 0)
		return;
	err[0] = '\0';

	snprintf(path, sizeof(path), "%s/%s", dir, log);
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, err_size, "no %s", log);
		return;
	}

	while (fgets(line, sizeof(line), f) && used + 1 < err_size)
		/* CRIU's complaint about rlimits here is harmless noise. */
		if ((strstr(line, "Error") || strstr(line, "error")) &&
		    !strstr(line, "RLIMIT_NOFILE")) {
			int n = snprintf(err + used, err_size - used, "%s",
					 line);

			used += n > 0 ? (size_t)n : 0;
		}
	fclose(f);
	if (used >= err_size)
		err[err_size - 1] = '\0';
}

static int opts_new(const char *dir, const char *log, criu_opts **ret,
		    int *ret_fd)
{
	criu_opts *o = NULL;
	int fd, r;

	fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	r = criu_local_init_opts(&o);
	if (r < 0) {
		close_fd(fd);
		return r;
	}

	criu_local_set_service_binary(o, swrk_criu_binary());
	criu_local_set_images_dir_fd(o, fd);
	criu_local_set_log_file(o, log);
	criu_local_set_log_level(o, 4);
	/* As thawd: TCP connections inside the tree dump. */
	criu_local_set_tcp_established(o, true);
	criu_local_set_network_lock(o, CRIU_NETWORK_LOCK_NFTABLES);
	*ret = o;
	*ret_fd = fd;
	return 0;
}

int swrk_dump(pid_t pid, const char *dir, char *err, size_t err_size)
{
	criu_opts *o;
	int fd, r;

	r = opts_new(dir, "dump.log", &o, &fd);
	if (r < 0)
		return r;

	criu_local_set_pid(o, pid);
	criu_local_set_leave_running(o, true);
	r = criu_local_dump(o);

	criu_local_free_opts(o);
	close_fd(fd);
	if (r < 0)
		log_errors(dir, "dump.log", err, err_size);
	return r < 0 ? r : 0;
}

int swrk_restore(const char *dir, pid_t *ret_pid, char *err, size_t err_size)
{
	criu_opts *o;
	int fd, r;

	r = opts_new(dir, "restore.log", &o, &fd);
	if (r < 0)
		return r;

	r = criu_local_restore_child(o);

	criu_local_free_opts(o);
	close_fd(fd);
	if (r < 0) {
		log_errors(dir, "restore.log", err, err_size);
		return r;
	}
	*ret_pid = r;
	return 0;
}
