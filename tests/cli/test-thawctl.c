// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * thawctl without thawd: its argument parsing, the requests it builds,
 * how it prints answers for people and which exit codes they mean, and
 * doctor's reading of CRIU's version.
 */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cli.h"
#include "thawctl-help.h"

/* Ends the argument lists below (a bare NULL is no char * there). */
#define END ((char *)NULL)

static int parse(struct cli_args *a, char *err, ...)
{
	char *argv[16] = { "thawctl" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	for (char *s; (s = va_arg(ap, char *)); argc++)
		argv[argc] = s;
	va_end(ap);
	return cli_args_parse(argc, argv, a, err, 256);
}

static void test_parse_launch(void **state)
{
	struct cli_args a;
	char err[256];

	unsetenv("THAW_SOCKET");
	assert_int_equal(parse(&a, err, "launch", "home", "--params",
			       "{\"x\":1}", "--cold", END),
			 0);
	assert_int_equal(a.command, CLI_LAUNCH);
	assert_string_equal(a.id, "home");
	assert_string_equal(a.params, "{\"x\":1}");
	assert_true(a.cold);
	assert_false(a.preload);
	assert_false(a.json);
	assert_string_equal(a.socket_path, THAWCTL_SOCKET_DEFAULT);
}

static void test_parse_globals_anywhere(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "--json", "--socket", "/tmp/s",
			       "running", "--subscribe", END),
			 0);
	assert_true(a.json);
	assert_true(a.subscribe);
	assert_string_equal(a.socket_path, "/tmp/s");
	assert_true(cli_command_streams(&a));

	assert_int_equal(parse(&a, err, "close", "home", "--preload-only",
			       "--socket=/tmp/t", "--json", END),
			 0);
	assert_true(a.preload_only);
	assert_true(a.json);
	assert_string_equal(a.socket_path, "/tmp/t");
}

static void test_parse_env_socket(void **state)
{
	struct cli_args a;
	char err[256];

	setenv("THAW_SOCKET", "/run/other.sock", 1);
	assert_int_equal(parse(&a, err, "images", END), 0);
	assert_string_equal(a.socket_path, "/run/other.sock");
	assert_int_equal(parse(&a, err, "--socket", "/x", "images", END), 0);
	assert_string_equal(a.socket_path, "/x");
	unsetenv("THAW_SOCKET");
}

