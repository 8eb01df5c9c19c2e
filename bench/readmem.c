// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The machine's limit for a restore's main work: reads the page files of
 * a CRIU image (pages-*.img; every file with --all) into freshly mapped
 * anonymous memory, as a restore fills the app's memory, and prints the
 * bytes and the time it took.  With --drop-caches the page cache is
 * dropped first (a cold read from the persistent tier).
 *
 * usage: thaw-bench-readmem [--all] [--drop-caches] DIR
 * prints: BENCH name=read_limit value=<MiB/s> unit=MiB/s bytes=<n> usec=<t>
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static bool wanted(const char *name, bool all)
{
	if (name[0] == '.')
		return false;
	return all || (strncmp(name, "pages-", 6) == 0 &&
		       strstr(name, ".img") != NULL);
}

/* Reads one file into a new anonymous mapping; returns its size. */
static int64_t read_one(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t done = 0;
	char *mem;

	if (fd < 0 || fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return 0;

	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -ENOMEM;

	while (done < (size_t)st.st_size) {
		ssize_t k = read(fd, mem + done, (size_t)st.st_size - done);

		if (k <= 0)
			break;
		done += (size_t)k;
	}
	munmap(mem, (size_t)st.st_size);
	return (int64_t)done;
}

static int drop_caches(void)
{
	_cleanup_close_ int fd = -1;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		return negative_errno();
	return 0;
}

/* Reads every wanted file of dir; returns the bytes read or a negative
 * errno. */
static int64_t read_dir(const char *dir, bool all)
{
	struct dirent *de;
	int64_t bytes = 0;
	DIR *d = opendir(dir);

	if (!d)
		return negative_errno();

	while ((de = readdir(d))) {
		int64_t k;

		if (!wanted(de->d_name, all))
			continue;
		k = read_one(dirfd(d), de->d_name);
		if (k < 0) {
			fprintf(stderr, "readmem: %s: %s\n", de->d_name,
				strerror((int)-k));
			closedir(d);
			return k;
		}
		bytes += k;
	}
	closedir(d);
	return bytes;
}

int main(int argc, char **argv)
{
	bool all = false, drop = false;
	const char *dir = NULL;
	uint64_t start, usec;
	int64_t bytes;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--all"))
			all = true;
		else if (streq(argv[i], "--drop-caches"))
			drop = true;
		else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: %s [--all] [--drop-caches] DIR\n",
			argv[0]);
		return 2;
	}
	if (drop && drop_caches() < 0) {
		fprintf(stderr, "readmem: cannot drop the page cache\n");
		return 1;
	}

	start = now_usec(CLOCK_MONOTONIC);
	bytes = read_dir(dir, all);
	usec = now_usec(CLOCK_MONOTONIC) - start;
	if (bytes < 0) {
		fprintf(stderr, "readmem: %s: %s\n", dir,
			strerror((int)-bytes));
		return 1;
	}

	printf("BENCH name=read_limit value=%.1f unit=MiB/s bytes=%lld usec=%llu\n",
	       usec ? (double)bytes / 1048576.0 / ((double)usec / 1e6) : 0.0,
	       (long long)bytes, (unsigned long long)usec);
	return 0;
}
