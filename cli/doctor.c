// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/magic.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "thaw-config.h"
#include "util.h"

#define CRIU_MIN_MAJOR	   4
#define CRIU_MIN_MINOR	   2
#define RUN_TIMEOUT_MS	   30000
#define RUN_OUTPUT_MAX	   (64 * 1024)
#define PAGEMAP_SOFT_DIRTY (1ULL << 55)

struct finding {
	const char *criu;
	const char *criu_source;
	char version[32];
	bool version_ok;
	char check[256];
	bool check_ok;
	char uffd[64];
	bool has_uffd;
	bool has_timens;
	bool has_soft_dirty;
	bool run_is_tmpfs;
};

int doctor_version_parse(const char *text, int *ret_major, int *ret_minor,
			 int *ret_patch)
{
	const char *p = strstr(text, "Version:");
	int major, minor, patch = 0, n;

	if (!p)
		return -EINVAL;
	n = sscanf(p, "Version: %d.%d.%d", &major, &minor, &patch);
	if (n < 2 || major < 0 || minor < 0)
		return -EINVAL;
	*ret_major = major;
	*ret_minor = minor;
	*ret_patch = n == 3 ? patch : 0;
	return 0;
}

bool doctor_version_ok(int major, int minor)
{
	return major > CRIU_MIN_MAJOR ||
	       (major == CRIU_MIN_MAJOR && minor >= CRIU_MIN_MINOR);
}

static void child_exec(int out, const char *path, char *const argv[])
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	execv(path, argv);
	_exit(127);
}

/* Reads the child's output until it closes it or time runs out. */
static int collect(int fd, char *buf, size_t len, size_t *ret_used)
{
	uint64_t deadline =
		now_usec(CLOCK_MONOTONIC) + RUN_TIMEOUT_MS * 1000ULL;
	size_t used = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((deadline - now) / 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || used + (size_t)n >= len - 1) {
			used += n > 0 ? (size_t)n : 0;
			buf[used] = '\0';
			*ret_used = used;
			return 0;
		}
		used += (size_t)n;
	}
}

/*
 * Runs @path with @argv, its stdout and stderr together in @buf.  Returns
 * its exit status (0..255), or a negative errno when it could not run or
 * ran past the time limit (then it is killed).
 */
static int run_capture(const char *path, char *const argv[], char *buf,
		       size_t len)
{
	int pipefd[2], status, r;
	size_t used = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return negative_errno();

	pid = fork();
	if (pid < 0) {
		close_fd(pipefd[0]);
		close_fd(pipefd[1]);
		return negative_errno();
	}
	if (pid == 0)
		child_exec(pipefd[1], path, argv);

	close_fd(pipefd[1]);
	r = collect(pipefd[0], buf, len, &used);
	close_fd(pipefd[0]);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	if (!WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

/* The last non-empty line of @text, at most len - 1 bytes, in @out. */
static void last_line(const char *text, char *out, size_t len)
{
	const char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(out, len, "%.*s", (int)(end - start), start);
}

static void probe_criu(struct finding *f)
{
	char *const version_argv[] = { "criu", "--version", NULL };
	char *const check_argv[] = { "criu", "check", NULL };
	_cleanup_free_ char *buf = malloc(RUN_OUTPUT_MAX);
	int major, minor, patch, r;

	snprintf(f->version, sizeof(f->version), "unknown");
	snprintf(f->check, sizeof(f->check), "not run");
	if (!buf)
		return;

	r = run_capture(f->criu, version_argv, buf, RUN_OUTPUT_MAX);
	if (r != 0 || doctor_version_parse(buf, &major, &minor, &patch) < 0) {
		snprintf(f->version, sizeof(f->version), "%s",
			 r < 0 ? strerror(-r) : "cannot be read");
		return;
	}
	snprintf(f->version, sizeof(f->version), "%d.%d.%d", major, minor,
		 patch);
	f->version_ok = doctor_version_ok(major, minor);

	r = run_capture(f->criu, check_argv, buf, RUN_OUTPUT_MAX);
	if (r < 0) {
		snprintf(f->check, sizeof(f->check), "could not run: %s",
			 strerror(-r));
		return;
	}
	last_line(buf, f->check, sizeof(f->check));
	f->check_ok = r == 0 && strstr(buf, "Looks good");
}

static void probe_uffd(struct finding *f)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0) {
		close_fd(fd);
		f->has_uffd = true;
		snprintf(f->uffd, sizeof(f->uffd), "yes (lazy pages possible)");
		return;
	}
#ifdef USERFAULTFD_IOC_NEW
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close_fd(dev);
		if (fd >= 0) {
			close_fd(fd);
			f->has_uffd = true;
			snprintf(f->uffd, sizeof(f->uffd),
				 "yes, through /dev/userfaultfd");
			return;
		}
	}
