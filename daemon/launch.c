// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a launch does: restore when there is an image, start cold
 * otherwise or when the restore fails, answer once the app is ready; and
 * what an app's own checkpoint request does.  Every decision is logged
 * here, once.
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "thawd.h"
#include "util.h"

static unsigned timeout_of(unsigned app, unsigned global)
{
	return app ? app : global;
}

bool app_may_restore(struct app *a, const char **ret_why)
{
	const char *why = NULL;

	if (!a->d->store)
		why = "thawd has no image store";
	else if (a->d->cfg.no_checkpoint)
		why = "checkpointing is off in thawd";
	else if (!a->m->checkpoint)
		why = "checkpointing is off for the app";

	*ret_why = why;
	return !why;
}

/* A self-dump needs what a restore needs, and an app built for it. */
bool app_may_checkpoint(struct app *a, const char **ret_why)
{
	if (!app_may_restore(a, ret_why))
		return false;
	if (!a->m->checkpointable) {
		*ret_why = "the app is not checkpointable";
		return false;
	}
	return true;
}

static void wake(struct app *a, pid_t pid, int value)
{
	union sigval v = { .sival_int = value };

	if (sigqueue(pid, THAW_WAKE_SIGNAL, v) < 0)
		log_app(LOG_WARNING, a->m->id, pid,
			"cannot send the wake signal: %s", strerror(errno));
}

static void launch_answer_error(struct app *a, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void launch_answer_error(struct app *a, int r, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	struct conn *c = a->launch_conn;
	va_list ap;

	a->launch_conn = NULL;
	a->launch_pending = false;
	a->ready_timer = sd_event_source_disable_unref(a->ready_timer);
	if (!c)
		return;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	conn_send_error(c, r, "%s", text ? text : strerror(-r));
	conn_resume(c);
}

static void launch_answer(struct app *a, bool ready)
{
	struct conn *c = a->launch_conn;
	bool preloaded = a->launch_preload || a->state == APP_PRELOADED;
	struct json_object *o;
	double ms;

	a->launch_conn = NULL;
	a->ready_timer = sd_event_source_disable_unref(a->ready_timer);
	ms = (double)(now_usec(CLOCK_MONOTONIC) - a->launch_usec) / 1000.0;
	app_set_state(a, a->launch_preload ? APP_PRELOADED : APP_LAUNCHED);
	log_app(LOG_INFO, a->m->id, a->pid, "%s %s, %s in %.1f ms",
		a->launch_preload ? "preloaded" : "launched",
		app_start_to_string(a->start),
		ready ? "ready" : "no ready call", ms);
	if (!c)
		return;

	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(o, "pid", json_object_new_int(a->pid));
	json_object_object_add(
		o, "start",
		json_object_new_string(preloaded ?
					       "preloaded" :
					       app_start_to_string(a->start)));
	json_object_object_add(o, "readyMs", json_object_new_double(ms));
	json_object_object_add(o, "ready", json_object_new_boolean(ready));
	if (a->start == START_RESTORED)
		json_object_object_add(
			o, "lazyPages",
			json_object_new_boolean(a->restored_lazily));
	if (a->reason)
		json_object_object_add(o, "reason",
				       json_object_new_string(a->reason));
	if (a->dump_reason)
		json_object_object_add(o, "checkpointError",
				       json_object_new_string(a->dump_reason));
	conn_send(c, o);
	json_object_put(o);
	conn_resume(c);
}

static int on_ready_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct app *a = userdata;

	a->ready_timer = sd_event_source_disable_unref(a->ready_timer);
	if (a->start != START_RESTORED) {
		log_app(LOG_WARNING, a->m->id, a->pid,
			"not ready in time, answering the launch anyway");
		launch_answer(a, false);
		return 0;
	}

	free(a->reason);
	a->reason = strdup("restored app was not ready in time");
	log_app(LOG_WARNING, a->m->id, a->pid, "%s, killing it", a->reason);
	store_invalidate(a->d->store, a->m->id, a->reason);
	a->restart_cold = true;
	app_kill_tree(a);
	return 0;
}

