// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * CRIU operations, one worker thread each, so that the loop keeps serving
 * requests while a dump or a restore runs.  A worker touches only its
 * struct op and the store (one operation per app at a time); it reports
 * through d->op_efd.  libcriu runs with per-operation options
 * (criu_local_*) in swrk mode: each call forks the CRIU binary as a child
 * of the worker thread.
 */
#include <criu.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "thaw-config.h"
#include "thawd.h"
#include "util.h"

#define OP_INFO_FILE   "thaw-app.json"
#define CRIU_LOG_LEVEL 4

/*
 * CRIU inherits thawd's environment through libcriu's fork, and the
 * device plugin reads the app's policy from it.  The environment is the
 * process's, so each worker names its app's policy in a thread-local and
 * the fork handler puts it into the child alone (nothing else in thawd
 * changes the environment once threads exist).
 */
static __thread const char *fork_devfd_allow;

/*
 * A CRIU configuration file for the next fork alone.  libcriu has no
 * setter for the lazy-pages option of its RPC; CRIU reads the file that
 * CRIU_CONFIG_FILE names before it applies the RPC's options, which
 * leave lazy-pages alone.
 */
static __thread const char *fork_criu_config;

static void on_fork_child(void)
{
	/* CRIU's image files hold the app's memory: root's alone. */
	umask(0077);
	if (fork_devfd_allow)
		setenv("THAW_DEVFD_ALLOW", fork_devfd_allow, 1);
	else
		unsetenv("THAW_DEVFD_ALLOW");
	if (fork_criu_config)
		setenv("CRIU_CONFIG_FILE", fork_criu_config, 1);
}

int op_env_setup(void)
{
	unsetenv("THAW_DEVFD_ALLOW");
	return -pthread_atfork(NULL, NULL, on_fork_child);
}

static void op_report(struct op *op, int phase)
{
	uint64_t one = 1;

	__atomic_store_n(&op->phase, phase, __ATOMIC_RELEASE);
	if (write(op->d->op_efd, &one, sizeof(one)) < 0)
		return;
}

/* The last line of a CRIU log that reports an error, for the reason. */
static char *criu_log_error(int dirfd, const char *name)
{
	_cleanup_free_ char *line = NULL;
	char *found = NULL;
	size_t cap = 0;
	FILE *f;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return NULL;
	}

	/* The first error is the cause; the later ones are its echoes. */
	while (!found && getline(&line, &cap, f) > 0) {
		/* Without CAP_SYS_RESOURCE CRIU cannot raise its own fd
		 * limit and goes on: not a cause. */
		if (!strstr(line, "Error (") || strstr(line, "FAILED") ||
		    strstr(line, "RLIMIT_NOFILE"))
			continue;
		line[strcspn(line, "\n")] = '\0';
		found = strndup(line, 240);
	}
	fclose(f);
	return found;
}

/*
 * @tcp: TCP connections inside the app's tree dump and restore (the
 * census refuses those to outside peers first).  The lock keeps packets
 * off them while CRIU works, through the nftables library CRIU links (no
 * iptables binary needed).  An image dumped so takes the lock at its
 * restore too, some 30 ms, so a dump asks for it only when the census saw
 * a connection, and a restore when the image holds one.
 */
static int criu_opts_new(const struct op *op, bool tcp, criu_opts **ret)
{
	criu_opts *o = NULL;
	int r;

	r = criu_local_init_opts(&o);
	if (r < 0)
		return r;

	r = criu_local_set_service_binary(o, op->criu);
	if (r < 0) {
		criu_local_free_opts(o);
		return r;
	}
	criu_local_set_log_level(o, CRIU_LOG_LEVEL);
	if (tcp) {
		criu_local_set_tcp_established(o, true);
		r = criu_local_set_network_lock(o, CRIU_NETWORK_LOCK_NFTABLES);
		if (r < 0) {
			criu_local_free_opts(o);
			return r;
		}
	}

	*ret = o;
	return 0;
}

static char *pipe_key(ino_t ino)
{
	char *s;

	if (asprintf(&s, "pipe:[%llu]", (unsigned long long)ino) < 0)
		return NULL;
	return s;
}

static int write_info(int dirfd, const struct op *op)
{
	_cleanup_close_ int fd = -1;
	char buf[256];
	int n;

	n = snprintf(
		buf, sizeof(buf),
		"{\"stdoutIno\": %llu, \"stderrIno\": %llu, \"nspid\": %d}\n",
		(unsigned long long)op->pipe_ino[0],
		(unsigned long long)op->pipe_ino[1], op->ckpt_nspid);

	fd = openat(dirfd, OP_INFO_FILE,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, buf, (size_t)n) != n)
		return -EIO;
	return 0;
}

