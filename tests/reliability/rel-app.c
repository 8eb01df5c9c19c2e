// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The restore-correctness app of the reliability suite, in the zdtm
 * shape: before its checkpoint it sets up a known state (seeded memory,
 * fds at fixed numbers with known flags and offsets, threads with their
 * own state, a signal mask, handlers, an itimer and POSIX timers, a
 * working folder, a umask), and after each restore it checks every part
 * of it.  Each difference is a failure line on stdout (which thawd logs)
 * and in the result file RESULT-DIR/<host pid>.result, written whole
 * (renamed into place) before the app calls thaw_ready().
 *
 *   rel-app --result-dir DIR --cwd DIR [--mib N] [--seed S]
 *           [--device PATH] [--no-checkpoint]
 *
 * The files the app holds open never change size after the dump (a file
 * that grew would make the restore fail): it writes only new files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <thaw/thaw.h>
#include <time.h>
#include <unistd.h>

#define FD_DATA	      10 /* data.bin, O_RDWR, offset OFF_DATA */
#define FD_PIPE_R     11 /* pipe read end, O_NONBLOCK, PIPE_BYTES queued */
#define FD_PIPE_W     12
#define FD_EVENT      13 /* eventfd, counter EVENT_COUNT */
#define FD_APPEND     14 /* append.log, O_WRONLY | O_APPEND */
#define FD_APPEND2    15 /* dup of FD_APPEND: the same description */
#define FD_CLOEXEC_RO 16 /* data.bin, O_RDONLY, FD_CLOEXEC, OFF_RO */
#define FD_DEVICE     17 /* --device PATH, O_RDONLY */

#define DATA_BYTES    (64 * 1024)
#define OFF_DATA      12345
#define OFF_RO	      777
#define PIPE_BYTES    100
#define EVENT_COUNT   5
#define APPEND_TEXT   "0123456789"
#define HEAP_BYTES    (64 * 1024)
#define SHARED_BYTES  (256 * 1024)
#define N_THREADS     2
#define ITIMER_SEC    1000
#define PTIMER_SEC    2000
#define TICK_NSEC     (50 * 1000 * 1000)
#define APP_UMASK     0027

struct args {
	size_t mib;
	uint64_t seed;
	const char *result_dir;
	const char *cwd;
	const char *device;
	bool no_checkpoint;
};

struct worker {
	pthread_t thread;
	unsigned index;
	_Atomic unsigned asked; /* check generation asked by main */
	_Atomic unsigned done;	/* last generation checked */
	_Atomic int failures;
	char why[160];
};

static struct args args;
static uint64_t *mem;
static size_t words;
static uint64_t *heap;
static uint64_t *shared;
static struct worker workers[N_THREADS];
static timer_t slow_timer, tick_timer;
static volatile sig_atomic_t usr1_count, tick_count;
static __thread long thread_token;
static bool device_held;

static int checks, failures;
static char report[8192];
static size_t report_len;

static uint64_t pattern(uint64_t seed, size_t i)
{
	uint64_t x = seed ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void fill(uint64_t *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pattern(seed, i);
}

static bool intact(const uint64_t *p, size_t n, uint64_t seed, size_t *bad)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(seed, i)) {
			*bad = i;
			return false;
		}
	return true;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void note(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(report + report_len, sizeof(report) - report_len, fmt,
		      ap);
	va_end(ap);
	if (n > 0)
		report_len += (size_t)n;
	if (report_len >= sizeof(report))
		report_len = sizeof(report) - 1;
}

