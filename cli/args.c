// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

struct command_info {
	const char *name;
	enum cli_command command;
	bool needs_id;
};

static const struct command_info commands[] = {
	{ "launch", CLI_LAUNCH, true },
	{ "close", CLI_CLOSE, true },
	{ "running", CLI_RUNNING, false },
	{ "status", CLI_STATUS, true },
	{ "snapshot", CLI_SNAPSHOT, true },
	{ "invalidate", CLI_INVALIDATE, true },
	{ "images", CLI_IMAGES, false },
	{ "prepare", CLI_PREPARE, false },
	{ "doctor", CLI_DOCTOR, false },
	{ "help", CLI_HELP, false },
};

const char *cli_command_name(enum cli_command c)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].command == c)
			return commands[i].name;
	return c == CLI_VERSION ? "version" : "?";
}

static const struct command_info *command_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A flag that only some commands take: accepted for those, else refused. */
static int command_flag(struct cli_args *a, const char *arg, bool *seen_cmd,
			char *err, size_t errlen)
{
	static const struct {
		const char *flag;
		enum cli_command c1, c2;
		size_t offset;
	} flags[] = {
		{ "--preload", CLI_LAUNCH, CLI_LAUNCH,
		  offsetof(struct cli_args, preload) },
		{ "--cold", CLI_LAUNCH, CLI_LAUNCH,
		  offsetof(struct cli_args, cold) },
		{ "--preload-only", CLI_CLOSE, CLI_CLOSE,
		  offsetof(struct cli_args, preload_only) },
		{ "--subscribe", CLI_RUNNING, CLI_STATUS,
		  offsetof(struct cli_args, subscribe) },
	};

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		if (!streq(arg, flags[i].flag))
			continue;
		if (!*seen_cmd ||
		    (a->command != flags[i].c1 && a->command != flags[i].c2))
			return fail(err, errlen, "%s is not an option of %s",
				    arg,
				    *seen_cmd ? cli_command_name(a->command) :
						"thawctl");
		*(bool *)((char *)a + flags[i].offset) = true;
		return 0;
	}
	return fail(err, errlen, "unknown option %s", arg);
}

static int params_check(const char *text, char *err, size_t errlen)
{
	struct json_object *o = json_tokener_parse(text);
	bool ok = o && json_object_is_type(o, json_type_object);

	json_object_put(o);
	if (!ok)
		return fail(err, errlen, "--params must be a JSON object");
	return 0;
}