static int read_info(int dirfd, ino_t ret_ino[2], pid_t *ret_nspid)
{
	struct json_object *obj, *v;
	char buf[512];
	ssize_t n;
	int fd;

	fd = openat(dirfd, OP_INFO_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	buf[n] = '\0';

	obj = json_tokener_parse(buf);
	if (!obj)
		return -EBADMSG;
	if (json_object_object_get_ex(obj, "stdoutIno", &v))
		ret_ino[0] = (ino_t)json_object_get_int64(v);
	if (json_object_object_get_ex(obj, "stderrIno", &v))
		ret_ino[1] = (ino_t)json_object_get_int64(v);
	if (json_object_object_get_ex(obj, "nspid", &v))
		*ret_nspid = json_object_get_int(v);
	json_object_put(obj);
	return 0;
}

static int dump_criu(struct op *op, int dirfd)
{
	criu_opts *o = NULL;
	int r;

	r = criu_opts_new(op, op->tcp, &o);
	if (r < 0)
		return r;

	criu_local_set_images_dir_fd(o, dirfd);
	criu_local_set_pid(o, op->pid);
	criu_local_set_leave_running(o, true);
	r = criu_local_set_log_file(o, "dump.log");
	for (int i = 0; i < 2 && r >= 0; i++) {
		_cleanup_free_ char *key = pipe_key(op->pipe_ino[i]);

		if (op->pipe_ino[i] == 0 ||
		    (i == 1 && op->pipe_ino[1] == op->pipe_ino[0]))
			continue;
		r = key ? criu_local_add_external(o, key) : -ENOMEM;
	}

	if (r >= 0)
		r = criu_local_dump(o);
	criu_local_free_opts(o);
	return r;
}

/* Records why the operation failed; a reason that cannot be formatted
 * is left out rather than left undefined. */
static void __attribute__((format(printf, 3, 4)))
op_fail(struct op *op, int r, const char *fmt, ...)
{
	va_list ap;

	op->r = r;
	free(op->reason);
	va_start(ap, fmt);
	if (vasprintf(&op->reason, fmt, ap) < 0)
		op->reason = NULL;
	va_end(ap);
}

/* Keeps CRIU's log of a failed dump as RUN_DIR/ID.dump.log. */
static void keep_dump_log(const struct op *op, int dirfd)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int in = -1, out = -1;
	char buf[16384];
	ssize_t n;

	in = openat(dirfd, "dump.log", O_RDONLY | O_CLOEXEC);
	if (in < 0 ||
	    asprintf(&path, "%s/%s.dump.log", op->run_dir, op->id) < 0)
		return;
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
}

static void dump_fail(struct op *op, int r, int dirfd, const char *what)
{
	_cleanup_free_ char *line = NULL;

	if (dirfd >= 0)
		keep_dump_log(op, dirfd);

	if (__atomic_load_n(&op->timed_out, __ATOMIC_ACQUIRE)) {
		op_fail(op, -ETIMEDOUT, "%s ran past its deadline", what);
		return;
	}

	line = dirfd >= 0 ? criu_log_error(dirfd, "dump.log") : NULL;
	op_fail(op, r < 0 ? r : -EIO, "%s failed (%d): %s", what, r,
		line ? line : "no error in CRIU's log");
}

static void dump_run(struct op *op)
{
	struct store_writer *w;
	struct store_deps deps = {
		.exe_path = op->exe,
		.pid = op->pid,
		.criu_version = op->app->d->criu_version,
		.hal_version = op->app->d->hal_version,
	};
	uint64_t t0;
	int r, dirfd;

	r = store_writer_begin(op->store, op->id, &w);
	if (r < 0) {
		op_fail(op, r, "no image folder: %s", strerror(-r));
		return;
	}
	dirfd = store_writer_dirfd(w);

	t0 = now_usec(CLOCK_MONOTONIC);
	r = dump_criu(op, dirfd);
	op->criu_usec = now_usec(CLOCK_MONOTONIC) - t0;
	if (r < 0 || __atomic_load_n(&op->timed_out, __ATOMIC_ACQUIRE)) {
		dump_fail(op, r, dirfd, "CRIU dump");
		store_writer_abort(w);
		return;
	}

	r = write_info(dirfd, op);
	if (r < 0) {
		op_fail(op, r, "cannot write %s: %s", OP_INFO_FILE,
			strerror(-r));
		store_writer_abort(w);
		return;
	}

	/* CRIU's exit status is not proof of an image: publish checks
	 * the files it finds against what a dump must hold. */
	op->r = store_writer_publish(w, &deps, &op->reason);
}

