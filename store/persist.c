// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The persistent tier: each image file compressed with zstd as
 * <name>.zst, the manifest copied as it is (its hashes are those of the
 * uncompressed files), persist.json giving the compressed sizes for a
 * cheap check.  A copy is verified by decompressing it after it is
 * written and on its first use after a boot; the tmpfs tier records
 * which copies were verified since it was mounted (verified-<seq>).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <zstd.h>

#include "internal.h"
#include "util.h"

#define ZSTD_LEVEL 3

struct zbuf {
	void *in, *out;
	size_t in_size, out_size;
};

static int zbuf_init(struct zbuf *b, bool compress)
{
	b->in_size = compress ? ZSTD_CStreamInSize() : ZSTD_DStreamInSize();
	b->out_size = compress ? ZSTD_CStreamOutSize() : ZSTD_DStreamOutSize();
	b->in = malloc(b->in_size);
	b->out = malloc(b->out_size);
	return b->in && b->out ? 0 : -ENOMEM;
}

static void zbuf_done(struct zbuf *b)
{
	free(b->in);
	free(b->out);
}

static ssize_t read_some(int fd, void *buf, size_t size)
{
	ssize_t n;

	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? negative_errno() : n;
}

static int compress_stream(ZSTD_CCtx *cc, struct zbuf *b, int in, int out,
			   struct hasher *h, uint64_t *ret_size)
{
	uint64_t size = 0;
	ssize_t n;

	do {
		ZSTD_inBuffer ib;
		size_t left;

		n = read_some(in, b->in, b->in_size);
		if (n < 0)
			return (int)n;
		hasher_update(h, b->in, (size_t)n);
		size += (uint64_t)n;
		ib = (ZSTD_inBuffer){ b->in, (size_t)n, 0 };
		do {
			ZSTD_outBuffer ob = { b->out, b->out_size, 0 };
			int r;

			left = ZSTD_compressStream2(
				cc, &ob, &ib, n ? ZSTD_e_continue : ZSTD_e_end);
			if (ZSTD_isError(left))
				return -EIO;
			r = write_all(out, b->out, ob.pos);
			if (r < 0)
				return r;
		} while (n ? ib.pos < ib.size : left > 0);
	} while (n > 0);

	*ret_size = size;
	return 0;
}

/* Compresses one image file, checking on the way that it still matches
 * its manifest entry. */
static int compress_file(const struct store *store, int img_fd, int new_fd,
			 const struct manifest_file *f, char **ret_reason)
{
	_cleanup_close_ int in = -1, out = -1;
	char zname[NAME_MAX_LEN + 16], hash[HASH_HEX_MAX];
	struct hasher *h = hasher_new(store);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	struct zbuf b = { 0 };
	uint64_t size = 0;
	int r;

	snprintf(zname, sizeof(zname), "%s.zst", f->name);
	in = openat(img_fd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	out = openat(new_fd, zname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		     0600);
	r = in < 0 || out < 0 ? negative_errno() : 0;
	if (r == 0)
		r = !h || !cc ? -ENOMEM : zbuf_init(&b, true);
	if (r == 0)
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	if (r == 0)
		r = compress_stream(cc, &b, in, out, h, &size);
	if (r == 0) {
		hasher_final(h, hash);
		if (size != f->size || !streq(hash, f->hash))
			r = -EBADMSG;
	}
	zbuf_done(&b);
	ZSTD_freeCCtx(cc);
	hasher_free(h);

	if (r == -EBADMSG)
		set_reason(ret_reason, "tmpfs copy: file %s: hash mismatch",
			   f->name);
	else if (r < 0)
		set_reason(ret_reason, "writing %s: %s", zname, strerror(-r));
	return r;
}

static int decompress_stream(ZSTD_DCtx *dc, struct zbuf *b, int in, int out,
			     struct hasher *h, uint64_t *ret_size)
{
	uint64_t size = 0;
	size_t left = 1;
	ssize_t n;

	while ((n = read_some(in, b->in, b->in_size)) > 0) {
		ZSTD_inBuffer ib = { b->in, (size_t)n, 0 };

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { b->out, b->out_size, 0 };
			int r;

			if (left == 0)
				return -EBADMSG; /* data after the frame */
			left = ZSTD_decompressStream(dc, &ob, &ib);
			if (ZSTD_isError(left))
				return -EBADMSG;
			hasher_update(h, b->out, ob.pos);
			size += ob.pos;
			r = out >= 0 ? write_all(out, b->out, ob.pos) : 0;
			if (r < 0)
				return r;
		}
	}
	if (n < 0)
		return (int)n;

	*ret_size = size;
	return left == 0 ? 0 : -EBADMSG;
}

