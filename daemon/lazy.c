// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lazy restores.  An app whose manifest asks for lazy pages resumes
 * before its memory is copied in: CRIU registers the memory with
 * userfaultfd and a `criu lazy-pages` server fills each page at its
 * first touch, then copies in the rest in the background and exits once
 * every page is in place.
 *
 * Until then the app depends on that server.  One that dies early leaves
 * holes which the kernel would fill with zeros, so the app's memory
 * would no longer be what was dumped: thawd kills the app and starts it
 * again cold.  The image is not at fault and stays.
 *
 * The worker thread of the restore starts the server (criu-op.c); once
 * the restored app is handed over, the main thread watches it here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "thawd.h"
#include "util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define LAZY_LOG "lazy-pages.log"
/* A server ends a moment after it drops its app's userfaultfd: how long
 * an app's death waits to see whether its server ended first. */
#define LAZY_END_WAIT_MS 200

bool lazy_pages_available(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void lazy_server_release(struct app *a, bool keep_log)
{
	struct lazy_server *l = &a->lazy;
	_cleanup_free_ char *keep = NULL;

	if (keep_log && asprintf(&keep, "%s/%s.lazy-pages.log",
				 a->d->cfg.run_dir, a->m->id) < 0)
		keep = NULL;
	if (l->work)
		op_work_dir_remove(l->work, LAZY_LOG, keep);

	l->src = sd_event_source_disable_unref(l->src);
	l->pidfd = close_fd(l->pidfd);
	l->pid = 0;
	free(l->work);
	l->work = NULL;
}

/* Whether the app still needs pages from its server. */
static bool app_depends_on_server(const struct app *a)
{
	return a->pidfd >= 0 && a->state != APP_STOPPED &&
	       a->state != APP_CLOSING;
}

/*
 * Records how the server of @a ended and forgets it.  Returns true when
 * it ended before every page was in place; a->reason then says so.
 */
static bool lazy_server_ended(struct app *a, const siginfo_t *si)
{
	struct lazy_server *l = &a->lazy;
	char why[64];
	double ms;

	ms = (double)(now_usec(CLOCK_MONOTONIC) - l->start_usec) / 1000.0;
	if (si->si_code == CLD_EXITED && si->si_status == 0) {
		log_app(LOG_INFO, a->m->id, a->pid,
			"lazy pages: every page in place %.1f ms after the restore",
			ms);
		lazy_server_release(a, false);
		return false;
	}

	if (si->si_code == CLD_EXITED)
		snprintf(why, sizeof(why), "exited with status %d",
			 si->si_status);
	else
		snprintf(why, sizeof(why), "was killed by signal %d",
			 si->si_status);
	free(a->reason);
	if (asprintf(
		    &a->reason,
		    "the lazy-pages server %s %.1f ms after the restore, before every page was in place",
		    why, ms) < 0)
		a->reason = NULL;
	log_app(LOG_ERR, a->m->id, a->pid, "%s: its memory is incomplete",
		a->reason ? a->reason : "the lazy-pages server ended early");
	lazy_server_release(a, true);
	return true;
}

static int on_lazy_server_exit(sd_event_source *s, int fd, uint32_t revents,
			       void *userdata)
{
	struct app *a = userdata;
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return 0;
	if (!lazy_server_ended(a, &si) || !app_depends_on_server(a))
		return 0;

	log_app(LOG_WARNING, a->m->id, a->pid, "starting it again cold");
	a->restart_cold = true;
	app_kill_tree(a);
	return 0;
}

bool lazy_server_failed(struct app *a)
{
	struct lazy_server *l = &a->lazy;
	struct pollfd p = { .fd = l->pidfd, .events = POLLIN };
	siginfo_t si = { 0 };
	int n;

	if (l->pid <= 0 || l->pidfd < 0)
		return false;
	do
		n = poll(&p, 1, LAZY_END_WAIT_MS);
	while (n < 0 && errno == EINTR);
	if (n <= 0 ||
	    waitid(P_PIDFD, (id_t)l->pidfd, &si, WEXITED | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return false;
	return lazy_server_ended(a, &si);
}

void lazy_server_adopt(struct app *a, pid_t pid, int pidfd, char *work)
{
	struct lazy_server *l = &a->lazy;
	int r;

	l->pid = pid;
	l->pidfd = pidfd;
	l->work = work;
	l->start_usec = now_usec(CLOCK_MONOTONIC);

	r = pidfd < 0 ? -EBADF :
			sd_event_add_io(a->d->event, &l->src, pidfd, EPOLLIN,
					on_lazy_server_exit, a);
	if (r >= 0)
		return;

	/* Unwatched, its death would go unseen: an eager copy is safer. */
	log_app(LOG_ERR, a->m->id, a->pid,
		"cannot watch the lazy-pages server %d (%s), starting the app again cold",
		pid, strerror(-r));
	kill(pid, SIGKILL);
	lazy_server_release(a, true);
	a->restart_cold = true;
	app_kill_tree(a);
}

void lazy_server_stop(struct app *a)
{
	struct lazy_server *l = &a->lazy;

	if (l->pid <= 0)
		return;
	/* It serves this app alone; it dies at once and is reaped here. */
	if (l->pidfd >= 0) {
		siginfo_t si;

		syscall(SYS_pidfd_send_signal, l->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)l->pidfd, &si, WEXITED);
	}
	lazy_server_release(a, false);
}
