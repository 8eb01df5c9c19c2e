// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The apps' processes: starting one cold, adopting a restored one,
 * reading its output into the log, noticing its exit, closing it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "thawd.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *const state_names[] = {
	[APP_STOPPED] = "stopped",     [APP_STARTING] = "starting",
	[APP_RESTORING] = "restoring", [APP_PRELOADED] = "preloaded",
	[APP_LAUNCHED] = "launched",   [APP_CLOSING] = "closing",
};

static const char *const start_names[] = {
	[START_NONE] = "none",
	[START_COLD] = "cold",
	[START_RESTORED] = "restored",
	[START_COLD_AFTER_FAILED_RESTORE] = "cold-after-failed-restore",
};

const char *app_state_to_string(enum app_state s)
{
	return state_names[s];
}

const char *app_start_to_string(enum app_start s)
{
	return start_names[s];
}

struct app *app_find(struct thawd *d, const char *id)
{
	for (unsigned i = 0; i < d->n_apps; i++)
		if (streq(d->apps[i].m->id, id))
			return &d->apps[i];
	return NULL;
}

void app_set_state(struct app *a, enum app_state s)
{
	if (a->state == s)
		return;
	log_app(LOG_DEBUG, a->m->id, a->pid, "state %s -> %s",
		state_names[a->state], state_names[s]);
	a->state = s;
	a->since_usec = now_usec(CLOCK_REALTIME);
	if (s == APP_STOPPED)
		a->launch_signal_owed = false; /* nobody left to tell */
	server_notify_app(a->d, a);
}

static pid_t proc_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	pid_t ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';

	/* The command may hold spaces and parentheses: skip to the last. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

struct app *app_of_pid(struct thawd *d, pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		for (unsigned i = 0; i < d->n_apps; i++)
			if (d->apps[i].state != APP_STOPPED &&
			    d->apps[i].pid == pid)
				return &d->apps[i];
		pid = proc_ppid(pid);
	}
	return NULL;
}

/* The pid in its own (innermost) namespace, from NSpid in status. */
pid_t app_nspid(pid_t pid)
{
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t cap = 0;
	pid_t found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		char *last;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		last = strrchr(line, '\t');
		found = last ? atoi(last + 1) : -1;
		break;
	}
	fclose(f);
	return found;
}

static bool same_pidns(pid_t a, pid_t b)
{
	char pa[64], pb[64];
	struct stat sa, sb;

	snprintf(pa, sizeof(pa), "/proc/%d/ns/pid", a);
	snprintf(pb, sizeof(pb), "/proc/%d/ns/pid", b);
	return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 &&
	       sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/* The pid, in thawd's namespace, of the app's process numbered @nspid
 * inside the app's namespace. */
pid_t app_host_pid(struct app *a, pid_t nspid)
{
	FILE *f;
	char path[64];
	pid_t child;

	if (nspid <= 1)
		return a->pid;

	/* Walk the tree below the root, breadth-first enough for apps. */
	for (pid_t queue[256], head = 0, tail = 0;
	     tail == 0 ? (queue[tail++] = a->pid, true) : head < tail;) {
		pid_t p = queue[head++];

		if (app_nspid(p) == nspid && same_pidns(p, a->pid))
			return p;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", p, p);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (tail < 256 && fscanf(f, "%d", &child) == 1)
			queue[tail++] = child;
		fclose(f);
	}
	return a->pid;
}

bool app_is_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && (p[2] == 'T' || p[2] == 't');
}

static void outpipe_flush(struct outpipe *o, bool partial)
{
	char *nl;

	while ((nl = memchr(o->line, '\n', o->len))) {
		*nl = '\0';
		log_app(LOG_INFO, o->app->m->id, o->app->pid, "%s: %s", o->name,
			o->line);
		o->len -= (size_t)(nl + 1 - o->line);
		memmove(o->line, nl + 1, o->len);
	}
	if (o->len > 0 && (partial || o->len == sizeof(o->line) - 1)) {
		o->line[o->len] = '\0';
		log_app(LOG_INFO, o->app->m->id, o->app->pid, "%s: %s", o->name,
			o->line);
		o->len = 0;
	}
}

static bool output_drained(struct outpipe *o)
{
	int n = 0;

	return ioctl(o->fd, FIONREAD, &n) < 0 || n == 0;
}

