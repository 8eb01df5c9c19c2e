// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "internal.h"
#include "util.h"

struct store_image {
	int dir_fd;
	int app_fd; /* holds a shared lock: no eviction while in use */
	char *path;
	enum store_tier source;
	uint64_t check_usec;
};

static int ensure_tmpfs(const struct store_config *c, char **ret_reason)
{
	char opts[64] = "mode=0700";
	struct statfs sf;

	if (statfs(c->tmpfs_dir, &sf) < 0)
		return negative_errno();
	if (sf.f_type == TMPFS_MAGIC)
		return 0;

	if (!c->mount_tmpfs) {
		set_reason(ret_reason,
			   "%s is not a tmpfs and mounting one is off",
			   c->tmpfs_dir);
		return -EMEDIUMTYPE;
	}

	if (c->tmpfs_budget)
		snprintf(opts, sizeof(opts), "mode=0700,size=%llu",
			 (unsigned long long)c->tmpfs_budget);
	if (mount("thaw-images", c->tmpfs_dir, "tmpfs",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0) {
		int r = negative_errno();

		set_reason(ret_reason, "mounting a tmpfs on %s: %s",
			   c->tmpfs_dir, strerror(-r));
		return r;
	}
	return 0;
}

/* Only root may write a tier: an image is code and data CRIU trusts. */
static int open_tier_dir(const char *dir, char **ret_reason)
{
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();

		set_reason(ret_reason, "opening %s: %s", dir, strerror(-r));
		return r;
	}

	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		set_reason(ret_reason, "%s is not owned by uid %d", dir,
			   (int)geteuid());
		close_fd(fd);
		return -EACCES;
	}
	/* Someone else could have planted files already: refuse. */
	if (st.st_mode & 0022) {
		set_reason(ret_reason,
			   "%s is writable by others than its owner", dir);
		close_fd(fd);
		return -EACCES;
	}
	if ((st.st_mode & 0077) && fchmod(fd, 0700) < 0) {
		int r = negative_errno();

		set_reason(ret_reason, "making %s private: %s", dir,
			   strerror(-r));
		close_fd(fd);
		return r;
	}
	return fd;
}

/* Drops what a crash left: folders being written, images never made
 * current, a dangling `current`. */
static void recover_app(int app_fd)
{
	uint64_t seq = 0;
	int img;

	remove_new_at(app_fd);
	unlinkat(app_fd, CURRENT_NEW_NAME, 0);
	img = open_current_at(app_fd, &seq);
	if (img < 0) {
		unlinkat(app_fd, CURRENT_NAME, 0);
		seq = 0;
	}
	close_fd(img);
	image_remove_superseded(app_fd, seq);
}

static void recover_tier(struct store *store, enum store_tier tier)
{
	DIR *d = dir_open_at(store->dir_fd[tier], ".");
	struct dirent *de;

	if (!d)
		return;

	while ((de = readdir(d))) {
		int app_fd;

		if (!app_id_is_valid(de->d_name))
			continue;
		app_fd = open_app_dir(store, tier, de->d_name, false);
		if (app_fd < 0)
			continue;
		recover_app(app_fd);
		close_fd(app_fd);
	}
	closedir(d);
}

static int open_tier(struct store *store, enum store_tier tier,
		     const struct store_config *c, char **ret_reason)
{
	const char *dir = tier == STORE_TIER_TMPFS ? c->tmpfs_dir :
						     c->persist_dir;
	int r;

	r = mkdir_p(dir, 0700);
	if (r < 0) {
		set_reason(ret_reason, "creating %s: %s", dir, strerror(-r));
		return r;
	}
	if (tier == STORE_TIER_TMPFS) {
		r = ensure_tmpfs(c, ret_reason);
		if (r < 0)
			return r;
	}

	store->dir[tier] = strdup(dir);
	if (!store->dir[tier])
		return -ENOMEM;
	store->dir_fd[tier] = open_tier_dir(dir, ret_reason);
	if (store->dir_fd[tier] < 0)
		return store->dir_fd[tier];

	recover_tier(store, tier);
	return 0;
}

static int copy_config(struct store *s, const struct store_config *c)
{
	s->budget[STORE_TIER_TMPFS] = c->tmpfs_budget;
	s->budget[STORE_TIER_PERSIST] = c->persist_budget;
	if (c->criu_version && !(s->criu_version = strdup(c->criu_version)))
		return -ENOMEM;
	if (c->hal_version && !(s->hal_version = strdup(c->hal_version)))
		return -ENOMEM;
	if (c->auth_key && c->auth_key_size) {
		s->key = malloc(c->auth_key_size);
		if (!s->key)
			return -ENOMEM;
		memcpy(s->key, c->auth_key, c->auth_key_size);
		s->key_size = c->auth_key_size;
	}
	return 0;
}