/* A private folder for CRIU's log and stats of one restore. */
static int work_dir_open(const struct op *op, char **ret_path)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/work-%s-%llu", op->run_dir, op->id,
		     (unsigned long long)op->seq) < 0)
		return -ENOMEM;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return negative_errno();

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	*ret_path = TAKE_PTR(path);
	return fd;
}

void op_work_dir_remove(const char *path, const char *log, const char *keep_as)
{
	_cleanup_free_ char *from = NULL;
	DIR *dir;
	struct dirent *de;

	if (log && keep_as && asprintf(&from, "%s/%s", path, log) >= 0)
		rename(from, keep_as);

	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(dir), de->d_name, 0);
	closedir(dir);
	rmdir(path);
}

/* Keeps the log of a failed restore as RUN_DIR/ID.restore.log. */
static void work_dir_remove(const struct op *op, const char *path,
			    bool keep_log)
{
	_cleanup_free_ char *keep = NULL;

	if (keep_log &&
	    asprintf(&keep, "%s/%s.restore.log", op->run_dir, op->id) < 0)
		keep = NULL;
	op_work_dir_remove(path, "restore.log", keep);
}

/* Whether the image holds a TCP connection (CRIU's tcp-stream-ID.img). */
static bool image_has_tcp(int image_fd)
{
	int fd = openat(image_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool found = false;

	if (!dir) {
		close_fd(fd);
		return true; /* cannot tell: the option costs only time */
	}
	while (!found && (de = readdir(dir)))
		found = strncmp(de->d_name, "tcp-stream-", 11) == 0;
	closedir(dir);
	return found;
}

static int restore_criu(struct op *op, int image_fd, int work_fd,
			const char *lazy_config, const ino_t ino[2])
{
	criu_opts *o = NULL;
	int r;

	r = criu_opts_new(op, image_has_tcp(image_fd), &o);
	if (r < 0)
		return r;

	criu_local_set_images_dir_fd(o, image_fd);
	criu_local_set_work_dir_fd(o, work_fd);
	r = criu_local_set_log_file(o, "restore.log");
	for (int i = 0; i < 2 && r >= 0; i++) {
		_cleanup_free_ char *key = pipe_key(ino[i]);

		if (ino[i] == 0 || (i == 1 && ino[1] == ino[0]))
			continue;
		/* CRIU inherits this fd through fork and exec. */
		if (fcntl(op->pipe_w[i], F_SETFD, 0) < 0)
			r = negative_errno();
		else
			r = key ? criu_local_add_inherit_fd(o, op->pipe_w[i],
							    key) :
				  -ENOMEM;
	}

	if (r >= 0) {
		fork_criu_config = lazy_config;
		r = criu_local_restore_child(o);
		fork_criu_config = NULL;
	}
	criu_local_free_opts(o);
	for (int i = 0; i < 2; i++)
		fcntl(op->pipe_w[i], F_SETFD, FD_CLOEXEC);
	return r;
}

#define LAZY_LOG	      "lazy-pages.log"
#define LAZY_CONFIG	      "criu-lazy.conf"
#define LAZY_START_TIMEOUT_MS 5000

/* Waits for the page server's byte on --status-fd: it serves. */
static int lazy_wait_serving(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;
	int n;

	do
		n = poll(&p, 1, LAZY_START_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if (n == 0)
		return -ETIMEDOUT;
	/* End of file: it ended before serving. */
	return read(fd, &c, 1) == 1 ? 0 : -EIO;
}

static int lazy_config_write(int work_fd)
{
	static const char text[] = "lazy-pages\n";
	_cleanup_close_ int fd = -1;

	fd = openat(work_fd, LAZY_CONFIG,
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, text, sizeof(text) - 1) != sizeof(text) - 1)
		return -EIO;
	return 0;
}

/*
 * Starts `criu lazy-pages` on the image folder @image_fd, in the work
 * folder where the restore looks for its socket.  It reads the image
 * through that fd, not by a path that a new dump could swap meanwhile.
 * Returns the read end of its --status-fd pipe for lazy_server_ready().
 */
static int lazy_server_spawn(struct op *op, int image_fd, int work_fd,
			     const char *work)
{
	char images[32], status_arg[16];
	char *argv[] = { (char *)op->criu, "lazy-pages", "--images-dir",
			 images,	   "--work-dir", (char *)work,
			 "--status-fd",	   status_arg,	 "--log-file",
			 LAZY_LOG,	   "-v4",	 NULL };
	int status[2], r;
	pid_t pid;

	r = lazy_config_write(work_fd);
	if (r < 0)
		return r;
	if (pipe2(status, O_CLOEXEC) < 0)
		return negative_errno();
	snprintf(images, sizeof(images), "/proc/self/fd/%d", image_fd);
	snprintf(status_arg, sizeof(status_arg), "%d", status[1]);

	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		close(status[0]);
		close(status[1]);
		return r;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || fcntl(image_fd, F_SETFD, 0) < 0 ||
		    fcntl(status[1], F_SETFD, 0) < 0)
			_exit(127);
		execv(op->criu, argv);
		_exit(127);
	}
	close(status[1]);
	__atomic_store_n(&op->lazy_pid, pid, __ATOMIC_RELEASE);
	return status[0];
}

