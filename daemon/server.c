// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The control socket: connections, request lines, answers, streams.
 * Each caller is identified by SO_PEERCRED: an app when its pid lies in
 * the tree of an app thawd started, a manager caller otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "thawd.h"
#include "util.h"

struct conn {
	struct conn *next;
	struct thawd *d;
	int fd;
	sd_event_source *src;
	struct ucred cred;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len;
	bool paused;
	bool await_eof;
	bool dead;
	bool close_after_flush;
	bool sub_running;
	struct app *sub_app;
};

static void kick(struct thawd *d)
{
	sd_event_source_set_enabled(d->kick_src, SD_EVENT_ONESHOT);
}

static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	c->src = sd_event_source_disable_unref(c->src);
	kick(c->d);
}

static void conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (!c->paused || c->await_eof)
		ev |= EPOLLIN;
	if (c->out_len > 0)
		ev |= EPOLLOUT;
	/* A paused caller is still watched for hang-ups. */
	if (!ev)
		ev = EPOLLRDHUP;
	sd_event_source_set_io_events(c->src, ev);
}

static void conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out_len > 0) {
		n = send(c->fd, c->out, c->out_len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_kill(c);
			return;
		}
		c->out_len -= (size_t)n;
		memmove(c->out, c->out + n, c->out_len);
	}
	if (c->out_len == 0 && c->close_after_flush) {
		conn_kill(c);
		return;
	}
	conn_update_events(c);
}

int conn_send(struct conn *c, struct json_object *answer)
{
	const char *s;
	size_t n;
	char *p;

	if (!c || c->dead)
		return -ENOTCONN;
	s = json_object_to_json_string_ext(answer, JSON_C_TO_STRING_PLAIN);
	n = strlen(s);
	if (c->out_len + n + 1 > THAWD_MAX_OUTPUT) {
		log_warning("caller pid %d reads too slowly, dropped",
			    c->cred.pid);
		conn_kill(c);
		return -ENOBUFS;
	}

	p = realloc(c->out, c->out_len + n + 1);
	if (!p)
		return -ENOMEM;
	c->out = p;
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	conn_flush(c);
	return 0;
}

int conn_send_error(struct conn *c, int r, const char *fmt, ...)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *o;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (k < 0)
		text = NULL;

	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(0));
	json_object_object_add(o, "errorCode", json_object_new_int(r));
	json_object_object_add(o, "errorText",
			       json_object_new_string(text ? text :
							     strerror(-r)));
	k = conn_send(c, o);
	json_object_put(o);
	return k;
}

void conn_pause(struct conn *c)
{
	if (!c)
		return;
	c->paused = true;
	conn_update_events(c);
}

void conn_resume(struct conn *c)
{
	if (!c)
		return;
	c->paused = false;
	conn_update_events(c);
	kick(c->d);
}

void conn_await_eof(struct conn *c)
{
	c->await_eof = true;
	c->paused = true;
	conn_update_events(c);
}

pid_t server_conn_pid(struct conn *c)
{
	return c->cred.pid;
}

struct app *server_conn_app(struct conn *c)
{
	return app_of_pid(c->d, c->cred.pid);
}

static struct json_object *running_list(struct thawd *d)
{
	struct json_object *list = json_object_new_array();

	for (unsigned i = 0; i < d->n_apps; i++) {
		struct app *a = &d->apps[i];
		struct json_object *o;

		if (a->state == APP_STOPPED)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id",
				       json_object_new_string(a->m->id));
		json_object_object_add(o, "pid", json_object_new_int(a->pid));
		json_object_object_add(
			o, "state",
			json_object_new_string(app_state_to_string(a->state)));
		json_object_object_add(
			o, "start",
			json_object_new_string(app_start_to_string(a->start)));
		json_object_object_add(
			o, "since",
			json_object_new_double((double)a->since_usec / 1e6));
		json_object_array_add(list, o);
	}
	return list;
}

static void send_running(struct conn *c, bool subscribed)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	if (subscribed)
		json_object_object_add(o, "subscribed",
				       json_object_new_boolean(1));
	json_object_object_add(o, "running", running_list(c->d));
	conn_send(c, o);
	json_object_put(o);
}