static void arm_ready_timer(struct app *a)
{
	unsigned t = timeout_of(a->m->ready_timeout, a->d->cfg.ready_timeout);

	a->ready_timer = sd_event_source_disable_unref(a->ready_timer);
	if (sd_event_add_time_relative(a->d->event, &a->ready_timer,
				       CLOCK_MONOTONIC, (uint64_t)t * 1000000u,
				       0, on_ready_timeout, a) < 0)
		log_app(LOG_WARNING, a->m->id, a->pid, "no ready timer");
}

static void start_cold(struct app *a, enum app_start start, const char *reason)
{
	char *copy = reason ? strdup(reason) : NULL;
	int r;

	/* @reason may be a->reason itself. */
	free(a->reason);
	a->reason = copy;
	free(a->dump_reason);
	a->dump_reason = NULL;

	r = app_spawn_cold(a);
	if (r < 0) {
		log_app(LOG_ERR, a->m->id, 0, "cannot start %s: %s", a->m->exec,
			strerror(-r));
		app_set_state(a, APP_STOPPED);
		launch_answer_error(a, r, "cannot start '%s': %s", a->m->id,
				    strerror(-r));
		return;
	}

	a->start = start;
	app_set_state(a, APP_STARTING);
	if (a->reason)
		log_app(LOG_WARNING, a->m->id, a->pid,
			"started cold after a failed restore: %s", a->reason);
	else
		log_app(LOG_INFO, a->m->id, a->pid, "started cold");
	if (a->m->wait_ready)
		arm_ready_timer(a);
	else
		launch_answer(a, false);
}

static void start_restore(struct app *a)
{
	unsigned t =
		timeout_of(a->m->restore_timeout, a->d->cfg.restore_timeout);
	struct op *op;
	int r;

	op = op_new(a->d, a, OP_RESTORE);
	if (!op) {
		start_cold(a, START_COLD_AFTER_FAILED_RESTORE, "out of memory");
		return;
	}

	r = app_workdir_prepare(a);
	if (r >= 0)
		r = app_make_pipes(a->restore_r, op->pipe_w);
	if (r >= 0)
		r = op_start(a->d, op, t);
	if (r < 0) {
		for (int i = 0; i < 2; i++)
			a->restore_r[i] = close_fd(a->restore_r[i]);
		op_free(op);
		start_cold(a, START_COLD_AFTER_FAILED_RESTORE,
			   "cannot start a restore");
		return;
	}

	a->op = op;
	/* Not yet known: the running list must not show the last one's. */
	a->start = START_NONE;
	app_set_state(a, APP_RESTORING);
}

static bool wants_restore(struct app *a)
{
	const char *why;

	return !a->launch_cold && app_may_restore(a, &why) &&
	       store_has_image(a->d->store, a->m->id);
}

static void launch_go(struct app *a)
{
	a->launch_pending = false;
	if (wants_restore(a))
		start_restore(a);
	else
		start_cold(a, START_COLD, NULL);
}

static void answer_running(struct app *a, struct conn *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(o, "pid", json_object_new_int(a->pid));
	json_object_object_add(o, "start",
			       json_object_new_string("already-running"));
	json_object_object_add(o, "readyMs", json_object_new_double(0));
	conn_send(c, o);
	json_object_put(o);
}

/*
 * Announces a new launch to the running app.  While a dump of it is asked
 * for or under way the signal waits for the dump's end: sent before, it
 * would be pending in the image and reach every restored copy.
 */
