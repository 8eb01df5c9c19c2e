// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The registry of libhal-criu and the three calls behind the platform's
 * HAL: resources kept in take-back order (priority ascending, then
 * registration order); releases walk it backwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resource.h"
#include "util.h"

#define EXPORT __attribute__((visibility("default")))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct resource **table;
static size_t n_table, cap_table;
static unsigned long next_seq;
static int next_id = 1;
static char *last_report;
static bool census_check;

/* Between a successful pre-checkpoint call and the next post call. */
static bool window_open;

/* Set while a callback runs, so that the registry refuses re-entry. */
static __thread bool in_callback;

static pthread_key_t report_key;
static pthread_once_t report_once = PTHREAD_ONCE_INIT;

static bool res_before(const struct resource *a, const struct resource *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->seq < b->seq;
}

/* Puts table[i] where its priority and sequence number say. */
static void table_settle(size_t i)
{
	struct resource *r = table[i];

	while (i > 0 && res_before(r, table[i - 1])) {
		table[i] = table[i - 1];
		i--;
	}
	while (i + 1 < n_table && res_before(table[i + 1], r)) {
		table[i] = table[i + 1];
		i++;
	}
	table[i] = r;
}

static ssize_t table_find_id(int id)
{
	for (size_t i = 0; i < n_table; i++)
		if (table[i]->id == id)
			return (ssize_t)i;
	return -1;
}

static bool table_has_fd(int fd)
{
	for (size_t i = 0; i < n_table; i++)
		if (table[i]->kind != RES_SHM && table[i]->kind != RES_CUSTOM &&
		    table[i]->fd == fd)
			return true;
	return false;
}

static bool table_has_addr(const void *addr)
{
	for (size_t i = 0; i < n_table; i++)
		if (table[i]->kind == RES_SHM && table[i]->addr == addr)
			return true;
	return false;
}

