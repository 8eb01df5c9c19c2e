// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Byte budgets.  The tmpfs tier is RAM: when an image does not fit, the
 * images kept for inspection go first, then the images of the apps
 * launched longest ago, but only those whose persistent copy is the same
 * image (they can come back from it).  The persistent tier only gives up
 * its inspection copies.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

struct app_usage {
	char name[NAME_MAX_LEN + 1];
	uint64_t current; /* bytes of the current image */
	uint64_t failed;  /* bytes kept for inspection */
	uint64_t last_use;
};

static uint64_t last_use_of(int app_fd)
{
	struct stat st;

	if (fstatat(app_fd, LAST_USE_NAME, &st, 0) < 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000000u +
	       (uint64_t)st.st_mtim.tv_nsec;
}

void last_use_touch(int app_fd)
{
	int fd = openat(app_fd, LAST_USE_NAME,
			O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return;
	futimens(fd, NULL);
	close_fd(fd);
}

static void usage_of(int app_fd, struct app_usage *u)
{
	DIR *d = dir_open_at(app_fd, ".");
	struct dirent *de;
	uint64_t seq;

	u->last_use = last_use_of(app_fd);
	if (!d)
		return;

	while ((de = readdir(d))) {
		if (parse_seq(de->d_name, "img-", &seq) == 0)
			u->current += dir_usage_at(app_fd, de->d_name);
		else if (parse_seq(de->d_name, "failed-", &seq) == 0)
			u->failed += dir_usage_at(app_fd, de->d_name);
	}
	closedir(d);
}

static int list_usage(struct store *store, enum store_tier tier,
		      struct app_usage **ret, size_t *ret_n)
{
	DIR *d = dir_open_at(store->dir_fd[tier], ".");
	struct app_usage *v = NULL;
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return negative_errno();

	while ((de = readdir(d))) {
		struct app_usage *nv;
		int app_fd;

		if (!app_id_is_valid(de->d_name))
			continue;
		app_fd = open_app_dir(store, tier, de->d_name, false);
		if (app_fd < 0)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			close_fd(app_fd);
			break;
		}
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		memcpy(v[n].name, de->d_name, strlen(de->d_name) + 1);
		usage_of(app_fd, &v[n++]);
		close_fd(app_fd);
	}

	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int by_last_use(const void *a, const void *b)
{
	const struct app_usage *x = a, *y = b;

	return x->last_use < y->last_use ? -1 : x->last_use > y->last_use;
}

static void remove_failed(int app_fd)
{
	DIR *d = dir_open_at(app_fd, ".");
	struct dirent *de;
	uint64_t seq;

	if (!d)
		return;

	while ((de = readdir(d)))
		if (parse_seq(de->d_name, "failed-", &seq) == 0)
			rm_rf_at(app_fd, de->d_name);
	closedir(d);
}

/* Removes the app's failed images, or (images) its current tmpfs image
 * when the persistent tier holds the same one.  Skips an app in use. */
static bool evict(struct store *store, enum store_tier tier, const char *app,
		  bool images)
{
	_cleanup_close_ int fd = open_app_dir(store, tier, app, false);
	_cleanup_close_ int pfd = -1;
	uint64_t seq, pseq;
	char img[64];

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return false;
	if (!images) {
		remove_failed(fd);
		return true;
	}

	pfd = open_app_dir(store, STORE_TIER_PERSIST, app, false);
	if (current_seq_at(fd, &seq) < 0 || pfd < 0 ||
	    current_seq_at(pfd, &pseq) < 0 || pseq != seq)
		return false;

	snprintf(img, sizeof(img), "img-%llu", (unsigned long long)seq);
	unlinkat(fd, CURRENT_NAME, 0);
	rm_rf_at(fd, img);
	return true;
}

static uint64_t total_of(const struct app_usage *v, size_t n, const char *app)
{
	uint64_t sum = 0;
	size_t i;

	/* The app's own image is the one the new image supersedes. */
	for (i = 0; i < n; i++)
		sum += v[i].failed + (streq(v[i].name, app) ? 0 : v[i].current);
	return sum;
}

static int make_room_locked(struct store *store, enum store_tier tier,
			    const char *app, uint64_t need)
{
	uint64_t budget = store->budget[tier], used;
	struct app_usage *v = NULL;
	size_t n = 0, i;
	int r;

	r = list_usage(store, tier, &v, &n);
	if (r < 0)
		return r;

	used = total_of(v, n, app);
	for (i = 0; i < n && used + need > budget; i++)
		if (v[i].failed && evict(store, tier, v[i].name, false))
			used -= v[i].failed;

	if (n > 1)
		qsort(v, n, sizeof(*v), by_last_use);
	for (i = 0; tier == STORE_TIER_TMPFS && i < n && used + need > budget;
	     i++)
		if (!streq(v[i].name, app) && v[i].current &&
		    evict(store, tier, v[i].name, true))
			used -= v[i].current;

	free(v);
	return used + need > budget ? -ENOSPC : 0;
}

int space_make_room(struct store *store, enum store_tier tier, const char *app,
		    uint64_t need, char **ret_reason)
{
	int r;

	if (store->budget[tier] == 0)
		return 0;

	pthread_mutex_lock(&store->space_lock);
	r = make_room_locked(store, tier, app, need);
	pthread_mutex_unlock(&store->space_lock);

	if (r == -ENOSPC)
		set_reason(
			ret_reason,
			"an image of %llu bytes does not fit the %s tier's budget of %llu bytes",
			(unsigned long long)need, tier_name(tier),
			(unsigned long long)store->budget[tier]);
	return r;
}
