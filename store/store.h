/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The image store: per app one current CRIU image in a fast tier (a
 * tmpfs) and a compressed copy of it in a persistent tier (eMMC), each
 * copy able to repair the other.  An image appears in a tier only whole,
 * with a manifest of its files' sizes and hashes and of what it depends
 * on, and is checked against both before CRIU ever reads it.
 *
 * Thread safety: calls for different apps may run concurrently from any
 * thread; calls for one app must be serialized by the caller (thawd runs
 * at most one operation per app at a time).  Nothing here logs: results
 * carry their reasons, and the caller logs its decision once.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

struct store_config {
	/* Fast tier; mounted as a tmpfs of tmpfs_budget bytes when it is
	 * not one already and mount_tmpfs is set. */
	const char *tmpfs_dir;
	uint64_t tmpfs_budget; /* bytes; 0: no limit */
	bool mount_tmpfs;
	/* Persistent tier, NULL when there is none. */
	const char *persist_dir;
	uint64_t persist_budget; /* bytes; 0: no limit */
	/* Authenticated mode when set: files and manifest are hashed with
	 * HMAC-SHA256 under this device key instead of plain XXH3-64. */
	const void *auth_key;
	size_t auth_key_size;
	/* The running system's CRIU and HAL versions, compared with those
	 * an image was made with; NULL: not compared. */
	const char *criu_version;
	const char *hal_version;
};

/*
 * What an image depends on, recorded when it is published and compared
 * with the system before a restore.  exe_path is the app's executable;
 * pid, when > 0, names the dumped process so that the libraries it maps
 * are recorded too.  criu_version and hal_version are free-form strings.
 */
struct store_deps {
	const char *exe_path;
	pid_t pid;
	const char *criu_version;
	const char *hal_version;
};

enum store_tier {
	STORE_TIER_TMPFS,
	STORE_TIER_PERSIST,
};

/*
 * Opens (and creates, mode 0700) both tiers and recovers from a crash:
 * folders left half-written are removed, and so is an image that was
 * renamed into place but never made current.
 *
 * Returns 0 and the store in *ret, or a negative errno (-ENOTDIR,
 * -EACCES when a tier is not owned by this uid, -EMEDIUMTYPE when the
 * fast tier is no tmpfs and mount_tmpfs is off, ...) with a reason in
 * *ret_reason (caller frees; may be NULL).
 */
int store_open(const struct store_config *config, struct store **ret,
	       char **ret_reason);

/* Frees the store; accepts NULL; returns NULL. */
struct store *store_free(struct store *store);

/*
 * A new image being written: an empty folder of the fast tier, outside
 * every reader's view, into which CRIU dumps.
 */
struct store_writer;

int store_writer_begin(struct store *store, const char *app_id,
		       struct store_writer **ret);

/* The folder's fd (O_PATH|O_DIRECTORY is not enough for CRIU: O_RDONLY). */
int store_writer_dirfd(const struct store_writer *writer);
const char *store_writer_path(const struct store_writer *writer);

/*
 * Hashes the files CRIU wrote, writes the manifest, syncs, and renames the
 * folder into place as the app's current image of the fast tier, which
 * supersedes any previous one.  Frees the writer, whatever the result.
 *
 * Returns 0, -ENOSPC when the tier's budget or file system is full (the
 * previous image stays current), -EBADMSG when CRIU left no usable image,
 * or another negative errno.
 */
int store_writer_publish(struct store_writer *writer,
			 const struct store_deps *deps, char **ret_reason);

/* Removes the folder and all in it; frees the writer; accepts NULL. */
void store_writer_abort(struct store_writer *writer);

/*
 * Copies the app's current fast-tier image to the persistent tier,
 * compressed, and verifies the copy.  Slow: run it off the app's path.
 *
 * When the persistent tier already holds this image, only verifies it
 * (once per boot) and rewrites it if it is broken.
 *
 * Returns 0, -ENOENT when there is no current image, -ESTALE when it is
 * marked invalid, -EBADMSG when the tmpfs copy itself no longer matches
 * its manifest, -EOPNOTSUPP without a persistent tier, -ENOSPC, -EROFS,
 * -EIO, or another negative errno, with a reason in *ret_reason.
 */
int store_persist(struct store *store, const char *app_id, char **ret_reason);

/*
 * Whether store_persist() has work to do for the app: its current tmpfs
 * image is valid and the persistent copy is missing, older, or not yet
 * verified since boot.  Cheap (no hashing); thawd asks after each
 * publish and each store_image_open().
 */
bool store_needs_persist(struct store *store, const char *app_id);

/* An image verified and ready for CRIU to read. */
struct store_image;

/*
 * Finds the app's current image and checks it against its manifest and
 * against the system: the fast tier's copy first; when that is missing or
 * broken, the persistent copy, decompressed into the fast tier.  Broken
 * copies are discarded, and a missing persistent copy is noted so that
 * store_persist() writes it again (see store_needs_persist()).  What was
 * done is reported in *ret_repair, on success and on failure alike
 * (caller frees; NULL when nothing was repaired).  The launch's last use
 * is recorded for the tmpfs tier's eviction order.
 *
 * Returns 0 and the image in *ret; -ENOENT when the app has no image;
 * -ESTALE when it is marked invalid or depends on something that changed;
 * -EBADMSG when every copy is damaged.  *ret_reason (caller frees) names
 * the file or dependency at fault.
 */
int store_image_open(struct store *store, const char *app_id,
		     struct store_image **ret, char **ret_reason,
		     char **ret_repair);

/*
 * The folder of the fast tier's current image, unchecked: the copy that
 * store_image_open() checks first.  For work that may begin before the
 * check and must be undone unless store_image_open() returns this very
 * folder (compare the inodes).  Returns an fd or a negative errno.
 */
int store_image_peek(struct store *store, const char *app_id);

int store_image_dirfd(const struct store_image *image);
const char *store_image_path(const struct store_image *image);
enum store_tier store_image_source(const struct store_image *image);
/* Microseconds spent checking it, counted in the launch time. */
uint64_t store_image_check_usec(const struct store_image *image);

/* Closes the image; accepts NULL; returns NULL. */
struct store_image *store_image_close(struct store_image *image);

/*
 * Marks the app's current image invalid in both tiers, with a reason kept
 * beside it, so that the next launch starts cold and dumps anew.
 * Returns 0, -ENOENT when there is no image, or a negative errno.
 */
int store_invalidate(struct store *store, const char *app_id,
		     const char *reason);

/* Whether the app has a current image that is not marked invalid (cheap:
 * no hashing): the tmpfs copy when there is one, else the persistent. */
bool store_has_image(struct store *store, const char *app_id);

/*
 * A JSON text describing every app's image in each tier (size on disk,
 * state, age, copy in flight) for `thawctl images`.  Caller frees.
 */
int store_describe(struct store *store, char **ret_json);
