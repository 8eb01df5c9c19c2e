// SPDX-License-Identifier: LGPL-2.1-or-later
#include "request.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Deep nesting costs the parser stack and means nothing to thawd. */
#define REQUEST_MAX_DEPTH 16

enum field_need {
	FIELD_NONE,
	FIELD_OPTIONAL,
	FIELD_REQUIRED,
	FIELD_REFUSED, /* an app's own request: it never names an app */
};

struct method_info {
	const char *name;
	enum field_need id;
	bool app_own;
};

static const struct method_info methods[_REQUEST_METHOD_MAX] = {
	[REQUEST_LAUNCH] = { "launch", FIELD_REQUIRED, false },
	[REQUEST_CLOSE] = { "closeByAppId", FIELD_REQUIRED, false },
	[REQUEST_RUNNING] = { "running", FIELD_NONE, false },
	[REQUEST_LIFE_STATUS] = { "getAppLifeStatus", FIELD_REQUIRED, false },
	[REQUEST_SNAPSHOT] = { "snapshot", FIELD_REQUIRED, false },
	[REQUEST_INVALIDATE] = { "invalidate", FIELD_REQUIRED, false },
	[REQUEST_IMAGES] = { "images", FIELD_NONE, false },
	[REQUEST_PREPARE] = { "prepare", FIELD_NONE, false },
	[REQUEST_CHECKPOINT] = { "checkpoint", FIELD_REFUSED, true },
	[REQUEST_READY] = { "ready", FIELD_REFUSED, true },
	[REQUEST_LAUNCH_PARAMS] = { "launchParams", FIELD_REFUSED, true },
};

const char *request_method_to_string(enum request_method method)
{
	if (method < 0 || method >= _REQUEST_METHOD_MAX)
		return NULL;
	return methods[method].name;
}

bool request_method_is_app_own(enum request_method method)
{
	return method >= 0 && method < _REQUEST_METHOD_MAX &&
	       methods[method].app_own;
}

bool request_id_is_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;

	n = strnlen(id, REQUEST_ID_MAX + 1);
	if (n == 0 || n > REQUEST_ID_MAX || id[0] == '.' || strstr(id, ".."))
		return false;

	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

struct request *request_free(struct request *request)
{
	if (!request)
		return NULL;
	free(request->id);
	free(request->params);
	free(request);
	return NULL;
}

static int fail(char **ret_error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (ret_error && vasprintf(&s, fmt, ap) >= 0)
		*ret_error = s;
	va_end(ap);
	return r;
}

static int method_from_string(const char *s)
{
	for (int i = 0; i < _REQUEST_METHOD_MAX; i++)
		if (streq(s, methods[i].name))
			return i;
	return -EINVAL;
}

/* Reads an optional boolean field; absent leaves *ret untouched. */
static int get_bool(struct json_object *payload, const char *key, bool *ret,
		    char **ret_error)
{
	struct json_object *v;

	if (!payload || !json_object_object_get_ex(payload, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(ret_error, -EINVAL, "field '%s' must be a boolean",
			    key);
	*ret = json_object_get_boolean(v);
	return 0;
}

static int get_id(struct json_object *payload, enum field_need need,
		  const char *method, char **ret, char **ret_error)
{
	struct json_object *v;
	const char *s;

	if (!payload || !json_object_object_get_ex(payload, "id", &v)) {
		if (need == FIELD_REQUIRED)
			return fail(ret_error, -EINVAL,
				    "field 'id' is missing");
		return 0;
	}
	if (need == FIELD_NONE)
		return 0;
	if (need == FIELD_REFUSED)
		return fail(ret_error, -EINVAL,
			    "'%s' takes no 'id': an app asks only for itself",
			    method);
	if (!json_object_is_type(v, json_type_string))
		return fail(ret_error, -EINVAL, "field 'id' must be a string");

	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s) ||
	    !request_id_is_valid(s))
		return fail(
			ret_error, -EINVAL,
			"field 'id' is no valid app id (1 to %d of [A-Za-z0-9._-], no '..', no leading '.')",
			REQUEST_ID_MAX);

	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int get_params(struct json_object *payload, char **ret, char **ret_error)
{
	struct json_object *v = NULL;
	const char *s = "{}";

	if (payload && json_object_object_get_ex(payload, "params", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return fail(ret_error, -EINVAL,
				    "field 'params' must be an object");
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	}

	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int parse_fields(struct json_object *payload, struct request *req,
			char **ret_error)
{
	int r;

	r = get_id(payload, methods[req->method].id, methods[req->method].name,
		   &req->id, ret_error);
	if (r < 0)
		return r;

	switch (req->method) {
	case REQUEST_LAUNCH:
		r = get_params(payload, &req->params, ret_error);
		if (r >= 0)
			r = get_bool(payload, "preload", &req->preload,
				     ret_error);
		if (r >= 0)
			r = get_bool(payload, "cold", &req->cold, ret_error);
		return r;
	case REQUEST_CLOSE:
		return get_bool(payload, "preloadOnly", &req->preload_only,
				ret_error);
	case REQUEST_RUNNING:
	case REQUEST_LIFE_STATUS:
		return get_bool(payload, "subscribe", &req->subscribe,
				ret_error);
	default:
		return 0;
	}
}

static int parse_object(struct json_object *obj, struct request **ret,
			char **ret_error)
{
	struct json_object *m, *payload = NULL;
	struct request *req;
	int method, r;

	if (!json_object_is_type(obj, json_type_object))
		return fail(ret_error, -EINVAL, "request is no JSON object");
	if (!json_object_object_get_ex(obj, "method", &m) ||
	    !json_object_is_type(m, json_type_string))
		return fail(ret_error, -EINVAL,
			    "field 'method' is missing or no string");

	method = method_from_string(json_object_get_string(m));
	if (method < 0)
		return fail(ret_error, -EINVAL, "unknown method");

	if (json_object_object_get_ex(obj, "payload", &payload) &&
	    !json_object_is_type(payload, json_type_object) &&
	    !json_object_is_type(payload, json_type_null))
		return fail(ret_error, -EINVAL,
			    "field 'payload' must be an object");
	if (payload && !json_object_is_type(payload, json_type_object))
		payload = NULL;

	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->method = method;

	r = parse_fields(payload, req, ret_error);
	if (r < 0) {
		request_free(req);
		return r;
	}

	*ret = req;
	return 0;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int request_parse(const char *line, size_t size, struct request **ret,
		  char **ret_error)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	int r;

	if (size > REQUEST_MAX_SIZE)
		return fail(ret_error, -E2BIG,
			    "request is larger than %d bytes",
			    REQUEST_MAX_SIZE);
	if (size == 0 || memchr(line, '\0', size))
		return fail(ret_error, -EINVAL,
			    size ? "request holds a NUL byte" :
				   "request is empty");

	tok = json_tokener_new_ex(REQUEST_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);

	obj = json_tokener_parse_ex(tok, line, (int)size);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_success &&
	    !is_blank(line + json_tokener_get_parse_end(tok),
		      size - json_tokener_get_parse_end(tok)))
		jerr = json_tokener_error_parse_unexpected;
	if (jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	json_tokener_free(tok);

	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return fail(ret_error, -EINVAL, "malformed JSON: %s",
			    json_tokener_error_desc(jerr));
	}

	r = parse_object(obj, ret, ret_error);
	json_object_put(obj);
	return r;
}
