// SPDX-License-Identifier: LGPL-2.1-or-later
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "request.h"
#include "util.h"

/* A manifest is small; a larger file is a mistake. */
#define MANIFEST_MAX_SIZE    (256 * 1024)
#define MANIFEST_MAX_ITEMS   1024
#define MANIFEST_MAX_TIMEOUT 3600

static int bad(char **ret_error, const char *file, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(char **ret_error, const char *file, const char *field,
	       const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;

	if (field)
		r = asprintf(ret_error, "manifest %s: field '%s': %s", file,
			     field, what);
	else
		r = asprintf(ret_error, "manifest %s: %s", file, what);
	return r < 0 ? -ENOMEM : -EINVAL;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

struct manifest *app_manifest_free(struct manifest *m)
{
	if (!m)
		return NULL;
	free(m->file);
	free(m->id);
	free(m->exec);
	free(m->workdir);
	strv_free(m->argv);
	strv_free(m->env);
	strv_free(m->devices);
	free(m);
	return NULL;
}

void app_manifest_array_free(struct manifest **array)
{
	if (!array)
		return;
	for (struct manifest **p = array; *p; p++)
		app_manifest_free(*p);
	free(array);
}

/* A string without NUL bytes, or NULL. */
static const char *plain_string(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return NULL;
	return s;
}

/* Copies a JSON array of strings into a NULL-terminated vector, leaving
 * @skip free slots at its start. */
static int string_array(struct json_object *v, size_t skip, char ***ret,
			const char *file, const char *field, char **ret_error)
{
	size_t n;
	char **strv;

	if (!json_object_is_type(v, json_type_array))
		return bad(ret_error, file, field,
			   "must be an array of strings");
	n = json_object_array_length(v);
	if (n > MANIFEST_MAX_ITEMS)
		return bad(ret_error, file, field, "more than %d items",
			   MANIFEST_MAX_ITEMS);

	strv = calloc(skip + n + 1, sizeof(char *));
	if (!strv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = plain_string(json_object_array_get_idx(v, i));

		if (!s || !(strv[skip + i] = strdup(s))) {
			for (size_t j = 0; j < i; j++)
				free(strv[skip + j]);
			free(strv);
			return s ? -ENOMEM :
				   bad(ret_error, file, field,
				       "item %zu is no string", i);
		}
	}

	*ret = strv;
	return 0;
}

static int parse_env(struct json_object *v, struct manifest *m,
		     char **ret_error)
{
	size_t n = 0;
	char **strv;

	if (!json_object_is_type(v, json_type_object))
		return bad(ret_error, m->file, "env",
			   "must be an object of strings");
	if (json_object_object_length(v) > MANIFEST_MAX_ITEMS)
		return bad(ret_error, m->file, "env", "too many variables");

	strv = calloc(json_object_object_length(v) + 1, sizeof(char *));
	if (!strv)
		return -ENOMEM;
	m->env = strv;

	json_object_object_foreach(v, key, val) {
		const char *s = plain_string(val);

		if (!*key || strchr(key, '='))
			return bad(ret_error, m->file, "env",
				   "'%s' is no variable name", key);
		if (!s)
			return bad(ret_error, m->file, "env",
				   "value of '%s' is no string", key);
		if (asprintf(&strv[n], "%s=%s", key, s) < 0) {
			strv[n] = NULL;
			return -ENOMEM;
		}
		n++;
	}
	return 0;
}

static int parse_bool(struct json_object *obj, const char *key, bool *ret,
		      const char *file, char **ret_error)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(ret_error, file, key, "must be true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

static int parse_timeouts(struct json_object *v, struct manifest *m,
			  char **ret_error)
{
	static const char *const names[] = { "ready", "dump", "restore",
					     "close" };
	unsigned *slots[] = { &m->ready_timeout, &m->dump_timeout,
			      &m->restore_timeout, &m->close_timeout };

	if (!json_object_is_type(v, json_type_object))
		return bad(ret_error, m->file, "timeouts", "must be an object");

	json_object_object_foreach(v, key, val) {
		size_t i;
		int64_t n;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (streq(key, names[i]))
				break;
		if (i == ARRAY_SIZE(names))
			return bad(
				ret_error, m->file, "timeouts",
				"unknown timeout '%s' (ready, dump, restore, close)",
				key);
		n = json_object_get_int64(val);
		if (!json_object_is_type(val, json_type_int) || n < 1 ||
		    n > MANIFEST_MAX_TIMEOUT)
			return bad(
				ret_error, m->file, "timeouts",
				"'%s' must be an integer of seconds from 1 to %d",
				key, MANIFEST_MAX_TIMEOUT);
		*slots[i] = (unsigned)n;
	}
	return 0;
}

static int parse_policy(struct json_object *v, struct manifest *m,
			char **ret_error)
{
	struct json_object *d;

	if (!json_object_is_type(v, json_type_object))
		return bad(ret_error, m->file, "policy", "must be an object");

	json_object_object_foreach(v, key, val) {
		(void)val;
		if (!streq(key, "devices"))
			return bad(ret_error, m->file, "policy",
				   "unknown entry '%s' (devices)", key);
	}

	if (!json_object_object_get_ex(v, "devices", &d))
		return 0;
	return string_array(d, 0, &m->devices, m->file, "policy.devices",
			    ret_error);
}

static int parse_id_exec(struct json_object *obj, struct manifest *m,
			 char **ret_error)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(obj, "id", &v))
		return bad(ret_error, m->file, "id", "is missing");
	s = plain_string(v);
	if (!s || !request_id_is_valid(s))
		return bad(
			ret_error, m->file, "id",
			"must be 1 to %d of [A-Za-z0-9._-], no '..', no leading '.'",
			REQUEST_ID_MAX);
	m->id = strdup(s);

	if (!json_object_object_get_ex(obj, "exec", &v))
		return bad(ret_error, m->file, "exec", "is missing");
	s = plain_string(v);
	if (!s || s[0] != '/')
		return bad(ret_error, m->file, "exec",
			   "must be an absolute path");
	m->exec = strdup(s);
	if (!m->id || !m->exec)
		return -ENOMEM;

	if (!json_object_object_get_ex(obj, "workingDirectory", &v))
		return 0;
	s = plain_string(v);
	if (!s || s[0] != '/')
		return bad(ret_error, m->file, "workingDirectory",
			   "must be an absolute path");
	m->workdir = strdup(s);
	return m->workdir ? 0 : -ENOMEM;
}

static int check_known(struct json_object *obj, struct manifest *m,
		       char **ret_error)
{
	static const char *const known[] = {
		"id",
		"exec",
		"args",
		"env",
		"checkpointable",
		"checkpoint",
		"policy",
		"timeouts",
		"waitReady",
		"description",
		"workingDirectory",
		"lazyPages",
	};

	json_object_object_foreach(obj, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (streq(key, known[i]))
				break;
		if (i == ARRAY_SIZE(known))
			return bad(ret_error, m->file, key, "unknown field");
	}
	return 0;
}

static int parse_fields(struct json_object *obj, struct manifest *m,
			char **ret_error)
{
	struct json_object *v;
	int r;

	r = check_known(obj, m, ret_error);
	if (r < 0)
		return r;

	r = parse_id_exec(obj, m, ret_error);
	if (r < 0)
		return r;

	if (json_object_object_get_ex(obj, "args", &v))
		r = string_array(v, 1, &m->argv, m->file, "args", ret_error);
	else if (!(m->argv = calloc(2, sizeof(char *))))
		r = -ENOMEM;
	if (r < 0)
		return r;
	/* NOLINTNEXTLINE(clang-analyzer-core.N*): bad() is < 0, not inlined */
	if (!(m->argv[0] = strdup(m->exec)))
		return -ENOMEM;

	if (json_object_object_get_ex(obj, "env", &v))
		r = parse_env(v, m, ret_error);
	else if (!(m->env = calloc(1, sizeof(char *))))
		r = -ENOMEM;
	if (r < 0)
		return r;

	r = parse_bool(obj, "checkpointable", &m->checkpointable, m->file,
		       ret_error);
	m->wait_ready = m->checkpointable;
	if (r >= 0)
		r = parse_bool(obj, "waitReady", &m->wait_ready, m->file,
			       ret_error);
	if (r >= 0)
		r = parse_bool(obj, "checkpoint", &m->checkpoint, m->file,
			       ret_error);
	if (r >= 0)
		r = parse_bool(obj, "lazyPages", &m->lazy_pages, m->file,
			       ret_error);
	if (r >= 0 && json_object_object_get_ex(obj, "policy", &v))
		r = parse_policy(v, m, ret_error);
	if (r >= 0 && json_object_object_get_ex(obj, "timeouts", &v))
		r = parse_timeouts(v, m, ret_error);
	return r;
}

static int read_small_file(const char *path, char **ret, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return bad(ret_error, path, NULL, "cannot be read: %s",
			   strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX_SIZE)
		return bad(ret_error, path, NULL,
			   "is no regular file of at most %d bytes",
			   MANIFEST_MAX_SIZE);

	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return bad(ret_error, path, NULL, "cannot be read: %s",
			   strerror(errno));
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n))
		return bad(ret_error, path, NULL, "holds a NUL byte");

	*ret = TAKE_PTR(buf);
	return 0;
}