#endif
	snprintf(f->uffd, sizeof(f->uffd), "no (%s): no lazy pages",
		 strerror(errno));
}

/* Clears the soft-dirty bits, dirties a page and looks for its bit. */
static bool probe_soft_dirty(void)
{
	long page = sysconf(_SC_PAGESIZE);
	_cleanup_close_ int clear = -1, map = -1;
	uint64_t entry = 0;
	bool dirty = false;
	char *p;

	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	p[0] = 1;

	clear = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	map = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (clear >= 0 && map >= 0 && write(clear, "4", 1) == 1) {
		off_t off = (off_t)((uintptr_t)p / (uintptr_t)page) * 8;

		p[0] = 2;
		if (pread(map, &entry, sizeof(entry), off) == sizeof(entry))
			dirty = entry & PAGEMAP_SOFT_DIRTY;
	}
	munmap(p, (size_t)page);
	return dirty;
}

static bool probe_run_tmpfs(void)
{
	struct statfs sf;

	return statfs("/run", &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

static void probe_all(struct finding *f)
{
	const char *env = getenv("THAW_CRIU");

	f->criu = env && *env ? env : THAW_CRIU_BINARY_DEFAULT;
	f->criu_source = env && *env ? "THAW_CRIU" : "built-in default";

	probe_criu(f);
	probe_uffd(f);
	f->has_timens = access("/proc/self/ns/time", F_OK) == 0;
	f->has_soft_dirty = probe_soft_dirty();
	f->run_is_tmpfs = probe_run_tmpfs();
}

static bool usable(const struct finding *f)
{
	return f->version_ok && f->check_ok;
}

static void text_print(const struct finding *f, FILE *out)
{
	fprintf(out, "%-16s %s (%s)\n", "CRIU", f->criu, f->criu_source);
	fprintf(out, "%-16s %s (thaw needs %d.%d or newer: %s)\n",
		"CRIU version", f->version, CRIU_MIN_MAJOR, CRIU_MIN_MINOR,
		f->version_ok ? "ok" : "too old or unknown");
	fprintf(out, "%-16s %s\n", "criu check", f->check);
	fprintf(out, "%-16s %s\n", "userfaultfd", f->uffd);
	fprintf(out, "%-16s %s\n", "time namespaces",
		f->has_timens ? "yes" : "no (restored clocks jump)");
	fprintf(out, "%-16s %s\n", "soft-dirty",
		f->has_soft_dirty ? "yes (pre-dump possible)" :
				    "no (no pre-dump, no incremental dumps)");
	fprintf(out, "%-16s %s\n", "/run on tmpfs",
		f->run_is_tmpfs ?
			"yes" :
			"no (CRIU cannot cache its kernel probe there)");
	if (usable(f))
		fprintf(out, "%-16s %s\n", "verdict",
			"Looks good: thaw can use this CRIU");
	else
		fprintf(out, "%-16s %s\n", "verdict",
			"CRIU is NOT usable: see above");
}

static void json_print(const struct finding *f, FILE *out)
{
	struct json_object *o = json_object_new_object();
	struct json_object *criu = json_object_new_object();
	struct json_object *k = json_object_new_object();

	json_object_object_add(criu, "path", json_object_new_string(f->criu));
	json_object_object_add(criu, "source",
			       json_object_new_string(f->criu_source));
	json_object_object_add(criu, "version",
			       json_object_new_string(f->version));
	json_object_object_add(criu, "versionOk",
			       json_object_new_boolean(f->version_ok));
	json_object_object_add(criu, "check", json_object_new_string(f->check));
	json_object_object_add(criu, "checkOk",
			       json_object_new_boolean(f->check_ok));
	json_object_object_add(k, "userfaultfd",
			       json_object_new_boolean(f->has_uffd));
	json_object_object_add(k, "timeNamespaces",
			       json_object_new_boolean(f->has_timens));
	json_object_object_add(k, "softDirty",
			       json_object_new_boolean(f->has_soft_dirty));
	json_object_object_add(k, "runIsTmpfs",
			       json_object_new_boolean(f->run_is_tmpfs));
	json_object_object_add(o, "criu", criu);
	json_object_object_add(o, "kernel", k);
	json_object_object_add(o, "usable", json_object_new_boolean(usable(f)));
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int cli_doctor(bool json, FILE *out)
{
	struct finding f = { 0 };

	probe_all(&f);
	if (json)
		json_print(&f, out);
	else
		text_print(&f, out);
	return usable(&f) ? EXIT_OK : EXIT_CRIU_UNUSABLE;
}
