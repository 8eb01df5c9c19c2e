// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Latency of the three HAL calls of libhal-criu with 10, 100 and 1,000
 * registered resources of a realistic mix (real devices, sockets that
 * reconnect with a handshake to a peer, System V segments with saved
 * contents, files with unsynced data, custom callbacks), and of the
 * census of the process.  One BENCH line per figure, then a table.
 *
 * usage: hal-bench [ROUNDS]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mix.h"
#include "util.h"
#include "peer.h"
#include "thaw/hal.h"
#include "thaw/hal_criu.h"

struct figures {
	double med[4], max[4];
};

static const char *const calls[] = { "pre_checkpoint", "post_dump",
				     "post_restore", "census" };

static uint64_t usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double timed_ms(int (*call)(void), int *failed)
{
	uint64_t t0 = usec();

	*failed += call() != HAL_CRIU_OK;
	return (usec() - t0) / 1000.0;
}

static int census_self(void)
{
	struct hal_census *c = NULL;
	int r = hal_census_take(0, &c);

	hal_census_free(c);
	return r == 0 ? HAL_CRIU_OK : HAL_CRIU_NOT_OK;
}

static int run(const struct hal_ops *ops, const struct peer *p, const char *dir,
	       size_t n, enum mix_kind kind, int rounds, struct figures *f)
{
	double *t[4];
	struct mix m;
	int failed = 0, r;

	r = mix_open_kind(&m, ops, p, dir, n, kind);
	if (r < 0)
		return r;

	for (int k = 0; k < 4; k++)
		t[k] = calloc(rounds, sizeof(double));
	for (int i = 0; i < rounds; i++) {
		mix_dirty(&m);
		t[0][i] = timed_ms(HAL_CRIU_PreCheckpointNotify, &failed);
		t[1][i] = timed_ms(HAL_CRIU_PostDumpNotify, &failed);
		mix_dirty(&m);
		HAL_CRIU_PreCheckpointNotify();
		t[2][i] = timed_ms(HAL_CRIU_PostRestoreNotify, &failed);
		t[3][i] = timed_ms(census_self, &failed);
	}

	for (int k = 0; k < 4; k++) {
		qsort(t[k], rounds, sizeof(double), cmp_double);
		f->med[k] = t[k][rounds / 2];
		f->max[k] = t[k][rounds - 1];
		free(t[k]);
	}
	mix_close(&m, ops);
	return failed ? -EIO : 0;
}

static void print_figures(const char *mix, size_t n, int rounds,
			  const struct figures *f)
{
	for (int k = 0; k < 4; k++)
		printf("BENCH name=hal_%s value=%.3f unit=ms resources=%zu mix=%s stat=median rounds=%d max=%.3f\n",
		       calls[k], f->med[k], n, mix, rounds, f->max[k]);
}

static void print_table(const struct figures *f, int rounds)
{
	printf("\nrealistic mix, ms (median/max of %d rounds)\n", rounds);
	printf("%-16s %14s %14s %14s\n", "call", "10", "100", "1000");
	for (int k = 0; k < 4; k++)
		printf("%-16s %6.3f/%-7.3f %6.3f/%-7.3f %6.3f/%-7.3f\n",
		       calls[k], f[0].med[k], f[0].max[k], f[1].med[k],
		       f[1].max[k], f[2].med[k], f[2].max[k]);
}

/* The mix at 10, 100 and 1000, then 100 of each kind alone. */
static int bench_all(const struct hal_ops *ops, const struct peer *p,
		     const char *dir, int rounds)
{
	static const size_t sizes[] = { 10, 100, 1000 };
	static const char *const kinds[] = {
		[MIX_NULL] = "null",	       [MIX_URANDOM] = "urandom",
		[MIX_LATENCY] = "latency",     [MIX_STREAM] = "stream",
		[MIX_SEQPACKET] = "seqpacket", [MIX_SHM] = "shm",
		[MIX_FILE] = "file",
	};
	struct figures f[3], one;
	int r;

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		r = run(ops, p, dir, sizes[s], MIX_ALL, rounds, &f[s]);
		if (r < 0)
			return r;
		print_figures("all", sizes[s], rounds, &f[s]);
	}
	print_table(f, rounds);

	printf("\n100 of one kind, ms (median)\n%-10s %8s %8s %8s\n", "kind",
	       "pre", "post", "restore");
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		r = run(ops, p, dir, 100, (enum mix_kind)k, rounds, &one);
		if (r < 0)
			return r;
		print_figures(kinds[k], 100, rounds, &one);
		printf("%-10s %8.3f %8.3f %8.3f\n", kinds[k], one.med[0],
		       one.med[1], one.med[2]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct hal_ops ops = {
		.device_register = hal_device_register,
		.socket_register = hal_socket_register,
		.shm_register = hal_shm_register,
		.file_register = hal_file_register,
		.custom_register = hal_custom_register,
		.unregister = hal_unregister,
	};
	int rounds = argc > 1 ? atoi(argv[1]) : 21;
	char dir[] = "/var/tmp/hal-bench-XXXXXX";
	struct peer_stats stats = { 0 };
	struct rlimit rl;
	char cmd[128];
	struct peer p;
	int r;

	if (rounds < 1 || !mkdtemp(dir))
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	r = peer_listen(&p, dir, &stats);
	r = r < 0 ? r : peer_run(&p);
	r = r < 0 ? r : bench_all(&ops, &p, dir, rounds);
	peer_stop(&p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "hal-bench: cannot remove %s\n", dir);
	if (r < 0) {
		fprintf(stderr, "hal-bench: %s: %s\n", strerror(-r),
			hal_last_report());
		return 1;
	}
	printf("(files on %s)\n", dir);
	return 0;
}
