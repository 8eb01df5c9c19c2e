// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

struct store_writer {
	struct store *store;
	char *app;
	char *path;
	uint64_t seq;
	int app_fd;
	int dir_fd;
};

static uint64_t max_seq_in(struct store *store, enum store_tier tier,
			   const char *app)
{
	static const char *const prefixes[] = { "img-", ".new-", "failed-" };
	int fd = open_app_dir(store, tier, app, false);
	struct dirent *de;
	uint64_t max = 0, v;
	size_t i;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close_fd(fd);
		return 0;
	}

	while ((de = readdir(d)))
		for (i = 0; i < ARRAY_SIZE(prefixes); i++)
			if (parse_seq(de->d_name, prefixes[i], &v) == 0 &&
			    v > max)
				max = v;

	closedir(d);
	return max;
}

uint64_t next_seq(struct store *store, const char *app)
{
	uint64_t a = max_seq_in(store, STORE_TIER_TMPFS, app);
	uint64_t b = max_seq_in(store, STORE_TIER_PERSIST, app);

	return (a > b ? a : b) + 1;
}

static void writer_free(struct store_writer *w)
{
	close_fd(w->dir_fd);
	close_fd(w->app_fd);
	free(w->app);
	free(w->path);
	free(w);
}

/* Makes the writer's folder .new-<seq>, outside every reader's view. */
static int writer_mkdir(struct store_writer *w)
{
	char name[64];

	snprintf(name, sizeof(name), ".new-%llu", (unsigned long long)w->seq);
	w->path = strdup_printf("%s/%s/%s", w->store->dir[STORE_TIER_TMPFS],
				w->app, name);
	if (!w->path)
		return -ENOMEM;

	if (mkdirat(w->app_fd, name, 0700) < 0)
		return negative_errno();
	w->dir_fd = openat(w->app_fd, name,
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->dir_fd < 0) {
		int r = negative_errno();

		rm_rf_at(w->app_fd, name);
		return r;
	}
	return 0;
}

int store_writer_begin(struct store *store, const char *app_id,
		       struct store_writer **ret)
{
	struct store_writer *w;
	int r;

	if (!store || !app_id_is_valid(app_id) || !ret)
		return -EINVAL;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->store = store;
	w->dir_fd = -1;
	w->app = strdup(app_id);
	w->app_fd = open_app_dir(store, STORE_TIER_TMPFS, app_id, true);
	r = !w->app ? -ENOMEM : w->app_fd < 0 ? w->app_fd : 0;

	if (r == 0) {
		/* Calls for one app are serialized: a folder being written
		 * is a leftover of a writer never finished. */
		remove_new_at(w->app_fd);
		w->seq = next_seq(store, app_id);
		r = writer_mkdir(w);
	}
	if (r < 0) {
		writer_free(w);
		return r;
	}

	*ret = w;
	return 0;
}

int store_writer_dirfd(const struct store_writer *writer)
{
	return writer->dir_fd;
}

const char *store_writer_path(const struct store_writer *writer)
{
	return writer->path;
}

void store_writer_abort(struct store_writer *writer)
{
	char name[64];

	if (!writer)
		return;
	snprintf(name, sizeof(name), ".new-%llu",
		 (unsigned long long)writer->seq);
	rm_rf_at(writer->app_fd, name);
	writer_free(writer);
}

static int hash_entry(struct store_writer *w, const char *name,
		      json_object *files, uint64_t *total, char **ret_reason)
{
	_cleanup_close_ int fd = -1;
	char hash[HASH_HEX_MAX];
	json_object *o;
	struct stat st;
	uint64_t size;
	int r;

	fd = openat(w->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_reason(ret_reason, "%s: not a regular file", name);
		return -EBADMSG;
	}

	r = hash_fd(w->store, fd, hash, &size);
	if (r < 0) {
		set_reason(ret_reason, "reading %s: %s", name, strerror(-r));
		return r;
	}

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "hash", json_object_new_string(hash));
	json_object_array_add(files, o);
	*total += (uint64_t)st.st_blocks * 512;
	return 0;
}

/* Hashes every file CRIU left; an image without inventory.img is none. */
static int hash_all(struct store_writer *w, json_object *files, uint64_t *total,
		    char **ret_reason)
{
	DIR *d = dir_open_at(w->dir_fd, ".");
	bool inventory = false;
	struct dirent *de;
	int r = 0;

	if (!d)
		return negative_errno();

	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.' || streq(de->d_name, MANIFEST_NAME) ||
		    streq(de->d_name, MANIFEST_MAC_NAME))
			continue;
		if (streq(de->d_name, "inventory.img"))
			inventory = true;
		r = hash_entry(w, de->d_name, files, total, ret_reason);
	}
	closedir(d);

	if (r == 0 && !inventory) {
		set_reason(ret_reason, "CRIU left no inventory.img");
		r = -EBADMSG;
	}
	return r;
}

static int sync_all(int dir_fd, json_object *files)
{
	size_t i, n = json_object_array_length(files);
	int r;

	for (i = 0; i < n; i++) {
		json_object *name;

		json_object_object_get_ex(json_object_array_get_idx(files, i),
					  "name", &name);
		r = fsync_at(dir_fd, json_object_get_string(name));
		if (r < 0)
			return r;
	}

	if (fsync(dir_fd) < 0)
		return negative_errno();
	return 0;
}