static void signal_launch(struct app *a)
{
	union sigval v = { .sival_int = 0 };

	/* The signal would kill an app without libthaw (a snapshot's). */
	if (!a->m->checkpointable)
		return;
	if (a->ckpt_conn ||
	    (a->op && a->op->kind == OP_DUMP && a->op->seen_phase < 1)) {
		a->launch_signal_owed = true;
		return;
	}
	a->launch_signal_owed = false;
	if (sigqueue(a->pid, THAW_LAUNCH_SIGNAL, v) < 0)
		log_app(LOG_WARNING, a->m->id, a->pid,
			"cannot signal the launch: %s", strerror(errno));
}

/* Sends the launch signal a dump held back, once the dump is over. */
static void signal_launch_owed(struct app *a)
{
	if (a->launch_signal_owed &&
	    (a->state == APP_LAUNCHED || a->state == APP_PRELOADED))
		signal_launch(a);
	else
		a->launch_signal_owed = false;
}

static void promote_preloaded(struct app *a, struct conn *c,
			      const struct request *req)
{
	free(a->params);
	a->params = strdup(req->params);
	a->launch_conn = c;
	a->launch_usec = now_usec(CLOCK_MONOTONIC);
	a->launch_preload = false;
	signal_launch(a);
	launch_answer(a, true);
}

/* A launch of the launched app: its new params, announced as a preload's. */
static void relaunch_running(struct app *a, struct conn *c,
			     const struct request *req)
{
	free(a->params);
	a->params = strdup(req->params);
	log_app(LOG_INFO, a->m->id, a->pid, "launched again while running");
	signal_launch(a);
	answer_running(a, c);
}

void launch_request(struct app *a, struct conn *c, const struct request *req)
{
	const char *why;

	if (a->state == APP_LAUNCHED && !req->preload) {
		relaunch_running(a, c, req);
		return;
	}
	if (a->state == APP_PRELOADED && !req->preload) {
		conn_pause(c);
		promote_preloaded(a, c, req);
		return;
	}
	if (a->state != APP_STOPPED || a->launch_conn || a->launch_pending) {
		conn_send_error(c, -EBUSY, "'%s' is already %s", a->m->id,
				a->launch_conn ? "being launched" :
						 app_state_to_string(a->state));
		return;
	}
	if (req->preload && (req->cold || !app_may_restore(a, &why))) {
		conn_send_error(c, -EINVAL, "'%s' cannot be preloaded: %s",
				a->m->id,
				req->cold ? "a preload restores" : why);
		return;
	}
	if (req->preload && !store_has_image(a->d->store, a->m->id)) {
		conn_send_error(c, -ENOENT, "'%s' has no image to preload",
				a->m->id);
		return;
	}

	free(a->params);
	a->params = strdup(req->params);
	a->launch_conn = c;
	a->launch_usec = now_usec(CLOCK_MONOTONIC);
	a->launch_preload = req->preload;
	a->launch_cold = req->cold;
	conn_pause(c);

	if (a->op)
		a->launch_pending = true; /* after the store is done */
	else
		launch_go(a);
}

static void restore_failed(struct app *a, struct op *op)
{
	for (int i = 0; i < 2; i++)
		a->restore_r[i] = close_fd(a->restore_r[i]);
	app_set_state(a, APP_STOPPED);

	if (op->no_image && !a->launch_preload) {
		start_cold(a, START_COLD, NULL);
		return;
	}

	log_app(LOG_WARNING, a->m->id, 0, "restore failed: %s", op->reason);
	if (op->image_at_fault && !op->no_image)
		store_invalidate(a->d->store, a->m->id, op->reason);

	if (a->launch_preload)
		launch_answer_error(a, op->no_image ? -ENOENT : op->r,
				    "preload of '%s' failed: %s", a->m->id,
				    op->reason ? op->reason : "");
	else
		start_cold(a, START_COLD_AFTER_FAILED_RESTORE, op->reason);
}

