// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Drives the image store from shell tests.  Fake images are folders of
 * files named as CRIU names its images, with random content; every file
 * starts with a stamp naming the image's generation, so that `check` can
 * tell a mix of two images apart from either of them without trusting
 * the store's manifest.
 *
 *   store-tool [options] publish APP GEN SIZE   write and publish a fake image
 *   store-tool [options] persist APP            copy it to the persistent tier
 *   store-tool [options] open APP               verify and print what was done
 *   store-tool [options] check APP              open, then check the stamps
 *   store-tool [options] invalidate APP REASON
 *   store-tool [options] needs-persist APP
 *   store-tool [options] forge APP FILE         change FILE in the tmpfs copy
 *                                               and fix its manifest as one
 *                                               could without the device key
 *   store-tool [options] describe
 *   store-tool [options] loop APP N SIZE GEN    publish+persist N times,
 *                                               gens GEN, GEN+1, ...
 *
 * Options: --tmpfs DIR --persist DIR --tmpfs-budget N --persist-budget N
 * --mount --key STRING --exe PATH --compressible --hal VER --criu VER
 *
 * Exit status: 0 success, 2 -ENOENT, 3 -ESTALE, 4 -EBADMSG, 5 -ENOSPC,
 * 6 a mix found, 1 anything else.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <xxhash.h>

#include "store.h"
#include "util.h"

static const char *const image_names[] = {
	"inventory.img", "core-1.img", "mm-1.img",     "pagemap-1.img",
	"pages-1.img",	 "files.img",  "fdinfo-2.img", "ids-1.img",
	"pstree.img",	 "fs-1.img",   "tty-info.img", "stats-dump",
};

struct opts {
	struct store_config config;
	const char *exe;
	bool compressible;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int exit_code(int r)
{
	switch (r) {
	case 0:
		return 0;
	case -ENOENT:
		return 2;
	case -ESTALE:
		return 3;
	case -EBADMSG:
		return 4;
	case -ENOSPC:
		return 5;
	default:
		return 1;
	}
}

static int write_fake(int dirfd, const char *name, uint64_t gen, size_t size,
		      bool compressible)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = malloc(size + 64);
	size_t i, off;

	if (!buf)
		return -ENOMEM;
	off = (size_t)snprintf(buf, 64, "thaw-fake gen=%llu\n",
			       (unsigned long long)gen);
	for (i = off; i < size + off; i += 8) {
		uint64_t v = compressible && (i / 4096) % 4 != 0 ?
				     (i / 4096) * 0x0101010101010101ull :
				     rng();

		memcpy(buf + i, &v, size + off - i < 8 ? size + off - i : 8);
	}

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	for (i = 0; i < size + off;) {
		ssize_t n = write(fd, buf + i, size + off - i);

		if (n < 0)
			return negative_errno();
		i += (size_t)n;
	}
	return 0;
}

static int do_publish(struct store *s, const struct opts *o, const char *app,
		      uint64_t gen, size_t size)
{
	struct store_deps deps = { .exe_path = o->exe,
				   .pid = getpid(),
				   .criu_version = o->config.criu_version,
				   .hal_version = o->config.hal_version };
	_cleanup_free_ char *reason = NULL;
	struct store_writer *w;
	size_t i;
	int r;

	r = store_writer_begin(s, app, &w);
	if (r < 0) {
		fprintf(stderr, "writer_begin: %s\n", strerror(-r));
		return r;
	}

	rng_state = gen * 0x9e3779b97f4a7c15ull + 1;
	for (i = 0; i < ARRAY_SIZE(image_names) && r == 0; i++)
		r = write_fake(store_writer_dirfd(w), image_names[i], gen,
			       streq(image_names[i], "pages-1.img") ?
				       size :
				       200 + i * 37,
			       o->compressible);
	if (r < 0) {
		fprintf(stderr, "writing the fake image: %s\n", strerror(-r));
		store_writer_abort(w);
		return r;
	}

	r = store_writer_publish(w, &deps, &reason);
	if (r < 0)
		printf("publish error=%d reason=%s\n", r, reason);
	else
		printf("published gen=%llu\n", (unsigned long long)gen);
	return r;
}

