// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Checks each verdict of the census against a real CRIU dump: a child
 * holds one resource, the census judges it from outside (as thawd does),
 * and CRIU must then dump the child when the verdict is "dumps" and fail
 * when it is "blocks" (but for the blockers of thaw's choosing, which CRIU
 * would dump).  "unknown" asserts nothing: its dump's outcome is printed.
 * Cases "with a child" put the resource in a grandchild of the test,
 * its peer in the child, and judge the grandchild as one process of the
 * child's tree, as thawd judges each process of an app.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "swrk.h"
#include "thaw/hal.h"

#define TEST_FD 10

static char tmp[] = "/tmp/hal-census-XXXXXX";
static char loopdev[64];
static char unix_stream_path[160], unix_dgram_path[160];
static int outside_pipe[2] = { -1, -1 };
static int tcp_port;
static int stream_server = -1;

struct verdict_case {
	const char *name;
	int (*setup)(void);   /* in the child; puts the resource at TEST_FD */
	const char *map_type; /* a mapping case: the entry type to look for */
	enum hal_verdict want;
	const char *pattern; /* a device policy in force for this case */
	enum hal_device_policy policy;
	bool grandchild; /* judge the child's child, in the child's tree */
	bool chosen;	 /* blocks by thaw's choice: CRIU dumps it */
};

static int at_test_fd(int fd)
{
	if (fd < 0)
		return -errno;
	if (fd != TEST_FD) {
		if (dup2(fd, TEST_FD) < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

static int open_dev(const char *path, int flags)
{
	return at_test_fd(open(path, flags));
}

static int s_null(void)
{
	return open_dev("/dev/null", O_RDWR);
}

static int s_urandom(void)
{
	return open_dev("/dev/urandom", O_RDONLY);
}

static int s_dma(void)
{
	return open_dev("/dev/cpu_dma_latency", O_RDWR);
}

static int s_hwrng(void)
{
	return open_dev("/dev/hwrng", O_RDONLY);
}

static int s_loopctl(void)
{
	return open_dev("/dev/loop-control", O_RDWR);
}

static int s_fuse(void)
{
	return open_dev("/dev/fuse", O_RDWR);
}

static int s_loop(void)
{
	return open_dev(loopdev, O_RDONLY);
}

static int s_file_rw(void)
{
	char p[200];

	snprintf(p, sizeof(p), "%s/rw-file", tmp);
	return open_dev(p, O_RDWR | O_CREAT);
}

static int s_deleted(void)
{
	char p[200];
	int fd, r;

	snprintf(p, sizeof(p), "%s/deleted", tmp);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	r = at_test_fd(fd);
	if (r == 0 && write(TEST_FD, "ghost", 5) != 5)
		r = -EIO;
	unlink(p);
	return r;
}

static int s_dir(void)
{
	return open_dev(tmp, O_RDONLY | O_DIRECTORY);
}

static int s_pipe_inside(void)
{
	int p[2];

	if (pipe(p) < 0)
		return -errno;
	if (dup2(p[1], TEST_FD + 1) < 0)
		return -errno;
	close(p[1]);
	return at_test_fd(p[0]);
}

static int s_pipe_outside(void)
{
	return at_test_fd(dup(outside_pipe[0]));
}

static int unix_connect(int type, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return at_test_fd(fd);
}

static int s_unix_stream_out(void)
{
	return unix_connect(SOCK_STREAM, unix_stream_path);
}

static int s_unix_dgram_out(void)
{
	return unix_connect(SOCK_DGRAM, unix_dgram_path);
}

static int s_socketpair(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	/* Out of the way of the two numbers they go to. */
	sv[0] = fcntl(sv[0], F_DUPFD, 100);
	sv[1] = fcntl(sv[1], F_DUPFD, 100);
	if (sv[1] < 0 || dup2(sv[1], TEST_FD + 1) < 0)
		return -errno;
	return at_test_fd(sv[0]);
}

static int s_unix_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/listen.sock", tmp);
	unlink(sa.sun_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0)
		return -errno;
	return at_test_fd(fd);
}

static int s_eventfd(void)
{
	return at_test_fd(eventfd(0, 0));
}

static int s_epoll(void)
{
	return at_test_fd(epoll_create1(0));
}

static int s_signalfd(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	return at_test_fd(signalfd(-1, &m, 0));
}

static int s_timerfd(void)
{
	return at_test_fd(timerfd_create(CLOCK_MONOTONIC, 0));
}

static int s_inotify(void)
{
	return at_test_fd(inotify_init1(0));
}

static int s_memfd(void)
{
	return at_test_fd(memfd_create("census-test", 0));
}

/* What the HAL leaves at the number of an fd it released. */
static int s_reserved(void)
{
	return at_test_fd(memfd_create("thaw-hal-reserved", 0));
}

static int s_netlink(void)
{
	return at_test_fd(socket(AF_NETLINK, SOCK_RAW, 0));
}

static int s_tcp_listen(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0)
		return -errno;
	return at_test_fd(fd);
}

static int s_tcp_conn(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(tcp_port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return at_test_fd(fd);
}

/* A TCP connection to itself: both ends in the process. */
static int s_tcp_self(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, a;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 4) < 0 || getsockname(l, (struct sockaddr *)&sa, &len))
		return -errno;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	a = accept(l, NULL, NULL);
	close(l);
	/* Out of the way of the two numbers they go to. */
	c = fcntl(c, F_DUPFD, 100);
	a = fcntl(a, F_DUPFD, 100);
	if (a < 0 || dup2(a, TEST_FD + 1) < 0)
		return -errno;
	return at_test_fd(c);
}

