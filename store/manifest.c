// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "internal.h"
#include "util.h"

#define MANIFEST_MAX (4u << 20)

struct manifest *manifest_free(struct manifest *m)
{
	if (!m)
		return NULL;
	free(m->files);
	json_object_put(m->root);
	free(m);
	return NULL;
}

static int manifest_check_mac(const struct store *store, int img_fd,
			      const char *text, char **ret_reason)
{
	_cleanup_free_ char *stored = NULL;
	char want[HASH_HEX_MAX];
	int r;

	r = read_file_at(img_fd, MANIFEST_MAC_NAME, HASH_HEX_MAX + 2, &stored);
	if (r < 0) {
		set_reason(ret_reason, "%s unreadable: %s", MANIFEST_MAC_NAME,
			   strerror(-r));
		return -EBADMSG;
	}

	r = mac_text(store, text, want);
	if (r < 0)
		return r;

	stored[strcspn(stored, "\n")] = '\0';
	if (!streq(stored, want)) {
		set_reason(ret_reason, "%s: %s", MANIFEST_NAME,
			   store->key ? "not signed with this device's key" :
					"hash mismatch");
		return -EBADMSG;
	}
	return 0;
}

static int manifest_parse_file(json_object *o, struct manifest_file *f)
{
	json_object *name, *size, *hash;

	if (!json_object_object_get_ex(o, "name", &name) ||
	    !json_object_object_get_ex(o, "size", &size) ||
	    !json_object_object_get_ex(o, "hash", &hash) ||
	    !json_object_is_type(name, json_type_string) ||
	    !json_object_is_type(size, json_type_int) ||
	    !json_object_is_type(hash, json_type_string))
		return -EBADMSG;

	f->name = (char *)json_object_get_string(name);
	f->size = (uint64_t)json_object_get_int64(size);
	if (strchr(f->name, '/') || f->name[0] == '.' ||
	    json_object_get_string_len(hash) >= HASH_HEX_MAX)
		return -EBADMSG;
	memcpy(f->hash, json_object_get_string(hash),
	       json_object_get_string_len(hash) + 1);
	return 0;
}

static int manifest_parse(struct manifest *m)
{
	json_object *seq, *kind, *files;
	size_t i;

	if (!json_object_object_get_ex(m->root, "seq", &seq) ||
	    !json_object_object_get_ex(m->root, "hash", &kind) ||
	    !json_object_object_get_ex(m->root, "files", &files) ||
	    !json_object_is_type(files, json_type_array))
		return -EBADMSG;

	m->seq = (uint64_t)json_object_get_int64(seq);
	m->hash_kind = (char *)json_object_get_string(kind);
	m->n_files = json_object_array_length(files);
	m->files = calloc(m->n_files ? m->n_files : 1, sizeof(*m->files));
	if (!m->files)
		return -ENOMEM;

	for (i = 0; i < m->n_files; i++)
		if (manifest_parse_file(json_object_array_get_idx(files, i),
					&m->files[i]) < 0)
			return -EBADMSG;
	return 0;
}

int manifest_from_text(const char *text, struct manifest **ret)
{
	struct manifest *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	m->root = json_tokener_parse(text);
	r = m->root ? manifest_parse(m) : -EBADMSG;
	if (r < 0) {
		manifest_free(m);
		return r;
	}

	*ret = m;
	return 0;
}

int manifest_load(const struct store *store, int img_fd, struct manifest **ret,
		  char **ret_reason)
{
	_cleanup_free_ char *text = NULL;
	struct manifest *m = NULL;
	int r;

	r = read_file_at(img_fd, MANIFEST_NAME, MANIFEST_MAX, &text);
	if (r < 0) {
		set_reason(ret_reason, "%s unreadable: %s", MANIFEST_NAME,
			   strerror(-r));
		return -EBADMSG;
	}

	r = manifest_check_mac(store, img_fd, text, ret_reason);
	if (r < 0)
		return r;

	r = manifest_from_text(text, &m);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		set_reason(ret_reason, "%s unreadable: not a manifest",
			   MANIFEST_NAME);
		return r;
	}
	if (!streq(m->hash_kind, hash_kind(store))) {
		set_reason(ret_reason, "%s: hashed with %s, the store uses %s",
			   MANIFEST_NAME, m->hash_kind, hash_kind(store));
		manifest_free(m);
		return -EBADMSG;
	}

	*ret = m;
	return 0;
}