static int do_persist(struct store *s, const char *app)
{
	_cleanup_free_ char *reason = NULL;
	int r = store_persist(s, app, &reason);

	if (r < 0)
		printf("persist error=%d reason=%s\n", r, reason);
	else
		printf("persisted\n");
	return r;
}

/* Every file of the image must carry one and the same stamp. */
static int check_stamps(int dirfd)
{
	long long first = -1;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(image_names); i++) {
		_cleanup_close_ int fd =
			openat(dirfd, image_names[i], O_RDONLY | O_CLOEXEC);
		char buf[64] = "";
		long long gen;

		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0 ||
		    sscanf(buf, "thaw-fake gen=%lld", &gen) != 1) {
			printf("check: %s missing or unstamped\n",
			       image_names[i]);
			return -EUCLEAN;
		}
		if (first >= 0 && gen != first) {
			printf("check: MIX: %s is of gen %lld, others %lld\n",
			       image_names[i], gen, first);
			return -EUCLEAN;
		}
		first = gen;
	}
	printf("check: gen=%lld\n", first);
	return 0;
}

static int do_open(struct store *s, const char *app, bool check)
{
	_cleanup_free_ char *reason = NULL, *repair = NULL;
	struct store_image *img = NULL;
	int r;

	r = store_image_open(s, app, &img, &reason, &repair);
	if (repair)
		printf("repair: %s\n", repair);
	if (r < 0) {
		printf("open error=%d reason=%s\n", r, reason);
		return r;
	}

	printf("open ok source=%s check_usec=%llu path=%s\n",
	       store_image_source(img) == STORE_TIER_TMPFS ? "tmpfs" :
							     "persistent",
	       (unsigned long long)store_image_check_usec(img),
	       store_image_path(img));
	if (check)
		r = check_stamps(store_image_dirfd(img));
	store_image_close(img);
	return r;
}

static int do_loop(struct store *s, const struct opts *o, const char *app,
		   int n, size_t size, uint64_t first)
{
	int i, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		r = do_publish(s, o, app, first + (uint64_t)i, size);
		if (r == 0 && o->config.persist_dir)
			r = do_persist(s, app);
	}
	return r;
}

static char *slurp(const char *path, size_t *ret_size)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		rewind(f);
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*ret_size = (size_t)n;
	}
	fclose(f);
	return buf;
}

static int spit(const char *path, const void *buf, size_t size)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = fwrite(buf, 1, size, f) == size ? 0 : -EIO;
	return fclose(f) == 0 ? r : -EIO;
}

/* The store's plain file hash (docs/image-store.md), redone here as an
 * attacker would. */
static uint64_t tree_xxh3(const char *buf, size_t size)
{
	const size_t chunk = 4u << 20;
	size_t n = size ? (size - 1) / chunk + 1 : 1, i;
	_cleanup_free_ unsigned char *d = malloc(8 + 8 * n);

	if (!d)
		return 0;
	for (i = 0; i < 8; i++)
		d[i] = (unsigned char)((uint64_t)size >> (8 * i));
	for (i = 0; i < n; i++) {
		size_t len = size - i * chunk < chunk ? size - i * chunk :
							chunk;

		XXH64_canonicalFromHash((XXH64_canonical_t *)(d + 8 + 8 * i),
					XXH3_64bits(buf + i * chunk, len));
	}
	return XXH3_64bits(d, 8 + 8 * n);
}

/* What someone who can write the tier but lacks the key can do. */
static int do_forge(const struct opts *o, const char *app, const char *file)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *mpath = NULL,
			    *hpath = NULL, *data = NULL, *mtext = NULL;
	json_object *root, *files;
	char hex[32];
	size_t size, i;
	const char *text;
	int r;

	if (asprintf(&dir, "%s/%s/current", o->config.tmpfs_dir, app) < 0 ||
	    asprintf(&path, "%s/%s", dir, file) < 0 ||
	    asprintf(&mpath, "%s/manifest.json", dir) < 0 ||
	    asprintf(&hpath, "%s/manifest.hash", dir) < 0)
		return -ENOMEM;
	data = slurp(path, &size);
	mtext = slurp(mpath, &i);
	if (!data || !mtext || size < 64)
		return -ENOENT;
	data[40] ^= 0x55;
	r = spit(path, data, size);
	if (r < 0)
		return r;

	root = json_tokener_parse(mtext);
	json_object_object_get_ex(root, "files", &files);
	for (i = 0; i < json_object_array_length(files); i++) {
		json_object *e = json_object_array_get_idx(files, i), *n;

		json_object_object_get_ex(e, "name", &n);
		if (!streq(json_object_get_string(n), file))
			continue;
		snprintf(hex, sizeof(hex), "%016llx",
			 (unsigned long long)tree_xxh3(data, size));
		json_object_object_add(e, "hash", json_object_new_string(hex));
	}
	json_object_object_add(root, "hash", json_object_new_string("xxh3-64"));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	r = spit(mpath, text, strlen(text));
	snprintf(hex, sizeof(hex), "%016llx",
		 (unsigned long long)tree_xxh3(text, strlen(text)));
	json_object_put(root);
	if (r == 0)
		r = spit(hpath, hex, strlen(hex));
	printf("forged %s\n", file);
	return r;
}