static void expect(bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void expect(bool ok, const char *what, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("rel-app: FAIL %s: %s\n", what, detail);
	note("fail %s: %s\n", what, detail);
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	usr1_count++;
}

static void on_tick(int sig)
{
	tick_count++;
}

static void on_slow(int sig)
{
}

/* --- set-up ---------------------------------------------------------- */

static int place_fd(int fd, int want)
{
	if (fd < 0)
		return -errno;
	if (fd == want)
		return 0;
	if (dup2(fd, want) < 0)
		return -errno;
	close(fd);
	return 0;
}

static int setup_files(void)
{
	uint64_t data[DATA_BYTES / 8];
	int fd, p[2], r;

	fill(data, DATA_BYTES / 8, args.seed + 3);
	fd = open("data.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
		return -EIO;
	if (lseek(fd, OFF_DATA, SEEK_SET) != OFF_DATA)
		return -EIO;
	r = place_fd(fd, FD_DATA);
	if (r == 0)
		r = place_fd(open("data.bin", O_RDONLY | O_CLOEXEC),
			     FD_CLOEXEC_RO);
	if (r == 0 && lseek(FD_CLOEXEC_RO, OFF_RO, SEEK_SET) != OFF_RO)
		r = -EIO;
	/* dup2 clears FD_CLOEXEC: set it again on the copy. */
	if (r == 0)
		r = fcntl(FD_CLOEXEC_RO, F_SETFD, FD_CLOEXEC);
	if (r < 0)
		return r;

	fd = open("append.log", O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, APPEND_TEXT, strlen(APPEND_TEXT)) !=
			      (ssize_t)strlen(APPEND_TEXT))
		return -EIO;
	r = place_fd(fd, FD_APPEND);
	if (r == 0 && dup2(FD_APPEND, FD_APPEND2) < 0)
		r = -errno;
	if (r < 0)
		return r;

	if (pipe(p) < 0)
		return -errno;
	r = place_fd(p[0], FD_PIPE_R);
	if (r == 0)
		r = place_fd(p[1], FD_PIPE_W);
	if (r == 0)
		r = fcntl(FD_PIPE_R, F_SETFL, O_NONBLOCK);
	for (int i = 0; r == 0 && i < PIPE_BYTES; i++)
		if (write(FD_PIPE_W, &(char){ (char)('a' + i % 26) }, 1) != 1)
			r = -EIO;
	if (r == 0)
		r = place_fd(eventfd(EVENT_COUNT, EFD_NONBLOCK), FD_EVENT);
	/* A missing device is no set-up failure: a cold start after a
	 * restore that lacked it must still run. */
	if (r == 0 && args.device) {
		device_held =
			place_fd(open(args.device, O_RDONLY), FD_DEVICE) == 0;
		printf("rel-app: device %s %s\n", args.device,
		       device_held ? "held" : "missing");
	}
	return r;
}

static void *worker_main(void *userdata)
{
	struct worker *w = userdata;
	char name[16];

	snprintf(name, sizeof(name), "rel-w%u", w->index);
	pthread_setname_np(pthread_self(), name);
	thread_token = 0x5eed0000L + (long)w->index;

	for (;;) {
		unsigned gen = atomic_load(&w->asked);
		sigset_t mask;
		char got[16] = "";

		if (gen == atomic_load(&w->done)) {
			usleep(5000);
			continue;
		}
		pthread_getname_np(pthread_self(), got, sizeof(got));
		pthread_sigmask(SIG_BLOCK, NULL, &mask);
		if (thread_token != 0x5eed0000L + (long)w->index) {
			snprintf(w->why, sizeof(w->why), "token %lx",
				 thread_token);
			atomic_fetch_add(&w->failures, 1);
		} else if (strcmp(got, name) != 0) {
			snprintf(w->why, sizeof(w->why), "name '%s'", got);
			atomic_fetch_add(&w->failures, 1);
		} else if (!sigismember(&mask, SIGUSR2) ||
			   !sigismember(&mask, SIGTERM)) {
			snprintf(w->why, sizeof(w->why),
				 "mask lost SIGUSR2 or SIGTERM");
			atomic_fetch_add(&w->failures, 1);
		}
		atomic_store(&w->done, gen);
	}
	return NULL;
}

static int setup_threads(void)
{
	sigset_t mask;

	/* Workers block SIGTERM too, so that libthaw's handler runs on the
	 * main thread; the main thread then unblocks it again. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	for (unsigned i = 0; i < N_THREADS; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main,
				   &workers[i]) != 0)
			return -EAGAIN;
	}
	pthread_sigmask(SIG_UNBLOCK, &mask, NULL);
	return 0;
}

static int setup_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_usr1,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	sigset_t mask;

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGQUIT);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;

	sa = (struct sigaction){ .sa_handler = on_tick,
				 .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN + 2, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_slow;
	if (sigaction(SIGALRM, &sa, NULL) < 0 ||
	    sigaction(SIGRTMIN + 1, &sa, NULL) < 0)
		return -errno;
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR)
		return -errno;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGWINCH);
	return -pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

static int arm_timer(clockid_t clk, int sig, long sec, long nsec, timer_t *ret)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
			       .sigev_signo = sig };
	struct itimerspec its = { .it_value = { sec, nsec },
				  .it_interval = { sec, nsec } };

	if (timer_create(clk, &ev, ret) < 0)
		return -errno;
	return timer_settime(*ret, 0, &its, NULL) < 0 ? -errno : 0;
}

static int setup_timers(void)
{
	struct itimerval it = { .it_value = { ITIMER_SEC, 0 },
				.it_interval = { ITIMER_SEC, 0 } };
	int r;

	if (setitimer(ITIMER_REAL, &it, NULL) < 0)
		return -errno;
	r = arm_timer(CLOCK_MONOTONIC, SIGRTMIN + 1, PTIMER_SEC, 0,
		      &slow_timer);
	if (r == 0)
		r = arm_timer(CLOCK_MONOTONIC, SIGRTMIN + 2, 0, TICK_NSEC,
			      &tick_timer);
	return r;
}

static int setup_memory(void)
{
	words = args.mib * 1024 * 1024 / sizeof(uint64_t);
	mem = mmap(NULL, words ? words * 8 : 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, SHARED_BYTES, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	heap = malloc(HEAP_BYTES);
	if (mem == MAP_FAILED || shared == MAP_FAILED || !heap)
		return -ENOMEM;
	fill(mem, words, args.seed);
	fill(shared, SHARED_BYTES / 8, args.seed + 2);
	fill(heap, HEAP_BYTES / 8, args.seed + 1);
	return 0;
}

/* --- checks ---------------------------------------------------------- */

static void check_memory(void)
{
	size_t bad = 0;

	expect(intact(mem, words, args.seed, &bad), "memory",
	       "private mapping differs at word %zu of %zu", bad, words);
	expect(intact(shared, SHARED_BYTES / 8, args.seed + 2, &bad), "memory",
	       "shared mapping differs at word %zu", bad);
	expect(intact(heap, HEAP_BYTES / 8, args.seed + 1, &bad), "memory",
	       "heap differs at word %zu", bad);
}

static void check_link(int fd, const char *want)
{
	char path[64], got[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, got, sizeof(got) - 1);
	got[n > 0 ? n : 0] = '\0';
	expect(n > 0 && (strncmp(want, "pipe:", 5) == 0 ?
				 strncmp(got, want, 5) == 0 :
				 strcmp(got, want) == 0),
	       "fd target", "fd %d is '%s', not '%s'", fd, got, want);
}

static void check_fd(int fd, const char *target, int flags, int fdflags,
		     off_t offset)
{
	int fl = fcntl(fd, F_GETFL), fdf = fcntl(fd, F_GETFD);
	int mask = O_ACCMODE | O_APPEND | O_NONBLOCK;
	off_t off;

	expect(fl >= 0, "fd number", "fd %d is not open: %m", fd);
	if (fl < 0)
		return;
	check_link(fd, target);
	expect((fl & mask) == flags, "fd flags", "fd %d has flags %#o, not %#o",
	       fd, fl & mask, flags);
	expect(fdf == fdflags, "fd cloexec", "fd %d has fd flags %d, not %d",
	       fd, fdf, fdflags);
	if (offset < 0)
		return;
	off = lseek(fd, 0, SEEK_CUR);
	expect(off == offset, "fd offset", "fd %d at %lld, not %lld", fd,
	       (long long)off, (long long)offset);
}

static void check_contents(void)
{
	static uint64_t want[DATA_BYTES / 8], got[DATA_BYTES / 8];
	char text[32] = "";
	ssize_t n;
	int fd;

	fill(want, DATA_BYTES / 8, args.seed + 3);
	n = pread(FD_DATA, got, sizeof(got), 0);
	expect(n == sizeof(got) && memcmp(got, want, sizeof(got)) == 0,
	       "file contents", "data.bin reads back %zd bytes, %s", n,
	       n == sizeof(got) ? "different" : "short");
	n = pread(FD_CLOEXEC_RO, text, sizeof(text) - 1, 0);
	expect(n == DATA_BYTES || n == sizeof(text) - 1, "file contents",
	       "read-only fd reads %zd bytes", n);
	fd = open("append.log", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? pread(fd, text, sizeof(text) - 1, 0) : -1;
	if (fd >= 0)
		close(fd);
	expect(n == (ssize_t)strlen(APPEND_TEXT), "file contents",
	       "append.log holds %zd bytes", n);
}

static void check_fds(void)
{
	char cwd[PATH_MAX], path[PATH_MAX + 16];
	off_t off;

	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	snprintf(path, sizeof(path), "%s/data.bin", cwd);
	check_fd(FD_DATA, path, O_RDWR, 0, OFF_DATA);
	check_fd(FD_CLOEXEC_RO, path, O_RDONLY, FD_CLOEXEC, OFF_RO);
	snprintf(path, sizeof(path), "%s/append.log", cwd);
	check_fd(FD_APPEND, path, O_WRONLY | O_APPEND, 0,
		 (off_t)strlen(APPEND_TEXT));
	check_fd(FD_APPEND2, path, O_WRONLY | O_APPEND, 0,
		 (off_t)strlen(APPEND_TEXT));
	check_fd(FD_PIPE_R, "pipe:", O_RDONLY | O_NONBLOCK, 0, -1);
	check_fd(FD_PIPE_W, "pipe:", O_WRONLY, 0, -1);
	check_fd(FD_EVENT, "anon_inode:[eventfd]", O_RDWR | O_NONBLOCK, 0, -1);
	if (device_held)
		check_fd(FD_DEVICE, args.device, O_RDONLY, 0, -1);

	/* A dup shares one open file description: one offset for both. */
	lseek(FD_APPEND, 3, SEEK_SET);
	off = lseek(FD_APPEND2, 0, SEEK_CUR);
	expect(off == 3, "dup shares offset", "dup at %lld after a seek to 3",
	       (long long)off);
	lseek(FD_APPEND, (off_t)strlen(APPEND_TEXT), SEEK_SET);
	check_contents();
}

static void check_queues(void)
{
	char buf[PIPE_BYTES + 8];
	uint64_t count = 0;
	int queued = -1;
	ssize_t n;
	bool same = true;

	ioctl(FD_PIPE_R, FIONREAD, &queued);
	expect(queued == PIPE_BYTES, "pipe data", "%d bytes queued, not %d",
	       queued, PIPE_BYTES);
	n = read(FD_PIPE_R, buf, sizeof(buf));
	for (ssize_t i = 0; i < n; i++)
		same = same && buf[i] == (char)('a' + i % 26);
	expect(n == PIPE_BYTES && same, "pipe data", "read %zd bytes%s", n,
	       same ? "" : ", different");
	/* Put them back for the next check of this process. */
	for (int i = 0; i < PIPE_BYTES && n > 0; i++)
		if (write(FD_PIPE_W, &(char){ (char)('a' + i % 26) }, 1) != 1)
			break;

	n = read(FD_EVENT, &count, sizeof(count));
	expect(n == 8 && count == EVENT_COUNT, "eventfd counter",
	       "read %zd bytes, counter %llu", n, (unsigned long long)count);
	if (n == 8 && eventfd_write(FD_EVENT, count) < 0)
		return;
}

static void check_threads(void)
{
	static unsigned gen;
	char path[64];
	int tasks = 0;
	FILE *f;

	gen++;
	for (unsigned i = 0; i < N_THREADS; i++)
		atomic_store(&workers[i].asked, gen);
	for (int t = 0; t < 400; t++) {
		bool all = true;

		for (unsigned i = 0; i < N_THREADS; i++)
			all = all && atomic_load(&workers[i].done) == gen;
		if (all)
			break;
		usleep(5000);
	}
	for (unsigned i = 0; i < N_THREADS; i++) {
		struct worker *w = &workers[i];

		expect(atomic_load(&w->done) == gen, "threads",
		       "worker %u did not answer", i);
		expect(atomic_load(&w->failures) == 0, "threads",
		       "worker %u: %s", i, w->why);
		atomic_store(&w->failures, 0);
	}

	snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Threads: %d", &tasks) == 1)
				break;
		fclose(f);
	}
	expect(tasks == N_THREADS + 1, "threads", "%d threads, not %d", tasks,
	       N_THREADS + 1);
}

static void check_signals(void)
{
	struct sigaction sa;
	sigset_t mask;
	int before;

	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	expect(sigismember(&mask, SIGUSR2) && sigismember(&mask, SIGWINCH) &&
		       !sigismember(&mask, SIGUSR1) &&
		       !sigismember(&mask, SIGTERM),
	       "signal mask", "USR2 %d WINCH %d USR1 %d TERM %d",
	       sigismember(&mask, SIGUSR2), sigismember(&mask, SIGWINCH),
	       sigismember(&mask, SIGUSR1), sigismember(&mask, SIGTERM));

	sigaction(SIGUSR1, NULL, &sa);
	expect(sa.sa_sigaction == on_usr1 && (sa.sa_flags & SA_SIGINFO) &&
		       (sa.sa_flags & SA_RESTART) &&
		       sigismember(&sa.sa_mask, SIGQUIT),
	       "signal handler", "SIGUSR1 action %p flags %#x",
	       (void *)sa.sa_sigaction, (unsigned)sa.sa_flags);
	sigaction(SIGHUP, NULL, &sa);
	expect(sa.sa_handler == SIG_IGN, "signal handler",
	       "SIGHUP not ignored");
	sigaction(SIGRTMIN + 2, NULL, &sa);
	expect(sa.sa_handler == on_tick, "signal handler",
	       "SIGRTMIN+2 handler %p", (void *)sa.sa_handler);

	before = usr1_count;
	raise(SIGUSR1);
	expect(usr1_count == before + 1, "signal delivery",
	       "SIGUSR1 handler ran %d times", usr1_count - before);
}

static void check_timers(void)
{
	struct itimerspec its;
	struct itimerval it;
	int ticks;

	getitimer(ITIMER_REAL, &it);
	expect(it.it_interval.tv_sec == ITIMER_SEC && it.it_value.tv_sec > 0 &&
		       it.it_value.tv_sec <= ITIMER_SEC,
	       "itimer", "interval %lds value %lds",
	       (long)it.it_interval.tv_sec, (long)it.it_value.tv_sec);

	expect(timer_gettime(slow_timer, &its) == 0 &&
		       its.it_interval.tv_sec == PTIMER_SEC &&
		       its.it_value.tv_sec > 0 &&
		       its.it_value.tv_sec <= PTIMER_SEC,
	       "posix timer", "interval %lds value %lds",
	       (long)its.it_interval.tv_sec, (long)its.it_value.tv_sec);

	/* The fast timer must still fire: a few ticks in 300 ms. */
	ticks = tick_count;
	for (int i = 0; i < 30 && tick_count - ticks < 3; i++)
		usleep(10000);
	expect(tick_count - ticks >= 3, "posix timer",
	       "%d ticks of the 50 ms timer in 300 ms", tick_count - ticks);
}

static void check_process(void)
{
	char cwd[PATH_MAX] = "";
	mode_t m = umask(0);

	umask(m);
	expect(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, args.cwd) == 0, "cwd",
	       "'%s', not '%s'", cwd, args.cwd);
	expect(m == APP_UMASK, "umask", "%04o, not %04o", (unsigned)m,
	       APP_UMASK);
	expect(getpid() == 1, "pid", "pid %d in its namespace, not 1",
	       (int)getpid());
}

/* --- report ---------------------------------------------------------- */

static pid_t host_pid(void)
{
	char buf[32] = "";

	/* /proc is the host's: its "self" names the pid there. */
	if (readlink("/proc/self", buf, sizeof(buf) - 1) <= 0)
		return getpid();
	return (pid_t)atoi(buf);
}

static void write_result(const char *start)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.result", args.result_dir,
		 (int)host_pid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		printf("rel-app: FAIL result: cannot write %s: %m\n", tmp);
		return;
	}
	fprintf(f, "app %s\nstart %s\nresult %s\nchecks %d\nfailures %d\n%s",
		getenv("THAW_APP_ID") ? getenv("THAW_APP_ID") : "?", start,
		failures ? "fail" : "ok", checks, failures, report);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		printf("rel-app: FAIL result: cannot write %s: %m\n", path);
}

