// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process livemenu shares a System V segment with.  It creates the
 * segment under a key, fills it with data from a seed behind a header
 * carrying the data's checksum, keeps it while it runs and removes it
 * when told to stop (SIGTERM, SIGINT).  Not checkpointable.
 *
 * usage: shmpeer --key KEY [--size KiB] [--seed N]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <xxhash.h>

#include "exapp.h"
#include "exshm.h"
#include "util.h"

static void fill(struct exshm_header *h, size_t size, uint64_t seed)
{
	uint8_t *data = (uint8_t *)(h + 1);
	size_t n = size - sizeof(*h);
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		data[i] = (uint8_t)(s >> 56);
	}
	*h = (struct exshm_header){
		.magic = EXSHM_MAGIC,
		.size = size,
		.seed = seed,
		.checksum = XXH3_64bits(data, n),
	};
}

int main(int argc, char **argv)
{
	uint64_t key, kib, seed;
	sigset_t mask;
	void *p;
	int id, sig;

	if (exapp_arg_u64(argc, argv, "key", "THAW_EX_SHM_KEY", 0, &key) < 0 ||
	    exapp_arg_u64(argc, argv, "size", "THAW_EX_SHM_KIB", 1024, &kib) <
		    0 ||
	    exapp_arg_u64(argc, argv, "seed", "THAW_EX_SHM_SEED", 7, &seed) <
		    0 ||
	    key == 0 || kib == 0) {
		fprintf(stderr, "usage: %s --key KEY [--size KiB] [--seed N]\n",
			argv[0]);
		return 2;
	}

	id = shmget((key_t)key, kib << 10, IPC_CREAT | IPC_EXCL | 0600);
	if (id < 0) {
		fprintf(stderr, "shmpeer: shmget 0x%llx: %m\n",
			(unsigned long long)key);
		return 1;
	}
	p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		fprintf(stderr, "shmpeer: shmat: %m\n");
		shmctl(id, IPC_RMID, NULL);
		return 1;
	}
	fill(p, kib << 10, seed);
	exapp_log("shmpeer", "segment 0x%llx of %llu KiB ready",
		  (unsigned long long)key, (unsigned long long)kib);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigwait(&mask, &sig);

	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
	exapp_log("shmpeer", "segment 0x%llx removed", (unsigned long long)key);
	return 0;
}