static void restore_done(struct app *a, struct op *op)
{
	static const char *const tiers[] = { "tmpfs", "persistent tier" };
	pid_t target;
	int r;

	if (op->r < 0) {
		restore_failed(a, op);
		return;
	}

	/* Its pipes are the fresh ones now, for any later dump. */
	for (int i = 0; i < 2; i++) {
		struct stat st;

		a->pipe_ino[i] = fstat(a->restore_r[i], &st) == 0 ? st.st_ino :
								    0;
	}
	r = app_adopt(a, op->restored_pid, TAKE_FD(op->restored_pidfd),
		      a->restore_r);
	if (r < 0)
		log_app(LOG_ERR, a->m->id, op->restored_pid,
			"cannot supervise the restored app: %s", strerror(-r));

	a->start = START_RESTORED;
	a->restored_usec = now_usec(CLOCK_MONOTONIC);
	a->restored_lazily = op->lazy_pid > 0;
	if (op->lazy_pid > 0) {
		lazy_server_adopt(a, op->lazy_pid, TAKE_FD(op->lazy_pidfd),
				  TAKE_PTR(op->lazy_work));
		op->lazy_pid = 0;
	} else if (op->lazy_reason) {
		log_app(LOG_WARNING, a->m->id, a->pid, "restored eagerly: %s",
			op->lazy_reason);
	}
	free(a->reason);
	a->reason = NULL;
	target = app_host_pid(a, op->restored_nspid);
	log_app(LOG_INFO, a->m->id, a->pid,
		"restored%s from %s in %llu ms (image check %llu ms, CRIU %llu ms)%s%s",
		a->restored_lazily ? " lazily" : "", tiers[op->tier ? 1 : 0],
		(unsigned long long)(now_usec(CLOCK_MONOTONIC) -
				     op->start_usec) /
			1000,
		(unsigned long long)op->check_usec / 1000,
		(unsigned long long)op->criu_usec / 1000,
		op->repair ? ", " : "", op->repair ? op->repair : "");
	/* A snapshot's image (nspid 0): nobody inside waits for a signal,
	 * the app is ready as CRIU finishes. */
	if (op->restored_nspid <= 0) {
		launch_answer(a, true);
		return;
	}
	wake(a, target, THAW_WAKE_RESTORED);
	arm_ready_timer(a);
}

static void dump_verdict(struct app *a, struct op *op)
{
	if (op->r >= 0) {
		log_app(LOG_INFO, a->m->id, a->pid, "dumped in %llu ms",
			(unsigned long long)op->criu_usec / 1000);
		if (a->state != APP_STOPPED)
			wake(a, a->ckpt_pid, THAW_WAKE_DUMPED);
		return;
	}

	free(a->dump_reason);
	a->dump_reason = op->reason ? strdup(op->reason) : NULL;
	log_app(LOG_WARNING, a->m->id, a->pid,
		"dump failed, app keeps running: %s",
		op->reason ? op->reason : strerror(-op->r));
	if (a->state == APP_STOPPED)
		return;

	if (app_is_stopped(a->pid) || app_is_stopped(a->ckpt_pid)) {
		log_app(LOG_WARNING, a->m->id, a->pid,
			"left stopped by the failed dump, starting it again cold");
		a->restart_cold = true;
		app_kill_tree(a);
		return;
	}
	wake(a, a->ckpt_pid, op->r);
}

static void log_persist_result(struct app *a, struct op *op)
{
	if (op->persist_r < 0)
		log_app(LOG_WARNING, a->m->id, a->pid,
			"image not copied to the persistent tier: %s",
			op->persist_reason ? op->persist_reason :
					     strerror(-op->persist_r));
	else
		log_app(LOG_INFO, a->m->id, a->pid,
			"image copied to the persistent tier");
}

