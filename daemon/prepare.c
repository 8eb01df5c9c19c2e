// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `prepare`: snapshot making.  Each checkpointable app without a valid
 * image is started cold, one at a time, and the request waits for the
 * dump the app asks for itself; an app prepare started is closed once
 * its dump is done.  The answer lists every app: dumped, or why not.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "thawd.h"
#include "util.h"

/* Beyond its ready and dump timeouts, what an app gets to ask. */
#define PREPARE_SLACK_SEC 5

struct prepare {
	struct conn *conn;
	struct json_object *apps; /* the answer's list */
	unsigned next;		  /* the next app to look at */
	struct app *cur;	  /* the app whose dump is awaited */
	bool started;		  /* cur was started by prepare */
	uint64_t cur_usec;	  /* CLOCK_MONOTONIC when cur began */
	sd_event_source *timer;
	unsigned n_dumped;
};

static void prepare_next(struct thawd *d);

static void result_add(struct prepare *p, struct app *a, bool dumped,
		       const char *why)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(o, "dumped", json_object_new_boolean(dumped));
	if (why)
		json_object_object_add(o, "reason",
				       json_object_new_string(why));
	json_object_array_add(p->apps, o);
	p->n_dumped += dumped;
	log_app(LOG_INFO, a->m->id, a->pid, "prepare: %s%s%s",
		dumped ? "dumped" : "not dumped", why ? ": " : "",
		why ? why : "");
}

/* Ends the wait for the current app, closing it if prepare started it. */
static void cur_done(struct thawd *d)
{
	struct prepare *p = d->prepare;
	struct app *a = p->cur;

	p->timer = sd_event_source_disable_unref(p->timer);
	p->cur = NULL;
	if (p->started && a->state != APP_STOPPED && a->state != APP_CLOSING &&
	    a->pidfd >= 0 && app_close(a, NULL) < 0)
		app_kill_tree(a);
	prepare_next(d);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct thawd *d = userdata;
	struct prepare *p = d->prepare;
	struct app *a = p->cur;
	_cleanup_free_ char *why = NULL;

	if (!a || a->op)
		return 0; /* its dump is under way: its own deadline holds */
	if (asprintf(&why, "did not ask for its dump within %llu s",
		     (unsigned long long)(now_usec(CLOCK_MONOTONIC) -
					  p->cur_usec) /
			     1000000) < 0)
		why = NULL;
	result_add(p, a, false, why ? why : "did not ask for its dump");
	cur_done(d);
	return 0;
}

static void wait_for(struct thawd *d, struct app *a, bool started)
{
	struct prepare *p = d->prepare;
	unsigned ready = a->m->ready_timeout ?: d->cfg.ready_timeout;
	unsigned dump = a->m->dump_timeout ?: d->cfg.dump_timeout;
	uint64_t t = (uint64_t)(ready + dump + PREPARE_SLACK_SEC) * 1000000u;

	p->cur = a;
	p->started = started;
	p->cur_usec = now_usec(CLOCK_MONOTONIC);
	if (sd_event_add_time_relative(d->event, &p->timer, CLOCK_MONOTONIC, t,
				       0, on_timeout, d) < 0)
		log_app(LOG_WARNING, a->m->id, a->pid, "prepare: no timer");
}

/* Starts the app cold, as a launch nobody waits for; false if it failed. */
static bool start(struct app *a)
{
	struct request req = {
		.method = REQUEST_LAUNCH,
		.id = a->m->id,
		.params = "{}",
		.cold = true,
	};

	launch_request(a, NULL, &req);
	return a->state != APP_STOPPED || a->launch_pending;
}

/* Looks at one app: returns true when prepare now waits for it. */
static bool look_at(struct thawd *d, struct app *a)
{
	struct prepare *p = d->prepare;
	_cleanup_free_ char *why_running = NULL;
	const char *why;

	if (!a->m->checkpointable) {
		result_add(p, a, false, "not checkpointable");
		return false;
	}
	if (!app_may_checkpoint(a, &why)) {
		result_add(p, a, false, why);
		return false;
	}
	if (store_has_image(d->store, a->m->id)) {
		result_add(p, a, false, "it has a valid image already");
		return false;
	}
	if (a->state == APP_STOPPED) {
		if (start(a)) {
			wait_for(d, a, true);
			return true;
		}
		result_add(p, a, false,
			   a->reason ? a->reason : "it cannot be started");
		return false;
	}
	if (a->op || a->ckpt_conn) {
		wait_for(d, a, false); /* its own dump is under way */
		return true;
	}
	if (asprintf(&why_running, "it runs (%s) without an image%s%s",
		     app_state_to_string(a->state),
		     a->dump_reason ? ": its dump failed: " : "",
		     a->dump_reason ? a->dump_reason : "") < 0)
		why_running = NULL;
	result_add(p, a, false, why_running ? why_running : "it runs");
	return false;
}

static void finish(struct thawd *d)
{
	struct prepare *p = TAKE_PTR(d->prepare);
	struct json_object *o = json_object_new_object();

	log_info("prepare done: %u app%s dumped", p->n_dumped,
		 p->n_dumped == 1 ? "" : "s");
	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "dumped", json_object_new_int(p->n_dumped));
	json_object_object_add(o, "apps", p->apps);
	if (p->conn) {
		conn_send(p->conn, o);
		conn_resume(p->conn);
	}
	json_object_put(o);
	free(p);
}

static void prepare_next(struct thawd *d)
{
	struct prepare *p = d->prepare;

	while (p->next < d->n_apps)
		if (look_at(d, &d->apps[p->next++]))
			return;
	finish(d);
}

void prepare_request(struct thawd *d, struct conn *c)
{
	struct prepare *p;

	if (d->prepare) {
		conn_send_error(c, -EBUSY, "a prepare is under way");
		return;
	}
	if (!d->store) {
		conn_send_error(c, -ENOENT, "thawd has no image store");
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		conn_send_error(c, -ENOMEM, "out of memory");
		return;
	}
	p->conn = c;
	p->apps = json_object_new_array();
	d->prepare = p;
	log_info("prepare: dumping every checkpointable app without an image");
	conn_pause(c);
	prepare_next(d);
}

void prepare_dump_done(struct op *op)
{
	struct thawd *d = op->d;
	struct prepare *p = d->prepare;
	struct app *a = op->app;
	_cleanup_free_ char *why = NULL;

	if (!p || p->cur != a || op->outside)
		return;
	if (op->r >= 0) {
		result_add(p, a, true, NULL);
	} else {
		if (asprintf(&why, "its dump failed: %s",
			     op->reason ? op->reason : strerror(-op->r)) < 0)
			why = NULL;
		result_add(p, a, false, why ? why : "its dump failed");
	}
	cur_done(d);
}

void prepare_app_exited(struct app *a)
{
	struct prepare *p = a->d->prepare;

	if (!p || p->cur != a || a->op)
		return;
	p->started = false; /* it is gone: nothing to close */
	result_add(p, a, false, "it exited before its dump");
	cur_done(a->d);
}

void prepare_forget_conn(struct thawd *d, struct conn *c)
{
	if (d->prepare && d->prepare->conn == c)
		d->prepare->conn = NULL;
}
