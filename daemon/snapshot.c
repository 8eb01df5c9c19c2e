// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Snapshots from outside: `snapshot {id}` dumps a running app at a moment
 * the caller chooses, whether or not it links libthaw, and leaves it
 * running.  The census of the app's tree, taken from outside before
 * anything is frozen, refuses the dump with the list of what would make
 * CRIU fail.  Nobody inside the app waits for a verdict: the image says
 * so (nspid 0 in thaw-app.json), and its restore is answered as soon as
 * CRIU is done.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thaw/hal.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "thawd.h"
#include "util.h"

/* The most processes of one app the census looks at. */
#define SNAPSHOT_MAX_PIDS 256

/* The app's processes, root first, breadth-first; returns how many. */
static size_t tree_pids(pid_t root, pid_t pids[SNAPSHOT_MAX_PIDS])
{
	size_t n = 0;

	pids[n++] = root;
	for (size_t head = 0; head < n; head++) {
		char path[64];
		pid_t child;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
			 pids[head], pids[head]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (n < SNAPSHOT_MAX_PIDS && fscanf(f, "%d", &child) == 1)
			pids[n++] = child;
		fclose(f);
	}
	return n;
}

static void policy_set(const struct manifest *m)
{
	hal_device_policy_clear();
	for (char **p = m->devices; p && *p; p++)
		if (hal_device_policy_add(*p, HAL_DEVICE_PLUGIN) < 0)
			break;
}

static struct json_object *entry_json(pid_t pid,
				      const struct hal_census_entry *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "fd", json_object_new_int(e->fd));
	json_object_object_add(o, "type", json_object_new_string(e->type));
	json_object_object_add(o, "name", json_object_new_string(e->name));
	json_object_object_add(o, "note", json_object_new_string(e->note));
	return o;
}

/* A TCP connection with both ends in the tree (named by its peer). */
static bool is_tcp_inside(const struct hal_census_entry *e)
{
	return e->verdict == HAL_VERDICT_DUMPS &&
	       strncmp(e->type, "tcp", 3) == 0 &&
	       strncmp(e->name, "peer ", 5) == 0;
}

/*
 * Adds the blockers of process @pid of the tree of @root to @list and
 * their lines to @text.  Peers count as inside against the whole tree.
 */
static int census_one(pid_t pid, pid_t root, struct json_object *list,
		      char **text, bool *tcp)
{
	struct hal_census *c = NULL;
	_cleanup_free_ char *lines = NULL;
	char *joined = NULL, *nl;
	int r;

	r = hal_census_take_tree(pid, root, &c);
	if (r == -ESRCH)
		return 0; /* gone meanwhile: nothing of it to dump */
	if (r < 0)
		return r;
	r = hal_census_format(c, true, &lines);
	for (size_t i = 0; r >= 0 && i < c->n_entries; i++) {
		*tcp |= is_tcp_inside(&c->entries[i]);
		if (c->entries[i].verdict == HAL_VERDICT_BLOCKS)
			json_object_array_add(list,
					      entry_json(pid, &c->entries[i]));
	}
	hal_census_free(c);
	if (r < 0)
		return r;

	/* One "pid N: fd ..." line per blocker. */
	for (char *l = lines; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (asprintf(&joined, "%s  pid %d: %s\n", *text ? *text : "",
			     pid, l) < 0)
			return -ENOMEM;
		free(*text);
		*text = joined;
	}
	return 0;
}

/*
 * Takes the census of every process of the app.  Returns the number of
 * blockers (their list in *ret_list, their text in *ret_text, whether a
 * TCP connection lies inside the tree in *ret_tcp) or a negative errno.
 */
static int census_tree(struct app *a, struct json_object **ret_list,
		       char **ret_text, bool *ret_tcp)
{
	struct json_object *list = json_object_new_array();
	pid_t pids[SNAPSHOT_MAX_PIDS];
	char *text = NULL;
	bool tcp = false;
	size_t n;
	int r = 0;

	policy_set(a->m);
	n = tree_pids(a->pid, pids);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = census_one(pids[i], a->pid, list, &text, &tcp);
	hal_device_policy_clear();
	if (r < 0) {
		json_object_put(list);
		free(text);
		return r;
	}

	r = (int)json_object_array_length(list);
	*ret_list = list;
	*ret_text = text;
	*ret_tcp = tcp;
	return r;
}

int snapshot_outside_tcp(struct app *a, char **ret_first, bool *ret_inside)
{
	pid_t pids[SNAPSHOT_MAX_PIDS];
	size_t n = tree_pids(a->pid, pids);
	char *first = NULL;
	bool inside = false;
	int found = 0, r;

	for (size_t i = 0; i < n; i++) {
		struct hal_census *c = NULL;

		r = hal_census_take_tree(pids[i], a->pid, &c);
		if (r < 0) {
			inside |= r != -ESRCH; /* CRIU judges what it finds */
			continue;
		}
		for (size_t j = 0; j < c->n_entries; j++) {
			const struct hal_census_entry *e = &c->entries[j];

			inside |= is_tcp_inside(e);
			if (e->verdict != HAL_VERDICT_BLOCKS ||
			    strncmp(e->type, "tcp", 3) != 0)
				continue;
			if (!found++ &&
			    asprintf(&first, "pid %d: fd %d %s %s", pids[i],
				     e->fd, e->type, e->name) < 0)
				first = NULL;
		}
		hal_census_free(c);
	}
	*ret_first = first;
	*ret_inside = inside;
	return found;
}

static void refuse_blockers(struct conn *c, struct app *a, int n,
			    struct json_object *list, const char *text)
{
	_cleanup_free_ char *msg = NULL;
	struct json_object *o;