void launch_op_done(struct op *op)
{
	struct app *a = op->app;

	if (op->kind == OP_RESTORE) {
		/* Phase 1 is the restore; phase 2 ends the op, after the
		 * persistent copy was written again when a repair asked. */
		if (op->seen_phase == 1) {
			restore_done(a, op);
			return;
		}
		a->op = NULL;
		if (op->persist_r != 0)
			log_persist_result(a, op);
		op_free(op);
		if (a->launch_pending)
			launch_go(a);
		return;
	}

	if (op->seen_phase == 1) {
		if (op->outside)
			snapshot_verdict(op);
		else
			dump_verdict(a, op);
		signal_launch_owed(a);
		return;
	}

	a->op = NULL;
	if (op->r >= 0 && op->persist)
		log_persist_result(a, op);
	prepare_dump_done(op);
	op_free(op);
	if (a->launch_pending)
		launch_go(a);
}

void launch_ready(struct app *a, struct conn *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	conn_send(c, o);
	json_object_put(o);

	if (a->state == APP_STARTING || a->state == APP_RESTORING)
		launch_answer(a, true);
}

static int on_ckpt_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct app *a = userdata;

	a->ckpt_timer = sd_event_source_disable_unref(a->ckpt_timer);
	log_app(LOG_WARNING, a->m->id, a->pid,
		"asked for a checkpoint but kept its connection open, no dump");
	a->ckpt_conn = NULL;
	signal_launch_owed(a);
	return 0;
}

static void answer_checkpoint(struct conn *c, bool accepted, const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "accepted",
			       json_object_new_boolean(accepted));
	if (why)
		json_object_object_add(o, "reason",
				       json_object_new_string(why));
	conn_send(c, o);
	json_object_put(o);
}

void launch_checkpoint(struct app *a, struct conn *c)
{
	const char *why = NULL;

	if (!app_may_checkpoint(a, &why) ||
	    (a->op && (why = "an operation on its image is under way")) ||
	    (a->ckpt_conn && (why = "a checkpoint is already asked for"))) {
		log_app(LOG_INFO, a->m->id, a->pid, "no checkpoint: %s", why);
		answer_checkpoint(c, false, why);
		return;
	}

	a->ckpt_conn = c;
	a->ckpt_pid = server_conn_pid(c);
	a->ckpt_nspid = app_nspid(a->ckpt_pid);
	answer_checkpoint(c, true, NULL);
	conn_await_eof(c);
	sd_event_add_time_relative(
		a->d->event, &a->ckpt_timer, CLOCK_MONOTONIC,
		(uint64_t)timeout_of(a->m->dump_timeout,
				     a->d->cfg.dump_timeout) *
			1000000u,
		0, on_ckpt_timeout, a);
}

/*
 * Refuses the self-dump of an app connected over TCP to an outside peer;
 * tells in *ret_tcp whether CRIU has TCP connections to dump.
 */
static int refuse_outside_tcp(struct app *a, bool *ret_tcp)
{
	_cleanup_free_ char *first = NULL;
	int n = snapshot_outside_tcp(a, &first, ret_tcp);

	if (n <= 0)
		return 0;
	free(a->dump_reason);
	if (asprintf(&a->dump_reason,
		     "%d tcp connection%s to a peer outside the tree (%s)", n,
		     n == 1 ? "" : "s", first ? first : "?") < 0)
		a->dump_reason = NULL;
	log_app(LOG_WARNING, a->m->id, a->pid, "no dump: %s",
		a->dump_reason ? a->dump_reason : "tcp connection outside");
	return -EBUSY;
}

