// SPDX-License-Identifier: LGPL-2.1-or-later
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"
#include "thaw-config.h"
#include "thawctl-help.h"
#include "util.h"

static int answer_line(const struct cli_args *a, const char *text,
		       void *userdata)
{
	struct json_object *answer = json_tokener_parse(text);
	int code;

	if (!answer || !json_object_is_type(answer, json_type_object)) {
		json_object_put(answer);
		log_err("thawd's answer is not a JSON object");
		if (a->json)
			printf("%s\n", text);
		return EXIT_BAD_ANSWER;
	}

	/* For scripts the raw line; the exit code still tells. */
	if (a->json)
		printf("%s\n", text);
	code = cli_answer_print(a, answer, a->json ? NULL : stdout, stderr);
	fflush(stdout);
	json_object_put(answer);
	return code;
}

static int request_run(const struct cli_args *a)
{
	_cleanup_free_ char *line = NULL;
	int r;

	r = cli_request_build(a, &line);
	if (r < 0) {
		log_err("cannot build the request: %s", strerror(-r));
		return EXIT_USAGE;
	}
	return cli_exchange(a, line, answer_line, NULL);
}

int main(int argc, char **argv)
{
	struct cli_args a;
	char err[256];

	log_setup("thawctl", LOG_TARGET_STDERR, LOG_INFO);
	/* A subscription ends when the reader of our stdout goes away. */
	signal(SIGPIPE, SIG_DFL);

	if (cli_args_parse(argc, argv, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "thawctl: %s\nTry 'thawctl --help'.\n", err);
		return EXIT_USAGE;
	}

	switch (a.command) {
	case CLI_HELP:
		fputs(thawctl_help_text, stdout);
		return EXIT_OK;
	case CLI_VERSION:
		printf("thawctl %s\n", THAW_VERSION);
		return EXIT_OK;
	case CLI_DOCTOR:
		return cli_doctor(a.json, stdout);
	default:
		return request_run(&a);
	}
}