/*
 * Decompresses <name>.zst from a persistent image folder, into out_fd's
 * folder when out_fd >= 0, and checks size and hash against the manifest.
 * -EBADMSG names the file in *ret_reason.
 */
static int decompress_file(const struct store *store, int pimg_fd, int out_dir,
			   const struct manifest_file *f, char **ret_reason)
{
	_cleanup_close_ int in = -1, out = -1;
	char zname[NAME_MAX_LEN + 16], hash[HASH_HEX_MAX];
	struct hasher *h = hasher_new(store);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	struct zbuf b = { 0 };
	uint64_t size = 0;
	int r = 0;

	snprintf(zname, sizeof(zname), "%s.zst", f->name);
	in = openat(pimg_fd, zname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		r = errno == ENOENT ? -EBADMSG : negative_errno();
	else
		posix_fadvise(in, 0, 0, POSIX_FADV_DONTNEED);
	if (r == 0 && out_dir >= 0) {
		out = openat(out_dir, f->name,
			     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		r = out < 0 ? negative_errno() : 0;
	}
	if (r == 0)
		r = !h || !dc ? -ENOMEM : zbuf_init(&b, false);
	if (r == 0)
		r = decompress_stream(dc, &b, in, out, h, &size);
	if (r == 0) {
		hasher_final(h, hash);
		if (size != f->size || !streq(hash, f->hash))
			r = -EBADMSG;
	}
	zbuf_done(&b);
	ZSTD_freeDCtx(dc);
	hasher_free(h);

	if (r == -EBADMSG)
		set_reason(ret_reason, "persistent copy: file %s: %s", f->name,
			   in < 0 ? "missing" :
				    "damaged (hash, size or compression)");
	else if (r < 0)
		set_reason(ret_reason, "%s %s: %s",
			   out_dir >= 0 ? "restoring" : "verifying", f->name,
			   strerror(-r));
	return r;
}

static int verify_all(const struct store *store, int pimg_fd,
		      const struct manifest *m, char **ret_reason)
{
	size_t i;
	int r;

	for (i = 0; i < m->n_files; i++) {
		r = decompress_file(store, pimg_fd, -1, &m->files[i],
				    ret_reason);
		if (r < 0)
			return r;
	}
	return 0;
}

static void mark_verified(struct store *store, const char *app, uint64_t seq)
{
	_cleanup_close_ int fd =
		open_app_dir(store, STORE_TIER_TMPFS, app, true);
	char name[64];

	if (fd < 0)
		return;
	snprintf(name, sizeof(name), "verified-%llu", (unsigned long long)seq);
	write_file_at(fd, name, "");
}

bool persist_is_verified(struct store *store, const char *app, uint64_t seq)
{
	_cleanup_close_ int fd =
		open_app_dir(store, STORE_TIER_TMPFS, app, false);
	char name[64];

	snprintf(name, sizeof(name), "verified-%llu", (unsigned long long)seq);
	return fd >= 0 && faccessat(fd, name, F_OK, 0) == 0;
}

static void discard(int app_fd, uint64_t seq)
{
	char img[64];

	snprintf(img, sizeof(img), "img-%llu", (unsigned long long)seq);
	unlinkat(app_fd, CURRENT_NAME, 0);
	rm_rf_at(app_fd, img);
	fsync(app_fd);
}

static int write_info(int new_fd, const struct manifest *m, uint64_t *total)
{
	json_object *root = json_object_new_object();
	json_object *files = json_object_new_object();
	char zname[NAME_MAX_LEN + 16];
	size_t i;
	int r;

	json_object_object_add(root, "seq",
			       json_object_new_int64((int64_t)m->seq));
	json_object_object_add(root, "files", files);
	for (i = 0; i < m->n_files; i++) {
		struct stat st;

		snprintf(zname, sizeof(zname), "%s.zst", m->files[i].name);
		if (fstatat(new_fd, zname, &st, 0) < 0) {
			json_object_put(root);
			return negative_errno();
		}
		json_object_object_add(files, zname,
				       json_object_new_int64(st.st_size));
		*total += (uint64_t)st.st_blocks * 512;
	}

	r = write_file_at(new_fd, PERSIST_INFO_NAME,
			  json_object_to_json_string(root));
	json_object_put(root);
	return r;
}

static int sync_persist(int new_fd, const struct manifest *m)
{
	char zname[NAME_MAX_LEN + 16];
	size_t i;
	int r;

	for (i = 0; i < m->n_files; i++) {
		snprintf(zname, sizeof(zname), "%s.zst", m->files[i].name);
		r = fsync_at(new_fd, zname);
		if (r < 0)
			return r;
	}
	return fsync(new_fd) < 0 ? negative_errno() : 0;
}

static int write_copy_files(struct store *store, int img_fd, int new_fd,
			    const struct manifest *m, uint64_t *total,
			    char **ret_reason)
{
	size_t i;
	int r = 0;

	for (i = 0; i < m->n_files && r == 0; i++)
		r = compress_file(store, img_fd, new_fd, &m->files[i],
				  ret_reason);
	if (r == 0)
		r = manifest_copy(img_fd, new_fd);
	if (r == 0)
		r = write_info(new_fd, m, total);
	if (r < 0) {
		set_reason(ret_reason, "writing the persistent copy: %s",
			   strerror(-r));
		return r;
	}
	kill_point("persist", "after-write");

	r = sync_persist(new_fd, m);
	if (r < 0) {
		set_reason(ret_reason, "syncing the persistent copy: %s",
			   strerror(-r));
		return r;
	}
	kill_point("persist", "after-sync");

	r = verify_all(store, new_fd, m, ret_reason);
	if (r < 0)
		set_reason(ret_reason, "verifying the persistent copy failed");
	return r;
}

static int write_copy(struct store *store, const char *app, int img_fd, int pfd,
		      const struct manifest *m, char **ret_reason)
{
	_cleanup_close_ int new_fd = -1;
	uint64_t total = 0;
	char name[64];
	int r;

	snprintf(name, sizeof(name), ".new-%llu", (unsigned long long)m->seq);
	remove_new_at(pfd);
	if (mkdirat(pfd, name, 0700) < 0) {
		r = negative_errno();
		set_reason(ret_reason, "persistent tier: %s", strerror(-r));
		return r;
	}
	new_fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = new_fd < 0 ? negative_errno() : 0;

	if (r == 0)
		r = write_copy_files(store, img_fd, new_fd, m, &total,
				     ret_reason);
	if (r == 0)
		r = space_make_room(store, STORE_TIER_PERSIST, app, total,
				    ret_reason);
	if (r == 0) {
		r = image_install(store, STORE_TIER_PERSIST, pfd, name, m->seq,
				  "persist");
		if (r < 0)
			set_reason(ret_reason,
				   "installing the persistent copy: %s",
				   strerror(-r));
	}
	if (r < 0)
		rm_rf_at(pfd, name);
	return r;
}

/* The persistent copy of this seq is already there: verify it once. */
static int persist_existing(struct store *store, const char *app, int pfd,
			    uint64_t seq, char **ret_reason)
{
	_cleanup_close_ int pimg = -1;
	struct manifest *m = NULL;
	uint64_t pseq;
	int r;

	pimg = open_current_at(pfd, &pseq);
	if (pimg < 0 || pseq != seq)
		return -ENOENT;
	if (persist_is_verified(store, app, seq))
		return 0;

	r = manifest_load(store, pimg, &m, ret_reason);
	if (r == 0)
		r = verify_all(store, pimg, m, ret_reason);
	manifest_free(m);
	if (r == 0) {
		mark_verified(store, app, seq);
		return 0;
	}

	discard(pfd, seq);
	return r;
}

static int persist_locked(struct store *store, const char *app, int tfd,
			  char **ret_reason)
{
	_cleanup_close_ int img = -1, pfd = -1;
	_cleanup_free_ char *old_reason = NULL;
	struct manifest *m = NULL;
	uint64_t seq;
	int r;

	img = open_current_at(tfd, &seq);
	if (img < 0) {
		set_reason(ret_reason, "no current image in the tmpfs tier");
		return -ENOENT;
	}
	if (read_invalid_at(tfd, seq, NULL) > 0) {
		set_reason(ret_reason, "the image is marked invalid");
		return -ESTALE;
	}

	pfd = open_app_dir(store, STORE_TIER_PERSIST, app, true);
	if (pfd < 0) {
		set_reason(ret_reason, "persistent tier: %s", strerror(-pfd));
		return pfd;
	}
	if (persist_existing(store, app, pfd, seq, &old_reason) == 0)
		return 0;

	r = manifest_load(store, img, &m, ret_reason);
	if (r == 0)
		r = write_copy(store, app, img, pfd, m, ret_reason);
	manifest_free(m);
	if (r == 0)
		mark_verified(store, app, seq);
	return r;
}

int store_persist(struct store *store, const char *app_id, char **ret_reason)
{
	_cleanup_free_ char *reason = NULL;
	_cleanup_close_ int tfd = -1;
	int r;

	if (!store || !app_id_is_valid(app_id))
		return -EINVAL;
	if (store->dir_fd[STORE_TIER_PERSIST] < 0) {
		set_reason(ret_reason, "the store has no persistent tier");
		return -EOPNOTSUPP;
	}

	tfd = open_app_dir(store, STORE_TIER_TMPFS, app_id, false);
	if (tfd < 0 || flock(tfd, LOCK_SH) < 0) {
		set_reason(ret_reason, "no current image in the tmpfs tier");
		return -ENOENT;
	}

	r = persist_locked(store, app_id, tfd, &reason);
	if (r < 0 && ret_reason)
		*ret_reason = TAKE_PTR(reason);
	return r;
}

static int restore_files(struct store *store, int pimg, int new_fd,
			 const struct manifest *m, char **ret_reason)
{
	size_t i;
	int r;

	for (i = 0; i < m->n_files; i++) {
		r = decompress_file(store, pimg, new_fd, &m->files[i],
				    ret_reason);
		if (r < 0)
			return r;
	}

	r = manifest_copy(pimg, new_fd);
	if (r < 0) {
		set_reason(ret_reason, "writing the manifest: %s",
			   strerror(-r));
		return r;
	}
	kill_point("repair", "after-write");

	if (fsync(new_fd) < 0)
		return negative_errno();
	kill_point("repair", "after-sync");
	return 0;
}

/* Decompresses the persistent image m into the tmpfs tier. */
static int restore_into_tmpfs(struct store *store, const char *app, int pimg,
			      const struct manifest *m, char **ret_reason)
{
	_cleanup_close_ int tfd = -1, new_fd = -1;
	char name[64];
	int r;

	r = space_make_room(store, STORE_TIER_TMPFS, app,
			    manifest_total_size(m), ret_reason);
	if (r < 0)
		return r;

	tfd = open_app_dir(store, STORE_TIER_TMPFS, app, true);
	if (tfd < 0)
		return tfd;
	snprintf(name, sizeof(name), ".new-%llu", (unsigned long long)m->seq);
	remove_new_at(tfd);
	if (mkdirat(tfd, name, 0700) < 0)
		return negative_errno();
	new_fd = openat(tfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = new_fd < 0 ? negative_errno() : 0;

	if (r == 0)
		r = restore_files(store, pimg, new_fd, m, ret_reason);
	if (r == 0)
		r = image_install(store, STORE_TIER_TMPFS, tfd, name, m->seq,
				  "repair");
	if (r < 0) {
		set_reason(ret_reason, "restoring into tmpfs: %s",
			   strerror(-r));
		rm_rf_at(tfd, name);
	}
	return r;
}

static int check_info(int pimg, const struct manifest *m, char **ret_reason)
{
	_cleanup_free_ char *text = NULL;
	char zname[NAME_MAX_LEN + 16];
	json_object *root, *files, *v;
	int r = 0;
	size_t i;

	if (read_file_at(pimg, PERSIST_INFO_NAME, 1 << 20, &text) < 0 ||
	    !(root = json_tokener_parse(text))) {
		set_reason(ret_reason, "persistent copy: %s unreadable",
			   PERSIST_INFO_NAME);
		return -EBADMSG;
	}

	json_object_object_get_ex(root, "files", &files);
	for (i = 0; i < m->n_files && r == 0; i++) {
		struct stat st;

		snprintf(zname, sizeof(zname), "%s.zst", m->files[i].name);
		if (!json_object_object_get_ex(files, zname, &v) ||
		    fstatat(pimg, zname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_size != json_object_get_int64(v)) {
			set_reason(
				ret_reason,
				"persistent copy: file %s: missing or truncated",
				m->files[i].name);
			r = -EBADMSG;
		}
	}
	json_object_put(root);
	return r;
}

int persist_restore(struct store *store, const char *app, uint64_t *ret_seq,
		    char **ret_reason)
{
	_cleanup_close_ int pfd = -1, pimg = -1;
	struct manifest *m = NULL;
	uint64_t seq = 0;
	int r;

	pfd = open_app_dir(store, STORE_TIER_PERSIST, app, false);
	if (pfd < 0)
		return -ENOENT;
	pimg = open_current_at(pfd, &seq);
	if (pimg == -ENOENT)
		return -ENOENT;
	if (read_invalid_at(pfd, seq, ret_reason) > 0)
		return -ESTALE;

	r = pimg < 0 ? -EBADMSG : manifest_load(store, pimg, &m, ret_reason);
	if (r == 0)
		r = deps_check(store, m, ret_reason);
	if (r == 0)
		r = restore_into_tmpfs(store, app, pimg, m, ret_reason);
	manifest_free(m);
	if (r == -EBADMSG)
		discard(pfd, seq);
	if (r < 0)
		return r;

	mark_verified(store, app, seq);
	*ret_seq = seq;
	return 0;
}

int persist_cheap_check(struct store *store, const char *app,
			uint64_t tmpfs_seq, char **ret_reason)
{
	_cleanup_close_ int pfd = -1, pimg = -1;
	struct manifest *m = NULL;
	uint64_t seq = 0;
	int r;

	if (store->dir_fd[STORE_TIER_PERSIST] < 0)
		return 0;
	pfd = open_app_dir(store, STORE_TIER_PERSIST, app, false);
	pimg = pfd < 0 ? -ENOENT : open_current_at(pfd, &seq);
	if (pimg == -ENOENT) {
		set_reason(ret_reason, "persistent copy missing");
		return 1;
	}

	r = pimg < 0 ? -EBADMSG : manifest_load(store, pimg, &m, ret_reason);
	if (r == 0)
		r = check_info(pimg, m, ret_reason);
	manifest_free(m);
	if (r < 0) {
		discard(pfd, seq);
		return 2;
	}

	if (seq != tmpfs_seq) {
		set_reason(ret_reason, "persistent copy is of an older image");
		return 1;
	}
	if (!persist_is_verified(store, app, seq)) {
		set_reason(ret_reason,
			   "persistent copy not verified since boot");
		return 1;
	}
	return 0;
}
