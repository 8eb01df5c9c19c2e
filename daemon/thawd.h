/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * thawd's internals, shared by its files.  Everything here runs on the
 * main thread (the sd-event loop) except the CRIU operations of
 * criu-op.c, which run in worker threads and meet the loop only through
 * struct op.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "manifest.h"
#include "request.h"

/* The signal libthaw waits for after asking for its dump. */
#ifndef THAW_WAKE_SIGNAL
#define THAW_WAKE_SIGNAL (SIGRTMIN + 4)
#endif
/* The signal that tells a running app a new launch has arrived. */
#ifndef THAW_LAUNCH_SIGNAL
#define THAW_LAUNCH_SIGNAL (SIGRTMIN + 5)
#endif
#define THAW_WAKE_DUMPED   1
#define THAW_WAKE_RESTORED 2

/* The most connections served at once; more wait in the backlog. */
#define THAWD_MAX_CONNS 128
/* What a subscriber may leave unread before it is dropped. */
#define THAWD_MAX_OUTPUT (1024 * 1024)
/* A restored app that dies this soon, this many times in a row, loses
 * its image. */
#define THAWD_QUICK_DEATH_USEC (10 * 1000000ULL)
#define THAWD_QUICK_DEATHS     2

struct store;
struct json_object;
struct conn;
struct op;
struct prepare;

struct config {
	const char *socket_path;
	const char *apps_dir;
	const char *tmpfs_dir;
	const char *persist_dir;
	const char *run_dir;
	const char *criu;
	const char *plugin_dir;
	const char *group; /* callers' group: a name or a number, or NULL */
	uint64_t tmpfs_budget;
	bool mount_tmpfs;
	bool no_checkpoint;
	unsigned dump_timeout;
	unsigned restore_timeout;
	unsigned ready_timeout;
	unsigned close_timeout;
};

enum app_state {
	APP_STOPPED,
	APP_STARTING,  /* cold start: waiting for ready */
	APP_RESTORING, /* restore under way or waiting for ready */
	APP_PRELOADED,
	APP_LAUNCHED,
	APP_CLOSING,
};

enum app_start {
	START_NONE,
	START_COLD,
	START_RESTORED,
	START_COLD_AFTER_FAILED_RESTORE,
};

/*
 * The `criu lazy-pages` daemon serving a lazily restored app's memory,
 * until it exits once every page is in place.
 */
struct lazy_server {
	pid_t pid; /* 0: none */
	int pidfd;
	sd_event_source *src;
	char *work; /* its folder: socket, log; removed when it ends */
	uint64_t start_usec;
};

struct outpipe {
	struct app *app;
	int fd; /* read end */
	sd_event_source *src;
	const char *name; /* "stdout", "stderr" */
	char line[1024];
	size_t len;
};

struct app {
	struct thawd *d;
	struct manifest *m;
	enum app_state state;
	enum app_start start;
	pid_t pid; /* root of the tree, in thawd's pid namespace */
	int pidfd;
	sd_event_source *pidfd_src;
	struct outpipe out[2];
	ino_t pipe_ino[2];	/* the pipes' inodes as the app sees them */
	uint64_t since_usec;	/* CLOCK_REALTIME of the last change */
	uint64_t restored_usec; /* CLOCK_MONOTONIC of the last restore */
	unsigned quick_deaths;
	char *params;
	char *reason;  /* why this launch did not restore */
	char *workdir; /* its working directory, made before each start */

	/* The launch (or preload) waiting for the app to be ready. */
	struct conn *launch_conn;
	uint64_t launch_usec; /* CLOCK_MONOTONIC of the request */
	bool launch_preload;
	bool launch_pending; /* waits for an operation to end */
	bool launch_cold;
	bool launch_signal_owed; /* THAW_LAUNCH_SIGNAL, after a dump */
	sd_event_source *ready_timer;

	/* The app's own checkpoint request, waiting for its EOF. */
	struct conn *ckpt_conn;
	pid_t ckpt_pid;	  /* who asked, in thawd's namespace */
	pid_t ckpt_nspid; /* who asked, in the app's namespace */
	sd_event_source *ckpt_timer;

	struct op *op;	   /* the CRIU operation under way, or NULL */
	int restore_r[2];  /* read ends of the pipes given to a restore */
	char *dump_reason; /* why its last dump failed */

	struct conn *snap_conn; /* a snapshot's caller, waiting */
	struct conn *close_conn;
	sd_event_source *kill_timer;
	bool restart_cold; /* start again once it has exited */
	bool restored_lazily;
	struct lazy_server lazy;
};

struct thawd {
	sd_event *event;
	struct config cfg;
	struct store *store;
	struct app *apps;
	unsigned n_apps;
	int listen_fd;
	sd_event_source *listen_src;
	struct conn *conns;
	unsigned n_conns;
	sd_event_source *kick_src;
	gid_t socket_gid;
	struct op *ops;
	int op_efd;
	sd_event_source *op_src;
	pid_t main_tid;
	char **base_env;
	uint64_t op_seq;
	struct prepare *prepare; /* the prepare under way, or NULL */
	/* What images depend on, as this system runs them; NULL when
	 * unknown, and then not compared. */
	char *criu_version;
	char *hal_version;
	bool has_uffd; /* the kernel gives userfaultfd: lazy restores */
};

