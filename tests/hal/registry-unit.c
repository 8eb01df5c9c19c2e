// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of libhal-criu's registry with custom resources and plain
 * files: ordering, rollback, retries, reports, repeat calls, and
 * registration from several threads while the calls run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cmocka.h>

#include "thaw/hal.h"
#include "thaw/hal_criu.h"

struct probe {
	char tag;
	int fail_release;
	int fail_acquire;
	int released, acquired;
	enum hal_reason last_reason;
};

static char trail[64];

static int probe_release(void *userdata)
{
	struct probe *p = userdata;

	if (p->fail_release)
		return -EIO;
	p->released++;
	if (strlen(trail) < sizeof(trail) - 1)
		trail[strlen(trail)] = p->tag;
	return 0;
}

static int probe_acquire(enum hal_reason reason, void *userdata)
{
	struct probe *p = userdata;

	if (p->fail_acquire > 0) {
		p->fail_acquire--;
		return -ENODEV;
	}
	p->acquired++;
	p->last_reason = reason;
	if (strlen(trail) < sizeof(trail) - 1)
		trail[strlen(trail)] = (char)(p->tag + 'a' - 'A');
	return 0;
}

static int add(struct probe *p, const char *name, int prio)
{
	int id = hal_custom_register(name, prio, probe_release, probe_acquire,
				     p);

	assert_true(id > 0);
	return id;
}

static void test_order(void **state)
{
	struct probe a = { .tag = 'A' }, b = { .tag = 'B' }, c = { .tag = 'C' };
	int ia = add(&a, "a", 0), ib = add(&b, "b", 0), ic = add(&c, "c", 0);

	memset(trail, 0, sizeof(trail));
	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	assert_string_equal(trail, "CBAabc");

	/* A priority moves A to be released first and taken back last. */
	assert_int_equal(hal_priority_set(ia, 10), 0);
	memset(trail, 0, sizeof(trail));
	HAL_CRIU_PreCheckpointNotify();
	HAL_CRIU_PostRestoreNotify();
	assert_string_equal(trail, "ACBbca");
	assert_int_equal(a.last_reason, HAL_REASON_RESTORE);

	hal_unregister(ia);
	hal_unregister(ib);
	hal_unregister(ic);
	assert_int_equal(hal_count(), 0);
}

static void test_rollback(void **state)
{
	struct probe a = { .tag = 'A' }, b = { .tag = 'B' },
		     c = { .tag = 'C', .fail_release = 1 };
	int ic = add(&c, "broken-one", 0), ia = add(&a, "a", 0),
	    ib = add(&b, "b", 0);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_NOT_OK);
	assert_non_null(strstr(hal_last_report(), "custom 'broken-one'"));
	assert_int_equal(a.acquired, 1);
	assert_int_equal(b.acquired, 1);
	assert_int_equal(a.last_reason, HAL_REASON_ROLLBACK);
	assert_int_equal(c.acquired, 0);

	/* Nothing is left released: the post call has nothing to do. */
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	assert_int_equal(a.acquired, 1);
	hal_unregister(ia);
	hal_unregister(ib);
	hal_unregister(ic);
}

static void test_post_retry(void **state)
{
	struct probe a = { .tag = 'A', .fail_acquire = 1 }, b = { .tag = 'B' };
	int ia = add(&a, "flaky", 0), ib = add(&b, "b", 0);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(hal_unregister(ia), -EBUSY);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_NOT_OK);
	assert_non_null(strstr(hal_last_report(), "custom 'flaky': acquire"));
	assert_int_equal(b.acquired, 1);

	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	assert_string_equal(hal_last_report(), "");
	assert_int_equal(a.acquired, 1);
	assert_int_equal(b.acquired, 1);

	/* One that stays lost can be forgotten once the window closed. */
	a.fail_acquire = 5;
	HAL_CRIU_PreCheckpointNotify();
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_NOT_OK);
	assert_int_equal(hal_unregister(ia), 0);
	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	hal_unregister(ib);
}

static void test_repeat(void **state)
{
	struct probe a = { .tag = 'A' };
	int ia = add(&a, "a", 0);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(a.released, 1);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	assert_int_equal(HAL_CRIU_PostRestoreNotify(), HAL_CRIU_OK);
	assert_int_equal(a.acquired, 1);
	hal_unregister(ia);
}

static void test_file(void **state)
{
	char path[] = "/tmp/hal-unit-XXXXXX";
	int fd = mkstemp(path), id, fl;
	char buf[8];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abcdefgh", 8), 8);
	lseek(fd, 3, SEEK_SET);
	fl = fcntl(fd, F_GETFL);
	id = hal_file_register(fd, NULL);
	assert_true(id > 0);
	assert_int_equal(hal_file_register(fd, NULL), -EEXIST);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
	assert_int_equal(fcntl(fd, F_GETFL), fl);
	assert_int_equal(read(fd, buf, 5), 5);
	assert_memory_equal(buf, "defgh", 5);

	hal_unregister(id);
	close(fd);
	unlink(path);
}

