// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hal-criu-conformance LIB.so [--junit FILE] [--resources N]
 *
 * The runner: prepares the real resources (a scratch folder, a read-only
 * loop device, a Unix socket server), forks the child that loads the HAL
 * and checks it, dumps that child with real CRIU whenever it asks,
 * watches its stdout and stderr, and writes the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conformance.h"
#include "log.h"
#include "swrk.h"
#include "util.h"

#define CHILD_TIMEOUT_USEC (90 * 1000000ull)

static void log_add(struct conf_ctx *c, char tag, const char *test,
		    const char *fmt, va_list ap)
{
	struct conf_shared *sh = c->sh;
	size_t left = CONF_LOG_SIZE - sh->log_len;
	int n;

	if (left < 2)
		return;
	n = snprintf(sh->log + sh->log_len, left, "%c %s\t", tag, test);
	if (n > 0 && (size_t)n < left)
		n += vsnprintf(sh->log + sh->log_len + n, left - n, fmt, ap);
	if (n < 0 || (size_t)n + 1 >= left)
		return;
	/* One record per line: a multi-line report becomes one line. */
	for (char *q = sh->log + sh->log_len + 2; q < sh->log + sh->log_len + n;
	     q++)
		if (*q == '\n' ||
		    (*q == '\t' && q > strchr(sh->log + sh->log_len, '\t')))
			*q = ' ';
	sh->log[sh->log_len + n] = '\n';
	sh->log_len += n + 1;
}

bool conf_check(struct conf_ctx *c, bool ok, const char *test, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	log_add(c, ok ? 'P' : 'F', test, fmt, ap);
	va_end(ap);
	return ok;
}

void conf_info(struct conf_ctx *c, const char *test, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_add(c, 'I', test, fmt, ap);
	va_end(ap);
}

int conf_dump(struct conf_ctx *c)
{
	int want = c->sh->dump_req + 1;

	c->sh->dump_req = want;
	while (c->sh->dump_done != want)
		usleep(1000);
	return c->sh->dump_rc;
}

static int run_cmd_line(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	int r;

	if (!p)
		return -errno;
	if (!fgets(out, (int)size, p))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	r = pclose(p);
	return r == 0 && out[0] ? 0 : -EIO;
}

static int setup(struct conf_ctx *c)
{
	char cmd[512];

	snprintf(c->dir, sizeof(c->dir), "/tmp/hal-conformance-XXXXXX");
	if (!mkdtemp(c->dir))
		return -errno;

	snprintf(
		cmd, sizeof(cmd),
		"truncate -s 1M %s/loop.img && losetup -f --show -r %s/loop.img",
		c->dir, c->dir);
	if (run_cmd_line(cmd, c->loopdev, sizeof(c->loopdev)) < 0) {
		c->loopdev[0] = '\0';
		return -ENODEV;
	}
	return 0;
}

static void cleanup(struct conf_ctx *c)
{
	char cmd[512];

	if (c->loopdev[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", c->loopdev);
		if (system(cmd) != 0)
			log_err("cannot detach %s", c->loopdev);
	}
	if (c->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
		if (system(cmd) != 0)
			log_err("cannot remove %s", c->dir);
	}
}

/* Serves dump requests; counts what the child writes to stdout/stderr. */
static int supervise(struct conf_ctx *c, pid_t pid, int out_fd,
		     size_t *ret_output)
{
	uint64_t deadline = now_usec(CLOCK_MONOTONIC) + CHILD_TIMEOUT_USEC;
	int status, n = 0;

	*ret_output = 0;
	for (;;) {
		struct pollfd pfd = { .fd = out_fd, .events = POLLIN };
		char buf[512], dir[200];
		ssize_t got;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (now_usec(CLOCK_MONOTONIC) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -ETIMEDOUT;
		}

		if (poll(&pfd, 1, 1) > 0 &&
		    (got = read(out_fd, buf, sizeof(buf))) > 0)
			*ret_output += got;

		if (c->sh->dump_req == c->sh->dump_done)
			continue;

		snprintf(dir, sizeof(dir), "%s/dump-%d", c->dir, ++n);
		mkdir(dir, 0700);
		c->sh->dump_err[0] = '\0';
		c->sh->dump_rc = swrk_dump(pid, dir, c->sh->dump_err,
					   sizeof(c->sh->dump_err));
		c->sh->dump_done = c->sh->dump_req;
	}
}

static pid_t child_start(struct conf_ctx *c, const char *lib, int *ret_out)
{
	int out[2];
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;

	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(out[0]);
		close(out[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* A session of its own: CRIU dumps no foreign session. */
		setsid();
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close_range(3, ~0U, 0);
		_exit(conf_child_run(c, lib));
	}

	close(out[1]);
	*ret_out = out[0];
	return pid;
}

struct result {
	char tag;
	char test[64];
	char detail[512];
};

static size_t parse_log(const struct conf_shared *sh, struct result **ret)
{
	size_t n = 0, cap = 0;
	struct result *v = NULL;
	const char *p = sh->log, *end = sh->log + sh->log_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *tab = memchr(p, '\t', (nl ? nl : end) - p);
		struct result *r;

		if (!nl || !tab || tab - p < 2)
			break;
		if (n == cap) {
			struct result *grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				return 0;
			}
			v = grown;
		}
		r = &v[n++];
		r->tag = p[0];
		snprintf(r->test, sizeof(r->test), "%.*s", (int)(tab - p - 2),
			 p + 2);
		snprintf(r->detail, sizeof(r->detail), "%.*s",
			 (int)(nl - tab - 1), tab + 1);
		p = nl + 1;
	}
	*ret = v;
	return n;
}