/*
 * Forks the grandchild, which holds @fd at TEST_FD and waits; the child
 * keeps @peer.  Returns once the grandchild is set up.
 */
static int grandchild_hold(int fd, int peer)
{
	int p[2];
	char c;

	if (fd < 0 || peer < 0 || pipe(p) < 0)
		return -errno;
	switch (fork()) {
	case -1:
		return -errno;
	case 0:
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (at_test_fd(fd) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		close_range(3, TEST_FD - 1, 0);
		close_range(TEST_FD + 1, ~0U, 0);
		for (;;)
			pause();
	}
	close(fd);
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		return -EIO;
	close(p[0]);
	return at_test_fd(peer);
}

static int s_pair_child(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	return grandchild_hold(sv[1], sv[0]);
}

static int s_tcp_child(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, a;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 4) < 0 || getsockname(l, (struct sockaddr *)&sa, &len))
		return -errno;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	a = accept(l, NULL, NULL);
	close(l);
	return grandchild_hold(c, a);
}

static int s_udp_unbound(void)
{
	return at_test_fd(socket(AF_INET, SOCK_DGRAM, 0));
}

static int s_udp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return at_test_fd(fd);
}

static int s_sysv(void)
{
	int id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600);
	void *p;

	if (id < 0)
		return -errno;
	p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	return p == (void *)-1 ? -errno : 0;
}

