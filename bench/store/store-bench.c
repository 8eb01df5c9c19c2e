// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Figures of the image store:
 *   - the pre-restore check (store_image_open() on the tmpfs copy) for
 *     16, 64 and 256 MiB images, plain and authenticated, and per MiB;
 *   - the persistent copy's bytes for random and compressible content,
 *     with and without zstd, and the time store_persist() takes;
 *   - the repair from the persistent copy into an empty tmpfs;
 *   - with --criu, a real CRIU restore of a process of 64 MiB next to the
 *     check of its image.
 *
 *   store-bench [--criu PATH] [--tmpfs DIR] [--persist DIR] [--quick]
 *
 * Without --criu, THAW_CRIU names the CRIU binary; with neither, the real
 * restore is left out.
 *
 * The tmpfs folder must be a tmpfs (default: a folder in /dev/shm); the
 * persistent folder (default: one in /var/tmp) stands for the eMMC.
 */
#include <criu.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "store.h"
#include "util.h"

#define MiB	  (1u << 20)
#define RUNS	  5
#define FAIL(...) (fprintf(stderr, "store-bench: " __VA_ARGS__), exit(1))

struct bench {
	const char *tmpfs, *persist, *criu;
	bool quick;
};

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random words, or (compressible) runs of a byte with a random word in
 * every 64, roughly what a process's heap looks like to zstd. */
static void fill(uint64_t *p, size_t words, bool compressible)
{
	size_t i;

	for (i = 0; i < words; i++)
		p[i] = !compressible || i % 64 == 0 ?
			       rng() :
			       (i / 512) * 0x0101010101010101ull;
}

static void write_file(int dirfd, const char *name, size_t size,
		       bool compressible)
{
	static uint64_t buf[MiB / 8];
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	size_t done;

	if (fd < 0)
		FAIL("creating %s: %m\n", name);
	for (done = 0; done < size; done += sizeof(buf)) {
		size_t n = size - done < sizeof(buf) ? size - done :
						       sizeof(buf);

		fill(buf, sizeof(buf) / 8, compressible);
		if (write(fd, buf, n) != (ssize_t)n)
			FAIL("writing %s: %m\n", name);
	}
	close_fd(fd);
}

static void publish_fake(struct store *s, const char *app, size_t size,
			 bool compressible)
{
	static const char *const small[] = { "inventory.img", "core-1.img",
					     "mm-1.img",      "pagemap-1.img",
					     "pstree.img",    "files.img" };
	struct store_deps deps = { .exe_path = "/proc/self/exe",
				   .pid = getpid() };
	_cleanup_free_ char *reason = NULL;
	struct store_writer *w;
	size_t i;

	if (store_writer_begin(s, app, &w) < 0)
		FAIL("store_writer_begin\n");
	for (i = 0; i < ARRAY_SIZE(small); i++)
		write_file(store_writer_dirfd(w), small[i], 4096, compressible);
	write_file(store_writer_dirfd(w), "pages-1.img", size, compressible);
	if (store_writer_publish(w, &deps, &reason) < 0)
		FAIL("publish: %s\n", reason);
}

static struct store *open_store(const struct bench *b, const char *key)
{
	struct store_config c = { .tmpfs_dir = b->tmpfs,
				  .persist_dir = b->persist,
				  .auth_key = key,
				  .auth_key_size = key ? strlen(key) : 0 };
	_cleanup_free_ char *reason = NULL;
	struct store *s;

	if (store_open(&c, &s, &reason) < 0)
		FAIL("store_open: %s\n", reason);
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* Median check time of the tmpfs copy, page cache warm (as at a launch). */
static uint64_t check_usec(struct store *s, const char *app)
{
	uint64_t t[RUNS];
	int i;

	for (i = 0; i < RUNS; i++) {
		struct store_image *img = NULL;

		if (store_image_open(s, app, &img, NULL, NULL) < 0)
			FAIL("store_image_open %s\n", app);
		t[i] = store_image_check_usec(img);
		store_image_close(img);
	}
	return median(t, RUNS);
}

static void bench_check(const struct bench *b)
{
	static const size_t sizes[] = { 16, 64, 256 };
	static const char *const keys[] = { NULL, "bench-device-key" };
	size_t i, k;

	printf("\n%-14s %8s %12s %12s\n", "check", "MiB", "usec", "usec/MiB");
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		struct store *s = open_store(b, keys[k]);
		const char *mode = keys[k] ? "hmac-sha256" : "xxh3-64";

		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			uint64_t u;

			if (b->quick && sizes[i] > 64)
				continue;
			publish_fake(s, "bench-check", sizes[i] * MiB, false);
			u = check_usec(s, "bench-check");
			printf("%-14s %8zu %12llu %12.1f\n", mode, sizes[i],
			       (unsigned long long)u, (double)u / sizes[i]);
			printf("BENCH name=check_usec value=%llu unit=us size_mib=%zu mode=%s\n",
			       (unsigned long long)u, sizes[i], mode);
			printf("BENCH name=check_usec_per_mib value=%.1f unit=us size_mib=%zu mode=%s\n",
			       (double)u / sizes[i], sizes[i], mode);
		}
		store_invalidate(s, "bench-check", "bench done");
		store_free(s);
	}
}

