// SPDX-License-Identifier: LGPL-2.1-or-later
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "internal.h"
#include "util.h"

#define MAX_LIBS 512

static void hex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Looks for NT_GNU_BUILD_ID in one PT_NOTE segment. */
static bool note_build_id(int fd, off_t off, size_t size, char *out)
{
	unsigned char buf[4096];
	size_t pos = 0;
	ssize_t n;

	if (size > sizeof(buf))
		size = sizeof(buf);
	n = pread(fd, buf, size, off);
	if (n < (ssize_t)sizeof(Elf64_Nhdr))
		return false;

	while (pos + sizeof(Elf64_Nhdr) <= (size_t)n) {
		Elf64_Nhdr *nh = (Elf64_Nhdr *)(buf + pos);
		size_t name = (nh->n_namesz + 3) & ~3u;
		size_t desc = (nh->n_descsz + 3) & ~3u;
		size_t data = pos + sizeof(*nh);

		if (data + name + desc > (size_t)n)
			return false;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    memcmp(buf + data, "GNU", 4) == 0 && nh->n_descsz <= 64) {
			hex(buf + data + name, nh->n_descsz, out);
			return true;
		}
		pos = data + name + desc;
	}
	return false;
}

/* The executable's build id, "" when it has none (64-bit ELF only). */
static void build_id(int fd, char out[129])
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int i;

	out[0] = '\0';
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phnum > 256)
		return;

	for (i = 0; i < eh.e_phnum; i++) {
		off_t off = (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize);

		if (pread(fd, &ph, sizeof(ph), off) != sizeof(ph))
			return;
		if (ph.p_type == PT_NOTE &&
		    note_build_id(fd, (off_t)ph.p_offset, ph.p_filesz, out))
			return;
	}
}

static json_object *file_entry(const char *path, bool with_build_id)
{
	_cleanup_close_ int fd = -1;
	json_object *o;
	struct stat st;
	char id[129];

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return NULL;

	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "size", json_object_new_int64(st.st_size));
	json_object_object_add(
		o, "mtimeNs",
		json_object_new_int64((int64_t)st.st_mtim.tv_sec * 1000000000 +
				      st.st_mtim.tv_nsec));
	if (with_build_id) {
		build_id(fd, id);
		json_object_object_add(o, "buildId",
				       json_object_new_string(id));
	}
	return o;
}

static bool libs_have(json_object *libs, const char *path)
{
	size_t i, n = json_object_array_length(libs);

	for (i = 0; i < n; i++) {
		json_object *p;

		json_object_object_get_ex(json_object_array_get_idx(libs, i),
					  "path", &p);
		if (streq(json_object_get_string(p), path))
			return true;
	}
	return false;
}

/* Every regular file the process maps, but its executable. */
static int collect_libs(pid_t pid, const char *exe, json_object *libs)
{
	char maps[64], line[4096 + 256];
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "re");
	if (!f)
		return negative_errno();

	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		json_object *e;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strstr(path, " (deleted)") || (exe && streq(path, exe)) ||
		    libs_have(libs, path) ||
		    json_object_array_length(libs) >= MAX_LIBS)
			continue;
		e = file_entry(path, false);
		if (e)
			json_object_array_add(libs, e);
	}

	fclose(f);
	return 0;
}

static void add_string(json_object *o, const char *key, const char *value)
{
	if (value)
		json_object_object_add(o, key, json_object_new_string(value));
}

int deps_collect(const struct store_deps *deps, json_object **ret,
		 char **ret_reason)
{
	json_object *o = json_object_new_object();
	json_object *libs = json_object_new_array();
	struct utsname u;
	int r;

	uname(&u);
	add_string(o, "kernel", u.release);
	json_object_object_add(
		o, "dumpedUsec",
		json_object_new_int64((int64_t)now_usec(CLOCK_REALTIME)));
	add_string(o, "criuVersion", deps ? deps->criu_version : NULL);
	add_string(o, "halVersion", deps ? deps->hal_version : NULL);
	json_object_object_add(o, "libs", libs);

	if (deps && deps->exe_path) {
		json_object *exe = file_entry(deps->exe_path, true);

		if (!exe) {
			set_reason(ret_reason, "executable %s: %s",
				   deps->exe_path, strerror(errno));
			json_object_put(o);
			return -ENOENT;
		}
		json_object_object_add(o, "exe", exe);
	}

	if (deps && deps->pid > 0) {
		r = collect_libs(deps->pid, deps->exe_path, libs);
		if (r < 0) {
			set_reason(ret_reason, "maps of pid %d: %s",
				   (int)deps->pid, strerror(-r));
			json_object_put(o);
			return r;
		}
	}

	*ret = o;
	return 0;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

/* Whether a recorded file is still the same: path, size, mtime, id. */
static int check_file(json_object *rec, bool exe, char **ret_reason)
{
	const char *path = get_str(rec, "path");
	json_object *now;
	const char *what = exe ? "executable" : "library";
	bool same;

	if (!path)
		return -EBADMSG;
	now = file_entry(path, exe);
	if (!now) {
		set_reason(ret_reason, "%s %s is gone", what, path);
		return -ESTALE;
	}

	same = get_int(now, "size") == get_int(rec, "size") &&
	       get_int(now, "mtimeNs") == get_int(rec, "mtimeNs") &&
	       (!exe || streq(get_str(now, "buildId") ?: "",
			      get_str(rec, "buildId") ?: ""));
	json_object_put(now);
	if (!same) {
		set_reason(ret_reason, "%s %s changed since the dump", what,
			   path);
		return -ESTALE;
	}
	return 0;
}

static int check_string(json_object *deps, const char *key, const char *now,
			char **ret_reason)
{
	const char *then = get_str(deps, key);

	if (!now || !then || streq(now, then))
		return 0;
	set_reason(ret_reason, "%s is now %s, the image was made with %s", key,
		   now, then);
	return -ESTALE;
}

int deps_check(const struct store *store, const struct manifest *m,
	       char **ret_reason)
{
	json_object *deps, *exe, *libs;
	struct utsname u;
	size_t i, n;
	int r;

	if (!json_object_object_get_ex(m->root, "deps", &deps))
		return 0;

	uname(&u);
	r = check_string(deps, "kernel", u.release, ret_reason);
	if (r == 0)
		r = check_string(deps, "criuVersion", store->criu_version,
				 ret_reason);
	if (r == 0)
		r = check_string(deps, "halVersion", store->hal_version,
				 ret_reason);
	if (r == 0 && json_object_object_get_ex(deps, "exe", &exe))
		r = check_file(exe, true, ret_reason);
	if (r < 0 || !json_object_object_get_ex(deps, "libs", &libs))
		return r;

	n = json_object_array_length(libs);
	for (i = 0; i < n && r == 0; i++)
		r = check_file(json_object_array_get_idx(libs, i), false,
			       ret_reason);
	return r;
}
