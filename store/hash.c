// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * File hashes.  Plain mode: XXH3-64, which catches accidents (a flipped
 * bit, a torn write) at memory speed but is no defence against anyone who
 * can write the tier.  Authenticated mode: HMAC-SHA256 under the device
 * key, a keyed construction whose forgery resistance rests on SHA-256;
 * xxHash with a secret is not one (it was not built to keep its secret
 * from someone who sees inputs and outputs, and collisions can be built).
 *
 * A file is hashed in chunks of HASH_CHUNK bytes so that the chunks of a
 * large file can be checked on several cores at once:
 *
 *   plain:  chunk_i = XXH3-64(chunk bytes)
 *           hash    = XXH3-64(le64(size) || chunk_0 || chunk_1 ...)
 *   keyed:  chunk_i = HMAC(key, le64(i) || chunk bytes)
 *           hash    = HMAC(key, "file" || le64(size) || chunk_0 || ...)
 *
 * Digests are stored big-endian, XXH3's canonical form.  A file of zero
 * bytes has one empty chunk.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "internal.h"
#include "util.h"

#define HASH_CHUNK  (4u << 20)
#define DIGEST_MAX  32
#define READ_SIZE   (1u << 20)
#define MAX_THREADS 4

/* One hashing state, for a chunk or for the top. */
struct state {
	XXH3_state_t *xxh;
	EVP_MAC_CTX *mac;
};

struct hasher {
	const struct store *store;
	struct state chunk;
	uint64_t size;	 /* bytes fed in all */
	size_t in_chunk; /* bytes fed into the running chunk */
	unsigned char *digests;
	size_t n_digests, cap;
};

static size_t digest_size(const struct store *store)
{
	return store->key ? 32 : 8;
}

static EVP_MAC_CTX *hmac_new(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx;

	if (!mac)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	return ctx;
}

static int hmac_init(const struct store *store, EVP_MAC_CTX *ctx)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	return EVP_MAC_init(ctx, store->key, store->key_size, params) ? 0 :
									-EIO;
}

static void le64(uint64_t v, unsigned char out[8])
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (8 * i));
}

static int state_begin(const struct store *store, struct state *s,
		       const void *prefix, size_t n)
{
	if (store->key) {
		if (!s->mac && !(s->mac = hmac_new()))
			return -ENOMEM;
		if (hmac_init(store, s->mac) < 0)
			return -EIO;
		EVP_MAC_update(s->mac, prefix, n);
		return 0;
	}

	if (!s->xxh && !(s->xxh = XXH3_createState()))
		return -ENOMEM;
	XXH3_64bits_reset(s->xxh);
	XXH3_64bits_update(s->xxh, prefix, n);
	return 0;
}

static void state_update(struct state *s, const void *buf, size_t n)
{
	if (s->mac)
		EVP_MAC_update(s->mac, buf, n);
	else
		XXH3_64bits_update(s->xxh, buf, n);
}

static void state_end(struct state *s, unsigned char *out)
{
	size_t len = 0;

	if (s->mac) {
		EVP_MAC_final(s->mac, out, &len, DIGEST_MAX);
		return;
	}
	XXH64_canonicalFromHash((XXH64_canonical_t *)out,
				XXH3_64bits_digest(s->xxh));
}

static void state_done(struct state *s)
{
	if (s->xxh)
		XXH3_freeState(s->xxh);
	EVP_MAC_CTX_free(s->mac);
}

/* The chunk digests so far combined into the file's hash, in hex. */
static int combine(const struct store *store, uint64_t size,
		   const unsigned char *digests, size_t n,
		   char out[HASH_HEX_MAX])
{
	unsigned char prefix[12] = "file", top[DIGEST_MAX];
	struct state s = { 0 };
	size_t i, len = digest_size(store);
	int r;

	/* Plain mode has no domain tag: the size alone leads. */
	le64(size, prefix + 4);
	r = store->key ? state_begin(store, &s, prefix, 12) :
			 state_begin(store, &s, prefix + 4, 8);
	if (r == 0) {
		state_update(&s, digests, n * len);
		state_end(&s, top);
		for (i = 0; i < len; i++)
			snprintf(out + 2 * i, 3, "%02x", top[i]);
	}
	state_done(&s);
	return r;
}

static int chunk_begin(struct hasher *h)
{
	unsigned char idx[8];

	le64(h->n_digests, idx);
	return state_begin(h->store, &h->chunk, idx, h->store->key ? 8 : 0);
}

static int chunk_end(struct hasher *h)
{
	size_t len = digest_size(h->store);

	if (h->n_digests == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		unsigned char *d = realloc(h->digests, cap * len);

		if (!d)
			return -ENOMEM;
		h->digests = d;
		h->cap = cap;
	}
	state_end(&h->chunk, h->digests + h->n_digests * len);
	h->n_digests++;
	h->in_chunk = 0;
	return 0;
}