int app_manifest_load(const char *path, struct manifest **ret, char **ret_error)
{
	_cleanup_free_ char *text = NULL;
	struct json_object *obj;
	enum json_tokener_error jerr;
	struct manifest *m;
	int r;

	r = read_small_file(path, &text, ret_error);
	if (r < 0)
		return r;

	obj = json_tokener_parse_verbose(text, &jerr);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return bad(ret_error, path, NULL, "is no JSON object: %s",
			   obj ? "not an object" :
				 json_tokener_error_desc(jerr));
	}

	m = calloc(1, sizeof(*m));
	if (!m || !(m->file = strdup(path))) {
		free(m);
		json_object_put(obj);
		return -ENOMEM;
	}
	m->checkpoint = true;

	r = parse_fields(obj, m, ret_error);
	json_object_put(obj);
	if (r < 0) {
		app_manifest_free(m);
		return r;
	}

	*ret = m;
	return 0;
}

static int filter_json(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 5 &&
	       streq(de->d_name + n - 5, ".json");
}

static bool id_taken(struct manifest **array, unsigned n, const char *id)
{
	for (unsigned i = 0; i < n; i++)
		if (streq(array[i]->id, id))
			return true;
	return false;
}

static void load_one(const char *dir, const char *name, struct manifest **array,
		     unsigned *n)
{
	_cleanup_free_ char *path = NULL, *error = NULL;
	struct manifest *m;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return;

	r = app_manifest_load(path, &m, &error);
	if (r < 0) {
		log_err("%s, app refused", error ? error : strerror(-r));
		return;
	}
	/* NOLINTNEXTLINE(clang-analyzer-core.N*): bad() is < 0, not inlined */
	if (id_taken(array, *n, m->id)) {
		log_err("manifest %s: field 'id': '%s' is already defined, app refused",
			path, m->id);
		app_manifest_free(m);
		return;
	}

	array[(*n)++] = m;
}

int app_manifest_load_dir(const char *dir, struct manifest ***ret,
			  unsigned *ret_n)
{
	struct dirent **names = NULL;
	struct manifest **array;
	unsigned n = 0;
	int count;

	count = scandir(dir, &names, filter_json, alphasort);
	if (count < 0)
		return negative_errno();

	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	array = calloc((size_t)count + 1, sizeof(*array));
	for (int i = 0; i < count; i++) {
		if (array)
			load_one(dir, names[i]->d_name, array, &n);
		free(names[i]);
	}
	free(names);
	if (!array)
		return -ENOMEM;

	*ret = array;
	*ret_n = n;
	return 0;
}
