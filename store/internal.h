/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the store's files share.  Layout of a tier:
 *
 *   <tier>/<app>/current -> img-<seq>    the app's current image
 *   <tier>/<app>/img-<seq>/              its files and manifest.json
 *   <tier>/<app>/.new-<seq>/             being written, never read
 *   <tier>/<app>/invalid-<seq>           mark with its reason
 *   <tier>/<app>/failed-<seq>/           kept for inspection, bounded
 *   <tmpfs>/<app>/last-use               its mtime: the last launch
 *   <tmpfs>/<app>/verified-<seq>         persistent copy verified since
 *                                        the tmpfs was mounted
 *
 * In the persistent tier each image file is stored as <name>.zst, and
 * persist.json records the compressed sizes.
 */

#include <dirent.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

#define MANIFEST_NAME	  "manifest.json"
#define MANIFEST_MAC_NAME "manifest.hash"
#define PERSIST_INFO_NAME "persist.json"
#define LAST_USE_NAME	  "last-use"
#define CURRENT_NAME	  "current"
#define CURRENT_NEW_NAME  "current.new"
#define FAILED_KEEP	  2
#define HASH_HEX_MAX	  65
#define NAME_MAX_LEN	  128

struct store {
	char *dir[2];
	int dir_fd[2];
	uint64_t budget[2];
	void *key;
	size_t key_size;
	char *criu_version;
	char *hal_version;
	pthread_mutex_t space_lock;
};

struct manifest_file {
	char *name;
	uint64_t size;
	char hash[HASH_HEX_MAX];
};

struct manifest {
	uint64_t seq;
	char *hash_kind;
	struct manifest_file *files;
	size_t n_files;
	json_object *root; /* owns everything the fields above borrow */
};

/* util.c */
char *strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void set_reason(char **ret_reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool app_id_is_valid(const char *app_id);
int mkdir_p(const char *path, mode_t mode);
int rm_rf_at(int dirfd, const char *name);
/* The folder @name under @dirfd as a stream; NULL with errno set. */
DIR *dir_open_at(int dirfd, const char *name);
int fsync_at(int dirfd, const char *name);
void remove_new_at(int app_fd);
int write_all(int fd, const void *buf, size_t size);
int write_file_at(int dirfd, const char *name, const char *text);
int read_file_at(int dirfd, const char *name, size_t max, char **ret);
int parse_seq(const char *name, const char *prefix, uint64_t *ret);
int current_seq_at(int app_fd, uint64_t *ret);
int open_current_at(int app_fd, uint64_t *ret_seq);
uint64_t dir_usage_at(int dirfd, const char *name);
int open_app_dir(struct store *store, enum store_tier tier, const char *app,
		 bool create);
const char *tier_name(enum store_tier tier);
void kill_point(const char *op, const char *step);

/* hash.c */
struct hasher;
struct hasher *hasher_new(const struct store *store);
struct hasher *hasher_free(struct hasher *h);
void hasher_update(struct hasher *h, const void *buf, size_t size);
void hasher_final(struct hasher *h, char out[HASH_HEX_MAX]);
const char *hash_kind(const struct store *store);
int hash_fd(const struct store *store, int fd, char out[HASH_HEX_MAX],
	    uint64_t *ret_size);
int mac_text(const struct store *store, const char *text,
	     char out[HASH_HEX_MAX]);

/* manifest.c */
struct manifest *manifest_free(struct manifest *m);
/* Parses a manifest's text (no MAC check): 0, -EBADMSG or -ENOMEM. */
int manifest_from_text(const char *text, struct manifest **ret);
int manifest_load(const struct store *store, int img_fd, struct manifest **ret,
		  char **ret_reason);
int manifest_write(const struct store *store, int img_fd, uint64_t seq,
		   const char *app, json_object *files, json_object *deps,
		   char **ret_reason);
int manifest_check_files(const struct store *store, int img_fd,
			 const struct manifest *m, char **ret_reason);
uint64_t manifest_total_size(const struct manifest *m);
int manifest_copy(int from_fd, int to_fd);

/* deps.c */
int deps_collect(const struct store_deps *deps, json_object **ret,
		 char **ret_reason);
int deps_check(const struct store *store, const struct manifest *m,
	       char **ret_reason);

/* publish.c */
int image_install(struct store *store, enum store_tier tier, int app_fd,
		  const char *new_name, uint64_t seq, const char *op);
void image_remove_superseded(int app_fd, uint64_t keep_seq);
void mark_invalid_at(int app_fd, uint64_t seq, const char *reason);
int read_invalid_at(int app_fd, uint64_t seq, char **ret_reason);
uint64_t next_seq(struct store *store, const char *app);

/* space.c */
int space_make_room(struct store *store, enum store_tier tier, const char *app,
		    uint64_t need, char **ret_reason);
void last_use_touch(int app_fd);

/* persist.c */
int persist_restore(struct store *store, const char *app, uint64_t *ret_seq,
		    char **ret_reason);
bool persist_is_verified(struct store *store, const char *app, uint64_t seq);
int persist_cheap_check(struct store *store, const char *app,
			uint64_t tmpfs_seq, char **ret_reason);