static int publish_steps(struct store_writer *w, const struct store_deps *deps,
			 char **ret_reason)
{
	json_object *files = json_object_new_array();
	json_object *dep = NULL;
	char name[64];
	uint64_t total = 0;
	int r;

	r = hash_all(w, files, &total, ret_reason);
	if (r == 0)
		r = deps_collect(deps, &dep, ret_reason);
	if (r == 0)
		r = manifest_write(w->store, w->dir_fd, w->seq, w->app, files,
				   dep, ret_reason);
	if (r == 0) {
		kill_point("publish", "after-write");
		r = sync_all(w->dir_fd, files);
		if (r < 0)
			set_reason(ret_reason, "syncing the image: %s",
				   strerror(-r));
	}
	json_object_put(files);
	json_object_put(dep);
	if (r < 0)
		return r;

	kill_point("publish", "after-sync");
	r = space_make_room(w->store, STORE_TIER_TMPFS, w->app, total,
			    ret_reason);
	if (r < 0)
		return r;

	snprintf(name, sizeof(name), ".new-%llu", (unsigned long long)w->seq);
	r = image_install(w->store, STORE_TIER_TMPFS, w->app_fd, name, w->seq,
			  "publish");
	if (r < 0)
		set_reason(ret_reason, "installing the image: %s",
			   strerror(-r));
	return r;
}

int store_writer_publish(struct store_writer *writer,
			 const struct store_deps *deps, char **ret_reason)
{
	_cleanup_free_ char *reason = NULL;
	int r;

	if (!writer)
		return -EINVAL;

	r = publish_steps(writer, deps, &reason);
	if (r < 0) {
		store_writer_abort(writer);
		if (ret_reason)
			*ret_reason = TAKE_PTR(reason);
		return r;
	}

	writer_free(writer);
	return 0;
}

/*
 * Renames a synced folder into place as img-<seq>, then swaps `current`
 * to it with a rename of a fresh symlink (atomic: a reader resolves either
 * the old image or the new one), syncs the app folder and removes what
 * the new image supersedes in this tier.
 */
int image_install(struct store *store, enum store_tier tier, int app_fd,
		  const char *new_name, uint64_t seq, const char *op)
{
	char img[64];

	snprintf(img, sizeof(img), "img-%llu", (unsigned long long)seq);
	if (renameat(app_fd, new_name, app_fd, img) < 0)
		return negative_errno();
	kill_point(op, "after-rename");

	unlinkat(app_fd, CURRENT_NEW_NAME, 0);
	if (symlinkat(img, app_fd, CURRENT_NEW_NAME) < 0 ||
	    renameat(app_fd, CURRENT_NEW_NAME, app_fd, CURRENT_NAME) < 0) {
		int r = negative_errno();

		unlinkat(app_fd, CURRENT_NEW_NAME, 0);
		rm_rf_at(app_fd, img);
		return r;
	}
	kill_point(op, "after-swap");

	if (fsync(app_fd) < 0)
		return negative_errno();
	kill_point(op, "after-dirsync");

	image_remove_superseded(app_fd, seq);
	return 0;
}

static int invalid_name(uint64_t seq, char *buf, size_t size)
{
	return snprintf(buf, size, "invalid-%llu", (unsigned long long)seq);
}

void mark_invalid_at(int app_fd, uint64_t seq, const char *reason)
{
	char name[64];

	invalid_name(seq, name, sizeof(name));
	write_file_at(app_fd, name, reason ? reason : "invalidated");
	fsync(app_fd);
}

int read_invalid_at(int app_fd, uint64_t seq, char **ret_reason)
{
	char name[64];
	char *text = NULL;
	int r;

	invalid_name(seq, name, sizeof(name));
	r = read_file_at(app_fd, name, 4096, &text);
	if (r < 0)
		return r == -ENOENT ? 0 : r;

	if (ret_reason)
		*ret_reason = text;
	else
		free(text);
	return 1;
}

/* An image that was marked invalid is kept as failed-<seq>, bounded. */
static void keep_failed(int app_fd, const char *img, uint64_t seq)
{
	char failed[64], mark[64];
	int fd;

	snprintf(failed, sizeof(failed), "failed-%llu",
		 (unsigned long long)seq);
	invalid_name(seq, mark, sizeof(mark));
	if (renameat(app_fd, img, app_fd, failed) < 0) {
		rm_rf_at(app_fd, img);
		return;
	}

	fd = openat(app_fd, failed, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || renameat(app_fd, mark, fd, "invalid-reason") < 0)
		unlinkat(app_fd, mark, 0);
	close_fd(fd);
}

static void prune_failed(int app_fd, uint64_t newest)
{
	uint64_t seq;
	char name[64];
	int kept = 0;

	for (seq = newest; seq > 0 && newest - seq < 64; seq--) {
		snprintf(name, sizeof(name), "failed-%llu",
			 (unsigned long long)seq);
		if (faccessat(app_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (++kept > FAILED_KEEP)
			rm_rf_at(app_fd, name);
	}
}

static void remove_old(DIR *d, int app_fd, uint64_t keep_seq, bool marks)
{
	struct dirent *de;
	uint64_t seq;

	rewinddir(d);
	while ((de = readdir(d))) {
		if (marks) {
			if (parse_seq(de->d_name, "invalid-", &seq) == 0 &&
			    seq != keep_seq)
				unlinkat(app_fd, de->d_name, 0);
			continue;
		}
		if (parse_seq(de->d_name, "img-", &seq) < 0 || seq == keep_seq)
			continue;
		if (read_invalid_at(app_fd, seq, NULL) > 0)
			keep_failed(app_fd, de->d_name, seq);
		else
			rm_rf_at(app_fd, de->d_name);
	}
}

void image_remove_superseded(int app_fd, uint64_t keep_seq)
{
	DIR *d = dir_open_at(app_fd, ".");

	if (!d)
		return;

	remove_old(d, app_fd, keep_seq, false);
	remove_old(d, app_fd, keep_seq, true);
	closedir(d);
	prune_failed(app_fd, keep_seq);
}
