// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thaw_hook *hooks;
static size_t hooks_n, hooks_allocated;

int hooks_add(thaw_before_fn before, thaw_after_fn after, void *userdata)
{
	int r = 0;

	if (!before && !after)
		return -EINVAL;

	pthread_mutex_lock(&hooks_lock);
	if (hooks_n == hooks_allocated) {
		size_t want = hooks_allocated ? hooks_allocated * 2 : 8;
		struct thaw_hook *bigger;

		bigger = realloc(hooks, want * sizeof(*hooks));
		if (!bigger) {
			r = -ENOMEM;
			goto out;
		}
		hooks = bigger;
		hooks_allocated = want;
	}
	hooks[hooks_n++] = (struct thaw_hook){ before, after, userdata };
out:
	pthread_mutex_unlock(&hooks_lock);
	return r;
}

int hooks_snapshot(struct thaw_hook **ret_hooks, size_t *ret_n)
{
	struct thaw_hook *copy;
	size_t n;

	pthread_mutex_lock(&hooks_lock);
	n = hooks_n;
	/* One spare slot so that an empty list still yields a pointer. */
	copy = malloc((n + 1) * sizeof(*copy));
	if (copy && n)
		memcpy(copy, hooks, n * sizeof(*copy));
	pthread_mutex_unlock(&hooks_lock);

	if (!copy)
		return -ENOMEM;
	*ret_hooks = copy;
	*ret_n = n;
	return 0;
}

void hooks_reset(void)
{
	pthread_mutex_lock(&hooks_lock);
	free(hooks);
	hooks = NULL;
	hooks_n = hooks_allocated = 0;
	pthread_mutex_unlock(&hooks_lock);
}

int hooks_run_before(const struct thaw_hook *list, size_t n, size_t *first_done)
{
	size_t i = n;

	while (i > 0) {
		const struct thaw_hook *h = &list[i - 1];

		if (h->before) {
			int r = h->before(h->userdata);

			if (r < 0) {
				*first_done = i;
				return r;
			}
		}
		i--;
	}
	*first_done = 0;
	return 0;
}

void hooks_run_after(const struct thaw_hook *list, size_t n, size_t first,
		     int result)
{
	for (size_t i = first; i < n; i++)
		if (list[i].after)
			list[i].after(result, list[i].userdata);
}