static void send_life_status(struct conn *c, struct app *a, bool subscribed)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	if (subscribed)
		json_object_object_add(o, "subscribed",
				       json_object_new_boolean(1));
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): id required */
	json_object_object_add(o, "id", json_object_new_string(a->m->id));
	json_object_object_add(
		o, "state",
		json_object_new_string(app_state_to_string(a->state)));
	if (a->state != APP_STOPPED)
		json_object_object_add(o, "pid", json_object_new_int(a->pid));
	conn_send(c, o);
	json_object_put(o);
}

void server_notify_app(struct thawd *d, struct app *a)
{
	for (struct conn *c = d->conns; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->sub_running)
			send_running(c, true);
		if (c->sub_app == a)
			send_life_status(c, a, true);
	}
}

void server_forget_conn_refs(struct thawd *d, struct conn *c)
{
	for (unsigned i = 0; i < d->n_apps; i++) {
		struct app *a = &d->apps[i];

		if (a->launch_conn == c)
			a->launch_conn = NULL;
		if (a->close_conn == c)
			a->close_conn = NULL;
		if (a->ckpt_conn == c)
			a->ckpt_conn = NULL;
	}
	snapshot_forget_conn(d, c);
}

static void send_ok_id(struct conn *c, const char *id)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	if (id)
		json_object_object_add(o, "id", json_object_new_string(id));
	conn_send(c, o);
	json_object_put(o);
}

static void do_close(struct conn *c, struct app *a, const struct request *req)
{
	int r;

	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): id required */
	if (a->state == APP_STOPPED) {
		conn_send_error(c, -ENOENT, "'%s' is not running", a->m->id);
		return;
	}
	if (req->preload_only && a->state != APP_PRELOADED) {
		conn_send_error(
			c, -EBUSY,
			"'%s' is %s, not preloaded: preloadOnly refuses to close it",
			a->m->id, app_state_to_string(a->state));
		return;
	}
	if (a->state == APP_CLOSING || a->pidfd < 0) {
		conn_send_error(c, -EBUSY, "'%s' is %s", a->m->id,
				app_state_to_string(a->state));
		return;
	}

	r = app_close(a, c);
	if (r < 0) {
		conn_send_error(c, r, "cannot close '%s': %s", a->m->id,
				strerror(-r));
		return;
	}
	conn_pause(c);
}

static void do_images(struct conn *c)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *o, *images;
	int r;

	if (!c->d->store) {
		conn_send_error(c, -ENOENT, "thawd has no image store");
		return;
	}
	r = store_describe(c->d->store, &text);
	if (r < 0) {
		conn_send_error(c, r,
				"the store cannot describe its images: %s",
				strerror(-r));
		return;
	}

	images = json_tokener_parse(text);
	o = json_object_new_object();
	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "images",
			       images ? images : json_object_new_string(text));
	conn_send(c, o);
	json_object_put(o);
}

static void do_invalidate(struct conn *c, struct app *a)
{
	int r;

	if (!c->d->store) {
		conn_send_error(c, -ENOENT, "thawd has no image store");
		return;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): id required */
	r = store_invalidate(c->d->store, a->m->id, "invalidated on request");
	if (r < 0) {
		conn_send_error(c, r, "cannot invalidate the image of '%s': %s",
				a->m->id, strerror(-r));
		return;
	}
	log_app(LOG_INFO, a->m->id, 0, "image invalidated on request");
	send_ok_id(c, a->m->id);
}

static void do_launch_params(struct conn *c, struct app *a)
{
	struct json_object *o = json_object_new_object();
	struct json_object *p =
		json_tokener_parse(a->params ? a->params : "{}");

	json_object_object_add(o, "returnValue", json_object_new_boolean(1));
	json_object_object_add(o, "params", p ? p : json_object_new_object());
	conn_send(c, o);
	json_object_put(o);
}