static int run(struct store *s, const struct opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	char *json;
	int r;

	if (streq(cmd, "publish") && argc == 4)
		return do_publish(s, o, argv[1], strtoull(argv[2], NULL, 10),
				  strtoull(argv[3], NULL, 10));
	if (streq(cmd, "persist") && argc == 2)
		return do_persist(s, argv[1]);
	if ((streq(cmd, "open") || streq(cmd, "check")) && argc == 2)
		return do_open(s, argv[1], streq(cmd, "check"));
	if (streq(cmd, "invalidate") && argc == 3)
		return store_invalidate(s, argv[1], argv[2]);
	if (streq(cmd, "needs-persist") && argc == 2) {
		printf("%s\n", store_needs_persist(s, argv[1]) ? "yes" : "no");
		return 0;
	}
	if (streq(cmd, "has-image") && argc == 2) {
		printf("%s\n", store_has_image(s, argv[1]) ? "yes" : "no");
		return 0;
	}
	if (streq(cmd, "forge") && argc == 3)
		return do_forge(o, argv[1], argv[2]);
	if (streq(cmd, "describe") && argc == 1) {
		r = store_describe(s, &json);
		if (r == 0)
			printf("%s\n", json);
		free(json);
		return r;
	}
	if (streq(cmd, "loop") && argc == 5)
		return do_loop(s, o, argv[1], atoi(argv[2]),
			       strtoull(argv[3], NULL, 10),
			       strtoull(argv[4], NULL, 10));
	fprintf(stderr, "store-tool: bad command\n");
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tmpfs", required_argument, NULL, 't' },
		{ "persist", required_argument, NULL, 'p' },
		{ "tmpfs-budget", required_argument, NULL, 'T' },
		{ "persist-budget", required_argument, NULL, 'P' },
		{ "mount", no_argument, NULL, 'm' },
		{ "key", required_argument, NULL, 'k' },
		{ "exe", required_argument, NULL, 'e' },
		{ "compressible", no_argument, NULL, 'c' },
		{ "hal", required_argument, NULL, 'H' },
		{ "criu", required_argument, NULL, 'C' },
		{}
	};
	_cleanup_free_ char *reason = NULL;
	struct opts o = { .exe = "/proc/self/exe" };
	struct store *s;
	int c, r;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
		switch (c) {
		case 't':
			o.config.tmpfs_dir = optarg;
			break;
		case 'p':
			o.config.persist_dir = optarg;
			break;
		case 'T':
			o.config.tmpfs_budget = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			o.config.persist_budget = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			o.config.mount_tmpfs = true;
			break;
		case 'k':
			o.config.auth_key = optarg;
			o.config.auth_key_size = strlen(optarg);
			break;
		case 'e':
			o.exe = optarg;
			break;
		case 'c':
			o.compressible = true;
			break;
		case 'H':
			o.config.hal_version = optarg;
			break;
		case 'C':
			o.config.criu_version = optarg;
			break;
		default:
			return 1;
		}
	}
	if (optind >= argc || !o.config.tmpfs_dir) {
		fprintf(stderr,
			"usage: store-tool --tmpfs DIR [options] CMD ...\n");
		return 1;
	}

	r = store_open(&o.config, &s, &reason);
	if (r < 0) {
		printf("store_open error=%d reason=%s\n", r, reason);
		return exit_code(r);
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	r = run(s, &o, argc - optind, argv + optind);
	store_free(s);
	return r == -EUCLEAN ? 6 : exit_code(r);
}
