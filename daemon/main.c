// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * thawd: the app manager and checkpoint service.  It starts apps cold or
 * restores them from their image, dumps an app when it asks, and serves
 * the control socket.  Only thawd runs CRIU.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "thaw-config.h"
#include "thawd.h"
#include "util.h"

#define DEFAULT_SOCKET	    "/run/thaw/thawd.sock"
#define DEFAULT_RUN_DIR	    "/run/thaw"
#define DEFAULT_APPS_DIR    "/etc/thaw/apps"
#define DEFAULT_TMPFS_DIR   "/run/thaw/images"
#define DEFAULT_DUMP_SEC    7
#define DEFAULT_RESTORE_SEC 3
#define DEFAULT_READY_SEC   30
#define DEFAULT_CLOSE_SEC   5

static const char usage[] =
	"Usage: thawd [OPTIONS]\n"
	"  --socket PATH         control socket (default " DEFAULT_SOCKET ")\n"
	"  --apps-dir DIR        app manifests (default " DEFAULT_APPS_DIR ")\n"
	"  --tmpfs-dir DIR       fast image tier (default " DEFAULT_TMPFS_DIR
	")\n"
	"  --persist-dir DIR     persistent image tier (none by default)\n"
	"  --tmpfs-budget BYTES  limit of the fast tier (K, M, G suffixes)\n"
	"  --mount-tmpfs         mount the fast tier as a tmpfs if it is none\n"
	"  --run-dir DIR         CRIU's work files (default " DEFAULT_RUN_DIR
	")\n"
	"  --criu PATH           CRIU binary (else $THAW_CRIU, else built-in)\n"
	"  --plugin-dir DIR      CRIU plugins (else $THAW_PLUGIN_DIR, else built-in)\n"
	"  --log-level LEVEL     err, warning, info, debug\n"
	"  --log-target TARGET   auto, stderr, syslog, journal\n"
	"  --dump-timeout SEC    deadline of a dump (default 7)\n"
	"  --restore-timeout SEC deadline of a restore (default 3)\n"
	"  --ready-timeout SEC   wait for an app's ready call (default 30)\n"
	"  --close-timeout SEC   SIGTERM to SIGKILL (default 5)\n"
	"  --no-checkpoint       never dump nor restore: every launch is cold\n"
	"  --group GROUP         callers' group: socket root:GROUP, mode 0660\n"
	"  --version, --help\n";

enum {
	OPT_SOCKET = 256,
	OPT_APPS_DIR,
	OPT_TMPFS_DIR,
	OPT_PERSIST_DIR,
	OPT_TMPFS_BUDGET,
	OPT_MOUNT_TMPFS,
	OPT_RUN_DIR,
	OPT_CRIU,
	OPT_PLUGIN_DIR,
	OPT_LOG_LEVEL,
	OPT_LOG_TARGET,
	OPT_DUMP_TIMEOUT,
	OPT_RESTORE_TIMEOUT,
	OPT_READY_TIMEOUT,
	OPT_CLOSE_TIMEOUT,
	OPT_NO_CHECKPOINT,
	OPT_GROUP,
	OPT_VERSION,
	OPT_HELP,
};