static void dispatch_app_own(struct conn *c, struct app *a,
			     const struct request *req)
{
	if (!a) {
		conn_send_error(c, -EPERM,
				"caller (pid %d) is no app started by thawd",
				c->cred.pid);
		return;
	}
	switch (req->method) {
	case REQUEST_CHECKPOINT:
		launch_checkpoint(a, c);
		break;
	case REQUEST_READY:
		launch_ready(a, c);
		break;
	default:
		do_launch_params(c, a);
		break;
	}
}

static void dispatch_manager(struct conn *c, const struct request *req)
{
	struct app *a = NULL;

	if (req->id && !(a = app_find(c->d, req->id))) {
		conn_send_error(c, -ENOENT, "no app '%s'", req->id);
		return;
	}

	switch (req->method) {
	case REQUEST_LAUNCH:
		launch_request(a, c, req);
		break;
	case REQUEST_CLOSE:
		do_close(c, a, req);
		break;
	case REQUEST_RUNNING:
		c->sub_running = c->sub_running || req->subscribe;
		send_running(c, req->subscribe);
		break;
	case REQUEST_LIFE_STATUS:
		if (req->subscribe)
			c->sub_app = a;
		send_life_status(c, a, req->subscribe);
		break;
	case REQUEST_INVALIDATE:
		do_invalidate(c, a);
		break;
	case REQUEST_IMAGES:
		do_images(c);
		break;
	case REQUEST_SNAPSHOT:
		snapshot_request(a, c);
		break;
	case REQUEST_PREPARE:
		prepare_request(c->d, c);
		break;
	default:
		conn_send_error(c, -EOPNOTSUPP, "'%s' is not supported yet",
				request_method_to_string(req->method));
		break;
	}
}

static bool is_manager(struct conn *c)
{
	return access_may_manage(c->d, c->fd, &c->cred);
}

static void dispatch(struct conn *c, const char *line, size_t size)
{
	_cleanup_free_ char *error = NULL;
	struct request *req = NULL;
	struct app *a;
	int r;

	r = request_parse(line, size, &req, &error);
	if (r < 0) {
		log_debug("bad request from pid %d: %s", c->cred.pid,
			  error ? error : strerror(-r));
		conn_send_error(c, r, "%s", error ? error : strerror(-r));
		return;
	}

	a = server_conn_app(c);
	if (request_method_is_app_own(req->method))
		dispatch_app_own(c, a, req);
	else if (a)
		conn_send_error(
			c, -EPERM,
			"an app may ask only for itself (checkpoint, ready, launchParams); '%s' is refused",
			request_method_to_string(req->method));
	else if (!is_manager(c))
		conn_send_error(c, -EPERM, "uid %u is not allowed to call '%s'",
				c->cred.uid,
				request_method_to_string(req->method));
	else
		dispatch_manager(c, req);
	request_free(req);
}

/* Serves every complete line in the input, as long as the caller waits
 * for no answer. */
static void conn_process(struct conn *c)
{
	char *nl;

	while (!c->dead && !c->paused &&
	       (nl = memchr(c->in, '\n', c->in_len))) {
		size_t n = (size_t)(nl - c->in);

		dispatch(c, c->in, n);
		c->in_len -= n + 1;
		memmove(c->in, nl + 1, c->in_len);
	}
	if (!c->dead && !c->paused && c->in_len > REQUEST_MAX_SIZE) {
		conn_send_error(c, -E2BIG, "request is larger than %d bytes",
				REQUEST_MAX_SIZE);
		c->in_len = 0;
		c->close_after_flush = true;
		conn_flush(c);
	}
}

static void conn_eof(struct conn *c)
{
	struct app *a = NULL;

	for (unsigned i = 0; i < c->d->n_apps; i++)
		if (c->d->apps[i].ckpt_conn == c)
			a = &c->d->apps[i];
	conn_kill(c);
	if (a)
		launch_checkpoint_eof(a);
}

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *c = userdata;
	ssize_t n;

	if (revents & EPOLLOUT)
		conn_flush(c);
	if (c->dead)
		return 0;
	if ((revents & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) && c->paused &&
	    !c->await_eof) {
		conn_kill(c);
		return 0;
	}
	if (!(revents & (EPOLLIN | EPOLLHUP)))
		return 0;

	n = read(fd, c->in + c->in_len, REQUEST_MAX_SIZE + 1 - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_eof(c);
		return 0;
	}
	if (c->await_eof)
		return 0; /* nothing more is expected: ignored */
	c->in_len += (size_t)n;
	conn_process(c);
	return 0;
}