int manifest_write(const struct store *store, int img_fd, uint64_t seq,
		   const char *app, json_object *files, json_object *deps,
		   char **ret_reason)
{
	json_object *root = json_object_new_object();
	char mac[HASH_HEX_MAX];
	const char *text;
	int r;

	if (!root)
		return -ENOMEM;
	json_object_object_add(root, "format", json_object_new_int(1));
	json_object_object_add(root, "app", json_object_new_string(app));
	json_object_object_add(root, "seq",
			       json_object_new_int64((int64_t)seq));
	json_object_object_add(root, "hash",
			       json_object_new_string(hash_kind(store)));
	json_object_object_add(root, "files", json_object_get(files));
	json_object_object_add(root, "deps", json_object_get(deps));

	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	r = write_file_at(img_fd, MANIFEST_NAME, text);
	if (r == 0) {
		r = mac_text(store, text, mac);
		if (r == 0)
			r = write_file_at(img_fd, MANIFEST_MAC_NAME, mac);
	}
	json_object_put(root);

	if (r < 0)
		set_reason(ret_reason, "writing %s: %s", MANIFEST_NAME,
			   strerror(-r));
	return r;
}

static int check_one(const struct store *store, int img_fd,
		     const struct manifest_file *f, char **ret_reason)
{
	_cleanup_close_ int fd = -1;
	char hash[HASH_HEX_MAX];
	struct stat st;
	uint64_t size;
	int r;

	fd = openat(img_fd, f->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		set_reason(ret_reason, "file %s: %s", f->name, strerror(errno));
		return -EBADMSG;
	}

	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size) {
		set_reason(ret_reason, "file %s: size %lld, manifest says %llu",
			   f->name, (long long)st.st_size,
			   (unsigned long long)f->size);
		return -EBADMSG;
	}

	r = hash_fd(store, fd, hash, &size);
	if (r < 0) {
		set_reason(ret_reason, "file %s: %s", f->name, strerror(-r));
		return -EBADMSG;
	}
	if (size != f->size || !streq(hash, f->hash)) {
		set_reason(ret_reason, "file %s: hash mismatch", f->name);
		return -EBADMSG;
	}
	return 0;
}

static bool manifest_lists(const struct manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_files; i++)
		if (streq(m->files[i].name, name))
			return true;
	return false;
}

/*
 * A stray *.img file is one CRIU might read; other strays (the restore
 * log, stats-restore) are what CRIU writes into the folder itself.
 */
static int check_strays(int img_fd, const struct manifest *m, char **ret_reason)
{
	DIR *d = dir_open_at(img_fd, ".");
	struct dirent *de;
	int r = 0;

	if (!d)
		return negative_errno();

	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 4 && streq(de->d_name + n - 4, ".img") &&
		    !manifest_lists(m, de->d_name)) {
			set_reason(ret_reason, "file %s: not in the manifest",
				   de->d_name);
			r = -EBADMSG;
			break;
		}
	}

	closedir(d);
	return r;
}

int manifest_check_files(const struct store *store, int img_fd,
			 const struct manifest *m, char **ret_reason)
{
	size_t i;
	int r;

	for (i = 0; i < m->n_files; i++) {
		r = check_one(store, img_fd, &m->files[i], ret_reason);
		if (r < 0)
			return r;
	}
	return check_strays(img_fd, m, ret_reason);
}

uint64_t manifest_total_size(const struct manifest *m)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < m->n_files; i++)
		sum += m->files[i].size;
	return sum;
}

int manifest_copy(int from_fd, int to_fd)
{
	static const char *const names[] = { MANIFEST_NAME, MANIFEST_MAC_NAME };
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *text = NULL;

		r = read_file_at(from_fd, names[i], MANIFEST_MAX, &text);
		if (r < 0)
			return r;
		r = write_file_at(to_fd, names[i], text);
		if (r < 0)
			return r;
	}
	return 0;
}