static void xml_escaped(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static int junit_write(const char *path, const char *lib,
		       const struct result *v, size_t n, size_t failures)
{
	FILE *f = fopen(path, "we");
	size_t tests = 0;

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		tests += v[i].tag != 'I';

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f,
		"<testsuite name=\"hal-criu-conformance\" tests=\"%zu\" failures=\"%zu\">\n",
		tests, failures);
	fprintf(f, "  <properties><property name=\"library\" value=\"");
	xml_escaped(f, lib);
	fprintf(f, "\"/></properties>\n");
	for (size_t i = 0; i < n; i++) {
		if (v[i].tag == 'I')
			continue;
		fprintf(f, "  <testcase classname=\"hal\" name=\"");
		xml_escaped(f, v[i].test);
		fprintf(f, ": ");
		xml_escaped(f, v[i].detail);
		if (v[i].tag == 'P') {
			fprintf(f, "\"/>\n");
			continue;
		}
		fprintf(f, "\">\n    <failure message=\"");
		xml_escaped(f, v[i].detail);
		fprintf(f, "\"/>\n  </testcase>\n");
	}
	fprintf(f, "</testsuite>\n");
	return fclose(f) == 0 ? 0 : -errno;
}

/* Prints the readable report; returns the number of failures. */
static size_t report(const struct result *v, size_t n)
{
	size_t failures = 0, passes = 0;

	for (size_t i = 0; i < n; i++) {
		const char *tag = v[i].tag == 'P' ? "pass" :
				  v[i].tag == 'F' ? "FAIL" :
						    "info";

		printf("%s  %-22s %s\n", tag, v[i].test, v[i].detail);
		failures += v[i].tag == 'F';
		passes += v[i].tag == 'P';
	}
	printf("\n%zu checks passed, %zu failed\n", passes, failures);
	return failures;
}

static void usage(void)
{
	printf("usage: hal-criu-conformance LIB.so [--junit FILE] [--resources N]\n");
}

/* Returns 0 to run, or the exit code. */
static int parse_args(int argc, char **argv, struct conf_ctx *c,
		      const char **ret_junit, const char **ret_lib)
{
	static const struct option opts[] = {
		{ "junit", required_argument, NULL, 'j' },
		{ "resources", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "j:n:h", opts, NULL)) != -1) {
		if (o == 'j')
			*ret_junit = optarg;
		else if (o == 'n')
			c->n_mix = atoi(optarg);
		else {
			usage();
			return o == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc || c->n_mix < 0) {
		usage();
		return 2;
	}
	*ret_lib = argv[optind];
	return -1;
}

/* The budget check holds a thousand fds at once. */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Runs the child to its end; returns the number of failed checks, or
 * (size_t)-1 when the checks could not start.
 */
static size_t run(struct conf_ctx *c, struct peer *peer, const char *lib,
		  const char *junit)
{
	struct result *v = NULL;
	size_t output, n, failures;
	int out_fd, rc, r;
	pid_t pid;

	printf("hal-criu-conformance: %s (CRIU %s)\n\n", lib,
	       swrk_criu_binary());
	pid = child_start(c, lib, &out_fd);
	rc = pid < 0 ? negative_errno() : peer_run(peer);
	if (rc < 0) {
		log_errno(LOG_ERR, rc, "cannot start the checks");
		return (size_t)-1;
	}

	rc = supervise(c, pid, out_fd, &output);
	peer_stop(peer);
	conf_check(c, rc == 0, "runner", "checking process ended with %d", rc);
	conf_check(c, output == 0, "silence",
		   "%zu bytes written to stdout/stderr", output);

	n = parse_log(c->sh, &v);
	failures = report(v, n);
	if (junit && (r = junit_write(junit, lib, v, n, failures)) < 0)
		log_errno(LOG_ERR, r, "cannot write %s", junit);
	free(v);
	/* A library that does not load has no verdict. */
	return rc == CONF_EXIT_UNUSABLE ? (size_t)-1 : failures;
}

int main(int argc, char **argv)
{
	struct conf_ctx c = { .n_mix = 1000 };
	const char *junit = NULL, *lib = NULL;
	struct peer peer = { .stream_fd = -1,
			     .seqpacket_fd = -1,
			     .stop_fd = -1 };
	size_t failures;
	int r;

	log_setup("hal-criu-conformance", LOG_TARGET_STDERR, LOG_INFO);
	r = parse_args(argc, argv, &c, &junit, &lib);
	if (r >= 0)
		return r;
	nofile_raise();

	c.sh = mmap(NULL, sizeof(*c.sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	r = c.sh == MAP_FAILED ? -errno : setup(&c);
	if (r == 0)
		r = peer_listen(&peer, c.dir, &c.sh->stats);
	if (r < 0) {
		log_errno(LOG_ERR, r,
			  "set-up failed (a loop device and %s are needed)",
			  "/tmp");
		peer_stop(&peer);
		cleanup(&c);
		return 2;
	}
	c.peer = &peer;

	failures = run(&c, &peer, lib, junit);
	peer_stop(&peer);
	cleanup(&c);
	if (failures == (size_t)-1)
		return 2;
	return failures ? 1 : 0;
}
