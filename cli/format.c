// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

static const char *str_field(struct json_object *o, const char *key,
			     const char *fallback)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return fallback;
	return json_object_get_string(v);
}

static bool has_field(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static bool is_scalar(struct json_object *v)
{
	return !json_object_is_type(v, json_type_object) &&
	       !json_object_is_type(v, json_type_array);
}

void cli_value_print(FILE *out, struct json_object *v, int indent)
{
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child) {
			if (!child || is_scalar(child)) {
				fprintf(out, "%*s%s: %s\n", indent, "", key,
					child ? json_object_get_string(child) :
						"null");
				continue;
			}
			fprintf(out, "%*s%s:\n", indent, "", key);
			cli_value_print(out, child, indent + 2);
		}
		return;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (e && !is_scalar(e)) {
				fprintf(out, "%*s-\n", indent, "");
				cli_value_print(out, e, indent + 2);
			} else {
				fprintf(out, "%*s- %s\n", indent, "",
					e ? json_object_get_string(e) : "null");
			}
		}
		return;
	}
	fprintf(out, "%*s%s\n", indent, "",
		v ? json_object_get_string(v) : "null");
}

static void launch_print(struct json_object *ans, FILE *out)
{
	const char *id = str_field(ans, "id", "?");
	const char *start = str_field(ans, "start", "started");
	struct json_object *ms;

	fprintf(out, "%s: %s", id, start);
	if (has_field(ans, "pid"))
		fprintf(out, ", pid %s", str_field(ans, "pid", "?"));
	if (json_object_object_get_ex(ans, "readyMs", &ms) &&
	    !json_object_is_type(ms, json_type_null))
		fprintf(out, ", ready in %.1f ms", json_object_get_double(ms));
	fputc('\n', out);
	if (has_field(ans, "reason"))
		fprintf(out, "%s: restore failed: %s\n", id,
			str_field(ans, "reason", "?"));
}

/* "since" as thawd gives it (seconds since the epoch) in local time. */
static const char *since_text(struct json_object *e, char *buf, size_t len)
{
	struct json_object *v;
	struct tm tm;
	time_t t;

	if (!json_object_object_get_ex(e, "since", &v))
		return "-";
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return json_object_get_string(v);

	t = (time_t)json_object_get_double(v);
	if (!localtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return json_object_get_string(v);
	return buf;
}

static void running_print(struct json_object *ans, FILE *out)
{
	struct json_object *list;
	size_t n;

	if (!json_object_object_get_ex(ans, "running", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		cli_value_print(out, ans, 0);
		return;
	}

	n = json_object_array_length(list);
	if (n == 0) {
		fprintf(out, "no app is running\n");
		return;
	}
	fprintf(out, "%-20s %8s  %-12s %-26s %s\n", "ID", "PID", "STATE",
		"START", "SINCE");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		char since[64];

		fprintf(out, "%-20s %8s  %-12s %-26s %s\n",
			str_field(e, "id", "?"), str_field(e, "pid", "-"),
			str_field(e, "state", "-"), str_field(e, "start", "-"),
			since_text(e, since, sizeof(since)));
	}
}

/* One line per app: "home: dumped" or "home: not dumped: why". */
static void prepare_print(struct json_object *ans, FILE *out)
{
	struct json_object *list, *v;
	size_t n;

	if (!json_object_object_get_ex(ans, "apps", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		cli_value_print(out, ans, 0);
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		bool dumped = json_object_object_get_ex(e, "dumped", &v) &&
			      json_object_get_boolean(v);

		fprintf(out, "%s: %s", str_field(e, "id", "?"),
			dumped ? "dumped" : "not dumped");
		if (has_field(e, "reason"))
			fprintf(out, ": %s", str_field(e, "reason", ""));
		fputc('\n', out);
	}
	if (n == 0)
		fprintf(out, "no app to prepare\n");
}

/* The answer without returnValue, for the commands with no fixed form. */
static void rest_print(struct json_object *ans, FILE *out)
{
	struct json_object *copy = NULL;

	if (json_object_deep_copy(ans, &copy, NULL) < 0) {
		cli_value_print(out, ans, 0);
		return;
	}
	json_object_object_del(copy, "returnValue");
	cli_value_print(out, copy, 0);
	json_object_put(copy);
}

static void success_print(const struct cli_args *a, struct json_object *ans,
			  FILE *out)
{
	const char *id = str_field(ans, "id", a->id ?: "?");

	switch (a->command) {
	case CLI_LAUNCH:
		launch_print(ans, out);
		break;
	case CLI_CLOSE:
		fprintf(out, "%s: closed\n", id);
		break;
	case CLI_RUNNING:
		running_print(ans, out);
		break;
	case CLI_STATUS:
		fprintf(out, "%s: %s\n", id, str_field(ans, "state", "?"));
		break;
	case CLI_SNAPSHOT:
		fprintf(out, "%s: dumped into %s\n", id,
			str_field(ans, "image", "a new image"));
		break;
	case CLI_INVALIDATE:
		fprintf(out, "%s: image marked invalid\n", id);
		break;
	case CLI_PREPARE:
		prepare_print(ans, out);
		break;
	default:
		rest_print(ans, out);
		break;
	}
}

int cli_answer_print(const struct cli_args *a, struct json_object *answer,
		     FILE *out, FILE *err)
{
	struct json_object *rv;
	const char *what = cli_command_name(a->command);
	int code;

	if (!json_object_is_type(answer, json_type_object) ||
	    !json_object_object_get_ex(answer, "returnValue", &rv)) {
		/* A subscription's later lines carry no returnValue. */
		if (json_object_is_type(answer, json_type_object) &&
		    cli_command_streams(a)) {
			if (out)
				success_print(a, answer, out);
			return EXIT_OK;
		}
		fprintf(err, "thawctl: thawd's answer makes no sense\n");
		return EXIT_BAD_ANSWER;
	}

	if (json_object_get_boolean(rv)) {
		if (out)
			success_print(a, answer, out);
		return EXIT_OK;
	}

	code = atoi(str_field(answer, "errorCode", "0"));
	fprintf(err, "thawctl: %s%s%s: %s", what, a->id ? " " : "", a->id ?: "",
		str_field(answer, "errorText", "refused"));
	if (code < 0)
		fprintf(err, " (%s)", strerror(-code));
	fputc('\n', err);
	return EXIT_REFUSED;
}