static void outpipe_close(struct outpipe *o)
{
	outpipe_flush(o, true);
	o->src = sd_event_source_disable_unref(o->src);
	o->fd = close_fd(o->fd);
}

static int on_output(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct outpipe *o = userdata;
	ssize_t n;

	n = read(fd, o->line + o->len, sizeof(o->line) - 1 - o->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		outpipe_close(o);
		return 0;
	}
	o->len += (size_t)n;
	outpipe_flush(o, false);
	return 0;
}

int app_make_pipes(int ret_read[2], int ret_write[2])
{
	int p[2][2];

	if (pipe2(p[0], O_CLOEXEC) < 0)
		return negative_errno();
	if (pipe2(p[1], O_CLOEXEC) < 0) {
		close(p[0][0]);
		close(p[0][1]);
		return negative_errno();
	}
	for (int i = 0; i < 2; i++) {
		fcntl(p[i][0], F_SETFL, O_NONBLOCK);
		ret_read[i] = p[i][0];
		ret_write[i] = p[i][1];
	}
	return 0;
}

static void app_release(struct app *a)
{
	for (int i = 0; i < 2; i++)
		outpipe_close(&a->out[i]);
	a->pidfd_src = sd_event_source_disable_unref(a->pidfd_src);
	a->pidfd = close_fd(a->pidfd);
	a->kill_timer = sd_event_source_disable_unref(a->kill_timer);
	a->ready_timer = sd_event_source_disable_unref(a->ready_timer);
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents,
		    void *userdata)
{
	struct app *a = userdata;
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 &&
	    errno != ECHILD)
		return 0;
	if (si.si_pid == 0 && errno != ECHILD)
		return 0;

	/* Log what it wrote last before its record goes. */
	for (int i = 0; i < 2; i++)
		while (a->out[i].fd >= 0 &&
		       on_output(NULL, a->out[i].fd, 0, &a->out[i]) == 0 &&
		       a->out[i].fd >= 0 && !output_drained(&a->out[i]))
			;
	app_release(a);
	launch_app_exited(a, si.si_code, si.si_status);
	return 0;
}

int app_adopt(struct app *a, pid_t pid, int pidfd, int out_fds[2])
{
	static const char *const names[] = { "stdout", "stderr" };
	int r;

	a->pid = pid;
	a->pidfd = pidfd;
	r = sd_event_add_io(a->d->event, &a->pidfd_src, pidfd, EPOLLIN,
			    on_pidfd, a);
	for (int i = 0; i < 2; i++) {
		a->out[i].app = a;
		a->out[i].name = names[i];
		a->out[i].len = 0;
		a->out[i].fd = out_fds[i];
		out_fds[i] = -1;
		if (r >= 0)
			r = sd_event_add_io(a->d->event, &a->out[i].src,
					    a->out[i].fd, EPOLLIN, on_output,
					    &a->out[i]);
	}
	/* Output is logged before exits are noticed. */
	if (r >= 0)
		r = sd_event_source_set_priority(a->pidfd_src,
						 SD_EVENT_PRIORITY_IDLE);
	return r;
}

/* Runs in the child between clone and exec: async-signal-safe only. */
static void __attribute__((noreturn))
child_exec(const struct app *a, int out_w[2], char **envp)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null, fd;

	setsid();
	if (chdir(a->workdir) < 0)
		_exit(127);
	null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_w[0], 1) < 0 ||
	    dup2(out_w[1], 2) < 0)
		_exit(127);

	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "0", 1) < 0)
			_exit(127);
		close(fd);
	}

	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	syscall(SYS_close_range, 3, ~0U, 0);
	execve(a->m->exec, a->m->argv, envp);
	_exit(127);
}

