/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * thawctl's parts: argument parsing and request building (args.c), the
 * exchange with thawd (client.c), the tables for people (format.c) and
 * doctor (doctor.c).  main() is in thawctl.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_object;

#define THAWCTL_SOCKET_DEFAULT "/run/thaw/thawd.sock"

/* thawctl's exit codes, as its --help documents them. */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_BAD_ANSWER = 4,
	EXIT_CRIU_UNUSABLE = 5,
};

enum cli_command {
	CLI_HELP,
	CLI_VERSION,
	CLI_LAUNCH,
	CLI_CLOSE,
	CLI_RUNNING,
	CLI_STATUS,
	CLI_SNAPSHOT,
	CLI_INVALIDATE,
	CLI_IMAGES,
	CLI_PREPARE,
	CLI_DOCTOR,
};

struct cli_args {
	const char *socket_path; /* never NULL after parsing */
	bool json;
	enum cli_command command;
	const char *id;	    /* launch, close, status, snapshot, invalidate */
	const char *params; /* launch --params, a JSON object's text */
	bool preload;
	bool cold;
	bool preload_only;
	bool subscribe; /* running, status */
};

/*
 * Parses thawctl's command line (argv[0] is skipped).  Global options may
 * come before or after the command.  Returns 0, or -EINVAL with a message
 * for the user in err.
 */
int cli_args_parse(int argc, char **argv, struct cli_args *ret, char *err,
		   size_t errlen);

/* The command's name as typed, "launch", ... */
const char *cli_command_name(enum cli_command c);

/* Whether the command streams further answers after the first. */
bool cli_command_streams(const struct cli_args *a);

/*
 * The request line for thawd (no newline), to free().  Returns 0,
 * -EINVAL for a command that is no request (help, version, doctor), or
 * -ENOMEM.
 */
int cli_request_build(const struct cli_args *a, char **ret_line);

/*
 * What stderr says while a slow request is under way ("launching
 * home..."), or NULL when the command needs no progress note.
 */
const char *cli_progress_text(const struct cli_args *a, char *buf, size_t len);

/*
 * Connects to thawd, sends @line and hands each answer line to @on_line
 * until it returns non-zero (or after the first when !a->subscribe).
 * Prints the progress note on stderr when the first answer is late.
 * Returns an exit code.
 */
int cli_exchange(const struct cli_args *a, const char *line,
		 int (*on_line)(const struct cli_args *a, const char *text,
				void *userdata),
		 void *userdata);

/*
 * Prints one answer for people on @out (nothing when @out is NULL) or a
 * refusal on @err, and returns the exit code it means.  @answer is the
 * parsed line.
 */
int cli_answer_print(const struct cli_args *a, struct json_object *answer,
		     FILE *out, FILE *err);

/* Prints any JSON value as indented "key: value" lines. */
void cli_value_print(FILE *out, struct json_object *v, int indent);

/* Runs doctor and prints its findings; returns an exit code. */
int cli_doctor(bool json, FILE *out);

/*
 * Parses CRIU's "Version: 4.2.1" (or "4.2") out of @text.  Returns 0,
 * or -EINVAL when there is no version there.
 */
int doctor_version_parse(const char *text, int *ret_major, int *ret_minor,
			 int *ret_patch);

/* Whether thaw can use a CRIU of that version (4.2 or newer). */
bool doctor_version_ok(int major, int minor);