/* Takes @r into the table and returns its id. */
static int table_add(struct resource *r)
{
	if (n_table == cap_table) {
		size_t cap = cap_table ? cap_table * 2 : 64;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
		struct resource **t = realloc(table, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		table = t;
		cap_table = cap;
	}

	r->id = next_id++;
	r->seq = next_seq++;
	table[n_table++] = r;
	table_settle(n_table - 1);
	return r->id;
}

static struct resource *res_new(enum res_kind kind, int fd)
{
	struct resource *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->kind = kind;
	r->fd = fd;
	r->shmid = -1;
	return r;
}

/* The common tail of every registration, under the lock. */
static int register_fd(enum res_kind kind, int fd, const char *path,
		       hal_quiesce_fn quiesce, hal_reopen_fn reopen,
		       void *userdata)
{
	struct resource *r;
	int k;

	if (fd < 0)
		return -EBADF;

	r = res_new(kind, fd);
	if (!r)
		return -ENOMEM;

	r->quiesce = quiesce;
	r->reopen = reopen;
	r->userdata = userdata;

	if (kind == RES_DEVICE)
		k = res_device_init(r, path);
	else if (kind == RES_FILE)
		k = res_file_init(r, path);
	else
		k = res_socket_init(r);
	if (k < 0) {
		res_free(r);
		return k;
	}

	pthread_mutex_lock(&lock);
	k = table_has_fd(fd) ? -EEXIST : table_add(r);
	if (k < 0)
		res_free(r);
	pthread_mutex_unlock(&lock);
	return k;
}

EXPORT int hal_device_register(int fd, const char *path, hal_quiesce_fn quiesce,
			       hal_reopen_fn replay, void *userdata)
{
	if (in_callback)
		return -EDEADLK;
	return register_fd(RES_DEVICE, fd, path, quiesce, replay, userdata);
}

EXPORT int hal_socket_register(int fd, hal_reopen_fn handshake, void *userdata)
{
	if (in_callback)
		return -EDEADLK;
	return register_fd(RES_SOCKET, fd, NULL, NULL, handshake, userdata);
}

EXPORT int hal_file_register(int fd, const char *path)
{
	if (in_callback)
		return -EDEADLK;
	return register_fd(RES_FILE, fd, path, NULL, NULL, NULL);
}

EXPORT int hal_shm_register(const void *addr, unsigned flags,
			    hal_refill_fn refill, void *userdata)
{
	struct resource *r;
	int k;

	if (in_callback)
		return -EDEADLK;
	if (!addr || (flags & ~HAL_SHM_SAVE))
		return -EINVAL;

	r = res_new(RES_SHM, -1);
	if (!r)
		return -ENOMEM;
	r->flags = flags;
	r->refill = refill;
	r->userdata = userdata;

	pthread_mutex_lock(&lock);
	k = table_has_addr(addr) ? -EEXIST : res_shm_init(r, addr);
	k = k < 0 ? k : table_add(r);
	if (k < 0)
		res_free(r);
	pthread_mutex_unlock(&lock);
	return k;
}

EXPORT int hal_custom_register(const char *name, int priority,
			       hal_release_fn release, hal_acquire_fn acquire,
			       void *userdata)
{
	struct resource *r;
	int k;

	if (in_callback)
		return -EDEADLK;

	r = res_new(RES_CUSTOM, -1);
	if (!r)
		return -ENOMEM;
	r->priority = priority;
	r->release = release;
	r->acquire = acquire;
	r->userdata = userdata;
	if (name && !(r->name = strdup(name))) {
		res_free(r);
		return -ENOMEM;
	}

	pthread_mutex_lock(&lock);
	k = table_add(r);
	if (k < 0)
		res_free(r);
	pthread_mutex_unlock(&lock);
	return k;
}

EXPORT int hal_priority_set(int id, int priority)
{
	ssize_t i;
	int k = 0;

	if (in_callback)
		return -EDEADLK;

	pthread_mutex_lock(&lock);
	i = table_find_id(id);
	if (i < 0)
		k = -ENOENT;
	else if (table[i]->released)
		k = -EBUSY;
	else {
		table[i]->priority = priority;
		table_settle(i);
	}
	pthread_mutex_unlock(&lock);
	return k;
}

EXPORT int hal_unregister(int id)
{
	ssize_t i;
	int k = 0;

	if (in_callback)
		return -EDEADLK;

	pthread_mutex_lock(&lock);
	i = table_find_id(id);
	if (i < 0)
		k = -ENOENT;
	else if (table[i]->released && window_open)
		k = -EBUSY;
	else {
		/* One no post call could take back: drop its reservation. */
		if (table[i]->released)
			res_forget(table[i]);
		res_free(table[i]);
		memmove(table + i, table + i + 1,
			/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers */
			(n_table - i - 1) * sizeof(*table));
		n_table--;
	}
	pthread_mutex_unlock(&lock);
	return k;
}

EXPORT size_t hal_count(void)
{
	size_t n;

	/* A callback's thread holds the lock already. */
	if (in_callback)
		return n_table;

	pthread_mutex_lock(&lock);
	n = n_table;
	pthread_mutex_unlock(&lock);
	return n;
}

bool hal_registry_has_fd(int fd)
{
	bool has;

	if (in_callback)
		return table_has_fd(fd);

	pthread_mutex_lock(&lock);
	has = table_has_fd(fd);
	pthread_mutex_unlock(&lock);
	return has;
}

bool hal_registry_has_mapping(unsigned long start)
{
	bool has;

	if (in_callback)
		return table_has_addr((const void *)start);

	pthread_mutex_lock(&lock);
	has = table_has_addr((const void *)start);
	pthread_mutex_unlock(&lock);
	return has;
}

/* Adds "<resource>: <why>" as one line of @report. */
static void report_line(struct hal_text *report, const struct resource *r,
			const struct hal_text *why)
{
	res_describe(r, report);
	hal_text_add(report, ": %s\n", why->buf ? why->buf : "failed");
}

/* Makes @report the last report; takes its buffer. */
static void report_publish(struct hal_text *report)
{
	free(last_report);
	last_report = report->failed ? strdup("report lost: out of memory\n") :
				       report->buf;
	if (!report->failed)
		report->buf = NULL;
	hal_text_done(report);
}

static int call_acquire(struct resource *r, enum hal_reason reason,
			struct hal_text *report)
{
	struct hal_text why = { 0 };
	int k;

	in_callback = true;
	k = res_acquire(r, reason, &why);
	in_callback = false;

	if (k >= 0)
		r->released = false;
	if (why.len > 0 || why.failed)
		report_line(report, r, &why);
	hal_text_done(&why);
	return k;
}

/* Takes back every released resource; returns the first failure. */
static int acquire_all(enum hal_reason reason, struct hal_text *report)
{
	int first = 0;

	for (size_t i = 0; i < n_table; i++) {
		struct resource *r = table[i];
		int k;

		if (!r->released)
			continue;

		k = call_acquire(r, reason, report);
		if (k != 0 && first == 0)
			first = k < 0 ? k : -EIO;
	}
	return first;
}

/*
 * What each file open for writing holds reaches the disk before the
 * dump: an image kept across power-off must not be newer than the files
 * it goes with.  The files alone, not syncfs(): the rest of the file
 * system may hold far more dirty data than the app, and the time budget
 * is the app's.  Every file's data is written and waited for first; then
 * one fdatasync() per file system commits the journal, which on ext4
 * carries every earlier size change with it, and flushes the device's
 * cache once rather than once a file.
 */
static bool file_is_written(const struct resource *r)
{
	return r->kind == RES_FILE && !r->released &&
	       (r->fl_flags & O_ACCMODE) != O_RDONLY;
}

static void sync_files(void)
{
	static const unsigned steps[] = {
		SYNC_FILE_RANGE_WRITE,
		SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			SYNC_FILE_RANGE_WAIT_AFTER,
	};
	dev_t done[16];
	size_t n_done = 0;

	for (size_t s = 0; s < ARRAY_SIZE(steps); s++)
		for (size_t i = 0; i < n_table; i++)
			if (file_is_written(table[i]))
				sync_file_range(table[i]->fd, 0, 0, steps[s]);

	for (size_t i = 0; i < n_table; i++) {
		struct resource *r = table[i];
		bool seen = false;

		if (!file_is_written(r))
			continue;
		for (size_t j = 0; j < n_done && !seen; j++)
			seen = done[j] == r->st_dev;
		if (seen)
			continue;
		fdatasync(r->fd);
		if (n_done < ARRAY_SIZE(done))
			done[n_done++] = r->st_dev;
	}
}

static int reserved_fd_open(void)
{
	char path[64];
	int mfd, ro;

	mfd = memfd_create(HAL_RESERVED_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return negative_errno();
	if (fcntl(mfd, F_ADD_SEALS, HAL_RESERVED_SEALS) < 0) {
		close_fd(mfd);
		return negative_errno();
	}

	/* Read-only, so that a stray write() of the app fails with EBADF. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	close_fd(mfd);
	return ro < 0 ? negative_errno() : ro;
}

static int release_one(struct resource *r, struct release_ctx *ctx,
		       struct hal_text *report)
{
	struct hal_text why = { 0 };
	int k;

	in_callback = true;
	k = res_release(r, ctx, &why);
	in_callback = false;

	if (k < 0)
		report_line(report, r, &why);
	else
		r->released = true;
	hal_text_done(&why);
	return k;
}

static int release_all(struct hal_text *report)
{
	struct release_ctx ctx = { .reserved_fd = -1 };
	int k = 0;

	ctx.reserved_fd = reserved_fd_open();
	if (ctx.reserved_fd < 0) {
		hal_text_add(report, "cannot reserve fd numbers: %s\n",
			     strerror(-ctx.reserved_fd));
		return ctx.reserved_fd;
	}

	sync_files();

	for (size_t i = n_table; i > 0 && k >= 0; i--)
		if (!table[i - 1]->released)
			k = release_one(table[i - 1], &ctx, report);

	close_fd(ctx.reserved_fd);
	if (k < 0)
		acquire_all(HAL_REASON_ROLLBACK, report);
	return k;
}

/* The census mode: refuses while something nobody registered blocks. */
static int census_refuses(struct hal_text *report)
{
	struct hal_census *c = NULL;
	char *text = NULL;
	int k;

	k = hal_census_take(0, &c);
	if (k < 0) {
		hal_text_add(report, "census failed: %s\n", strerror(-k));
		return k;
	}

	if (c->n_blockers > 0 && hal_census_format(c, true, &text) == 0)
		hal_text_add(report, "census: %zu blocker(s) of the dump:\n%s",
			     c->n_blockers, text);
	k = c->n_blockers > 0 ? -EBUSY : 0;
	free(text);
	hal_census_free(c);
	return k;
}

static bool census_wanted(void)
{
	const char *e = secure_getenv("THAW_HAL_CENSUS");

	return census_check || (e && streq(e, "1"));
}

EXPORT void hal_census_check_set(bool enabled)
{
	if (in_callback) {
		census_check = enabled;
		return;
	}

	pthread_mutex_lock(&lock);
	census_check = enabled;
	pthread_mutex_unlock(&lock);
}

int hal_pre_checkpoint(void)
{
	struct hal_text report = { 0 };
	bool check;
	int k = 0;

	if (in_callback)
		return -EDEADLK;

	pthread_mutex_lock(&lock);
	check = census_wanted();
	pthread_mutex_unlock(&lock);

	/* The census asks the registry itself, so it runs unlocked. */
	if (check)
		k = census_refuses(&report);

	pthread_mutex_lock(&lock);
	if (k >= 0)
		k = release_all(&report);
	window_open = k >= 0;
	report_publish(&report);
	pthread_mutex_unlock(&lock);
	return k;
}

static int post_call(enum hal_reason reason)
{
	struct hal_text report = { 0 };
	int k;

	if (in_callback)
		return -EDEADLK;

	pthread_mutex_lock(&lock);
	k = acquire_all(reason, &report);
	window_open = false;
	report_publish(&report);
	pthread_mutex_unlock(&lock);
	return k;
}

int hal_post_dump(void)
{
	return post_call(HAL_REASON_DUMP);
}

int hal_post_restore(void)
{
	return post_call(HAL_REASON_RESTORE);
}

static void report_free(void *p)
{
	free(p);
}

static void report_key_make(void)
{
	pthread_key_create(&report_key, report_free);
}

EXPORT const char *hal_last_report(void)
{
	char *copy;

	/* Inside a call the report is still being written. */
	if (in_callback)
		return "";

	pthread_once(&report_once, report_key_make);
	free(pthread_getspecific(report_key));

	pthread_mutex_lock(&lock);
	copy = strdup(last_report ? last_report : "");
	pthread_mutex_unlock(&lock);

	pthread_setspecific(report_key, copy);
	return copy ? copy : "report lost: out of memory";
}

EXPORT const char *hal_version(void)
{
	return HAL_VERSION;
}