static void lazy_server_kill(struct op *op)
{
	if (op->lazy_pid <= 0)
		return;
	kill(op->lazy_pid, SIGKILL);
	waitpid(op->lazy_pid, NULL, 0);
	__atomic_store_n(&op->lazy_pid, 0, __ATOMIC_RELEASE);
}

/* Waits until the spawned server serves; kills it when it does not. */
static int lazy_server_ready(struct op *op, int status_fd, int work_fd)
{
	_cleanup_free_ char *line = NULL;
	int r;

	r = lazy_wait_serving(status_fd);
	free(op->lazy_reason);
	op->lazy_reason = NULL;
	if (r >= 0)
		return 0;

	lazy_server_kill(op);
	line = criu_log_error(work_fd, LAZY_LOG);
	if (asprintf(&op->lazy_reason,
		     "the lazy-pages server did not start (%s): %s",
		     strerror(-r), line ? line : "no error in its log") < 0)
		op->lazy_reason = NULL;
	return r;
}

/* Whether the page server has already ended, which it must not before
 * the restore does: then the restore's failure is not the image's. */
static bool lazy_server_ended(struct op *op)
{
	siginfo_t si = { 0 };

	if (op->lazy_pid <= 0)
		return false;
	if (waitid(P_PID, (id_t)op->lazy_pid, &si,
		   WEXITED | WNOHANG | WNOWAIT) < 0)
		return true;
	return si.si_pid == op->lazy_pid;
}

static void restore_fail(struct op *op, int r, int work_fd)
{
	_cleanup_free_ char *line = NULL;

	/* The store verified the image before CRIU read it: a restore
	 * that only ran late says more about the machine's load than about
	 * the image, which stays for the next launch. */
	if (__atomic_load_n(&op->timed_out, __ATOMIC_ACQUIRE)) {
		op_fail(op, -ETIMEDOUT, "CRIU restore ran past its deadline");
		return;
	}

	line = criu_log_error(work_fd, "restore.log");
	if (lazy_server_ended(op)) {
		op_fail(op, r < 0 ? r : -EIO,
			"the lazy-pages server ended during the restore (%d): %s",
			r, line ? line : "no error in CRIU's log");
		return;
	}
	op->image_at_fault = true;
	op_fail(op, r < 0 ? r : -EIO, "CRIU restore failed (%d): %s", r,
		line ? line : "no error in CRIU's log");
}

