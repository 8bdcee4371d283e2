/* SPDX-License-Identifier: MIT */
/*
 * check_thread_cache: a client thread whose client left waits in the cache
 * (thread_cache_size, thread_cache_timeout) and serves the next client;
 * every byte still exact through a reused thread, the cache bounded, its
 * threads gone after the timeout or a reload that shrinks it, and SIGTERM
 * prompt with threads waiting.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"


/*
 * The daemon's threads with no client: the accept loop, the UDP thread, and
 * whatever a sanitizer runs beside them.
 */
static int
base_threads(struct daemon *d)
{
	int	 n = proc_thread_count(d->pid);

	ck_assert_msg(n >= 2, "%d threads", n);
	return n;
}

/* Poll until the daemon has want threads; fail after timeout_ms. */
static void
threads_become(struct daemon *d, int want, int timeout_ms)
{
	struct timespec ts = { 0, 20L * 1000 * 1000 };
	int	 n = -1, waited;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		if ((n = proc_thread_count(d->pid)) == want)
			return;
		nanosleep(&ts, NULL);
	}
	ck_abort_msg("%d threads after %d ms, expected %d", n, timeout_ms,
	    want);
}

/* One client: connect, echo len bytes, close, and wait until it is gone. */
static void
one_client(struct daemon *d, size_t len, uint64_t seed)
{
	unsigned char *buf = random_buf(len, seed);
	int	 fd = connect_ok(d, AF_INET);

	echo_ok(fd, buf, len);
	close(fd);
	free(buf);
	clients_ok(d, 0);
}

/*
 * n clients connected at once, each echoed, then all gone: n threads
 * finish together and try to enter the cache.
 */
static void
crowd_leaves(struct daemon *d, int n)
{
	unsigned char msg[64];
	int	 fd[16], i;

	ck_assert_int_le(n, 16);
	memset(msg, 'x', sizeof(msg));
	for (i = 0; i < n; i++) {
		fd[i] = connect_ok(d, AF_INET);
		echo_ok(fd[i], msg, sizeof(msg));
	}
	clients_ok(d, (unsigned)n);
	for (i = 0; i < n; i++)
		close(fd[i]);
	clients_ok(d, 0);
}

START_TEST(test_next_client_reuses_the_thread)
{
	struct daemon d = DAEMON_INIT;
	int	 base;
	int	 i;

	start(&d, "thread_cache_size = 4\nthread_cache_timeout = 60\n");
	base = base_threads(&d);
	/* Small, bulk, small: a reused thread starts small reads again. */
	for (i = 0; i < 20; i++)
		one_client(&d, i % 3 == 1 ? 300000 : 100, (uint64_t)i);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_started"), 1);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_cached"), 1);
	ck_assert_uint_eq(counter_ok(&d, "tcp_accepted"), 20);
	ck_assert_uint_eq(counter_ok(&d, "tcp_bytes_out"),
	    counter_ok(&d, "tcp_bytes_in"));
	threads_become(&d, base + 1, HARNESS_IO_MS);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_size_zero_caches_nothing)
{
	struct daemon d = DAEMON_INIT;
	int	 base;
	int	 i;

	start(&d, "thread_cache_size = 0\n");
	base = base_threads(&d);
	for (i = 0; i < 5; i++)
		one_client(&d, 100, (uint64_t)i);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_started"), 5);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_cached"), 0);
	threads_become(&d, base, HARNESS_IO_MS);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Ten clients at once: four threads stay, for one second, then none. */
START_TEST(test_cache_is_bounded_and_times_out)
{
	struct daemon d = DAEMON_INIT;
	int	 base;

	start(&d, "thread_cache_size = 4\nthread_cache_timeout = 1\n");
	base = base_threads(&d);
	crowd_leaves(&d, 10);
	counter_wait_ok(&d, "tcp_threads_cached", 4);
	threads_become(&d, base + 4, HARNESS_IO_MS);
	/* Timed out: the second the key says, give or take a tick. */
	threads_become(&d, base, 2500);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_cached"), 0);
	one_client(&d, 100, 99);
	ck_assert_uint_eq(counter_ok(&d, "tcp_threads_started"), 11);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A reload that shrinks the cache ends the surplus at once. */
START_TEST(test_reload_shrinks_the_cache)
{
	struct daemon d = DAEMON_INIT;
	int	 base;

	start(&d, "thread_cache_size = 8\nthread_cache_timeout = 3600\n");
	base = base_threads(&d);
	crowd_leaves(&d, 6);
	counter_wait_ok(&d, "tcp_threads_cached", 6);
	reload(&d, "applied", d.port, "listen = {\"127.0.0.1\"}\n"
	    "thread_cache_size = 2\nthread_cache_timeout = 3600\n");
	counter_wait_ok(&d, "tcp_threads_cached", 2);
	threads_become(&d, base + 2, HARNESS_IO_MS);
	still_serving(&d, "a reload that shrank the thread cache");
	/* SIGTERM with threads waiting in the cache: prompt, exit 0. */
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_bad_values_are_refused)
{
	static const char *const bad[] = {
		"thread_cache_size = -1\n",
		"thread_cache_size = 1048577\n",
		"thread_cache_timeout = 0\n",
		"thread_cache_timeout = 3601\n",
		"thread_cache_size = \"many\"\n",
	};
	struct daemon d = DAEMON_INIT;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(daemon_start(&d, 2, "%s", bad[i]) == -1 &&
		    daemon_exit_code(&d) == 78, "%s: exit %d, expected 78",
		    bad[i], daemon_exit_code(&d));
		ck_assert_msg(strstr(daemon_log(&d), "thread_cache_") != NULL,
		    "%s: the error does not name the key: %s", bad[i],
		    daemon_log_tail(&d));
		daemon_free(&d);
		d = (struct daemon)DAEMON_INIT;
	}
}
END_TEST

static Suite *
thread_cache_suite(void)
{
	Suite	*s = suite_create("thread_cache");
	TCase	*tc = tcase_new(s, "cache", 60);

	tcase_add_test(tc, test_next_client_reuses_the_thread);
	tcase_add_test(tc, test_size_zero_caches_nothing);
	tcase_add_test(tc, test_cache_is_bounded_and_times_out);
	tcase_add_test(tc, test_reload_shrinks_the_cache);
	tcase_add_test(tc, test_bad_values_are_refused);
	return s;
}

int
main(void)
{
	return harness_main(thread_cache_suite(), "check_thread_cache");
}