static uint64_t tier_bytes(const char *dir, const char *app)
{
	char cmd[4200];
	unsigned long long n = 0;
	FILE *p;

	/* Apparent sizes of the current image's files. */
	snprintf(cmd, sizeof(cmd), "du -sb --apparent-size '%s/%s/current/'",
		 dir, app);
	p = popen(cmd, "re");
	if (!p || fscanf(p, "%llu", &n) != 1)
		FAIL("du failed\n");
	pclose(p);
	return n;
}

static void bench_persist(const struct bench *b)
{
	static const char *const kinds[] = { "random", "compressible" };
	struct store *s = open_store(b, NULL);
	size_t size = (b->quick ? 16 : 64) * MiB;
	char rm[4200];
	int k;

	printf("\n%-14s %12s %12s %8s %12s %12s\n", "persist", "raw bytes",
	       "zstd bytes", "ratio", "persist ms", "repair ms");
	for (k = 0; k < 2; k++) {
		_cleanup_free_ char *reason = NULL;
		struct store_image *img = NULL;
		uint64_t t0, persist_us, raw, z;

		publish_fake(s, "bench-persist", size, k == 1);
		t0 = now_usec(CLOCK_MONOTONIC);
		if (store_persist(s, "bench-persist", &reason) < 0)
			FAIL("persist: %s\n", reason);
		persist_us = now_usec(CLOCK_MONOTONIC) - t0;
		raw = tier_bytes(b->tmpfs, "bench-persist");
		z = tier_bytes(b->persist, "bench-persist");

		snprintf(rm, sizeof(rm), "rm -rf '%s/bench-persist'", b->tmpfs);
		if (system(rm) != 0)
			FAIL("rm failed\n");
		/* Cold cache, as after a boot. */
		if (system("sync; echo 1 > /proc/sys/vm/drop_caches") != 0)
			FAIL("drop_caches failed\n");
		if (store_image_open(s, "bench-persist", &img, NULL, NULL) <
			    0 ||
		    store_image_source(img) != STORE_TIER_PERSIST)
			FAIL("repair from persistent failed\n");

		printf("%-14s %12llu %12llu %8.2f %12.1f %12.1f\n", kinds[k],
		       (unsigned long long)raw, (unsigned long long)z,
		       (double)raw / (double)z, persist_us / 1000.0,
		       store_image_check_usec(img) / 1000.0);
		printf("BENCH name=persist_bytes value=%llu unit=bytes content=%s zstd=no size_mib=%zu\n",
		       (unsigned long long)raw, kinds[k], size / MiB);
		printf("BENCH name=persist_bytes value=%llu unit=bytes content=%s zstd=yes size_mib=%zu\n",
		       (unsigned long long)z, kinds[k], size / MiB);
		printf("BENCH name=persist_usec value=%llu unit=us content=%s size_mib=%zu\n",
		       (unsigned long long)persist_us, kinds[k], size / MiB);
		printf("BENCH name=repair_from_persist_usec value=%llu unit=us content=%s size_mib=%zu\n",
		       (unsigned long long)store_image_check_usec(img),
		       kinds[k], size / MiB);
		store_image_close(img);
	}
	store_invalidate(s, "bench-persist", "bench done");
	store_free(s);
}

/* A process of size bytes of random memory, PID 1 of its namespace, in
 * a cwd of its own (CRIU's parasite makes a folder in it). */
static pid_t subject(size_t size, const char *cwd)
{
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL,
				   NULL, NULL, 0);
	int fd;

	if (pid != 0)
		return pid;

	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || chdir(cwd) < 0)
		_exit(1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	close_range(3, ~0u, 0);
	setsid();
	fill(malloc(size), size / 8, false);
	for (;;)
		pause();
}

static criu_opts *criu_opts_for(const struct bench *b, int dirfd, int work)
{
	criu_opts *o = NULL;

	if (criu_local_init_opts(&o) < 0 ||
	    criu_local_set_service_binary(o, b->criu) < 0)
		FAIL("criu_local_init_opts\n");
	criu_local_set_images_dir_fd(o, dirfd);
	criu_local_set_work_dir_fd(o, work);
	criu_local_set_log_level(o, 2);
	return o;
}