static int s_shared_anon(void)
{
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

static int s_shared_file(void)
{
	char path[200];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/mapped", tmp);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, 65536) < 0)
		return -errno;
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? -errno : 0;
}

static const struct verdict_case cases[] = {
	{ "/dev/null", s_null, NULL, HAL_VERDICT_DUMPS, NULL, 0, false, false },
	{ "/dev/urandom", s_urandom, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "/dev/cpu_dma_latency", s_dma, NULL, HAL_VERDICT_BLOCKS, NULL, 0,
	  false, false },
	{ "/dev/hwrng", s_hwrng, NULL, HAL_VERDICT_BLOCKS, NULL, 0, false,
	  false },
	{ "/dev/loop-control", s_loopctl, NULL, HAL_VERDICT_BLOCKS, NULL, 0,
	  false, false },
	{ "/dev/fuse", s_fuse, NULL, HAL_VERDICT_BLOCKS, NULL, 0, false,
	  false },
	{ "loop block device", s_loop, NULL, HAL_VERDICT_BLOCKS, NULL, 0, false,
	  false },
	{ "rw regular file", s_file_rw, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "deleted small file", s_deleted, NULL, HAL_VERDICT_DUMPS, NULL, 0,
	  false, false },
	{ "directory", s_dir, NULL, HAL_VERDICT_DUMPS, NULL, 0, false, false },
	{ "pipe, both ends inside", s_pipe_inside, NULL, HAL_VERDICT_DUMPS,
	  NULL, 0, false, false },
	{ "pipe, other end outside", s_pipe_outside, NULL, HAL_VERDICT_DUMPS,
	  NULL, 0, false, false },
	{ "unix stream to outside", s_unix_stream_out, NULL, HAL_VERDICT_BLOCKS,
	  NULL, 0, false, false },
	{ "unix dgram to outside", s_unix_dgram_out, NULL, HAL_VERDICT_BLOCKS,
	  NULL, 0, false, false },
	{ "unix socketpair inside", s_socketpair, NULL, HAL_VERDICT_DUMPS, NULL,
	  0, false, false },
	{ "unix listening", s_unix_listen, NULL, HAL_VERDICT_DUMPS, NULL, 0,
	  false, false },
	{ "eventfd", s_eventfd, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "epoll", s_epoll, NULL, HAL_VERDICT_DUMPS, NULL, 0, false, false },
	{ "signalfd", s_signalfd, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "timerfd", s_timerfd, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "inotify", s_inotify, NULL, HAL_VERDICT_DUMPS, NULL, 0, false,
	  false },
	{ "memfd", s_memfd, NULL, HAL_VERDICT_DUMPS, NULL, 0, false, false },
	{ "HAL reservation", s_reserved, NULL, HAL_VERDICT_HAL, NULL, 0, false,
	  false },
	{ "/dev/hwrng, policy plugin", s_hwrng, NULL, HAL_VERDICT_PLUGIN,
	  "/dev/hw*", HAL_DEVICE_PLUGIN, false, false },
	{ "/dev/fuse, policy ignore", s_fuse, NULL, HAL_VERDICT_IGNORED,
	  "/dev/f*", HAL_DEVICE_IGNORE, false, false },
	{ "netlink", s_netlink, NULL, HAL_VERDICT_UNKNOWN, NULL, 0, false,
	  false },
	{ "tcp listening", s_tcp_listen, NULL, HAL_VERDICT_DUMPS, NULL, 0,
	  false, false },
	{ "tcp connection to outside", s_tcp_conn, NULL, HAL_VERDICT_BLOCKS,
	  NULL, 0, false, true },
	{ "tcp connection to itself", s_tcp_self, NULL, HAL_VERDICT_DUMPS, NULL,
	  0, false, false },
	{ "unix socketpair with a child", s_pair_child, NULL, HAL_VERDICT_DUMPS,
	  NULL, 0, true, false },
	{ "tcp connection with a child", s_tcp_child, NULL, HAL_VERDICT_DUMPS,
	  NULL, 0, true, false },
	{ "udp, bound", s_udp, NULL, HAL_VERDICT_DUMPS, NULL, 0, false, false },
	{ "udp, unbound", s_udp_unbound, NULL, HAL_VERDICT_UNKNOWN, NULL, 0,
	  false, false },
	{ "System V shm", s_sysv, "sysv-shm", HAL_VERDICT_BLOCKS, NULL, 0,
	  false, false },
	{ "shared anonymous", s_shared_anon, "shared-anon", HAL_VERDICT_DUMPS,
	  NULL, 0, false, false },
	{ "shared file mapping", s_shared_file, "shared-file",
	  HAL_VERDICT_DUMPS, NULL, 0, false, false },
};

static void child_run(const struct verdict_case *c)
{
	int fd = open("/dev/null", O_RDWR);

	setsid();
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (c->setup() < 0)
		_exit(1);
	close_range(3, TEST_FD - 1, 0);
	close_range(TEST_FD + 2, ~0U, 0);
	kill(getppid(), SIGUSR1);
	for (;;)
		pause();
}

static const struct hal_census_entry *find_entry(const struct hal_census *h,
						 const struct verdict_case *c)
{
	for (size_t i = 0; i < h->n_entries; i++) {
		const struct hal_census_entry *e = &h->entries[i];

		if (c->map_type ?
			    e->fd < 0 && strcmp(e->type, c->map_type) == 0 :
			    e->fd == TEST_FD)
			return e;
	}
	return NULL;
}

static pid_t child_start(const struct verdict_case *c)
{
	struct timespec ts = { .tv_sec = 5 };
	sigset_t m;
	pid_t pid;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	pid = fork();
	if (pid == 0)
		child_run(c);
	if (pid < 0 || sigtimedwait(&m, NULL, &ts) < 0)
		return -1;
	return pid;
}

/* The first child of @pid, or -1. */
static pid_t first_child(pid_t pid)
{
	char path[64];
	int child = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &child) != 1)
		child = -1;
	fclose(f);
	return child;
}