/* server.c */
int server_listen(struct thawd *d);
void server_done(struct thawd *d);
int conn_send(struct conn *c, struct json_object *answer);
int conn_send_error(struct conn *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void conn_resume(struct conn *c);
void conn_pause(struct conn *c);
void conn_await_eof(struct conn *c);
void server_notify_app(struct thawd *d, struct app *a);
void server_forget_conn_refs(struct thawd *d, struct conn *c);
struct app *server_conn_app(struct conn *c);
pid_t server_conn_pid(struct conn *c);

/* app.c */
struct app *app_find(struct thawd *d, const char *id);
const char *app_state_to_string(enum app_state s);
const char *app_start_to_string(enum app_start s);
int app_spawn_cold(struct app *a);
int app_workdir_prepare(struct app *a);
/* The executable of @pid (from /proc), or a copy of @fallback. */
char *app_exe_path(pid_t pid, const char *fallback);
int app_adopt(struct app *a, pid_t pid, int pidfd, int out_fds[2]);
int app_make_pipes(int ret_read[2], int ret_write[2]);
void app_set_state(struct app *a, enum app_state s);
int app_close(struct app *a, struct conn *c);
void app_kill_tree(struct app *a);
bool app_is_stopped(pid_t pid);
struct app *app_of_pid(struct thawd *d, pid_t pid);
pid_t app_nspid(pid_t pid);
pid_t app_host_pid(struct app *a, pid_t nspid);
void reap_strays(struct thawd *d);
/* Ends the apps an earlier thawd on the same socket left orphaned. */
void app_end_leftovers(struct thawd *d);
/* Whether @pid is an app's root or a restore's result thawd holds. */
bool app_pid_is_tracked(struct thawd *d, pid_t pid);

/* lazy.c: lazy restores' page servers, on the main thread */
bool lazy_pages_available(void);
void lazy_server_adopt(struct app *a, pid_t pid, int pidfd, char *work);
void lazy_server_stop(struct app *a);
/* Whether the server of @a, whose app has just died, had ended before
 * every page was in place (its end is waited for briefly): then the
 * missing pages, not the image, killed the app. */
bool lazy_server_failed(struct app *a);

/* launch.c */
void launch_request(struct app *a, struct conn *c, const struct request *r);
void launch_ready(struct app *a, struct conn *c);
void launch_checkpoint(struct app *a, struct conn *c);
void launch_checkpoint_eof(struct app *a);
void launch_app_exited(struct app *a, int code, int status);
void launch_op_done(struct op *op);
bool app_may_checkpoint(struct app *a, const char **ret_why);
/* Whether thawd may restore @a: snapshots of apps without libthaw too. */
bool app_may_restore(struct app *a, const char **ret_why);

/* snapshot.c: dumps asked from outside the app */
void snapshot_request(struct app *a, struct conn *c);
void snapshot_verdict(struct op *op);
void snapshot_forget_conn(struct thawd *d, struct conn *c);
/*
 * How many TCP connections the tree of @a holds to peers outside it (a
 * self-dump refuses those, as a snapshot does: CRIU would dump them, but
 * a restored copy could not carry them on); the first one, described,
 * in *ret_first (NULL when none), which the caller frees.  *ret_inside
 * tells whether it holds one inside (or the census could not tell).
 */
int snapshot_outside_tcp(struct app *a, char **ret_first, bool *ret_inside);

/* prepare.c: snapshot making, each checkpointable app dumping itself */
void prepare_request(struct thawd *d, struct conn *c);
void prepare_dump_done(struct op *op);
void prepare_app_exited(struct app *a);
void prepare_forget_conn(struct thawd *d, struct conn *c);

/* access.c */
int access_setup(struct thawd *d);
bool access_may_manage(const struct thawd *d, int fd, const struct ucred *cred);

/* criu-op.c */
enum op_kind {
	OP_DUMP,
	OP_RESTORE,
};

struct op {
	struct op *next;
	struct thawd *d;
	struct app *app; /* main thread only */
	enum op_kind kind;
	bool outside; /* dump: a snapshot, nobody inside to wake */
	bool tcp;     /* dump: the tree holds a TCP connection */
	uint64_t seq;

	/* Inputs, copied before the thread starts. */
	char *id;
	struct store *store;
	const char *criu;
	const char *run_dir;
	bool persist;
	pid_t pid;	   /* dump: the tree's root */
	pid_t ckpt_nspid;  /* dump: who asked */
	char *exe;	   /* dump: the executable, for the deps */
	char *devfd_allow; /* the plugin's device patterns, ':'-separated */
	ino_t pipe_ino[2]; /* dump: the app's pipes */
	int pipe_w[2];	   /* restore: fresh pipes' write ends */
	bool lazy;	   /* restore: pages on demand, from a page server */

	/* Outputs, valid once done. */
	int r;
	char *reason;
	bool image_at_fault;
	bool no_image;
	pid_t restored_pid;
	int restored_pidfd;
	pid_t restored_nspid; /* restore: the process that asked at dump */
	uint64_t criu_usec;
	uint64_t check_usec;
	int tier;
	char *repair;
	char *persist_reason;
	int persist_r;
	pid_t lazy_pid; /* restore: the page server, still serving */
	int lazy_pidfd;
	char *lazy_work;
	char *lazy_reason; /* why a lazy restore went eager */

	/* Shared: written by one side, read by the other, atomically. */
	int tid;   /* the worker's thread id */
	int phase; /* 0 running, 1 verdict known, 2 finished */
	int timed_out;
	int seen_phase; /* main thread only */

	sd_event_source *deadline;
	uint64_t start_usec;
};

int op_start(struct thawd *d, struct op *op, unsigned timeout_sec);
struct op *op_new(struct thawd *d, struct app *a, enum op_kind kind);
void op_free(struct op *op);
int op_setup(struct thawd *d);
int op_env_setup(void);
/* Removes a restore's work folder, keeping its @log as @keep_as first
 * when both are given. */
void op_work_dir_remove(const char *path, const char *log, const char *keep_as);

/* In the environment of every CRIU that thawd runs: its socket's path. */
#define THAW_CRIU_OWNER_ENV "THAW_CRIU_OWNER"