/* Whether two fds name the same folder. */
static bool same_dir(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void restore_image(struct op *op, struct store_image *img, int work_fd,
			  const char *work, int *lazy_status)
{
	_cleanup_free_ char *config = NULL;
	ino_t ino[2] = { 0, 0 };
	int image_fd = store_image_dirfd(img);
	uint64_t t0;
	int r;

	r = read_info(image_fd, ino, &op->restored_nspid);
	if (r < 0) {
		op->image_at_fault = true;
		op_fail(op, r, "image has no readable %s", OP_INFO_FILE);
		return;
	}

	/* Without its page server the restore is an eager one, not none. */
	if (op->lazy && op->lazy_pid <= 0) {
		*lazy_status = lazy_server_spawn(op, image_fd, work_fd, work);
		free(op->lazy_reason);
		op->lazy_reason = NULL;
		if (*lazy_status < 0 &&
		    asprintf(&op->lazy_reason,
			     "cannot start the lazy-pages server: %s",
			     strerror(-*lazy_status)) < 0)
			op->lazy_reason = NULL;
	}
	if (*lazy_status >= 0) {
		lazy_server_ready(op, *lazy_status, work_fd);
		*lazy_status = close_fd(*lazy_status);
	}
	if (op->lazy_pid > 0 &&
	    asprintf(&config, "%s/%s", work, LAZY_CONFIG) < 0) {
		config = NULL;
		lazy_server_kill(op);
	}

	t0 = now_usec(CLOCK_MONOTONIC);
	r = restore_criu(op, image_fd, work_fd, config, ino);
	op->criu_usec = now_usec(CLOCK_MONOTONIC) - t0;
	if (r > 0 && !__atomic_load_n(&op->timed_out, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&op->restored_pid, r, __ATOMIC_RELEASE);
		op->restored_pidfd = (int)syscall(SYS_pidfd_open, r, 0);
		op->r = 0;
	} else {
		if (r > 0)
			kill(r, SIGKILL);
		restore_fail(op, r, work_fd);
	}
}

/*
 * A lazy restore's page server starts on the fast tier's copy while the
 * store checks it, since its start takes about as long as the check.  It
 * reads no page before the restore connects, which comes after the
 * check, and it is replaced unless the checked image is that very folder.
 */
static void restore_run(struct op *op)
{
	_cleanup_free_ char *reason = NULL, *work = NULL;
	_cleanup_close_ int early_fd = -1, lazy_status = -1;
	struct store_image *img = NULL;
	int r, work_fd;

	work_fd = work_dir_open(op, &work);
	if (work_fd < 0) {
		op_fail(op, work_fd, "no work folder in %s: %s", op->run_dir,
			strerror(-work_fd));
		return;
	}
	if (op->lazy) {
		early_fd = store_image_peek(op->store, op->id);
		if (early_fd >= 0)
			lazy_status =
				lazy_server_spawn(op, early_fd, work_fd, work);
	}

	r = store_image_open(op->store, op->id, &img, &reason, &op->repair);
	if (r < 0) {
		op->no_image = r == -ENOENT;
		/* No room in the tmpfs, or an I/O error, is not the
		 * image's fault: it stays for the next launch. */
		op->image_at_fault = r == -EBADMSG || r == -ESTALE;
		op_fail(op, r, "image refused: %s",
			reason ? reason : strerror(-r));
	} else {
		op->tier = store_image_source(img);
		op->check_usec = store_image_check_usec(img);
		if (op->lazy_pid > 0 &&
		    !same_dir(early_fd, store_image_dirfd(img))) {
			lazy_status = close_fd(lazy_status);
			lazy_server_kill(op);
		}
		restore_image(op, img, work_fd, work, &lazy_status);
		store_image_close(img);
	}
	if (op->r < 0)
		lazy_server_kill(op);

	/* The page server goes on in the work folder after the restore. */
	if (op->lazy_pid > 0) {
		op->lazy_pidfd = (int)syscall(SYS_pidfd_open, op->lazy_pid, 0);
		op->lazy_work = TAKE_PTR(work);
		close(work_fd);
		return;
	}
	close(work_fd);
	work_dir_remove(op, work, op->r < 0 && r >= 0);
}

static void *op_thread(void *userdata)
{
	struct op *op = userdata;
	sigset_t mask;
	int r;

	__atomic_store_n(&op->tid, (int)gettid(), __ATOMIC_RELEASE);
	fork_devfd_allow = op->devfd_allow;

	/* CRIU, forked from here, needs SIGCHLD to see its children die. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);

	if (op->kind == OP_DUMP) {
		dump_run(op);
		/* Without a copy to write both steps are told at once, so no
		 * request finds the op still under way after its verdict. */
		if (op->r >= 0 && op->persist) {
			op_report(op, 1);
			op->persist_r = store_persist(op->store, op->id,
						      &op->persist_reason);
		}
	} else {
		restore_run(op);
		/* A repair left the persistent copy missing or stale: write
		 * it again once the restored app has been handed over. */
		if (op->r >= 0 && op->persist &&
		    store_needs_persist(op->store, op->id)) {
			op_report(op, 1);
			r = store_persist(op->store, op->id,
					  &op->persist_reason);
			op->persist_r = r < 0 ? r : 1;
		}
	}

	op_report(op, 2);
	return NULL;
}

static char *join_patterns(char **patterns)
{
	size_t n = 0;
	char *s;

	if (!patterns || !patterns[0])
		return NULL;
	for (char **p = patterns; *p; p++)
		n += strlen(*p) + 1;
	s = calloc(1, n);
	for (char **p = patterns; s && *p; p++) {
		if (p != patterns)
			strcat(s, ":");
		strcat(s, *p);
	}
	return s;
}