/* The usual private segment, removed right after attaching. */
static void test_shm_dying(void **state)
{
	int shmid = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600), id, now, max;
	struct shm_info info;
	struct shmid_ds ds;
	char *p;

	assert_true(shmid >= 0);
	p = shmat(shmid, NULL, 0);
	assert_true(p != (void *)-1);
	shmctl(shmid, IPC_RMID, NULL);
	memset(p, 'z', 8192);
	id = hal_shm_register(p, 0, NULL, NULL);
	assert_true(id > 0);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	for (int i = 0; i < 8192; i++)
		assert_int_equal(p[i], 'z');

	/* The segment that replaced it is again one that goes with us. */
	now = -1;
	max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	for (int i = 0; i <= max; i++) {
		struct shmid_ds d;
		int sid = shmctl(i, SHM_STAT, &d);

		if (sid >= 0 && d.shm_cpid == getpid() && d.shm_nattch == 1 &&
		    d.shm_segsz == 8192)
			now = sid;
	}
	assert_true(now >= 0 && now != shmid);
	assert_int_equal(shmctl(now, IPC_STAT, &ds), 0);
	assert_true(ds.shm_perm.mode & SHM_DEST);

	hal_unregister(id);
	shmdt(p);
	assert_int_equal(shmctl(now, IPC_STAT, &ds), -1);
}

static void *churn(void *userdata)
{
	struct probe *p = userdata;

	for (int i = 0; i < 300; i++) {
		int id = hal_custom_register("churn", i % 3, probe_release,
					     probe_acquire, p);
		int r;

		if (id < 0)
			return (void *)1;
		/* Released by a concurrent call: unregister after its post. */
		while ((r = hal_unregister(id)) == -EBUSY)
			usleep(100);
		if (r < 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	static struct probe p[4];
	pthread_t t[4];
	void *ret;

	memset(trail, 0, sizeof(trail));
	for (int i = 0; i < 4; i++) {
		p[i] = (struct probe){ .tag = 'X' };
		assert_int_equal(pthread_create(&t[i], NULL, churn, &p[i]), 0);
	}
	for (int i = 0; i < 200; i++) {
		memset(trail, 0, sizeof(trail));
		HAL_CRIU_PreCheckpointNotify();
		HAL_CRIU_PostDumpNotify();
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
		assert_int_equal(p[i].released, p[i].acquired);
	}
	assert_int_equal(hal_count(), 0);
}

static int reentry_result;

static int reentrant_release(void *userdata)
{
	reentry_result = hal_custom_register("inner", 0, NULL, NULL, NULL);
	return hal_count() == 1 ? 0 : -EIO;
}

static void test_reentry(void **state)
{
	int id = hal_custom_register("outer", 0, reentrant_release, NULL, NULL);

	assert_int_equal(HAL_CRIU_PreCheckpointNotify(), HAL_CRIU_OK);
	assert_int_equal(reentry_result, -EDEADLK);
	assert_int_equal(HAL_CRIU_PostDumpNotify(), HAL_CRIU_OK);
	hal_unregister(id);
}

static void test_misc(void **state)
{
	struct hal_census *c = NULL;
	char *text = NULL;

	assert_string_equal(hal_version(), "1.0.0");
	assert_int_equal(hal_unregister(12345), -ENOENT);
	assert_int_equal(hal_device_register(-1, NULL, NULL, NULL, NULL),
			 -EBADF);
	assert_int_equal(hal_device_policy_add(NULL, HAL_DEVICE_IGNORE),
			 -EINVAL);
	for (int i = 0; i < 64; i++)
		assert_int_equal(
			hal_device_policy_add("/dev/x*", HAL_DEVICE_IGNORE), 0);
	assert_int_equal(hal_device_policy_add("/dev/y", HAL_DEVICE_PLUGIN),
			 -E2BIG);
	hal_device_policy_clear();

	assert_int_equal(hal_census_take(0, &c), 0);
	assert_true(c->n_entries >= 3);
	assert_int_equal(hal_census_format(c, false, &text), 0);
	assert_non_null(strstr(text, "fd 0 "));
	assert_string_equal(hal_verdict_to_string(HAL_VERDICT_BLOCKS),
			    "blocks");
	free(text);
	assert_null(hal_census_free(c));
	assert_int_equal(hal_census_take(-1, &c), -EINVAL);
	assert_int_equal(hal_census_take(999999999, &c), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_rollback),
		cmocka_unit_test(test_post_retry),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_shm_dying),
		cmocka_unit_test(test_reentry),
		cmocka_unit_test(test_misc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
