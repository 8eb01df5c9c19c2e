// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The app of thawd's integration tests, in the zdtm shape: it fills its
 * memory with a seeded pattern, asks for its checkpoint, then says ready;
 * a copy restored from the image checks the pattern and prints its
 * verdict on stdout, which thawd logs.
 *
 *   thaw-test-app [--mib N] [--seed S] [--fail-hook] [--open PATH]
 *                 [--exit-after-restore] [--no-checkpoint]
 *                 [--verify-after-ready] [--connect PORT]
 *
 * --exit-after-restore: a restored copy exits 200 ms after its ready.
 * --verify-after-ready: a restored copy checks its memory after its ready
 * call, so that launch times do not include the check.
 * --connect: keeps a TCP connection to 127.0.0.1:PORT, a peer outside.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <thaw/thaw.h>
#include <unistd.h>

struct args {
	size_t mib;
	uint64_t seed;
	bool fail_hook;
	bool exit_after_restore;
	bool no_checkpoint;
	bool verify_late;
	const char *open_path;
	int connect_port;
};

static uint64_t pattern(uint64_t seed, size_t i)
{
	uint64_t x = seed ^ (i * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void fill(uint64_t *mem, size_t words, uint64_t seed)
{
	for (size_t i = 0; i < words; i++)
		mem[i] = pattern(seed, i);
}

/* Returns the index of the first wrong word, or words when all match. */
static size_t check(const uint64_t *mem, size_t words, uint64_t seed)
{
	for (size_t i = 0; i < words; i++)
		if (mem[i] != pattern(seed, i))
			return i;
	return words;
}

static int failing_hook(void *userdata)
{
	printf("app: before hook refuses the checkpoint\n");
	return -ECANCELED;
}

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 's' },
		{ "fail-hook", no_argument, NULL, 'f' },
		{ "open", required_argument, NULL, 'o' },
		{ "exit-after-restore", no_argument, NULL, 'x' },
		{ "no-checkpoint", no_argument, NULL, 'n' },
		{ "verify-after-ready", no_argument, NULL, 'v' },
		{ "connect", required_argument, NULL, 'c' },
		{ 0 },
	};
	int c;

	*a = (struct args){ .mib = 16, .seed = 42 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			a->mib = strtoul(optarg, NULL, 10);
			break;
		case 's':
			a->seed = strtoull(optarg, NULL, 10);
			break;
		case 'f':
			a->fail_hook = true;
			break;
		case 'o':
			a->open_path = optarg;
			break;
		case 'x':
			a->exit_after_restore = true;
			break;
		case 'n':
			a->no_checkpoint = true;
			break;
		case 'v':
			a->verify_late = true;
			break;
		case 'c':
			a->connect_port = atoi(optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	printf("app: connected to 127.0.0.1:%d as fd %d\n", port, fd);
	return fd;
}

static void after_restore(const uint64_t *mem, size_t words,
			  const struct args *a)
{
	char *params = NULL;
	size_t bad = check(mem, words, a->seed);

	if (bad == words)
		printf("app: memory intact after restore (%zu MiB, seed %llu)\n",
		       a->mib, (unsigned long long)a->seed);
	else
		printf("app: memory CORRUPT after restore at word %zu\n", bad);

	if (thaw_launch_params(&params) == 0)
		printf("app: launch params %s\n", params);
	free(params);
}

static int checkpoint(const struct args *a)
{
	int r = a->no_checkpoint ? THAW_CHECKPOINT_SKIPPED : thaw_checkpoint();

	if (r < 0)
		printf("app: checkpoint failed (%d): %s\n", r,
		       thaw_last_error());
	else
		printf("app: checkpoint result %s\n",
		       r == THAW_CHECKPOINT_DUMPED   ? "dumped" :
		       r == THAW_CHECKPOINT_RESTORED ? "restored" :
						       "skipped");
	return r;
}

int main(int argc, char **argv)
{
	struct args a;
	uint64_t *mem;
	size_t words;
	int r, fd = -1;
	bool restored;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse(argc, argv, &a) < 0)
		return 2;

	words = a.mib * 1024 * 1024 / sizeof(uint64_t);
	mem = mmap(NULL, words * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	fill(mem, words, a.seed);
	printf("app: pid %d filled %zu MiB with seed %llu\n", getpid(), a.mib,
	       (unsigned long long)a.seed);

	if (a.open_path) {
		fd = open(a.open_path, O_RDWR | O_CLOEXEC);
		printf("app: opened %s as fd %d%s%s\n", a.open_path, fd,
		       fd < 0 ? ": " : "", fd < 0 ? strerror(errno) : "");
	}
	if (a.connect_port && connect_to(a.connect_port) < 0)
		return 1;
	if (a.fail_hook)
		thaw_hook_add(failing_hook, NULL, NULL);

	r = checkpoint(&a);

	restored = r == THAW_CHECKPOINT_RESTORED;
	if (restored && !a.verify_late)
		after_restore(mem, words, &a);
	else if (!restored && check(mem, words, a.seed) != words)
		printf("app: memory CORRUPT after the dump\n");

	r = thaw_ready();
	printf("app: ready (%d)\n", r);
	if (restored && a.verify_late)
		after_restore(mem, words, &a);
	if (restored && a.exit_after_restore) {
		usleep(200 * 1000);
		printf("app: exiting soon after the restore\n");
		return 3;
	}

	/* libthaw's SIGTERM handler ends the process. */
	for (;;)
		pause();
}
