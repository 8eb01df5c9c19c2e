// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The store's small parts: app ids, folder names, manifests that must be
 * refused (a file name that leaves the folder, a hash too long, the wrong
 * hash kind), and the chunked hash computed streaming and in parallel.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "internal.h"
#include "util.h"

static void test_app_ids(void **state)
{
	assert_true(app_id_is_valid("home"));
	assert_true(app_id_is_valid("com.webos.app-1_x"));
	assert_false(app_id_is_valid(""));
	assert_false(app_id_is_valid(".hidden"));
	assert_false(app_id_is_valid("a/b"));
	assert_false(app_id_is_valid(".."));
	assert_false(app_id_is_valid("sp ace"));
	assert_false(app_id_is_valid(NULL));
}

static void test_seq(void **state)
{
	uint64_t v;

	assert_int_equal(parse_seq("img-12", "img-", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(parse_seq("img-", "img-", &v), -EINVAL);
	assert_int_equal(parse_seq("img-1x", "img-", &v), -EINVAL);
	assert_int_equal(parse_seq("img--1", "img-", &v), -EINVAL);
	assert_int_equal(parse_seq("new-1", "img-", &v), -EINVAL);
}

static int load_text(const struct store *s, const char *text)
{
	char dir[] = "/tmp/thaw-store-unit.XXXXXX", hash[HASH_HEX_MAX];
	_cleanup_free_ char *reason = NULL;
	struct manifest *m = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write_file_at(fd, MANIFEST_NAME, text), 0);
	assert_int_equal(mac_text(s, text, hash), 0);
	assert_int_equal(write_file_at(fd, MANIFEST_MAC_NAME, hash), 0);

	r = manifest_load(s, fd, &m, &reason);
	manifest_free(m);
	rm_rf_at(AT_FDCWD, dir);
	return r;
}

static void test_manifest(void **state)
{
	struct store s = { .key = NULL };
	_cleanup_free_ char *t = NULL;
	char long_hash[200];

	assert_int_equal(load_text(&s, "{\"seq\": 1, \"hash\": \"xxh3-64\", "
				       "\"files\": [{\"name\": \"a.img\", "
				       "\"size\": 1, \"hash\": \"00\"}]}"),
			 0);
	assert_int_equal(load_text(&s, "not json"), -EBADMSG);
	assert_int_equal(load_text(&s, "{\"seq\": 1, \"hash\": \"xxh3-64\"}"),
			 -EBADMSG);
	assert_int_equal(load_text(&s, "{\"seq\": 1, \"hash\": \"xxh3-64\", "
				       "\"files\": [{\"name\": \"../x.img\", "
				       "\"size\": 1, \"hash\": \"00\"}]}"),
			 -EBADMSG);
	assert_int_equal(load_text(&s, "{\"seq\": 1, \"hash\": \"xxh3-64\", "
				       "\"files\": [{\"name\": \".x\", "
				       "\"size\": 1, \"hash\": \"00\"}]}"),
			 -EBADMSG);
	assert_int_equal(load_text(&s,
				   "{\"seq\": 1, \"hash\": \"hmac-sha256\", "
				   "\"files\": []}"),
			 -EBADMSG);
	memset(long_hash, 'a', sizeof(long_hash) - 1);
	long_hash[sizeof(long_hash) - 1] = '\0';
	t = strdup_printf("{\"seq\": 1, \"hash\": \"xxh3-64\", \"files\": "
			  "[{\"name\": \"a\", \"size\": 1, \"hash\": \"%s\"}]}",
			  long_hash);
	assert_int_equal(load_text(&s, t), -EBADMSG);
}

/* The streaming hash (used while compressing) and the parallel one (used
 * by the check) must agree at every size around the chunk boundary. */
static void check_sizes(const struct store *s)
{
	static const size_t sizes[] = {
		0, 1, (4u << 20) - 1, 4u << 20, (4u << 20) + 1, 9u << 20
	};
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char path[] = "/tmp/thaw-store-unit-hash.XXXXXX";
		char a[HASH_HEX_MAX], b[HASH_HEX_MAX];
		unsigned char *buf = malloc(sizes[i] + 1);
		struct hasher *h = hasher_new(s);
		int fd = mkstemp(path);
		uint64_t size;

		assert_non_null(buf);
		assert_non_null(h);
		assert_true(fd >= 0);
		for (j = 0; j < sizes[i]; j++)
			buf[j] = (unsigned char)(j * 31 + j / 4096);
		assert_int_equal(write_all(fd, buf, sizes[i]), 0);

		/* Fed in odd pieces, across chunk boundaries. */
		for (j = 0; j < sizes[i]; j += 300007)
			hasher_update(h, buf + j,
				      sizes[i] - j < 300007 ? sizes[i] - j :
							      300007);
		hasher_final(h, a);
		assert_int_equal(hash_fd(s, fd, b, &size), 0);
		assert_int_equal(size, sizes[i]);
		assert_string_equal(a, b);
		assert_int_equal(strlen(a), s->key ? 64 : 16);

		hasher_free(h);
		free(buf);
		close(fd);
		unlink(path);
	}
}

static void test_hash_plain(void **state)
{
	struct store s = { .key = NULL };

	check_sizes(&s);
}

static void test_hash_keyed(void **state)
{
	struct store s = { .key = (void *)"k3y", .key_size = 3 };
	struct store other = { .key = (void *)"k3z", .key_size = 3 };
	char a[HASH_HEX_MAX], b[HASH_HEX_MAX];

	check_sizes(&s);
	assert_int_equal(mac_text(&s, "text", a), 0);
	assert_int_equal(mac_text(&other, "text", b), 0);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_ids),
		cmocka_unit_test(test_seq),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_hash_plain),
		cmocka_unit_test(test_hash_keyed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
