// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

bool store_needs_persist(struct store *store, const char *app_id)
{
	_cleanup_close_ int tfd = -1, pfd = -1, timg = -1, pimg = -1;
	uint64_t seq, pseq;

	if (!store || !app_id_is_valid(app_id) ||
	    store->dir_fd[STORE_TIER_PERSIST] < 0)
		return false;

	tfd = open_app_dir(store, STORE_TIER_TMPFS, app_id, false);
	timg = tfd < 0 ? -1 : open_current_at(tfd, &seq);
	if (timg < 0 || read_invalid_at(tfd, seq, NULL) != 0)
		return false;

	pfd = open_app_dir(store, STORE_TIER_PERSIST, app_id, false);
	pimg = pfd < 0 ? -1 : open_current_at(pfd, &pseq);
	return pimg < 0 || pseq != seq ||
	       !persist_is_verified(store, app_id, seq);
}

static int count_prefix(int app_fd, const char *prefix)
{
	DIR *d = dir_open_at(app_fd, ".");
	size_t n = strlen(prefix);
	struct dirent *de;
	int count = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		count += strncmp(de->d_name, prefix, n) == 0;
	closedir(d);
	return count;
}

static int64_t dumped_usec(int img_fd)
{
	_cleanup_free_ char *text = NULL;
	json_object *root, *deps, *v;
	int64_t t = 0;

	if (read_file_at(img_fd, MANIFEST_NAME, 4u << 20, &text) < 0)
		return 0;
	root = json_tokener_parse(text);
	if (root && json_object_object_get_ex(root, "deps", &deps) &&
	    json_object_object_get_ex(deps, "dumpedUsec", &v))
		t = json_object_get_int64(v);
	json_object_put(root);
	return t;
}

static json_object *describe_tier(struct store *store, enum store_tier tier,
				  const char *app)
{
	_cleanup_close_ int fd = open_app_dir(store, tier, app, false);
	_cleanup_close_ int img = -1;
	json_object *o = json_object_new_object();
	char name[64];
	uint64_t seq;
	int64_t t;

	img = fd < 0 ? -1 : open_current_at(fd, &seq);
	json_object_object_add(
		o, "writing",
		json_object_new_boolean(fd >= 0 &&
					count_prefix(fd, ".new-") > 0));
	json_object_object_add(
		o, "failedKept",
		json_object_new_int(fd >= 0 ? count_prefix(fd, "failed-") : 0));
	if (img < 0) {
		json_object_object_add(o, "state",
				       json_object_new_string("absent"));
		return o;
	}

	snprintf(name, sizeof(name), "img-%llu", (unsigned long long)seq);
	json_object_object_add(
		o, "state",
		json_object_new_string(read_invalid_at(fd, seq, NULL) > 0 ?
					       "invalid" :
					       "valid"));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(
		o, "bytes",
		json_object_new_int64((int64_t)dir_usage_at(fd, name)));
	t = dumped_usec(img);
	if (t > 0)
		json_object_object_add(
			o, "ageSec",
			json_object_new_int64(
				((int64_t)now_usec(CLOCK_REALTIME) - t) /
				1000000));
	if (tier == STORE_TIER_PERSIST)
		json_object_object_add(
			o, "verified",
			json_object_new_boolean(
				persist_is_verified(store, app, seq)));
	return o;
}

static json_object *describe_app(struct store *store, const char *app)
{
	json_object *o = json_object_new_object();
	json_object *t = describe_tier(store, STORE_TIER_TMPFS, app);
	json_object *p = NULL, *w;

	json_object_object_add(o, "id", json_object_new_string(app));
	json_object_object_add(o, "tmpfs", t);
	if (store->dir_fd[STORE_TIER_PERSIST] >= 0) {
		p = describe_tier(store, STORE_TIER_PERSIST, app);
		json_object_object_add(o, "persistent", p);
	}
	json_object_object_get_ex(p ? p : t, "writing", &w);
	json_object_object_add(
		o, "copyInFlight",
		json_object_new_boolean(p && json_object_get_boolean(w)));
	return o;
}

static void list_apps(struct store *store, enum store_tier tier,
		      json_object *names)
{
	struct dirent *de;
	DIR *d;

	if (store->dir_fd[tier] < 0)
		return;
	d = dir_open_at(store->dir_fd[tier], ".");
	if (!d)
		return;
	while ((de = readdir(d)))
		if (app_id_is_valid(de->d_name) &&
		    !json_object_object_get_ex(names, de->d_name, NULL))
			json_object_object_add(names, de->d_name, NULL);
	closedir(d);
}

static json_object *describe_budget(struct store *store, enum store_tier tier)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "dir",
			       json_object_new_string(store->dir[tier]));
	json_object_object_add(
		o, "budget",
		json_object_new_int64((int64_t)store->budget[tier]));
	return o;
}

int store_describe(struct store *store, char **ret_json)
{
	json_object *root = json_object_new_object();
	json_object *names = json_object_new_object();
	json_object *apps = json_object_new_array();
	json_object *tiers = json_object_new_object();
	char *text;

	if (!store || !ret_json)
		return -EINVAL;

	list_apps(store, STORE_TIER_TMPFS, names);
	list_apps(store, STORE_TIER_PERSIST, names);
	json_object_object_foreach(names, name, unused) {
		(void)unused;
		json_object_array_add(apps, describe_app(store, name));
	}

	json_object_object_add(tiers, "tmpfs",
			       describe_budget(store, STORE_TIER_TMPFS));
	if (store->dir_fd[STORE_TIER_PERSIST] >= 0)
		json_object_object_add(tiers, "persistent",
				       describe_budget(store,
						       STORE_TIER_PERSIST));
	json_object_object_add(root, "tiers", tiers);
	json_object_object_add(root, "apps", apps);

	text = strdup(json_object_to_json_string(root));
	json_object_put(root);
	json_object_put(names);
	if (!text)
		return -ENOMEM;
	*ret_json = text;
	return 0;
}