int store_open(const struct store_config *config, struct store **ret,
	       char **ret_reason)
{
	_cleanup_free_ char *reason = NULL;
	struct store *s;
	int r;

	if (!config || !config->tmpfs_dir || !ret)
		return -EINVAL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dir_fd[0] = s->dir_fd[1] = -1;
	pthread_mutex_init(&s->space_lock, NULL);

	r = copy_config(s, config);
	if (r == 0)
		r = open_tier(s, STORE_TIER_TMPFS, config, &reason);
	if (r == 0 && config->persist_dir)
		r = open_tier(s, STORE_TIER_PERSIST, config, &reason);
	if (r < 0) {
		store_free(s);
		if (ret_reason)
			*ret_reason = TAKE_PTR(reason);
		return r;
	}

	*ret = s;
	return 0;
}

struct store *store_free(struct store *store)
{
	int i;

	if (!store)
		return NULL;
	for (i = 0; i < 2; i++) {
		close_fd(store->dir_fd[i]);
		free(store->dir[i]);
	}
	if (store->key)
		explicit_bzero(store->key, store->key_size);
	free(store->key);
	free(store->criu_version);
	free(store->hal_version);
	pthread_mutex_destroy(&store->space_lock);
	free(store);
	return NULL;
}

static void mark_current_invalid(struct store *store, enum store_tier tier,
				 const char *app, const char *reason)
{
	_cleanup_close_ int fd = open_app_dir(store, tier, app, false);
	uint64_t seq;

	if (fd >= 0 && current_seq_at(fd, &seq) == 0)
		mark_invalid_at(fd, seq, reason);
}

static void discard_current(int app_fd, uint64_t seq)
{
	char img[64];

	snprintf(img, sizeof(img), "img-%llu", (unsigned long long)seq);
	unlinkat(app_fd, CURRENT_NAME, 0);
	rm_rf_at(app_fd, img);
}

/*
 * Checks the tmpfs tier's current image.  A broken one is discarded; one
 * whose dependencies changed is marked invalid in both tiers.
 */
static int open_tmpfs(struct store *store, const char *app, int tfd,
		      int *ret_fd, uint64_t *ret_seq, char **ret_reason)
{
	_cleanup_close_ int img = -1;
	struct manifest *m = NULL;
	uint64_t seq = 0;
	int r;

	img = tfd < 0 ? -ENOENT : open_current_at(tfd, &seq);
	if (img == -ENOENT)
		return -ENOENT;
	if (read_invalid_at(tfd, seq, ret_reason) > 0)
		return -ESTALE;

	r = img < 0 ? -EBADMSG : manifest_load(store, img, &m, ret_reason);
	if (r == 0)
		r = deps_check(store, m, ret_reason);
	if (r == 0)
		r = manifest_check_files(store, img, m, ret_reason);
	manifest_free(m);

	if (r == -ESTALE && ret_reason) {
		mark_invalid_at(tfd, seq, *ret_reason);
		mark_current_invalid(store, STORE_TIER_PERSIST, app,
				     *ret_reason);
	} else if (r == -EBADMSG) {
		discard_current(tfd, seq);
	}
	if (r < 0)
		return r;

	*ret_fd = TAKE_FD(img);
	*ret_seq = seq;
	return 0;
}

static void add_repair(char **repair, const char *fmt, const char *what)
{
	char *s;

	if (!what)
		return;
	s = *repair ? strdup_printf("%s; ", *repair) : strdup("");
	free(*repair);
	*repair = s ? strdup_printf("%s%s%s", s, fmt, what) : NULL;
	free(s);
}

static int image_new(struct store *store, const char *app, int tfd, int fd,
		     uint64_t seq, struct store_image **ret)
{
	struct store_image *img = calloc(1, sizeof(*img));

	if (!img)
		return -ENOMEM;
	img->path = strdup_printf("%s/%s/img-%llu",
				  store->dir[STORE_TIER_TMPFS], app,
				  (unsigned long long)seq);
	if (!img->path) {
		free(img);
		return -ENOMEM;
	}
	img->dir_fd = fd;
	img->app_fd = tfd;
	*ret = img;
	return 0;
}

struct open_state {
	int tfd, img_fd;
	uint64_t seq;
	char *reason, *repair;
	enum store_tier source;
};

/* The tmpfs copy is missing or was discarded: bring it back. */
static int open_from_persist(struct store *store, const char *app,
			     struct open_state *s, int tmpfs_r)
{
	_cleanup_free_ char *why = NULL;
	int r;

	if (store->dir_fd[STORE_TIER_PERSIST] < 0)
		return tmpfs_r;

	r = persist_restore(store, app, &s->seq, &why);
	if (r == -ENOENT)
		return tmpfs_r;
	if (r == -ESTALE) {
		mark_current_invalid(store, STORE_TIER_PERSIST, app, why);
		set_reason(&s->reason, "%s", why);
		return r;
	}
	if (r == -EBADMSG)
		add_repair(&s->repair, "persistent copy discarded: ", why);
	if (r < 0) {
		set_reason(&s->reason, "%s", why ? why : strerror(-r));
		return r;
	}