/* Judges and dumps one case; returns whether the two agree. */
static bool case_run(const struct verdict_case *c, int n)
{
	const struct hal_census_entry *e;
	struct hal_census *h = NULL;
	char dir[256], err[2048];
	bool ok = true;
	int r, accepted;
	pid_t pid;

	pid = child_start(c);
	if (pid < 0) {
		printf("FAIL %-26s child did not start\n", c->name);
		return false;
	}

	/* A peer that exists, as for any connection an app really holds. */
	accepted = accept4(stream_server, NULL, NULL,
			   SOCK_NONBLOCK | SOCK_CLOEXEC);

	hal_device_policy_clear();
	if (c->pattern)
		hal_device_policy_add(c->pattern, c->policy);
	if (c->grandchild)
		r = hal_census_take_tree(first_child(pid), pid, &h);
	else
		r = hal_census_take(pid, &h);
	e = r == 0 ? find_entry(h, c) : NULL;
	snprintf(dir, sizeof(dir), "%s/dump-%d", tmp, n);
	mkdir(dir, 0700);
	r = swrk_dump(pid, dir, err, sizeof(err));

	if (!e) {
		printf("FAIL %-26s not in the census\n", c->name);
		ok = false;
	} else {
		bool dumped = r == 0;

		ok = e->verdict == c->want;
		/* The HAL's reservation must dump as it is. */
		if ((e->verdict == HAL_VERDICT_DUMPS ||
		     e->verdict == HAL_VERDICT_HAL) &&
		    !dumped)
			ok = false;
		if (e->verdict == HAL_VERDICT_BLOCKS && dumped && !c->chosen)
			ok = false;
		printf("%s %-26s census: %-7s (%s; %s) dump: %s\n",
		       ok ? "ok  " : "FAIL", c->name,
		       hal_verdict_to_string(e->verdict), e->type, e->note,
		       dumped ? "dumped" : "failed");
		if (!ok && !dumped)
			printf("     %s", err);
	}

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (accepted >= 0)
		close(accepted);
	hal_census_free(h);
	return ok;
}

static void cleanup(void)
{
	char cmd[512];

	if (loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot detach %s\n", loopdev);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

static int unix_server(int type, char *path, size_t size, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	snprintf(path, size, "%s/%s", tmp, name);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (type == SOCK_STREAM && listen(fd, 16) < 0)
		return -1;
	return fd;
}

static int tcp_server(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	tcp_port = ntohs(sa.sin_port);
	return fd;
}

static int loop_setup(void)
{
	char cmd[512];
	FILE *p;

	snprintf(
		cmd, sizeof(cmd),
		"truncate -s 1M %s/loop.img && losetup -f --show -r %s/loop.img",
		tmp, tmp);
	p = popen(cmd, "r");
	if (!p || !fgets(loopdev, sizeof(loopdev), p)) {
		loopdev[0] = '\0';
		if (p)
			pclose(p);
		return -1;
	}
	loopdev[strcspn(loopdev, "\n")] = '\0';
	return pclose(p) == 0 ? 0 : -1;
}

int main(void)
{
	int failed = 0;
	sigset_t m;

	if (!mkdtemp(tmp))
		return 1;
	atexit(cleanup);

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);

	if (loop_setup() < 0 ||
	    (stream_server = unix_server(SOCK_STREAM, unix_stream_path,
					 sizeof(unix_stream_path),
					 "stream.sock")) < 0 ||
	    unix_server(SOCK_DGRAM, unix_dgram_path, sizeof(unix_dgram_path),
			"dgram.sock") < 0 ||
	    tcp_server() < 0 || pipe2(outside_pipe, O_CLOEXEC) < 0) {
		fprintf(stderr, "set-up failed: %s\n", strerror(errno));
		return 1;
	}
	fcntl(stream_server, F_SETFL, O_NONBLOCK);
	printf("CRIU: %s\n", swrk_criu_binary());
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		failed += !case_run(&cases[i], (int)i);

	printf("%d of %zu verdicts disagree with CRIU\n", failed,
	       sizeof(cases) / sizeof(cases[0]));
	return failed ? 1 : 0;
}
