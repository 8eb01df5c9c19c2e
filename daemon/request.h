/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * thawd's control requests: one JSON object per line,
 * {"method": NAME, "payload": {...}}.  The parser checks everything a
 * caller can get wrong (size, syntax, types, app ids) so that the rest of
 * thawd sees only well-formed requests.  It touches no global state and
 * is safe to call from any thread.
 */

#include <stdbool.h>
#include <stddef.h>

/* The longest request line, newline excluded. */
#define REQUEST_MAX_SIZE (64 * 1024)
/* The longest app id. */
#define REQUEST_ID_MAX 64

enum request_method {
	REQUEST_LAUNCH,
	REQUEST_CLOSE,
	REQUEST_RUNNING,
	REQUEST_LIFE_STATUS,
	REQUEST_SNAPSHOT,
	REQUEST_INVALIDATE,
	REQUEST_IMAGES,
	REQUEST_PREPARE,
	REQUEST_CHECKPOINT,
	REQUEST_READY,
	REQUEST_LAUNCH_PARAMS,
	_REQUEST_METHOD_MAX,
};

struct request {
	enum request_method method;
	/* The app id (validated by request_id_is_valid()); NULL when the
	 * method takes none. */
	char *id;
	/* launch: the params object as compact JSON text, "{}" if absent. */
	char *params;
	bool preload;	   /* launch */
	bool cold;	   /* launch */
	bool preload_only; /* closeByAppId */
	bool subscribe;	   /* running, getAppLifeStatus */
};

/*
 * Parses one request of @size bytes at @line (no newline needed; @line
 * need not be NUL-terminated).  A request holding a NUL byte, larger than
 * REQUEST_MAX_SIZE, not a JSON object, naming an unknown method, missing a
 * required field, carrying a field of the wrong type or an invalid app id
 * is refused.
 *
 * Returns 0 and the request in *ret (free with request_free()), or
 * -EINVAL (-E2BIG for size, -ENOMEM) with a readable reason in *ret_error
 * (caller frees; may be NULL).  Nothing is written on the other path.
 */
int request_parse(const char *line, size_t size, struct request **ret,
		  char **ret_error);

/* Frees a request; accepts NULL; returns NULL. */
struct request *request_free(struct request *request);

/*
 * Whether @id may name an app: 1 to REQUEST_ID_MAX characters of
 * [A-Za-z0-9._-], not starting with '.', no "..": never a path.
 */
bool request_id_is_valid(const char *id);

/* The method's wire name ("launch", "closeByAppId", ...). */
const char *request_method_to_string(enum request_method method);

/* Whether the method is one an app makes for itself (checkpoint, ready,
 * launchParams) rather than one of a manager caller. */
bool request_method_is_app_own(enum request_method method);
