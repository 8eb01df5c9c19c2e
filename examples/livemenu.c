// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The live menu: builds its menu model, shares a System V segment with a
 * peer process (shmpeer) and keeps its settings in a read-write file on
 * the persistent tier, a fixed-size record whose generation it counts up
 * at every start, dump and restore.
 *
 * usage: thaw-example-livemenu --shm-key KEY --settings PATH [--size MiB]
 *        [--seed N] [--compressible PCT] [--passes N]
 * (or THAW_EX_SHM_KEY, THAW_EX_SETTINGS_FILE, THAW_EX_SIZE_MIB, ...)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "exapp.h"
#include "exres.h"
#include "exshm.h"
#include "util.h"

#define APP	     "livemenu"
#define RECORD_MAGIC 0x756e656d6576696cull /* "livemenu" */

struct settings_record {
	uint64_t magic;
	uint64_t generation;
	uint64_t seed;
	uint64_t checksum; /* of the fields above */
};

struct livemenu {
	struct exstate state;
	const struct exshm_header *shm;
	size_t shm_size;
	int settings_fd;
	uint64_t generation;
};

static uint64_t record_sum(const struct settings_record *rec)
{
	return XXH3_64bits(rec, offsetof(struct settings_record, checksum));
}

/* Reads the record (generation 0 when the file is new), checks it and
 * writes it back one generation on.  The file may be ahead of the memory:
 * a restored copy finds what the original wrote after the dump. */
static int settings_bump(struct livemenu *m, bool must_exist)
{
	struct settings_record rec = { 0 };
	ssize_t k = pread(m->settings_fd, &rec, sizeof(rec), 0);

	if (k < 0)
		return negative_errno();
	if (k == 0 && !must_exist)
		rec = (struct settings_record){ .magic = RECORD_MAGIC,
						.seed = m->state.seed };
	else if (k != sizeof(rec) || rec.magic != RECORD_MAGIC ||
		 rec.checksum != record_sum(&rec) ||
		 (must_exist && rec.generation < m->generation))
		return -EBADMSG;

	rec.generation++;
	rec.checksum = record_sum(&rec);
	if (pwrite(m->settings_fd, &rec, sizeof(rec), 0) != sizeof(rec) ||
	    fdatasync(m->settings_fd) < 0)
		return negative_errno();

	m->generation = rec.generation;
	return 0;
}

static int shm_check(const struct livemenu *m)
{
	const struct exshm_header *h = m->shm;

	if (h->magic != EXSHM_MAGIC || h->size != m->shm_size)
		return -EBADMSG;
	return XXH3_64bits(h + 1, h->size - sizeof(*h)) == h->checksum ?
		       0 :
		       -EBADMSG;
}

static int check(void *userdata, char *report, size_t size)
{
	struct livemenu *m = userdata;
	uint64_t before = m->generation;
	int s = shm_check(m);
	int f = settings_bump(m, true);

	snprintf(
		report, size,
		"shared segment %zu KiB contents %s, settings file %s (generation %" PRIu64
		" in memory, now %" PRIu64 ")",
		m->shm_size >> 10, s < 0 ? "damaged" : "ok",
		f < 0 ? strerror(-f) : "ok", before, m->generation);
	return s < 0 ? s : f;
}

static int open_resources(struct livemenu *m, int argc, char **argv)
{
	const char *path =
		exapp_arg(argc, argv, "settings", "THAW_EX_SETTINGS_FILE");
	uint64_t key;
	int r;

	if (exapp_arg_u64(argc, argv, "shm-key", "THAW_EX_SHM_KEY", 0, &key) <
		    0 ||
	    key == 0 || !path)
		return -EINVAL;

	m->shm = exres_attach_shm((key_t)key, &m->shm_size);
	if (!m->shm)
		return negative_errno();
	r = shm_check(m);
	if (r < 0)
		return r;

	m->settings_fd = exres_open_rw_file(path, O_RDWR | O_CREAT, 0600);
	if (m->settings_fd < 0)
		return m->settings_fd;
	return settings_bump(m, false);
}

int main(int argc, char **argv)
{
	struct livemenu m = { .settings_fd = -1 };
	int r;

	if (exstate_configure(&m.state, argc, argv, 64) < 0) {
		fprintf(stderr, "livemenu: bad option\n");
		return 2;
	}

	r = exstate_build(&m.state);
	if (r < 0) {
		exapp_log(APP, "cannot build state: %s", strerror(-r));
		return 1;
	}

	r = open_resources(&m, argc, argv);
	if (r < 0) {
		exapp_log(
			APP,
			"cannot open its segment and settings (--shm-key, --settings): %s",
			strerror(-r));
		return 1;
	}

	exapp_log(
		APP,
		"cold init: state %zu MiB in %.2f s, shared segment %zu KiB ok, settings generation %" PRIu64,
		m.state.size >> 20, m.state.build_usec / 1e6, m.shm_size >> 10,
		m.generation);
	return exapp_checkpoint_and_run(APP, &m.state, check, &m, NULL, 0);
}