static const struct option options[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "apps-dir", required_argument, NULL, OPT_APPS_DIR },
	{ "tmpfs-dir", required_argument, NULL, OPT_TMPFS_DIR },
	{ "persist-dir", required_argument, NULL, OPT_PERSIST_DIR },
	{ "tmpfs-budget", required_argument, NULL, OPT_TMPFS_BUDGET },
	{ "mount-tmpfs", no_argument, NULL, OPT_MOUNT_TMPFS },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "criu", required_argument, NULL, OPT_CRIU },
	{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-target", required_argument, NULL, OPT_LOG_TARGET },
	{ "dump-timeout", required_argument, NULL, OPT_DUMP_TIMEOUT },
	{ "restore-timeout", required_argument, NULL, OPT_RESTORE_TIMEOUT },
	{ "ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT },
	{ "close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT },
	{ "no-checkpoint", no_argument, NULL, OPT_NO_CHECKPOINT },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0 },
};

static int parse_bytes(const char *s, uint64_t *ret)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		n <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		n <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		n <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int parse_seconds(const char *s, unsigned *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 1 || n > 3600)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

static int parse_option(struct config *cfg, int c, const char *arg, int *level,
			int *target)
{
	switch (c) {
	case OPT_SOCKET:
		cfg->socket_path = arg;
		return 0;
	case OPT_APPS_DIR:
		cfg->apps_dir = arg;
		return 0;
	case OPT_TMPFS_DIR:
		cfg->tmpfs_dir = arg;
		return 0;
	case OPT_PERSIST_DIR:
		cfg->persist_dir = arg;
		return 0;
	case OPT_TMPFS_BUDGET:
		return parse_bytes(arg, &cfg->tmpfs_budget);
	case OPT_MOUNT_TMPFS:
		cfg->mount_tmpfs = true;
		return 0;
	case OPT_RUN_DIR:
		cfg->run_dir = arg;
		return 0;
	case OPT_CRIU:
		cfg->criu = arg;
		return 0;
	case OPT_PLUGIN_DIR:
		cfg->plugin_dir = arg;
		return 0;
	case OPT_NO_CHECKPOINT:
		cfg->no_checkpoint = true;
		return 0;
	case OPT_GROUP:
		cfg->group = arg;
		return 0;
	case OPT_DUMP_TIMEOUT:
		return parse_seconds(arg, &cfg->dump_timeout);
	case OPT_RESTORE_TIMEOUT:
		return parse_seconds(arg, &cfg->restore_timeout);
	case OPT_READY_TIMEOUT:
		return parse_seconds(arg, &cfg->ready_timeout);
	case OPT_CLOSE_TIMEOUT:
		return parse_seconds(arg, &cfg->close_timeout);
	case OPT_LOG_LEVEL:
		*level = log_level_from_string(arg);
		return *level < 0 ? -EINVAL : 0;
	case OPT_LOG_TARGET:
		*target = log_target_from_string(arg);
		return *target < 0 ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

static void config_defaults(struct config *cfg)
{
	*cfg = (struct config){
		.socket_path = DEFAULT_SOCKET,
		.apps_dir = DEFAULT_APPS_DIR,
		.tmpfs_dir = DEFAULT_TMPFS_DIR,
		.run_dir = DEFAULT_RUN_DIR,
		.dump_timeout = DEFAULT_DUMP_SEC,
		.restore_timeout = DEFAULT_RESTORE_SEC,
		.ready_timeout = DEFAULT_READY_SEC,
		.close_timeout = DEFAULT_CLOSE_SEC,
	};
}

/* Returns 1 to go on, 0 to exit with success, negative on bad usage. */
static int parse_args(int argc, char **argv, struct config *cfg)
{
	int level = LOG_INFO, target = LOG_TARGET_AUTO, c;

	config_defaults(cfg);
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		if (c == OPT_HELP) {
			fputs(usage, stdout);
			return 0;
		}
		if (c == OPT_VERSION) {
			puts("thawd " THAW_VERSION);
			return 0;
		}
		if (c == '?' ||
		    parse_option(cfg, c, optarg, &level, &target) < 0) {
			if (c != '?')
				fprintf(stderr,
					"thawd: bad value '%s' of --%s\n",
					optarg, options[c - OPT_SOCKET].name);
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "thawd: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}

	if (!cfg->criu)
		cfg->criu = getenv("THAW_CRIU");
	if (!cfg->criu || !*cfg->criu)
		cfg->criu = THAW_CRIU_BINARY_DEFAULT;
	if (!cfg->plugin_dir)
		cfg->plugin_dir = getenv("THAW_PLUGIN_DIR");
	if (!cfg->plugin_dir || !*cfg->plugin_dir)
		cfg->plugin_dir = THAW_PLUGIN_DIR_DEFAULT;
	log_setup("thawd", (enum log_target)target, level);
	return 1;
}

static int load_apps(struct thawd *d)
{
	struct manifest **list;
	unsigned n;
	int r;

	r = app_manifest_load_dir(d->cfg.apps_dir, &list, &n);
	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot read the apps folder %s",
				 d->cfg.apps_dir);

	d->apps = calloc(n ? n : 1, sizeof(*d->apps));
	if (!d->apps) {
		app_manifest_array_free(list);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct app *a = &d->apps[i];

		a->d = d;
		a->m = TAKE_PTR(list[i]);
		a->pidfd = -1;
		a->lazy.pidfd = -1;
		a->out[0].fd = a->out[1].fd = -1;
		a->restore_r[0] = a->restore_r[1] = -1;
	}
	d->n_apps = n;
	free(list);
	log_info("%u app%s loaded from %s", n, n == 1 ? "" : "s",
		 d->cfg.apps_dir);
	return 0;
}

/* CRIU's version ("4.2.1"), as the binary itself prints it. */
static char *criu_version_of(const char *binary)
{
	char line[128], version[64];
	char *text = NULL;
	int fds[2];
	pid_t pid;
	FILE *f;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;

	pid = fork();
	if (pid == 0) {
		if (dup2(fds[1], STDOUT_FILENO) >= 0)
			execl(binary, binary, "--version", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);

	f = fdopen(fds[0], "re");
	if (!f) {
		close(fds[0]);
	} else {
		while (!text && fgets(line, sizeof(line), f))
			if (sscanf(line, "Version: %63s", version) == 1)
				text = strdup(version);
		fclose(f);
	}

	if (pid > 0)
		waitpid(pid, NULL, 0);
	return text;
}

/* The version of the HAL that apps load, when thawd can find it. */
static char *hal_version_of_system(void)
{
	const char *(*version)(void);
	char *text = NULL;
	void *lib;

	lib = dlopen("libhal-criu.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return NULL;

	version = (const char *(*)(void))dlsym(lib, "hal_version");
	if (version)
		text = strdup(version());
	dlclose(lib);
	return text;
}

static int open_store(struct thawd *d)
{
	struct store_config sc = {
		.tmpfs_dir = d->cfg.tmpfs_dir,
		.tmpfs_budget = d->cfg.tmpfs_budget,
		.mount_tmpfs = d->cfg.mount_tmpfs,
		.persist_dir = d->cfg.persist_dir,
	};
	_cleanup_free_ char *reason = NULL;
	int r;

	if (d->cfg.no_checkpoint) {
		log_info("checkpointing is off: every launch starts cold");
		return 0;
	}

	d->criu_version = criu_version_of(d->cfg.criu);
	d->hal_version = hal_version_of_system();
	d->has_uffd = lazy_pages_available();
	if (!d->has_uffd)
		log_warning(
			"no userfaultfd: apps asking for lazy pages are restored eagerly");
	sc.criu_version = d->criu_version;
	sc.hal_version = d->hal_version;

	r = store_open(&sc, &d->store, &reason);
	if (r < 0) {
		/* Apps still launch, cold. */
		log_errno(LOG_ERR, r,
			  "image store unusable, every launch starts cold: %s",
			  reason ? reason : "");
		d->store = NULL;
		return 0;
	}
	log_info("image store: tmpfs %s, persistent %s", d->cfg.tmpfs_dir,
		 d->cfg.persist_dir ? d->cfg.persist_dir : "none");
	return 0;
}

static bool all_stopped(struct thawd *d)
{
	if (d->ops)
		return false;
	for (unsigned i = 0; i < d->n_apps; i++)
		if (d->apps[i].state != APP_STOPPED)
			return false;
	return true;
}

static int on_exit_check(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct thawd *d = userdata;
	static unsigned ticks;

	/* Apps that linger past their close timeout are killed. */
	if (++ticks == 10u * (d->cfg.close_timeout + 1))
		for (unsigned i = 0; i < d->n_apps; i++)
			app_kill_tree(&d->apps[i]);
	if (all_stopped(d) || ticks > 10u * (d->cfg.close_timeout + 5))
		return sd_event_exit(d->event, 0);
	return sd_event_source_set_time_relative(s, 100000) ?:
		       sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si,
			void *userdata)
{
	struct thawd *d = userdata;
	sd_event_source *t = NULL;

	log_info("stopping: closing every app");
	sd_notify(0, "STOPPING=1");
	for (unsigned i = 0; i < d->n_apps; i++) {
		struct app *a = &d->apps[i];

		if (a->state != APP_STOPPED && a->state != APP_CLOSING &&
		    a->pidfd >= 0)
			app_close(a, NULL);
	}
	sd_event_source_set_enabled(d->listen_src, SD_EVENT_OFF);
	sd_event_add_time_relative(d->event, &t, CLOCK_MONOTONIC, 0, 0,
				   on_exit_check, d);
	sd_event_source_set_floating(t, true);
	sd_event_source_unref(t);
	return 0;
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si,
		      void *userdata)
{
	reap_strays(userdata);
	return 0;
}

static int setup_process(struct thawd *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGCHLD, SIGHUP };
	sigset_t mask;
	int r;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return log_errno(LOG_ERR, negative_errno(),
				 "cannot become the child subreaper");
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* libcriu forks CRIU with thawd's environment: the plugin folder
	 * is set once, before any thread exists. */
	if (access(d->cfg.plugin_dir, R_OK | X_OK) == 0)
		setenv("CRIU_LIBS_DIR", d->cfg.plugin_dir, 1);
	else
		log_warning(
			"no CRIU plugin folder %s: device fds cannot be dumped",
			d->cfg.plugin_dir);
	/* Marks the CRIU runs of this thawd, so that a thawd started after
	 * a crash can find them. */
	setenv(THAW_CRIU_OWNER_ENV, d->cfg.socket_path, 1);
	r = op_env_setup();
	if (r < 0)
		return r;
	if (mkdir(d->cfg.run_dir, 0700) < 0 && errno != EEXIST)
		return log_errno(LOG_ERR, negative_errno(), "cannot create %s",
				 d->cfg.run_dir);

	d->main_tid = (pid_t)gettid();
	d->base_env = calloc(2, sizeof(char *));
	if (!d->base_env)
		return -ENOMEM;
	d->base_env[0] =
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	return 0;
}

static int setup_loop(struct thawd *d)
{
	int r;

	r = sd_event_default(&d->event);
	if (r < 0)
		return r;
	r = sd_event_add_signal(d->event, NULL, SIGTERM, on_terminate, d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGINT, on_terminate,
					d);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGCHLD, on_sigchld, d);
	if (r >= 0)
		r = op_setup(d);
	if (r >= 0)
		r = server_listen(d);
	if (r >= 0)
		r = access_setup(d);
	return r;
}

static void thawd_done(struct thawd *d)
{
	server_done(d);
	for (unsigned i = 0; i < d->n_apps; i++) {
		struct app *a = &d->apps[i];

		app_kill_tree(a);
		lazy_server_stop(a);
		app_manifest_free(a->m);
		free(a->params);
		free(a->reason);
		free(a->workdir);
		free(a->dump_reason);
	}
	free(d->apps);
	free(d->base_env);
	store_free(d->store);
	free(d->criu_version);
	free(d->hal_version);
	sd_event_source_disable_unref(d->op_src);
	close_fd(d->op_efd);
	sd_event_unref(d->event);
}

int main(int argc, char **argv)
{
	struct thawd d = { .listen_fd = -1, .op_efd = -1 };
	int r;

	r = parse_args(argc, argv, &d.cfg);
	if (r <= 0)
		return r < 0 ? 2 : 0;

	r = setup_process(&d);
	if (r >= 0)
		r = load_apps(&d);
	if (r >= 0)
		app_end_leftovers(&d);
	if (r >= 0)
		r = open_store(&d);
	if (r >= 0)
		r = setup_loop(&d);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot start");
		thawd_done(&d);
		return 1;
	}

	log_info("thawd %s ready (CRIU %s, plugins %s)", THAW_VERSION,
		 d.cfg.criu, d.cfg.plugin_dir);
	sd_notify(0, "READY=1");
	r = sd_event_loop(d.event);
	thawd_done(&d);
	return r < 0 ? 1 : 0;
}
