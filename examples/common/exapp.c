// SPDX-License-Identifier: LGPL-2.1-or-later
#include "exapp.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "util.h"

#define PAGE	       4096u
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))

const char *exapp_arg(int argc, char **argv, const char *name, const char *env)
{
	size_t len = strlen(name);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, len) != 0)
			continue;
		if (a[2 + len] == '=')
			return a + 3 + len;
		if (a[2 + len] == '\0' && i + 1 < argc)
			return argv[i + 1];
	}
	return env ? getenv(env) : NULL;
}

int exapp_arg_u64(int argc, char **argv, const char *name, const char *env,
		  uint64_t def, uint64_t *ret)
{
	const char *s = exapp_arg(argc, argv, name, env);
	unsigned long long v;
	char *end;

	if (!s) {
		*ret = def;
		return 0;
	}

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || (*end && !streq(end, "%")))
		return -EINVAL;

	*ret = v;
	return 0;
}

int exstate_configure(struct exstate *state, int argc, char **argv,
		      uint64_t def_mib)
{
	const char *verify = exapp_arg(argc, argv, "verify", "THAW_EX_VERIFY");
	uint64_t mib, seed, pct, passes;

	if (exapp_arg_u64(argc, argv, "size", "THAW_EX_SIZE_MIB", def_mib,
			  &mib) < 0 ||
	    exapp_arg_u64(argc, argv, "seed", "THAW_EX_SEED", 1, &seed) < 0 ||
	    exapp_arg_u64(argc, argv, "compressible", "THAW_EX_COMPRESSIBLE",
			  25, &pct) < 0 ||
	    exapp_arg_u64(argc, argv, "passes", "THAW_EX_PASSES", 34, &passes) <
		    0)
		return -EINVAL;
	if (mib == 0 || mib > (1u << 20) || pct > 100 || passes == 0 ||
	    passes > 1000)
		return -EINVAL;
	if (verify && !streq(verify, "full") && !streq(verify, "sample"))
		return -EINVAL;

	*state = (struct exstate){
		.size = (size_t)mib << 20,
		.seed = seed,
		.compressible_pct = (unsigned)pct,
		.passes = (unsigned)passes,
		.verify_sample = verify && streq(verify, "sample"),
	};
	return 0;
}

static inline uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Text that repeats in every page of the compressible share, as a table of
 * settings would: it compresses well but is not zero. */
static void fill_compressible(struct exstate *state, size_t first, size_t words)
{
	char page[PAGE];
	size_t off = 0;

	for (unsigned i = 0; off + 64 < PAGE; i++)
		off += (size_t)snprintf(page + off, PAGE - off,
					"setting.%04u=value-%08" PRIx64 ";\n",
					i, state->seed + i % 7);
	memset(page + off, '.', PAGE - off);

	for (size_t w = 0; w < words; w += WORDS_PER_PAGE)
		memcpy(state->words + first + w, page, PAGE);
}

/* One pass: every word mixed with its own value, its index and a running
 * hash of the page before it. */
static void mix_pass(uint64_t *words, size_t n, unsigned pass)
{
	uint64_t h = XXH3_64bits_withSeed(words, PAGE, pass);

	for (size_t i = 0; i < n; i++) {
		if (i % WORDS_PER_PAGE == 0 && i)
			h = XXH3_64bits_withSeed(words + i - WORDS_PER_PAGE,
						 PAGE, h);
		words[i] = mix64(words[i] ^ h ^ i);
	}
}

static uint64_t sample_checksum(const struct exstate *state)
{
	size_t pages = state->size / PAGE;
	uint64_t h = 0;

	for (size_t i = 0; i < pages; i += EXSTATE_SAMPLE_STRIDE)
		h = XXH3_64bits_withSeed(state->words + i * WORDS_PER_PAGE,
					 PAGE, h);
	return h;
}

int exstate_build(struct exstate *state)
{
	size_t n = state->size / sizeof(uint64_t);
	size_t random_words;
	uint64_t start = now_usec(CLOCK_MONOTONIC);
	uint64_t s = state->seed;
	void *p;

	p = mmap(NULL, state->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	state->words = p;

	random_words = n / 100 * (100 - state->compressible_pct);
	random_words -= random_words % WORDS_PER_PAGE;

	for (size_t i = 0; i < random_words; i++) {
		s += 0x9e3779b97f4a7c15ull;
		state->words[i] = mix64(s);
	}
	for (unsigned pass = 1; pass < state->passes && random_words; pass++)
		mix_pass(state->words, random_words, pass);
	fill_compressible(state, random_words, n - random_words);

	state->checksum = XXH3_64bits(state->words, state->size);
	state->sample_checksum = sample_checksum(state);
	state->build_usec = now_usec(CLOCK_MONOTONIC) - start;
	return 0;
}

bool exstate_is_intact(const struct exstate *state)
{
	if (!state->words)
		return false;
	if (state->verify_sample)
		return sample_checksum(state) == state->sample_checksum;
	return XXH3_64bits(state->words, state->size) == state->checksum;
}

static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;
	uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_ms * 1000ull;

	while (len + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - now_usec(CLOCK_MONOTONIC));
		ssize_t k;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0 && errno != EINTR)
			return negative_errno();
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;

		k = read(fd, buf + len, 1);
		if (k < 0 && errno != EINTR)
			return negative_errno();
		if (k == 0)
			return -ECONNRESET;
		if (k == 1 && buf[len++] == '\n') {
			buf[len - 1] = '\0';
			return 0;
		}
	}
	return -EPROTO;
}

/* Sends "<verb> <arg>" and checks that the answer starts with
 * "<answer> <arg>". */
static int exchange(int fd, const char *verb, const char *arg,
		    const char *answer, int timeout_ms)
{
	char line[256], want[256];
	int len, r;

	if (fd < 0)
		return -EBADF;

	len = snprintf(line, sizeof(line), "%s %s\n", verb, arg);
	if (len < 0 || (size_t)len >= sizeof(line))
		return -EINVAL;
	if (send(fd, line, (size_t)len, MSG_NOSIGNAL) != len)
		return negative_errno();

	r = read_line(fd, line, sizeof(line), timeout_ms);
	if (r < 0)
		return r;

	len = snprintf(want, sizeof(want), "%s %s", answer, arg);
	if (strncmp(line, want, (size_t)len) != 0 ||
	    (line[len] != '\0' && line[len] != ' '))
		return -EPROTO;
	return 0;
}

int expeer_round_trip(int fd, const char *token, int timeout_ms)
{
	return exchange(fd, "PING", token, "PONG", timeout_ms);
}

int expeer_hello(int fd, const char *name, int timeout_ms)
{
	return exchange(fd, "HELLO", name, "WELCOME", timeout_ms);
}

int expeer_drain(int fd)
{
	char buf[256];

	for (;;) {
		ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (k == 0)
			return -ECONNRESET;
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ?
				       0 :
				       negative_errno();
	}
}