static void verify(const char *start)
{
	checks = failures = 0;
	report_len = 0;
	report[0] = '\0';

	check_memory();
	check_fds();
	check_queues();
	check_threads();
	check_signals();
	check_timers();
	check_process();

	if (failures)
		printf("rel-app: verify %s: FAILED %d of %d checks\n", start,
		       failures, checks);
	else
		printf("rel-app: verify %s: OK %d checks\n", start, checks);
	write_result(start);
}

static int parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "result-dir", required_argument, NULL, 'r' },
		{ "cwd", required_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' },
		{ "no-checkpoint", no_argument, NULL, 'n' },
		{ 0 },
	};
	int c;

	args = (struct args){ .mib = 1, .seed = 1 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			args.mib = strtoul(optarg, NULL, 10);
			break;
		case 's':
			args.seed = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			args.result_dir = optarg;
			break;
		case 'c':
			args.cwd = optarg;
			break;
		case 'd':
			args.device = optarg;
			break;
		case 'n':
			args.no_checkpoint = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return args.result_dir && args.cwd ? 0 : -EINVAL;
}

static int setup(void)
{
	int r;

	if (mkdir(args.cwd, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (chdir(args.cwd) < 0)
		return -errno;
	umask(APP_UMASK);
	r = setup_memory();
	if (r == 0)
		r = setup_files();
	if (r == 0)
		r = setup_signals();
	if (r == 0)
		r = setup_threads();
	if (r == 0)
		r = setup_timers();
	return r;
}

int main(int argc, char **argv)
{
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse(argc, argv) < 0) {
		fprintf(stderr, "usage: rel-app --result-dir DIR --cwd DIR "
				"[--mib N] [--seed S] [--device PATH]\n");
		return 2;
	}
	r = setup();
	if (r < 0) {
		printf("rel-app: set-up failed: %s\n", strerror(-r));
		return 1;
	}
	printf("rel-app: state set up (%zu MiB, seed %llu)\n", args.mib,
	       (unsigned long long)args.seed);

	r = args.no_checkpoint ? THAW_CHECKPOINT_SKIPPED : thaw_checkpoint();
	if (r < 0)
		printf("rel-app: checkpoint failed (%d): %s\n", r,
		       thaw_last_error());
	printf("rel-app: checkpoint result %d\n", r);

	verify(r == THAW_CHECKPOINT_RESTORED ? "restored" :
	       r == THAW_CHECKPOINT_DUMPED   ? "dumped" :
					       "cold");

	r = thaw_ready();
	if (r < 0)
		printf("rel-app: ready failed (%d)\n", r);
	for (;;)
		pause();
}