struct op *op_new(struct thawd *d, struct app *a, enum op_kind kind)
{
	struct op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->d = d;
	op->app = a;
	op->kind = kind;
	op->seq = ++d->op_seq;
	op->store = d->store;
	op->criu = d->cfg.criu;
	op->run_dir = d->cfg.run_dir;
	op->persist = d->cfg.persist_dir != NULL;
	op->pipe_w[0] = op->pipe_w[1] = -1;
	op->restored_pidfd = -1;
	op->lazy_pidfd = -1;
	op->lazy = kind == OP_RESTORE && a->m->lazy_pages && d->has_uffd;
	op->id = strdup(a->m->id);
	op->devfd_allow = join_patterns(a->m->devices);
	if (!op->id) {
		free(op);
		return NULL;
	}
	return op;
}

void op_free(struct op *op)
{
	if (!op)
		return;
	sd_event_source_unref(op->deadline);
	for (int i = 0; i < 2; i++)
		close_fd(op->pipe_w[i]);
	close_fd(op->restored_pidfd);
	/* A page server nobody took: its app was never handed over. */
	if (op->lazy_pid > 0) {
		kill(op->lazy_pid, SIGKILL);
		op_work_dir_remove(op->lazy_work, NULL, NULL);
	}
	close_fd(op->lazy_pidfd);
	free(op->lazy_work);
	free(op->lazy_reason);
	free(op->id);
	free(op->exe);
	free(op->devfd_allow);
	free(op->reason);
	free(op->repair);
	free(op->persist_reason);
	free(op);
}

static void kill_children_of(const char *id, pid_t tid, bool strays_only,
			     struct thawd *d)
{
	char path[64];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", tid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1) {
		if (strays_only && app_pid_is_tracked(d, pid))
			continue;
		log_app(LOG_DEBUG, id, pid, "killing CRIU or what it left");
		kill(pid, SIGKILL);
	}
	fclose(f);
}

/*
 * Kills what the worker forked: CRIU and, for a restore, the tree it
 * restored (a sibling of CRIU, so a child of the same thread); and the
 * helpers a dying CRIU left behind, which thawd adopted as the child
 * subreaper and which would keep libcriu's socket open.
 */
static void op_kill_children(struct op *op)
{
	int tid = __atomic_load_n(&op->tid, __ATOMIC_ACQUIRE);

	if (tid > 0)
		kill_children_of(op->id, tid, false, op->d);
	kill_children_of(op->id, op->d->main_tid, true, op->d);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct op *op = userdata;

	if (__atomic_load_n(&op->phase, __ATOMIC_ACQUIRE) > 0)
		return 0;
	__atomic_store_n(&op->timed_out, 1, __ATOMIC_RELEASE);
	op_kill_children(op);
	return 0;
}

static void ops_dispatch(struct thawd *d)
{
	struct op **p = &d->ops;

	while (*p) {
		struct op *op = *p;
		int phase = __atomic_load_n(&op->phase, __ATOMIC_ACQUIRE);

		if (phase == 2) {
			*p = op->next;
			op->next = NULL;
		} else {
			p = &op->next;
		}

		/* Both steps may be seen at once: each is delivered. */
		while (op->seen_phase < phase) {
			int seen = ++op->seen_phase;

			launch_op_done(op); /* frees op after phase 2 */
			if (seen == 2)
				break;
		}
	}
}

static int on_op_event(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata)
{
	struct thawd *d = userdata;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return 0;
	ops_dispatch(d);
	reap_strays(d);
	return 0;
}

int op_setup(struct thawd *d)
{
	d->op_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->op_efd < 0)
		return negative_errno();
	return sd_event_add_io(d->event, &d->op_src, d->op_efd, EPOLLIN,
			       on_op_event, d);
}

int op_start(struct thawd *d, struct op *op, unsigned timeout_sec)
{
	pthread_attr_t attr;
	pthread_t thread;
	int r;

	op->start_usec = now_usec(CLOCK_MONOTONIC);
	r = sd_event_add_time_relative(d->event, &op->deadline, CLOCK_MONOTONIC,
				       (uint64_t)timeout_sec * 1000000u, 0,
				       on_deadline, op);
	if (r < 0)
		return r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&thread, &attr, op_thread, op);
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;

	op->next = d->ops;
	d->ops = op;
	return 0;
}
