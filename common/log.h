/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging for thaw's programs (never for its libraries, which stay
 * silent).  One line per decision, carrying the app id and pid as fields
 * where a line concerns an app.  Levels are syslog's.
 *
 * What a line looks like on each target, for app "home" with pid 1234:
 *
 *   stderr   "thawd: home[1234]: restored from tmpfs in 84 ms"
 *   syslog   ident "thawd", LOG_PID, facility LOG_DAEMON, message
 *            "home[1234]: restored from tmpfs in 84 ms"
 *   journal  MESSAGE="home: restored from tmpfs in 84 ms", PRIORITY=6,
 *            SYSLOG_IDENTIFIER=thawd, THAW_APP=home, THAW_PID=1234
 *            (and ERRNO= when the line carries an error)
 *
 * A line that carries an errno ends with ": <strerror text>".  A line
 * about no app has no app prefix and no THAW_APP/THAW_PID fields.
 *
 * Not thread-safe: call log_setup() and the setters before starting
 * threads; logging itself may happen from any thread.
 */

#include <stdarg.h>
#include <sys/types.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO,    /* journal when stderr is systemd's, else stderr */
	LOG_TARGET_STDERR,  /* "thawd: home[1234]: restored ..." */
	LOG_TARGET_SYSLOG,  /* syslog(3), app id and pid in the message */
	LOG_TARGET_JOURNAL, /* sd_journal_send() with THAW_APP= and THAW_PID= */
};

/*
 * Chooses the identifier (kept by pointer: pass a string that outlives
 * logging), the target and the most verbose level written.
 * LOG_TARGET_AUTO picks the journal when JOURNAL_STREAM names the file
 * that is our stderr (which is what systemd sets up for a service whose
 * output goes to the journal), else stderr.  The journal target falls
 * back to stderr when journald's socket is missing at set-up, and a line
 * the journal refuses goes to stderr instead.
 */
void log_setup(const char *ident, enum log_target target, int max_level);

/* The target log_setup() resolved (never LOG_TARGET_AUTO). */
enum log_target log_get_target(void);

/*
 * Parses "emerg" ... "debug" (syslog's names, also "error" and "warn"),
 * or a number 0 to 7.  Returns the level or -EINVAL.
 */
int log_level_from_string(const char *s);

/* Parses "auto", "stderr", "syslog", "journal".  Returns it or -EINVAL. */
int log_target_from_string(const char *s);

/* The name of a level ("info"), or NULL when out of range. */
const char *log_level_to_string(int level);

void log_set_max_level(int level);
int log_get_max_level(void);

/*
 * Logs one line.  app_id may be NULL and pid 0 when the line is about no
 * app.  errnum > 0 appends its strerror() text.  errno is preserved.
 * Returns -errnum when errnum > 0, else 0, so that a caller can
 * `return log_app_errno(...)`.
 */
int log_app_full(int level, int errnum, const char *app_id, pid_t pid,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_app(level, app, pid, ...) \
	log_app_full(level, 0, app, pid, __VA_ARGS__)
#define log_app_errno(level, r, app, pid, ...) \
	log_app_full(level, -(r), app, pid, __VA_ARGS__)
#define log_err(...)		 log_app_full(LOG_ERR, 0, NULL, 0, __VA_ARGS__)
#define log_warning(...)	 log_app_full(LOG_WARNING, 0, NULL, 0, __VA_ARGS__)
#define log_notice(...)		 log_app_full(LOG_NOTICE, 0, NULL, 0, __VA_ARGS__)
#define log_info(...)		 log_app_full(LOG_INFO, 0, NULL, 0, __VA_ARGS__)
#define log_debug(...)		 log_app_full(LOG_DEBUG, 0, NULL, 0, __VA_ARGS__)
#define log_errno(level, r, ...) log_app_full(level, -(r), NULL, 0, __VA_ARGS__)
