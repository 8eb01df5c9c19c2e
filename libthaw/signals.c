// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "util.h"

static void sigterm_exit(int sig)
{
	_exit(128 + sig);
}

/*
 * PID 1 of a PID namespace ignores every signal whose action is SIG_DFL,
 * so SIGTERM from thawd (outside the namespace) would do nothing.  An app
 * that handles SIGTERM itself keeps its handler; one that does not gets a
 * handler that exits as the default action would have ended it.
 */
static void sigterm_install(pid_t self)
{
	struct sigaction old, sa = { .sa_handler = sigterm_exit };

	if (self != 1)
		return;
	if (sigaction(SIGTERM, NULL, &old) < 0)
		return;
	if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
		return;

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
}

/*
 * Once per process, not once per library load: a child forked after
 * libthaw was used (into a new PID namespace, say) needs its own check.
 * Two threads racing here both look, and the second finds the handler.
 */
void lib_init(void)
{
	static _Atomic pid_t checked;
	pid_t self = getpid();

	if (atomic_load(&checked) == self)
		return;
	sigterm_install(self);
	atomic_store(&checked, self);
}

void signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, THAW_WAKE_SIGNAL);
	sigaddset(&set, THAW_LAUNCH_SIGNAL);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Both signals are blocked as the library loads, in the thread that loads
 * it, so that every thread the app creates afterwards inherits the mask:
 * a real-time signal that reaches a thread where it is not blocked would
 * kill the process (its default action), and one that a thread takes
 * would never reach sigtimedwait() or the signalfd.
 */
static void __attribute__((constructor)) signals_block_at_load(void)
{
	signals_block();
}

void wake_drain(void)
{
	const struct timespec zero = { 0 };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, THAW_WAKE_SIGNAL);
	while (sigtimedwait(&set, &si, &zero) >= 0)
		;
}

int wake_wait(int timeout_s, int *ret_value)
{
	struct timespec ts = { .tv_sec = timeout_s };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, THAW_WAKE_SIGNAL);

	for (;;) {
		int r = sigtimedwait(&set, &si, &ts);

		if (r == THAW_WAKE_SIGNAL && si.si_code == SI_QUEUE) {
			*ret_value = si.si_value.sival_int;
			return 0;
		}
		if (r >= 0)
			continue;
		/*
		 * A restore resumes us here, possibly with EINTR: wait the
		 * whole time again rather than trust a clock that may have
		 * jumped between the dump and the restore.
		 */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return -ETIMEDOUT;
		return negative_errno();
	}
}

int checkpoint_timeout(void)
{
	const char *s = getenv("THAW_CHECKPOINT_TIMEOUT");
	char *end;
	long v;

	if (!s || !*s)
		return THAW_CHECKPOINT_TIMEOUT_DEFAULT_S;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 3600)
		return THAW_CHECKPOINT_TIMEOUT_DEFAULT_S;
	return (int)v;
}