/* Takes an option's value, as "--opt VALUE" or "--opt=VALUE". */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);
	const char *arg = argv[*i];

	if (strncmp(arg, name, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int positional(struct cli_args *a, const char *arg, bool *seen_cmd,
		      char *err, size_t errlen)
{
	const struct command_info *ci;

	if (!*seen_cmd) {
		ci = command_find(arg);
		if (!ci)
			return fail(err, errlen, "unknown command '%s'", arg);
		a->command = ci->command;
		*seen_cmd = true;
		return 0;
	}

	ci = command_find(cli_command_name(a->command));
	if (!ci || !ci->needs_id || a->id)
		return fail(err, errlen, "unexpected argument '%s'", arg);
	if (!*arg)
		return fail(err, errlen, "the app id must not be empty");
	a->id = arg;
	return 0;
}

static int parse_one(int argc, char **argv, int *i, struct cli_args *a,
		     bool *seen_cmd, char *err, size_t errlen)
{
	const char *arg = argv[*i], *v;

	if (streq(arg, "--json")) {
		a->json = true;
		return 0;
	}
	if (streq(arg, "-h") || streq(arg, "--help")) {
		a->command = CLI_HELP;
		*seen_cmd = true;
		return 1;
	}
	if (streq(arg, "--version")) {
		a->command = CLI_VERSION;
		*seen_cmd = true;
		return 1;
	}
	if (!strncmp(arg, "--socket", 8) && (arg[8] == '=' || !arg[8])) {
		v = option_value(argc, argv, i, "--socket");
		if (!v || !*v)
			return fail(err, errlen, "--socket needs a path");
		a->socket_path = v;
		return 0;
	}
	if (!strncmp(arg, "--params", 8) && (arg[8] == '=' || !arg[8])) {
		v = option_value(argc, argv, i, "--params");
		if (!v || !*seen_cmd || a->command != CLI_LAUNCH)
			return fail(err, errlen,
				    v ? "--params is an option of launch" :
					"--params needs a JSON object");
		a->params = v;
		return params_check(v, err, errlen);
	}
	if (arg[0] == '-' && arg[1])
		return command_flag(a, arg, seen_cmd, err, errlen);
	return positional(a, arg, seen_cmd, err, errlen);
}

int cli_args_parse(int argc, char **argv, struct cli_args *ret, char *err,
		   size_t errlen)
{
	struct cli_args a = { .command = CLI_HELP };
	const struct command_info *ci;
	bool seen_cmd = false;
	const char *env;

	for (int i = 1; i < argc; i++) {
		int r = parse_one(argc, argv, &i, &a, &seen_cmd, err, errlen);

		if (r < 0)
			return r;
		if (r > 0)
			break;
	}

	if (!seen_cmd)
		return fail(err, errlen, "no command given");
	ci = command_find(cli_command_name(a.command));
	if (ci && ci->needs_id && !a.id)
		return fail(err, errlen, "%s needs an app id", ci->name);

	if (!a.socket_path) {
		env = getenv("THAW_SOCKET");
		a.socket_path = env && *env ? env : THAWCTL_SOCKET_DEFAULT;
	}
	*ret = a;
	return 0;
}

bool cli_command_streams(const struct cli_args *a)
{
	return a->subscribe &&
	       (a->command == CLI_RUNNING || a->command == CLI_STATUS);
}

static const char *method_name(enum cli_command c)
{
	switch (c) {
	case CLI_LAUNCH:
		return "launch";
	case CLI_CLOSE:
		return "closeByAppId";
	case CLI_RUNNING:
		return "running";
	case CLI_STATUS:
		return "getAppLifeStatus";
	case CLI_SNAPSHOT:
		return "snapshot";
	case CLI_INVALIDATE:
		return "invalidate";
	case CLI_IMAGES:
		return "images";
	case CLI_PREPARE:
		return "prepare";
	default:
		return NULL;
	}
}

static void payload_fill(const struct cli_args *a, struct json_object *p)
{
	if (a->id)
		json_object_object_add(p, "id", json_object_new_string(a->id));

	if (a->command == CLI_LAUNCH) {
		struct json_object *params =
			a->params ? json_tokener_parse(a->params) : NULL;

		json_object_object_add(p, "params",
				       params ?: json_object_new_object());
		json_object_object_add(p, "preload",
				       json_object_new_boolean(a->preload));
		json_object_object_add(p, "cold",
				       json_object_new_boolean(a->cold));
	}
	if (a->command == CLI_CLOSE)
		json_object_object_add(
			p, "preloadOnly",
			json_object_new_boolean(a->preload_only));
	if (a->command == CLI_RUNNING || a->command == CLI_STATUS)
		json_object_object_add(p, "subscribe",
				       json_object_new_boolean(a->subscribe));
}

int cli_request_build(const struct cli_args *a, char **ret_line)
{
	const char *method = method_name(a->command);
	struct json_object *req, *payload;
	char *line;

	if (!method)
		return -EINVAL;

	req = json_object_new_object();
	payload = json_object_new_object();
	if (!req || !payload) {
		json_object_put(req);
		json_object_put(payload);
		return -ENOMEM;
	}
	json_object_object_add(req, "method", json_object_new_string(method));
	payload_fill(a, payload);
	json_object_object_add(req, "payload", payload);

	line = strdup(json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(req);
	if (!line)
		return -ENOMEM;
	*ret_line = line;
	return 0;
}

const char *cli_progress_text(const struct cli_args *a, char *buf, size_t len)
{
	static const struct {
		enum cli_command c;
		const char *verb;
	} verbs[] = {
		{ CLI_LAUNCH, "launching" },
		{ CLI_CLOSE, "closing" },
		{ CLI_SNAPSHOT, "dumping" },
		{ CLI_INVALIDATE, "invalidating" },
		{ CLI_PREPARE, "preparing images" },
		{ CLI_IMAGES, "reading the image store" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (verbs[i].c != a->command)
			continue;
		if (a->command == CLI_LAUNCH && a->preload)
			snprintf(buf, len, "preloading %s...", a->id);
		else if (a->id)
			snprintf(buf, len, "%s %s...", verbs[i].verb, a->id);
		else
			snprintf(buf, len, "%s...", verbs[i].verb);
		return buf;
	}
	return NULL;
}