static void dump_subject(const struct bench *b, struct store *s, pid_t pid,
			 int work)
{
	_cleanup_free_ char *reason = NULL;
	char link[64], exe[4096];
	struct store_deps deps = { .exe_path = exe, .pid = pid };
	struct store_writer *w;
	criu_opts *o;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0 || store_writer_begin(s, "bench-criu", &w) < 0)
		FAIL("set-up of the dump\n");
	exe[n] = '\0';

	o = criu_opts_for(b, store_writer_dirfd(w), work);
	criu_local_set_pid(o, pid);
	criu_local_set_leave_running(o, true);
	criu_local_set_log_file(o, "dump.log");
	if (criu_local_dump(o) < 0)
		FAIL("criu dump failed\n");
	criu_local_free_opts(o);
	if (store_writer_publish(w, &deps, &reason) < 0)
		FAIL("publish: %s\n", reason);
}

static void bench_restore(const struct bench *b)
{
	size_t size = 64 * MiB;
	struct store *s = open_store(b, NULL);
	uint64_t check[RUNS], restore[RUNS];
	char work_dir[] = "/var/tmp/thaw-bench-work.XXXXXX";
	char cmd[128];
	int work, i;
	pid_t pid;

	if (!mkdtemp(work_dir) ||
	    (work = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		FAIL("work dir\n");
	pid = subject(size, work_dir);
	usleep(300000);
	dump_subject(b, s, pid, work);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	for (i = 0; i < RUNS; i++) {
		struct store_image *img = NULL;
		criu_opts *o;
		uint64_t t0;

		if (store_image_open(s, "bench-criu", &img, NULL, NULL) < 0)
			FAIL("store_image_open\n");
		check[i] = store_image_check_usec(img);
		o = criu_opts_for(b, store_image_dirfd(img), work);
		criu_local_set_log_file(o, "restore.log");
		t0 = now_usec(CLOCK_MONOTONIC);
		pid = criu_local_restore_child(o);
		restore[i] = now_usec(CLOCK_MONOTONIC) - t0;
		criu_local_free_opts(o);
		store_image_close(img);
		if (pid <= 0)
			FAIL("criu restore failed (log in %s)\n", work_dir);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}

	printf("\n%-24s %12s %12s %8s\n", "real CRIU, 64 MiB", "check usec",
	       "restore usec", "check %");
	printf("%-24s %12llu %12llu %8.1f\n", "",
	       (unsigned long long)median(check, RUNS),
	       (unsigned long long)median(restore, RUNS),
	       100.0 * (double)median(check, RUNS) /
		       (double)median(restore, RUNS));
	printf("BENCH name=criu_check_usec value=%llu unit=us mem_mib=64\n",
	       (unsigned long long)median(check, RUNS));
	printf("BENCH name=criu_restore_usec value=%llu unit=us mem_mib=64\n",
	       (unsigned long long)median(restore, RUNS));
	store_invalidate(s, "bench-criu", "bench done");
	store_free(s);
	close_fd(work);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "store-bench: %s failed\n", cmd);
}

/* Removes what the bench made; folders given on the command line stay. */
static void cleanup(const struct bench *b, const char *tdir, const char *pdir)
{
	static const char *const apps[] = { "bench-check", "bench-persist",
					    "bench-criu" };
	const char *dirs[] = { b->tmpfs, b->persist };
	char cmd[8400];
	size_t i, d;

	for (d = 0; d < 2; d++)
		for (i = 0; i < ARRAY_SIZE(apps); i++) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", dirs[d],
				 apps[i]);
			if (system(cmd) != 0)
				fprintf(stderr, "store-bench: %s failed\n",
					cmd);
		}
	if (b->tmpfs == tdir)
		rmdir(tdir);
	if (b->persist == pdir)
		rmdir(pdir);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "criu", required_argument, NULL, 'c' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "persist", required_argument, NULL, 'p' },
		{ "quick", no_argument, NULL, 'q' },
		{}
	};
	char tdir[] = "/dev/shm/thaw-bench.XXXXXX";
	char pdir[] = "/var/tmp/thaw-bench.XXXXXX";
	struct bench b = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
		if (c == 'c')
			b.criu = optarg;
		else if (c == 't')
			b.tmpfs = optarg;
		else if (c == 'p')
			b.persist = optarg;
		else if (c == 'q')
			b.quick = true;
		else
			return 1;
	}
	if (!b.criu)
		b.criu = getenv("THAW_CRIU");
	if (!b.tmpfs && !(b.tmpfs = mkdtemp(tdir)))
		FAIL("mkdtemp: %m\n");
	if (!b.persist && !(b.persist = mkdtemp(pdir)))
		FAIL("mkdtemp: %m\n");

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("store-bench: tmpfs tier %s, persistent tier %s\n", b.tmpfs,
	       b.persist);
	bench_check(&b);
	bench_persist(&b);
	if (b.criu)
		bench_restore(&b);
	cleanup(&b, tdir, pdir);
	return 0;
}
