/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for workers.c, the thread pool, with jobs that know nothing
 * of echo: every submitted job runs once or is dropped once, a finished
 * thread takes the next job from its cache instead of a new thread, the
 * cache obeys its size, a thread that cannot start drops its job, and
 * shutdown drops what waits and waits for what runs.
 */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "echod/counters.h"
#include "echod/workers.h"

#include "counter_value.h"
#include "suite.h"

struct job {
	int		 id;
	pthread_mutex_t	*gate;		/* NULL: return at once */
};

static struct counters	 counters;
static struct workers	*pool;
static atomic_int	 ran, dropped, last_drop_err;

static void
run(void *job, struct counter_shard *ctr, void *ctx)
{
	struct job *j = job;

	(void)ctx;
	counter_add(ctr, CTR_TCP_BYTES_IN, 1);
	if (j->gate != NULL) {
		pthread_mutex_lock(j->gate);
		pthread_mutex_unlock(j->gate);
	}
	atomic_fetch_add(&ran, 1);
}

static void
drop(void *job, int err, void *ctx)
{
	(void)job;
	(void)ctx;
	atomic_store(&last_drop_err, err);
	atomic_fetch_add(&dropped, 1);
}

static const struct workers_ops ops = { run, drop, NULL };

static void
make(size_t stack, unsigned cache)
{
	pool = workers_new(sizeof(struct job), stack, &ops, NULL, &counters,
	    CTR_TCP_THREADS_STARTED, CTR_TCP_THREADS_CACHED);
	ck_assert_ptr_nonnull(pool);
	workers_set_cache(pool, cache, 30);
}

static void
setup(void)
{
	ck_assert_int_eq(counters_init(&counters), 0);
	atomic_store(&ran, 0);
	atomic_store(&dropped, 0);
	make((size_t)64 * 1024, 4);
}

static void
teardown(void)
{
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	workers_free(pool);
	counters_destroy(&counters);
}

static void
submit(int id, pthread_mutex_t *gate)
{
	struct job *j = workers_alloc(pool);

	ck_assert_ptr_nonnull(j);
	j->id = id;
	j->gate = gate;
	workers_submit(pool, j);
	while (workers_launch(pool, 16))
		;
}

/* Poll (5 s at most) until *v reaches want. */
static void
await(atomic_int *v, int want)
{
	struct timespec ts = { 0, 1000000 };
	int	 i;

	for (i = 0; i < 5000 && atomic_load(v) < want; i++)
		nanosleep(&ts, NULL);
	ck_assert_int_eq(atomic_load(v), want);
}

/* ...and until the gauge of cached threads reads want. */
static void
await_cached(uint64_t want)
{
	struct timespec ts = { 0, 1000000 };
	int	 i;

	for (i = 0; i < 5000 && counter_value(&counters,
	    CTR_TCP_THREADS_CACHED) != want; i++)
		nanosleep(&ts, NULL);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_THREADS_CACHED), want);
}

START_TEST(test_jobs_run_once)
{
	int	 i;

	for (i = 0; i < 10; i++)
		submit(i, NULL);
	await(&ran, 10);
	ck_assert_int_eq(atomic_load(&dropped), 0);
	/* Each job counted into its block's shard, summed on read. */
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_BYTES_IN), 10);
}
END_TEST

START_TEST(test_cached_thread_takes_next)
{
	submit(0, NULL);
	await(&ran, 1);
	await_cached(1);
	submit(1, NULL);
	await(&ran, 2);
	/* The second job needed no new thread. */
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_THREADS_STARTED), 1);
}
END_TEST

START_TEST(test_cache_size_bounds_idle_threads)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	int	 i;

	pthread_mutex_lock(&gate);
	for (i = 0; i < 8; i++)
		submit(i, &gate);
	ck_assert_uint_eq(workers_threads(pool), 8);
	pthread_mutex_unlock(&gate);
	await(&ran, 8);
	/* Four stay for the next jobs, the rest end. */
	await_cached(4);
	workers_set_cache(pool, 1, 30);
	await_cached(1);
	workers_set_cache(pool, 0, 30);
	await_cached(0);
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	ck_assert_uint_eq(workers_threads(pool), 0);
	/* Nothing runs: reclaim has nothing to come back for. */
	ck_assert_int_eq(workers_reclaim(pool), -1);
}
END_TEST

START_TEST(test_thread_failure_drops)
{
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	workers_free(pool);
	/* No stack of that size can be mapped: pthread_create fails. */
	make((size_t)1 << 46, 4);
	submit(0, NULL);
	ck_assert_int_eq(atomic_load(&dropped), 1);
	ck_assert_int_eq(atomic_load(&last_drop_err), EAGAIN);
	ck_assert_int_eq(atomic_load(&ran), 0);
	ck_assert_uint_eq(workers_threads(pool), 0);
}
END_TEST

START_TEST(test_shutdown_drops_queued_waits_running)
{
	pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
	struct job *j;

	pthread_mutex_lock(&gate);
	submit(0, &gate);
	/* Queued, never launched. */
	ck_assert_ptr_nonnull(j = workers_alloc(pool));
	j->gate = NULL;
	workers_submit(pool, j);
	/* The running job holds shutdown back until it returns. */
	ck_assert_int_eq(workers_shutdown(pool, 50), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&dropped), 1);
	ck_assert_int_eq(atomic_load(&last_drop_err), ESHUTDOWN);
	pthread_mutex_unlock(&gate);
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	ck_assert_int_eq(atomic_load(&ran), 1);
}
END_TEST

static Suite *
workers_suite(void)
{
	Suite	*s = suite_create("workers");
	TCase	*tc = tcase_create("pool");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_jobs_run_once);
	tcase_add_test(tc, test_cached_thread_takes_next);
	tcase_add_test(tc, test_cache_size_bounds_idle_threads);
	tcase_add_test(tc, test_thread_failure_drops);
	tcase_add_test(tc, test_shutdown_drops_queued_waits_running);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(workers_suite());
}