struct hasher *hasher_new(const struct store *store)
{
	struct hasher *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->store = store;
	if (chunk_begin(h) < 0)
		return hasher_free(h);
	return h;
}

struct hasher *hasher_free(struct hasher *h)
{
	if (!h)
		return NULL;
	state_done(&h->chunk);
	free(h->digests);
	free(h);
	return NULL;
}

void hasher_update(struct hasher *h, const void *buf, size_t size)
{
	const unsigned char *p = buf;

	while (size > 0) {
		size_t n = HASH_CHUNK - h->in_chunk;

		if (n > size)
			n = size;
		state_update(&h->chunk, p, n);
		h->in_chunk += n;
		h->size += n;
		p += n;
		size -= n;
		if (h->in_chunk == HASH_CHUNK &&
		    (chunk_end(h) < 0 || chunk_begin(h) < 0))
			return;
	}
}

void hasher_final(struct hasher *h, char out[HASH_HEX_MAX])
{
	out[0] = '\0';
	if ((h->in_chunk > 0 || h->n_digests == 0) && chunk_end(h) < 0)
		return;
	combine(h->store, h->size, h->digests, h->n_digests, out);
}

const char *hash_kind(const struct store *store)
{
	return store->key ? "hmac-sha256" : "xxh3-64";
}

struct chunk_job {
	const struct store *store;
	uint64_t size;
	size_t first, step, n_chunks;
	unsigned char *digests;
	int fd;
	int r;
};

static int chunk_digest(const struct chunk_job *j, size_t i, struct state *s,
			unsigned char *buf)
{
	uint64_t off = (uint64_t)i * HASH_CHUNK, end = off + HASH_CHUNK;
	unsigned char idx[8];
	int r;

	if (end > j->size)
		end = j->size;
	le64(i, idx);
	r = state_begin(j->store, s, idx, j->store->key ? 8 : 0);
	while (r == 0 && off < end) {
		size_t want = end - off < READ_SIZE ? end - off : READ_SIZE;
		ssize_t n = pread(j->fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? negative_errno() : -EBADMSG;
		state_update(s, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (r == 0)
		state_end(s, j->digests + i * digest_size(j->store));
	return r;
}

static void *chunk_worker(void *userdata)
{
	struct chunk_job *j = userdata;
	unsigned char *buf = malloc(READ_SIZE);
	struct state s = { 0 };
	size_t i;

	j->r = buf ? 0 : -ENOMEM;
	for (i = j->first; j->r == 0 && i < j->n_chunks; i += j->step)
		j->r = chunk_digest(j, i, &s, buf);
	state_done(&s);
	free(buf);
	return NULL;
}

/* As many threads as the cores thawd may run on, up to MAX_THREADS. */
static size_t n_workers(size_t n_chunks)
{
	cpu_set_t set;
	size_t n = 1;
	int cpus;

	/* Counted once: the static analyzer then sees that n >= 1. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    (cpus = CPU_COUNT(&set)) > 0)
		n = (size_t)cpus;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	return n < n_chunks ? n : n_chunks;
}

/* Hashes size bytes of fd, chunks spread over the machine's cores. */
static int hash_parallel(const struct store *store, int fd, uint64_t size,
			 char out[HASH_HEX_MAX])
{
	size_t n_chunks = size ? (size_t)((size - 1) / HASH_CHUNK + 1) : 1;
	size_t n = n_workers(n_chunks), i;
	struct chunk_job jobs[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	bool spawned[MAX_THREADS];
	_cleanup_free_ unsigned char *digests = NULL;
	int r = 0;

	digests = malloc(n_chunks * digest_size(store));
	if (!digests)
		return -ENOMEM;

	for (i = 0; i < n; i++) {
		jobs[i] = (struct chunk_job){ .store = store,
					      .fd = fd,
					      .size = size,
					      .first = i,
					      .step = n,
					      .n_chunks = n_chunks,
					      .digests = digests };
		spawned[i] = i > 0 &&
			     pthread_create(&threads[i], NULL, chunk_worker,
					    &jobs[i]) == 0;
	}

	/* A job whose thread could not start runs here. */
	chunk_worker(&jobs[0]);
	for (i = 1; i < n; i++) {
		if (spawned[i])
			pthread_join(threads[i], NULL);
		else
			chunk_worker(&jobs[i]);
	}

	for (i = 0; i < n && r == 0; i++)
		r = jobs[i].r;
	if (r < 0)
		return r;
	return combine(store, size, digests, n_chunks, out);
}

int hash_fd(const struct store *store, int fd, char out[HASH_HEX_MAX],
	    uint64_t *ret_size)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return negative_errno();

	r = hash_parallel(store, fd, (uint64_t)st.st_size, out);
	if (r < 0)
		return r;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

int mac_text(const struct store *store, const char *text,
	     char out[HASH_HEX_MAX])
{
	struct hasher *h = hasher_new(store);

	if (!h)
		return -ENOMEM;
	hasher_update(h, text, strlen(text));
	hasher_final(h, out);
	hasher_free(h);
	return 0;
}