static char **build_env(const struct app *a)
{
	size_t nb = 0, nm = 0, i = 0;
	char **env;

	while (a->d->base_env[nb])
		nb++;
	while (a->m->env[nm])
		nm++;
	env = calloc(nb + nm + 3, sizeof(char *));
	if (!env)
		return NULL;
	for (size_t j = 0; j < nb; j++)
		env[i++] = strdup(a->d->base_env[j]);
	for (size_t j = 0; j < nm; j++)
		env[i++] = strdup(a->m->env[j]);
	if (asprintf(&env[i++], "THAW_SOCKET=%s", a->d->cfg.socket_path) < 0)
		env[i - 1] = NULL;
	if (asprintf(&env[i++], "THAW_APP_ID=%s", a->m->id) < 0)
		env[i - 1] = NULL;
	for (size_t j = 0; j < i; j++)
		if (!env[j]) {
			for (size_t k = 0; k < i; k++)
				free(env[k]);
			free(env);
			return NULL;
		}
	return env;
}

static void env_free(char **env)
{
	for (char **p = env; p && *p; p++)
		free(*p);
	free(env);
}

/*
 * Makes the app's working directory exist: its own, so that no two apps
 * share the folder in which CRIU leaves its work files while it dumps
 * one, and again before a restore, which needs it where it was.
 */