	if (asprintf(
		    &msg,
		    "'%s' cannot be dumped, %d blocker%s (pid: fd, type, path or peer: verdict):\n%s",
		    a->m->id, n, n == 1 ? "" : "s", text ? text : "") < 0)
		msg = NULL;
	if (msg && msg[strlen(msg) - 1] == '\n')
		msg[strlen(msg) - 1] = '\0';
	log_app(LOG_WARNING, a->m->id, a->pid,
		"snapshot refused before freezing: %d blocker%s", n,
		n == 1 ? "" : "s");

	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(0));
	json_object_object_add(o, "errorCode", json_object_new_int(-EBUSY));
	json_object_object_add(o, "errorText",
			       json_object_new_string(msg ? msg : "blocked"));
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(o, "blockers", json_object_get(list));
	conn_send(c, o);
	json_object_put(o);
}

static int start_dump(struct app *a, bool tcp)
{
	unsigned t = a->m->dump_timeout ? a->m->dump_timeout :
					  a->d->cfg.dump_timeout;
	struct op *op;
	int r = -ENOMEM;

	op = op_new(a->d, a, OP_DUMP);
	if (op) {
		op->outside = true;
		op->tcp = tcp;
		op->pid = a->pid;
		op->ckpt_nspid = 0; /* nobody inside waits for a verdict */
		op->pipe_ino[0] = a->pipe_ino[0];
		op->pipe_ino[1] = a->pipe_ino[1];
		op->exe = app_exe_path(a->pid, a->m->exec);
		r = op->exe ? op_start(a->d, op, t) : -ENOMEM;
	}
	if (r < 0) {
		op_free(op);
		return r;
	}
	a->op = op;
	return 0;
}

/* Why @a cannot be snapshot now, or NULL; *ret_r gets the error code. */
static const char *refusal(struct app *a, int *ret_r)
{
	const char *why = NULL;

	*ret_r = -EBUSY;
	if (!app_may_restore(a, &why)) {
		*ret_r = -EOPNOTSUPP;
		return why;
	}
	if (a->state == APP_STOPPED) {
		*ret_r = -ENOENT;
		return "it is not running";
	}
	if (a->state != APP_LAUNCHED && a->state != APP_PRELOADED)
		return app_state_to_string(a->state);
	if (a->op)
		return "an operation on its image is under way";
	if (a->ckpt_conn)
		return "it asked for its own checkpoint";
	if (a->snap_conn)
		return "a snapshot of it is under way";
	return NULL;
}

void snapshot_request(struct app *a, struct conn *c)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *list = NULL;
	const char *why;
	bool tcp;
	int r;

	why = refusal(a, &r);
	if (why) {
		conn_send_error(c, r, "no snapshot of '%s': %s", a->m->id, why);
		return;
	}

	r = census_tree(a, &list, &text, &tcp);
	if (r < 0) {
		log_app(LOG_WARNING, a->m->id, a->pid,
			"no snapshot: census failed: %s", strerror(-r));
		conn_send_error(c, r, "no snapshot of '%s': census failed: %s",
				a->m->id, strerror(-r));
		return;
	}
	if (r > 0) {
		refuse_blockers(c, a, r, list, text);
		json_object_put(list);
		return;
	}
	json_object_put(list);

	r = start_dump(a, tcp);
	if (r < 0) {
		log_app(LOG_WARNING, a->m->id, a->pid,
			"cannot start a snapshot: %s", strerror(-r));
		conn_send_error(c, r, "cannot start a snapshot of '%s': %s",
				a->m->id, strerror(-r));
		return;
	}
	log_app(LOG_INFO, a->m->id, a->pid, "snapshot asked from outside");
	a->snap_conn = c;
	conn_pause(c);
}

static void answer_dumped(struct conn *c, struct app *a, struct op *op)
{
	_cleanup_free_ char *image = NULL;
	struct json_object *o;

	if (asprintf(&image, "%s/%s/current", a->d->cfg.tmpfs_dir, a->m->id) <
	    0)
		image = NULL;
	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(o, "pid", json_object_new_int(a->pid));
	if (image)
		json_object_object_add(o, "image",
				       json_object_new_string(image));
	json_object_object_add(
		o, "dumpMs",
		json_object_new_double((double)op->criu_usec / 1e3));
	conn_send(c, o);
	json_object_put(o);
}

void snapshot_verdict(struct op *op)
{
	struct app *a = op->app;
	struct conn *c = a->snap_conn;

	a->snap_conn = NULL;
	if (op->r >= 0) {
		log_app(LOG_INFO, a->m->id, a->pid,
			"snapshot dumped in %llu ms, app keeps running",
			(unsigned long long)op->criu_usec / 1000);
		if (c)
			answer_dumped(c, a, op);
	} else {
		log_app(LOG_WARNING, a->m->id, a->pid,
			"snapshot failed, app keeps running: %s",
			op->reason ? op->reason : strerror(-op->r));
		if (c)
			conn_send_error(c, op->r, "snapshot of '%s' failed: %s",
					a->m->id,
					op->reason ? op->reason :
						     strerror(-op->r));
	}
	if (a->state != APP_STOPPED && app_is_stopped(a->pid))
		log_app(LOG_WARNING, a->m->id, a->pid,
			"left stopped by the snapshot");
	conn_resume(c);
}

void snapshot_forget_conn(struct thawd *d, struct conn *c)
{
	for (unsigned i = 0; i < d->n_apps; i++)
		if (d->apps[i].snap_conn == c)
			d->apps[i].snap_conn = NULL;
	prepare_forget_conn(d, c);
}