static void expect_usage(const char *want, ...)
{
	char *argv[16] = { "thawctl" };
	struct cli_args a;
	char err[256] = "";
	int argc = 1;
	va_list ap;

	va_start(ap, want);
	for (char *s; (s = va_arg(ap, char *)); argc++)
		argv[argc] = s;
	va_end(ap);
	assert_int_equal(cli_args_parse(argc, argv, &a, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' does not say '%s'", err, want);
}

static void test_parse_errors(void **state)
{
	expect_usage("no command", END);
	expect_usage("no command", "--json", END);
	expect_usage("unknown command", "lunch", "home", END);
	expect_usage("needs an app id", "launch", END);
	expect_usage("needs an app id", "status", END);
	expect_usage("unexpected argument", "launch", "a", "b", END);
	expect_usage("unexpected argument", "running", "home", END);
	expect_usage("JSON object", "launch", "a", "--params", "[1]", END);
	expect_usage("JSON object", "launch", "a", "--params", "{", END);
	expect_usage("needs a JSON", "launch", "a", "--params", END);
	expect_usage("option of launch", "close", "a", "--params", "{}", END);
	expect_usage("not an option of close", "close", "a", "--cold", END);
	expect_usage("not an option of images", "images", "--subscribe", END);
	expect_usage("needs a path", "--socket", END);
	expect_usage("unknown option", "images", "--frobnicate", END);
	expect_usage("empty", "status", "", END);
}

static void test_parse_help_version(void **state)
{
	struct cli_args a;
	char err[256];

	assert_int_equal(parse(&a, err, "--help", END), 0);
	assert_int_equal(a.command, CLI_HELP);
	assert_int_equal(parse(&a, err, "launch", "-h", END), 0);
	assert_int_equal(a.command, CLI_HELP);
	assert_int_equal(parse(&a, err, "--version", END), 0);
	assert_int_equal(a.command, CLI_VERSION);
	assert_int_equal(parse(&a, err, "doctor", "--json", END), 0);
	assert_int_equal(a.command, CLI_DOCTOR);
	assert_true(a.json);
}

/* The request line for a command line, parsed back. */
static struct json_object *request_of(const char *first, ...)
{
	char *argv[16] = { "thawctl", (char *)first };
	struct cli_args a;
	char err[256], *line = NULL;
	struct json_object *o;
	int argc = 2;
	va_list ap;

	va_start(ap, first);
	for (char *s; (s = va_arg(ap, char *)); argc++)
		argv[argc] = s;
	va_end(ap);
	assert_int_equal(cli_args_parse(argc, argv, &a, err, sizeof(err)), 0);
	assert_int_equal(cli_request_build(&a, &line), 0);
	assert_null(strchr(line, '\n'));
	o = json_tokener_parse(line);
	assert_non_null(o);
	free(line);
	return o;
}

static const char *at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_get_string(v);
}

static void test_requests(void **state)
{
	struct json_object *o;

	o = request_of("launch", "home", "--params", "{\"a\":[1]}", "--preload",
		       END);
	assert_string_equal(at(o, "method", NULL), "launch");
	assert_string_equal(at(o, "payload", "id"), "home");
	assert_string_equal(at(o, "payload", "preload"), "true");
	assert_string_equal(at(o, "payload", "cold"), "false");
	assert_non_null(strstr(at(o, "payload", "params"), "\"a\""));
	json_object_put(o);

	o = request_of("launch", "home", END);
	assert_string_equal(at(o, "payload", "params"), "{ }");
	json_object_put(o);

	o = request_of("close", "home", "--preload-only", END);
	assert_string_equal(at(o, "method", NULL), "closeByAppId");
	assert_string_equal(at(o, "payload", "preloadOnly"), "true");
	json_object_put(o);

	o = request_of("status", "livemenu", END);
	assert_string_equal(at(o, "method", NULL), "getAppLifeStatus");
	assert_string_equal(at(o, "payload", "id"), "livemenu");
	json_object_put(o);

	o = request_of("running", END);
	assert_string_equal(at(o, "payload", "subscribe"), "false");
	json_object_put(o);

	o = request_of("snapshot", "home", END);
	assert_string_equal(at(o, "method", NULL), "snapshot");
	json_object_put(o);
	o = request_of("invalidate", "home", END);
	assert_string_equal(at(o, "method", NULL), "invalidate");
	json_object_put(o);
	o = request_of("images", END);
	assert_string_equal(at(o, "method", NULL), "images");
	json_object_put(o);
	o = request_of("prepare", END);
	assert_string_equal(at(o, "method", NULL), "prepare");
	json_object_put(o);
}

static void test_doctor_is_no_request(void **state)
{
	struct cli_args a = { .command = CLI_DOCTOR };
	char *line = NULL;

	assert_int_equal(cli_request_build(&a, &line), -EINVAL);
	assert_null(line);
}

/* Prints @answer for the command line and returns what stdout got. */
static char *printed(const char *answer, int want_code, char **ret_err,
		     const char *first, ...)
{
	char *argv[16] = { "thawctl", (char *)first }, errbuf[256];
	char *out = NULL, *err = NULL;
	size_t outlen, errlen;
	struct json_object *o = json_tokener_parse(answer);
	FILE *fo = open_memstream(&out, &outlen);
	FILE *fe = open_memstream(&err, &errlen);
	struct cli_args a;
	int argc = 2;
	va_list ap;

	va_start(ap, first);
	for (char *s; (s = va_arg(ap, char *)); argc++)
		argv[argc] = s;
	va_end(ap);
	assert_int_equal(cli_args_parse(argc, argv, &a, errbuf, 256), 0);
	assert_int_equal(cli_answer_print(&a, o, fo, fe), want_code);
	fclose(fo);
	fclose(fe);
	json_object_put(o);
	if (ret_err)
		*ret_err = err;
	else
		free(err);
	return out;
}

static void test_print_launch(void **state)
{
	char *out;

	out = printed("{\"returnValue\":true,\"id\":\"home\",\"pid\":4242,"
		      "\"start\":\"restored\",\"readyMs\":84.14}",
		      EXIT_OK, NULL, "launch", "home", END);
	assert_string_equal(out,
			    "home: restored, pid 4242, ready in 84.1 ms\n");
	free(out);

	out = printed("{\"returnValue\":true,\"id\":\"home\",\"pid\":7,"
		      "\"start\":\"cold-after-failed-restore\",\"readyMs\":900,"
		      "\"reason\":\"pages-1.img: bad size\"}",
		      EXIT_OK, NULL, "launch", "home", END);
	assert_non_null(strstr(out, "home: cold-after-failed-restore, pid 7, "
				    "ready in 900.0 ms\n"));
	assert_non_null(strstr(out, "restore failed: pages-1.img: bad size"));
	free(out);
}

static void test_print_refused(void **state)
{
	char *out, *err;

	out = printed("{\"returnValue\":false,\"errorCode\":-2,"
		      "\"errorText\":\"no app 'homer'\"}",
		      EXIT_REFUSED, &err, "launch", "homer", END);
	assert_string_equal(out, "");
	assert_string_equal(err, "thawctl: launch homer: no app 'homer' "
				 "(No such file or directory)\n");
	free(out);
	free(err);

	out = printed("[1,2]", EXIT_BAD_ANSWER, NULL, "images", END);
	free(out);
	out = printed("{\"id\":\"x\"}", EXIT_BAD_ANSWER, NULL, "images", END);
	free(out);
}

static void test_print_running(void **state)
{
	char *out;

	out = printed("{\"returnValue\":true,\"running\":[{\"id\":\"home\","
		      "\"pid\":12,\"state\":\"running\",\"start\":\"restored\","
		      "\"since\":\"2026-12-03T20:00:00Z\"}]}",
		      EXIT_OK, NULL, "running", END);
	assert_non_null(strstr(out, "ID"));
	assert_non_null(strstr(out, "home"));
	assert_non_null(strstr(out, "restored"));
	assert_non_null(strstr(out, "2026-12-03T20:00:00Z"));
	free(out);

	setenv("TZ", "UTC", 1);
	tzset();
	out = printed("{\"returnValue\":true,\"running\":[{\"id\":\"a\","
		      "\"since\":1796328938.24}]}",
		      EXIT_OK, NULL, "running", END);
	assert_non_null(strstr(out, "2026-12-03 20:15:38"));
	free(out);

	out = printed("{\"returnValue\":true,\"running\":[]}", EXIT_OK, NULL,
		      "running", END);
	assert_string_equal(out, "no app is running\n");
	free(out);

	/* A subscription's later lines have no returnValue. */
	out = printed("{\"running\":[]}", EXIT_OK, NULL, "running",
		      "--subscribe", END);
	assert_string_equal(out, "no app is running\n");
	free(out);
}

static void test_print_others(void **state)
{
	char *out;

	out = printed("{\"returnValue\":true,\"id\":\"home\"}", EXIT_OK, NULL,
		      "close", "home", END);
	assert_string_equal(out, "home: closed\n");
	free(out);
	out = printed("{\"returnValue\":true,\"id\":\"home\",\"state\":"
		      "\"preloaded\"}",
		      EXIT_OK, NULL, "status", "home", END);
	assert_string_equal(out, "home: preloaded\n");
	free(out);
	out = printed("{\"returnValue\":true,\"id\":\"home\",\"image\":"
		      "\"img-3\"}",
		      EXIT_OK, NULL, "snapshot", "home", END);
	assert_string_equal(out, "home: dumped into img-3\n");
	free(out);
	out = printed("{\"returnValue\":true,\"apps\":[{\"id\":\"home\","
		      "\"dumped\":true},{\"id\":\"menu\",\"dumped\":false,"
		      "\"reason\":\"not checkpointable\"}]}",
		      EXIT_OK, NULL, "prepare", END);
	assert_string_equal(out, "home: dumped\n"
				 "menu: not dumped: not checkpointable\n");
	free(out);
}

static void test_version_parse(void **state)
{
	int ma, mi, pa;

	assert_int_equal(
		doctor_version_parse("Version: 4.2.1\n", &ma, &mi, &pa), 0);
	assert_int_equal(ma, 4);
	assert_int_equal(mi, 2);
	assert_int_equal(pa, 1);
	assert_int_equal(doctor_version_parse("Version: 3.17\nGitID: x", &ma,
					      &mi, &pa),
			 0);
	assert_int_equal(pa, 0);
	assert_int_equal(doctor_version_parse("criu 4.2", &ma, &mi, &pa),
			 -EINVAL);
	assert_true(doctor_version_ok(4, 2));
	assert_true(doctor_version_ok(5, 0));
	assert_false(doctor_version_ok(4, 1));
	assert_false(doctor_version_ok(3, 17));
}

/* The help text names every command and option the parser takes. */
static void test_help_complete(void **state)
{
	static const char *const words[] = {
		"launch ID",	  "close ID",	   "running",	    "status ID",
		"snapshot ID",	  "invalidate ID", "images",	    "prepare",
		"doctor",	  "--params JSON", "--preload",	    "--cold",
		"--preload-only", "--subscribe",   "--socket PATH", "--json",
		"--help",	  "--version",	   "THAW_SOCKET",   "THAW_CRIU",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strstr(thawctl_help_text, words[i]))
			fail_msg("--help does not mention %s", words[i]);
	for (int code = EXIT_OK; code <= EXIT_CRIU_UNUSABLE; code++) {
		char line[8];

		snprintf(line, sizeof(line), "\n  %d  ", code);
		if (!strstr(thawctl_help_text, line))
			fail_msg("--help does not explain exit code %d", code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_launch),
		cmocka_unit_test(test_parse_globals_anywhere),
		cmocka_unit_test(test_parse_env_socket),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_help_version),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_doctor_is_no_request),
		cmocka_unit_test(test_print_launch),
		cmocka_unit_test(test_print_refused),
		cmocka_unit_test(test_print_running),
		cmocka_unit_test(test_print_others),
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_help_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