int app_workdir_prepare(struct app *a)
{
	_cleanup_free_ char *apps = NULL;

	if (!a->workdir) {
		if (a->m->workdir)
			a->workdir = strdup(a->m->workdir);
		else if (asprintf(&a->workdir, "%s/apps/%s", a->d->cfg.run_dir,
				  a->m->id) < 0)
			a->workdir = NULL;
		if (!a->workdir)
			return -ENOMEM;
	}
	if (a->m->workdir)
		return 0;

	if (asprintf(&apps, "%s/apps", a->d->cfg.run_dir) < 0)
		return -ENOMEM;
	if (mkdir(apps, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	if (mkdir(a->workdir, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

int app_spawn_cold(struct app *a)
{
	struct clone_args args = {
		.flags = CLONE_NEWPID | CLONE_PIDFD,
		.exit_signal = SIGCHLD,
	};
	int out_r[2], out_w[2], pidfd = -1, r;
	struct stat st;
	char **envp;
	pid_t pid;

	r = app_workdir_prepare(a);
	if (r < 0)
		return r;

	envp = build_env(a);
	if (!envp)
		return -ENOMEM;
	r = app_make_pipes(out_r, out_w);
	if (r < 0) {
		env_free(envp);
		return r;
	}
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;

	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_exec(a, out_w, envp);
	r = pid < 0 ? negative_errno() : 0;
	env_free(envp);
	for (int i = 0; i < 2; i++) {
		if (fstat(out_w[i], &st) == 0)
			a->pipe_ino[i] = st.st_ino;
		close(out_w[i]);
	}
	if (r < 0) {
		close(out_r[0]);
		close(out_r[1]);
		return r;
	}

	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	return app_adopt(a, pid, pidfd, out_r);
}

void app_kill_tree(struct app *a)
{
	if (a->state == APP_STOPPED || a->pidfd < 0)
		return;
	/* SIGKILL of a namespace's init ends every process in it. */
	syscall(SYS_pidfd_send_signal, a->pidfd, SIGKILL, NULL, 0);
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct app *a = userdata;

	log_app(LOG_WARNING, a->m->id, a->pid,
		"did not exit on SIGTERM, sending SIGKILL");
	app_kill_tree(a);
	return 0;
}

int app_close(struct app *a, struct conn *c)
{
	unsigned timeout = a->m->close_timeout ? a->m->close_timeout :
						 a->d->cfg.close_timeout;
	int r;

	if (syscall(SYS_pidfd_send_signal, a->pidfd, SIGTERM, NULL, 0) < 0)
		return negative_errno();

	r = sd_event_add_time_relative(a->d->event, &a->kill_timer,
				       CLOCK_MONOTONIC,
				       (uint64_t)timeout * 1000000u, 0,
				       on_kill_timer, a);
	if (r < 0)
		return r;

	a->close_conn = c;
	app_set_state(a, APP_CLOSING);
	log_app(LOG_INFO, a->m->id, a->pid, "closing: SIGTERM sent");
	return 0;
}

bool app_pid_is_tracked(struct thawd *d, pid_t pid)
{
	for (unsigned i = 0; i < d->n_apps; i++)
		if ((d->apps[i].pidfd >= 0 && d->apps[i].pid == pid) ||
		    d->apps[i].lazy.pid == pid)
			return true;
	for (struct op *op = d->ops; op; op = op->next)
		if (__atomic_load_n(&op->restored_pid, __ATOMIC_ACQUIRE) ==
			    pid ||
		    __atomic_load_n(&op->lazy_pid, __ATOMIC_ACQUIRE) == pid)
			return true;
	return false;
}

/*
 * Reaps children of the main thread that no app record owns: trees
 * orphaned into thawd (the child subreaper), restored roots of failed
 * restores.  Children of busy worker threads (CRIU) are left to libcriu.
 */
void reap_strays(struct thawd *d)
{
	char path[64];
	pid_t pids[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		 d->main_tid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (n < 256 && fscanf(f, "%d", &pids[n]) == 1)
		n++;
	fclose(f);

	for (int i = 0; i < n; i++) {
		siginfo_t si = { 0 };

		if (app_pid_is_tracked(d, pids[i]))
			continue;
		if (waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOHANG) == 0 &&
		    si.si_pid > 0)
			log_debug("reaped stray child %d", si.si_pid);
	}
}

static bool environ_has(pid_t pid, const char *entry)
{
	char path[64], buf[8192];
	size_t n = strlen(entry);
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';

	for (char *p = buf; p < buf + len; p += strlen(p) + 1)
		if (strncmp(p, entry, n) == 0 && p[n] == '\0')
			return true;
	return false;
}

char *app_exe_path(pid_t pid, const char *fallback)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return fallback ? strdup(fallback) : NULL;
	buf[n] = '\0';
	return strdup(buf);
}

static bool is_thawd(pid_t pid)
{
	char path[64], exe[4096], self[4096];
	ssize_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	a = readlink(path, exe, sizeof(exe) - 1);
	b = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (a <= 0 || b <= 0)
		return false;
	exe[a] = self[b] = '\0';
	return streq(exe, self);
}

static bool parent_is_thawd(pid_t pid)
{
	return is_thawd(proc_ppid(pid));
}

/* Whether a live thawd is among the few ancestors CRIU's tasks have. */
static bool has_thawd_ancestor(pid_t pid)
{
	for (int depth = 0; depth < 8 && pid > 1; depth++) {
		pid = proc_ppid(pid);
		if (pid > 1 && is_thawd(pid))
			return true;
	}
	return false;
}

/*
 * Ends what CRIU runs of an earlier thawd on this socket, tasks still
 * being restored among them (they carry CRIU's environment until their
 * memory is put back), and waits for them to go: otherwise a restore
 * could finish after the scan for leftover apps and leave an orphan.
 */
static void end_earlier_criu(const struct thawd *d)
{
	_cleanup_free_ char *entry = NULL;
	unsigned found = 1;

	if (asprintf(&entry, THAW_CRIU_OWNER_ENV "=%s", d->cfg.socket_path) < 0)
		return;

	for (int round = 0; found && round < 100; round++) {
		struct dirent *de;
		DIR *proc;

		proc = opendir("/proc");
		if (!proc)
			return;

		found = 0;
		while ((de = readdir(proc))) {
			pid_t pid = atoi(de->d_name);

			if (pid <= 1 || pid == getpid() ||
			    !environ_has(pid, entry) || has_thawd_ancestor(pid))
				continue;
			if (round == 0)
				log_warning(
					"CRIU process %d left behind by an earlier thawd, ending it",
					pid);
			kill(pid, SIGKILL);
			found++;
		}
		closedir(proc);
		if (found)
			usleep(20000);
	}
}

void app_end_leftovers(struct thawd *d)
{
	_cleanup_free_ char *entry = NULL;
	struct dirent *de;
	DIR *proc;

	end_earlier_criu(d);

	if (asprintf(&entry, "THAW_SOCKET=%s", d->cfg.socket_path) < 0)
		return;
	proc = opendir("/proc");
	if (!proc)
		return;

	/* Apps of an earlier thawd on this socket that lost their thawd:
	 * the roots of their namespaces, whose parent is no thawd. */
	while ((de = readdir(proc))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 1 || pid == getpid() || app_nspid(pid) != 1 ||
		    !environ_has(pid, entry) || parent_is_thawd(pid))
			continue;
		log_warning(
			"app process %d left behind by an earlier thawd, ending it",
			pid);
		kill(pid, SIGKILL);
	}
	closedir(proc);
}