void launch_checkpoint_eof(struct app *a)
{
	unsigned t = timeout_of(a->m->dump_timeout, a->d->cfg.dump_timeout);
	struct op *op;
	bool tcp;
	int r;

	a->ckpt_conn = NULL;
	a->ckpt_timer = sd_event_source_disable_unref(a->ckpt_timer);
	if (a->state == APP_STOPPED || a->state == APP_CLOSING)
		return;
	r = refuse_outside_tcp(a, &tcp);
	if (r < 0) {
		wake(a, a->ckpt_pid, r);
		signal_launch_owed(a);
		return;
	}

	r = -ENOMEM;
	op = op_new(a->d, a, OP_DUMP);
	if (op) {
		op->pid = a->pid;
		op->ckpt_nspid = a->ckpt_nspid;
		op->tcp = tcp;
		op->pipe_ino[0] = a->pipe_ino[0];
		op->pipe_ino[1] = a->pipe_ino[1];
		op->exe = app_exe_path(a->pid, a->m->exec);
		r = op->exe ? op_start(a->d, op, t) : -ENOMEM;
	}
	if (r < 0) {
		op_free(op);
		log_app(LOG_WARNING, a->m->id, a->pid,
			"cannot start a dump: %s", strerror(-r));
		wake(a, a->ckpt_pid, r);
		signal_launch_owed(a);
		return;
	}
	a->op = op;
}

static void note_quick_death(struct app *a)
{
	if (a->start != START_RESTORED)
		return;
	if (now_usec(CLOCK_MONOTONIC) - a->restored_usec >
	    THAWD_QUICK_DEATH_USEC) {
		a->quick_deaths = 0;
		return;
	}
	if (++a->quick_deaths < THAWD_QUICK_DEATHS)
		return;

	log_app(LOG_WARNING, a->m->id, 0,
		"died soon after %u restores in a row, image invalidated",
		a->quick_deaths);
	store_invalidate(a->d->store, a->m->id,
			 "the app died soon after each restore");
	a->quick_deaths = 0;
}

static void answer_close(struct app *a)
{
	struct conn *c = a->close_conn;
	struct json_object *o;

	a->close_conn = NULL;
	if (!c)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	conn_send(c, o);
	json_object_put(o);
	conn_resume(c);
}

/* The launch waiting for an app that exited before its ready call. */
static void exited_unready(struct app *a, bool was_restored, bool closing)
{
	static const char why[] = "restored app exited before it was ready";

	/* Closed on request before it was ready: the image is not at fault. */
	if (closing) {
		launch_answer_error(a, -ECANCELED,
				    "'%s' was closed before it was ready",
				    a->m->id);
		return;
	}
	if (was_restored && a->launch_preload) {
		store_invalidate(a->d->store, a->m->id, why);
		launch_answer_error(a, -ECHILD, "preload of '%s' failed: %s",
				    a->m->id, why);
	} else if (was_restored) {
		store_invalidate(a->d->store, a->m->id, why);
		start_cold(a, START_COLD_AFTER_FAILED_RESTORE, why);
	} else {
		launch_answer_error(a, -ECHILD,
				    "'%s' exited before it was ready",
				    a->m->id);
	}
}

void launch_app_exited(struct app *a, int code, int status)
{
	bool was_restored = a->start == START_RESTORED;
	bool closing = a->state == APP_CLOSING;
	bool pages_lost = !closing && lazy_server_failed(a);

	prepare_app_exited(a);
	lazy_server_stop(a);
	if (code == CLD_EXITED)
		log_app(closing ? LOG_INFO : LOG_WARNING, a->m->id, a->pid,
			"exited with status %d", status);
	else
		log_app(closing ? LOG_INFO : LOG_WARNING, a->m->id, a->pid,
			"killed by signal %d (%s)", status, strsignal(status));

	a->ckpt_conn = NULL;
	a->ckpt_timer = sd_event_source_disable_unref(a->ckpt_timer);
	app_set_state(a, APP_STOPPED);
	a->pid = 0;
	answer_close(a);
	if (!closing && !pages_lost)
		note_quick_death(a);

	if (a->restart_cold || pages_lost) {
		a->restart_cold = false;
		start_cold(a,
			   was_restored ? START_COLD_AFTER_FAILED_RESTORE :
					  START_COLD,
			   was_restored ? a->reason : NULL);
		return;
	}
	if (!a->launch_conn)
		return;

	exited_unready(a, was_restored, closing);
}
