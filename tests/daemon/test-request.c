// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

static int parse(const char *s, struct request **ret, char **ret_error)
{
	return request_parse(s, strlen(s), ret, ret_error);
}

static void expect_refused(const char *s, int code, const char *needle)
{
	struct request *req = NULL;
	char *error = NULL;

	assert_int_equal(parse(s, &req, &error), code);
	assert_null(req);
	assert_non_null(error);
	if (needle && !strstr(error, needle))
		fail_msg("'%s' gave '%s', not '%s'", s, error, needle);
	free(error);
}

static void test_launch(void **state)
{
	struct request *req = NULL;

	assert_int_equal(
		parse("{\"method\":\"launch\",\"payload\":{\"id\":"
		      "\"home\",\"params\":{\"a\":1},\"preload\":true}}",
		      &req, NULL),
		0);
	assert_int_equal(req->method, REQUEST_LAUNCH);
	assert_string_equal(req->id, "home");
	assert_string_equal(req->params, "{\"a\":1}");
	assert_true(req->preload);
	assert_false(req->cold);
	request_free(req);

	assert_int_equal(parse("{\"method\":\"launch\",\"payload\":{\"id\":"
			       "\"a.b-c_d\"}} \r",
			       &req, NULL),
			 0);
	assert_string_equal(req->params, "{}");
	request_free(req);
}

static void test_other_methods(void **state)
{
	struct request *req = NULL;

	assert_int_equal(parse("{\"method\":\"closeByAppId\",\"payload\":{"
			       "\"id\":\"x\",\"preloadOnly\":true}}",
			       &req, NULL),
			 0);
	assert_true(req->preload_only);
	request_free(req);

	assert_int_equal(parse("{\"method\":\"running\",\"payload\":{"
			       "\"subscribe\":true}}",
			       &req, NULL),
			 0);
	assert_true(req->subscribe);
	assert_null(req->id);
	request_free(req);

	assert_int_equal(parse("{\"method\":\"checkpoint\"}", &req, NULL), 0);
	assert_true(request_method_is_app_own(req->method));
	request_free(req);
}

static void test_refused(void **state)
{
	static const char nul[] = "{\"method\":\"ready\"\0}";
	struct request *req = NULL;
	char *error = NULL;
	char *big;

	expect_refused("", -EINVAL, "empty");
	expect_refused("{", -EINVAL, "malformed");
	expect_refused("[1]", -EINVAL, "no JSON object");
	expect_refused("{\"method\":\"fly\"}", -EINVAL, "unknown method");
	expect_refused("{\"method\":1}", -EINVAL, "method");
	expect_refused("{\"method\":\"launch\"}", -EINVAL, "'id' is missing");
	/* An app's own requests never name an app, not even itself. */
	expect_refused("{\"method\":\"checkpoint\",\"payload\":{"
		       "\"id\":\"other\"}}",
		       -EINVAL, "'checkpoint' takes no 'id'");
	expect_refused("{\"method\":\"ready\",\"payload\":{\"id\":\"a\"}}",
		       -EINVAL, "'ready' takes no 'id'");
	expect_refused("{\"method\":\"launchParams\",\"payload\":{"
		       "\"id\":5}}",
		       -EINVAL, "'launchParams' takes no 'id'");
	expect_refused("{\"method\":\"launch\",\"payload\":{\"id\":5}}",
		       -EINVAL, "must be a string");
	expect_refused("{\"method\":\"launch\",\"payload\":{\"id\":\"a\","
		       "\"cold\":1}}",
		       -EINVAL, "'cold' must be a boolean");
	expect_refused("{\"method\":\"launch\",\"payload\":{\"id\":\"a\","
		       "\"params\":[]}}",
		       -EINVAL, "'params' must be an object");
	expect_refused("{\"method\":\"launch\",\"payload\":[]}", -EINVAL,
		       "payload");
	expect_refused("{\"method\":\"ready\"} x", -EINVAL, "malformed");

	assert_int_equal(request_parse(nul, sizeof(nul) - 1, &req, &error),
			 -EINVAL);
	assert_non_null(strstr(error, "NUL"));
	free(error);

	big = malloc(REQUEST_MAX_SIZE + 2);
	memset(big, ' ', REQUEST_MAX_SIZE + 1);
	big[REQUEST_MAX_SIZE + 1] = '\0';
	expect_refused(big, -E2BIG, "larger");
	free(big);

	/* Nesting beyond the bound is refused, not recursed into. */
	big = calloc(1, 4096);
	strcpy(big,
	       "{\"method\":\"launch\",\"payload\":{\"id\":\"a\",\"params\":");
	for (int i = 0; i < 100; i++)
		strcat(big, "{\"a\":");
	strcat(big, "1");
	for (int i = 0; i < 100; i++)
		strcat(big, "}");
	strcat(big, "}}");
	expect_refused(big, -EINVAL, "malformed");
	free(big);
}

static void test_ids(void **state)
{
	static const char *const bad[] = {
		"",
		"..",
		"../x",
		"a/b",
		".hidden",
		"a..b",
		"a b",
		"é",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char line[256];

	assert_true(request_id_is_valid("home"));
	assert_true(request_id_is_valid("com.webos.app.home"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(request_id_is_valid(bad[i]));
		snprintf(line, sizeof(line),
			 "{\"method\":\"launch\",\"payload\":{\"id\":\"%s\"}}",
			 bad[i]);
		expect_refused(line, -EINVAL, "no valid app id");
	}
	expect_refused(
		"{\"method\":\"launch\",\"payload\":{\"id\":\"a\\u0000b\"}}",
		-EINVAL, "no valid app id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_launch),
		cmocka_unit_test(test_other_methods),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