static void conn_free(struct conn *c)
{
	server_forget_conn_refs(c->d, c);
	sd_event_source_disable_unref(c->src);
	close_fd(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static int on_kick(sd_event_source *s, void *userdata)
{
	struct thawd *d = userdata;
	struct conn **p = &d->conns;

	for (struct conn *c = d->conns; c; c = c->next)
		if (!c->dead && !c->paused)
			conn_process(c);

	while (*p) {
		struct conn *c = *p;

		if (!c->dead) {
			p = &c->next;
			continue;
		}
		*p = c->next;
		d->n_conns--;
		conn_free(c);
	}
	sd_event_source_set_enabled(d->listen_src, SD_EVENT_ON);
	return 0;
}

static int conn_new(struct thawd *d, int fd)
{
	socklen_t len = sizeof(struct ucred);
	struct conn *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->fd = fd;
	c->in = malloc(REQUEST_MAX_SIZE + 1);
	if (!c->in ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
		r = c->in ? negative_errno() : -ENOMEM;
		conn_free(c);
		return r;
	}

	r = sd_event_add_io(d->event, &c->src, fd, EPOLLIN, on_conn, c);
	if (r < 0) {
		conn_free(c);
		return r;
	}

	c->next = d->conns;
	d->conns = c;
	d->n_conns++;
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct thawd *d = userdata;
	int cfd;

	if (d->n_conns >= THAWD_MAX_CONNS) {
		/* Callers wait in the backlog until one goes. */
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return 0;
	if (conn_new(d, cfd) < 0)
		close(cfd);
	return 0;
}

/*
 * The socket is bound under a temporary name and renamed into place once
 * it listens: a client that sees the path can connect, with no window in
 * which connect() is refused between bind() and listen().
 */
static int socket_create(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old;
	int n, r;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();

	unlink(sa.sun_path);
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return negative_errno();
	if (listen(fd, 128) < 0 || rename(sa.sun_path, path) < 0) {
		r = negative_errno();
		unlink(sa.sun_path);
		return r;
	}
	return TAKE_FD(fd);
}

int server_listen(struct thawd *d)
{
	struct stat st;
	int n, r;

	n = sd_listen_fds(1);
	if (n > 1)
		return log_errno(LOG_ERR, -EINVAL,
				 "systemd passed %d sockets, thawd takes one",
				 n);
	if (n == 1) {
		d->listen_fd = SD_LISTEN_FDS_START;
		fcntl(d->listen_fd, F_SETFL, O_NONBLOCK);
		log_info("listening on the socket systemd passed");
	} else {
		d->listen_fd = socket_create(d->cfg.socket_path);
		if (d->listen_fd < 0)
			return log_errno(LOG_ERR, d->listen_fd,
					 "cannot listen on %s",
					 d->cfg.socket_path);
		log_info("listening on %s", d->cfg.socket_path);
	}
	if (fstat(d->listen_fd, &st) == 0 && stat(d->cfg.socket_path, &st) == 0)
		d->socket_gid = st.st_gid;

	r = sd_event_add_io(d->event, &d->listen_src, d->listen_fd, EPOLLIN,
			    on_accept, d);
	if (r < 0)
		return r;
	r = sd_event_add_defer(d->event, &d->kick_src, on_kick, d);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(d->kick_src, SD_EVENT_OFF);
}

void server_done(struct thawd *d)
{
	while (d->conns) {
		struct conn *c = d->conns;

		d->conns = c->next;
		conn_free(c);
	}
	d->kick_src = sd_event_source_disable_unref(d->kick_src);
	d->listen_src = sd_event_source_disable_unref(d->listen_src);
	d->listen_fd = close_fd(d->listen_fd);
}