	add_repair(&s->repair, "",
		   "tmpfs copy restored from the persistent copy");
	s->source = STORE_TIER_PERSIST;
	if (s->tfd < 0)
		s->tfd = open_app_dir(store, STORE_TIER_TMPFS, app, false);
	if (s->tfd < 0 || flock(s->tfd, LOCK_SH) < 0)
		return -EIO;
	s->img_fd = open_current_at(s->tfd, &s->seq);
	return s->img_fd < 0 ? -EIO : 0;
}

static int open_image(struct store *store, const char *app,
		      struct open_state *s)
{
	_cleanup_free_ char *why = NULL;
	int r, pc;

	s->tfd = open_app_dir(store, STORE_TIER_TMPFS, app, false);
	if (s->tfd >= 0 && flock(s->tfd, LOCK_SH) < 0)
		return negative_errno();

	r = open_tmpfs(store, app, s->tfd, &s->img_fd, &s->seq, &s->reason);
	if (r == -ESTALE)
		return r;
	if (r == -EBADMSG)
		add_repair(&s->repair, "tmpfs copy discarded: ", s->reason);
	if (r < 0)
		return open_from_persist(store, app, s, r);

	pc = persist_cheap_check(store, app, s->seq, &why);
	if (pc == 2)
		add_repair(&s->repair,
			   "persistent copy discarded, to be written again: ",
			   why);
	else if (pc == 1 && why && strstr(why, "missing"))
		add_repair(&s->repair, "",
			   "persistent copy missing, to be written again");
	return 0;
}

int store_image_open(struct store *store, const char *app_id,
		     struct store_image **ret, char **ret_reason,
		     char **ret_repair)
{
	struct open_state s = { .tfd = -1, .img_fd = -1 };
	uint64_t t0 = now_usec(CLOCK_MONOTONIC);
	int r;

	if (!store || !app_id_is_valid(app_id) || !ret)
		return -EINVAL;

	s.source = STORE_TIER_TMPFS;
	r = open_image(store, app_id, &s);
	if (r == 0)
		r = image_new(store, app_id, s.tfd, s.img_fd, s.seq, ret);
	if (r == 0) {
		last_use_touch(s.tfd);
		(*ret)->source = s.source;
		(*ret)->check_usec = now_usec(CLOCK_MONOTONIC) - t0;
		s.tfd = s.img_fd = -1;
	} else if (ret_reason) {
		*ret_reason = TAKE_PTR(s.reason);
	}

	if (ret_repair)
		*ret_repair = TAKE_PTR(s.repair);
	close_fd(s.tfd);
	close_fd(s.img_fd);
	free(s.reason);
	free(s.repair);
	return r;
}

int store_image_peek(struct store *store, const char *app_id)
{
	_cleanup_close_ int app_fd = -1;
	uint64_t seq;

	if (!store || !app_id_is_valid(app_id))
		return -EINVAL;
	app_fd = open_app_dir(store, STORE_TIER_TMPFS, app_id, false);
	if (app_fd < 0)
		return app_fd;
	return open_current_at(app_fd, &seq);
}

int store_image_dirfd(const struct store_image *image)
{
	return image->dir_fd;
}

const char *store_image_path(const struct store_image *image)
{
	return image->path;
}

enum store_tier store_image_source(const struct store_image *image)
{
	return image->source;
}

uint64_t store_image_check_usec(const struct store_image *image)
{
	return image->check_usec;
}

struct store_image *store_image_close(struct store_image *image)
{
	if (!image)
		return NULL;
	close_fd(image->dir_fd);
	close_fd(image->app_fd);
	free(image->path);
	free(image);
	return NULL;
}

int store_invalidate(struct store *store, const char *app_id,
		     const char *reason)
{
	bool found = false;
	int tier;

	if (!store || !app_id_is_valid(app_id))
		return -EINVAL;

	for (tier = 0; tier < 2; tier++) {
		_cleanup_close_ int fd =
			open_app_dir(store, tier, app_id, false);
		uint64_t seq;

		if (fd < 0 || current_seq_at(fd, &seq) < 0)
			continue;
		mark_invalid_at(fd, seq, reason);
		found = true;
	}
	return found ? 0 : -ENOENT;
}

/* 1: valid current image, 0: marked invalid, -ENOENT: none. */
static int tier_state(struct store *store, enum store_tier tier,
		      const char *app)
{
	_cleanup_close_ int fd = open_app_dir(store, tier, app, false);
	_cleanup_close_ int img = -1;
	uint64_t seq;

	if (fd < 0)
		return -ENOENT;
	img = open_current_at(fd, &seq);
	if (img < 0)
		return -ENOENT;
	return read_invalid_at(fd, seq, NULL) == 0;
}

/* As store_image_open() would choose: the tmpfs copy when there is one. */
bool store_has_image(struct store *store, const char *app_id)
{
	int r;

	if (!store || !app_id_is_valid(app_id))
		return false;
	r = tier_state(store, STORE_TIER_TMPFS, app_id);
	if (r == -ENOENT)
		r = tier_state(store, STORE_TIER_PERSIST, app_id);
	return r == 1;
}
