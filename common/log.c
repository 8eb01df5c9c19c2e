// SPDX-License-Identifier: LGPL-2.1-or-later
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "util.h"

static const char *log_ident = "thaw";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",	   [LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",	   [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",	   [LOG_DEBUG] = "debug",
};

/*
 * systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connects to
 * a service's stderr.  A child whose stderr was redirected elsewhere
 * inherits the variable, so it counts only when it names our stderr.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	int n = 0;

	if (!e || sscanf(e, "%ju:%ju%n", &dev, &ino, &n) != 2 || e[n])
		return false;

	if (fstat(STDERR_FILENO, &st) < 0)
		return false;

	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

/* sd_journal_send() drops lines silently when journald is not there. */
static bool journal_is_reachable(void)
{
	struct stat st;

	return stat("/run/systemd/journal/socket", &st) == 0 &&
	       S_ISSOCK(st.st_mode);
}

void log_setup(const char *ident, enum log_target target, int max_level)
{
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();

	log_ident = ident;
	log_max_level = max_level;

	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNAL :
					       LOG_TARGET_STDERR;
	if (target == LOG_TARGET_JOURNAL && !journal_is_reachable())
		target = LOG_TARGET_STDERR;
	log_target = target;

	if (target == LOG_TARGET_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

enum log_target log_get_target(void)
{
	return log_target;
}

int log_level_from_string(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -EINVAL;

	n = strtol(s, &end, 10);
	if (!*end)
		return n >= LOG_EMERG && n <= LOG_DEBUG ? (int)n : -EINVAL;

	if (streq(s, "error"))
		return LOG_ERR;
	if (streq(s, "warn"))
		return LOG_WARNING;

	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (streq(s, level_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *log_level_to_string(int level)
{
	if (level < 0 || level >= (int)ARRAY_SIZE(level_names))
		return NULL;
	return level_names[level];
}

int log_target_from_string(const char *s)
{
	static const char *const names[] = {
		[LOG_TARGET_AUTO] = "auto",
		[LOG_TARGET_STDERR] = "stderr",
		[LOG_TARGET_SYSLOG] = "syslog",
		[LOG_TARGET_JOURNAL] = "journal",
	};

	if (!s)
		return -EINVAL;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

/* Returns 0, or a negative errno when the journal could not be reached. */
static int write_journal(int level, int errnum, const char *app_id, pid_t pid,
			 const char *text)
{
	char msg[1200], prio[32], ident[96], app[160], pidf[32], err[32];
	struct iovec iov[6];
	int n = 0;

	snprintf(msg, sizeof(msg), "MESSAGE=%s%s%s", app_id ?: "",
		 app_id ? ": " : "", text);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
	snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log_ident);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ ident, strlen(ident) };

	if (app_id) {
		snprintf(app, sizeof(app), "THAW_APP=%s", app_id);
		snprintf(pidf, sizeof(pidf), "THAW_PID=%d", (int)pid);
		iov[n++] = (struct iovec){ app, strlen(app) };
		iov[n++] = (struct iovec){ pidf, strlen(pidf) };
	}

	if (errnum > 0) {
		snprintf(err, sizeof(err), "ERRNO=%d", errnum);
		iov[n++] = (struct iovec){ err, strlen(err) };
	}

	return sd_journal_sendv(iov, n);
}

static void write_syslog(int level, const char *app_id, pid_t pid,
			 const char *text)
{
	if (app_id)
		syslog(level, "%s[%d]: %s", app_id, (int)pid, text);
	else
		syslog(level, "%s", text);
}

static void write_stderr(const char *app_id, pid_t pid, const char *text)
{
	if (app_id)
		fprintf(stderr, "%s: %s[%d]: %s\n", log_ident, app_id, (int)pid,
			text);
	else
		fprintf(stderr, "%s: %s\n", log_ident, text);
}

int log_app_full(int level, int errnum, const char *app_id, pid_t pid,
		 const char *fmt, ...)
{
	char text[1024], ebuf[64];
	int saved = errno;
	va_list ap;
	int len;

	if (level > log_max_level)
		goto out;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	if (errnum > 0 && len >= 0 && (size_t)len < sizeof(text))
		snprintf(text + len, sizeof(text) - len, ": %s",
			 strerror_r(errnum, ebuf, sizeof(ebuf)));

	switch (log_target) {
	case LOG_TARGET_JOURNAL:
		if (write_journal(level, errnum, app_id, pid, text) >= 0)
			break;
		write_stderr(app_id, pid, text);
		break;
	case LOG_TARGET_SYSLOG:
		write_syslog(level, app_id, pid, text);
		break;
	default:
		write_stderr(app_id, pid, text);
		break;
	}

out:
	errno = saved;
	return errnum > 0 ? -errnum : 0;
}
