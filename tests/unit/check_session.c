/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for session.c, the echo loop, run by a worker pool over a
 * client registry as the daemon runs it: echo and counts, admission
 * against max_clients, refusal while stopping, shutdown waking blocked
 * threads, the idle and send timeouts, and a thread that cannot start.
 * Clients are socketpairs, so no network is involved.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "echod/clients.h"
#include "echod/counters.h"
#include "echod/session.h"
#include "echod/workers.h"

#include "counter_value.h"
#include "suite.h"

static struct clients	*reg;
static struct workers	*pool;
static struct counters	 counters;
static const struct sockaddr_in peer = { .sin_family = AF_INET };
static int		 dropped_err;

static void
run(void *job, struct counter_shard *ctr, void *ctx)
{
	(void)ctx;
	session_serve(job, ctr, &counters);
}

static void
drop(void *job, int err, void *ctx)
{
	struct session *s = job;

	(void)ctx;
	clients_leave(s->clients, &s->client);
	close(s->client.fd);
	dropped_err = err;
}

static void
launched(void *ctx)
{
	(void)ctx;
	clients_note_peak(reg);
}

static const struct workers_ops ops = { run, drop, launched };

static void
make_pool(size_t stack)
{
	pool = workers_new(sizeof(struct session), stack, &ops, NULL,
	    &counters, CTR_TCP_THREADS_STARTED, CTR_TCP_THREADS_CACHED);
	ck_assert_ptr_nonnull(pool);
}

static void
setup(void)
{
	ck_assert_int_eq(counters_init(&counters), 0);
	ck_assert_ptr_nonnull(reg = clients_new(&counters));
	make_pool(session_stack_size());
}

static void
teardown(void)
{
	clients_shutdown(reg);
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	workers_free(pool);
	clients_free(reg);
	counters_destroy(&counters);
}

/* Start a session on one end of a socketpair; returns the client end. */
static int
start_client(unsigned max_clients, int *err)
{
	const struct client_limits lim = { .max_clients = max_clients };
	struct ipaddr src = { .family = AF_INET };
	enum clients_verdict v;
	struct session *s;
	int	 sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ck_assert_ptr_nonnull(s = workers_alloc(pool));
	client_init(&s->client, sv[1], (const struct sockaddr *)&peer,
	    sizeof(peer), &src);
	s->clients = reg;
	if ((v = clients_join(reg, &s->client, &src, &lim)) !=
	    CLIENTS_JOINED) {
		*err = v == CLIENTS_FULL ? EBUSY : v == CLIENTS_STOPPING ?
		    ESHUTDOWN : EINVAL;
		workers_release(pool, s);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	dropped_err = 0;
	workers_submit(pool, s);
	/* Admitted: now its thread, which closes sv[1] if it cannot start. */
	ck_assert(!workers_launch(pool, 1000));
	if (dropped_err != 0) {
		*err = dropped_err;
		close(sv[0]);
		return -1;
	}
	*err = 0;
	return sv[0];
}

/* Wait up to 5 s for the registry to hold want clients. */
static void
await_count(unsigned want)
{
	struct timespec ts = { 0, 2000000 };
	int	 i;

	for (i = 0; i < 2500 && clients_count(reg) != want; i++)
		nanosleep(&ts, NULL);
	ck_assert_uint_eq(clients_count(reg), want);
}

/* Read exactly len bytes with a 5 s bound; 0 on EOF first. */
static size_t
read_full(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
		n = read(fd, buf + got, len - got);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return got;
}

START_TEST(test_echo_and_counts)
{
	char	 buf[64];
	int	 c, err;

	c = start_client(4, &err);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(write(c, "hello", 5), 5);
	ck_assert_uint_eq(read_full(c, buf, 5), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS), 1);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS_PEAK), 1);
	/* Live sessions are summed in before they end. */
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_BYTES_IN), 5);
	/* EOF from the client ends the session, which unregisters. */
	ck_assert_int_eq(shutdown(c, SHUT_WR), 0);
	ck_assert_uint_eq(read_full(c, buf, sizeof(buf)), 0);
	await_count(0);
	/* ...and folded into the retired totals once they end. */
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_BYTES_IN), 5);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_BYTES_OUT), 5);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS), 0);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS_PEAK), 1);
	close(c);
}
END_TEST

START_TEST(test_max_clients)
{
	int	 c[3], err, extra;

	c[0] = start_client(2, &err);
	c[1] = start_client(2, &err);
	ck_assert_int_ge(c[0], 0);
	ck_assert_int_ge(c[1], 0);
	extra = start_client(2, &err);
	ck_assert_int_eq(extra, -1);
	ck_assert_int_eq(err, EBUSY);
	ck_assert_uint_eq(clients_count(reg), 2);
	/* One leaves: room for one more. */
	close(c[0]);
	await_count(1);
	c[2] = start_client(2, &err);
	ck_assert_int_ge(c[2], 0);
	close(c[1]);
	close(c[2]);
	await_count(0);
}
END_TEST

START_TEST(test_shutdown_wakes_and_refuses)
{
	char	 buf[8];
	int	 c[8], err;
	size_t	 i;

	for (i = 0; i < 8; i++) {
		c[i] = start_client(100, &err);
		ck_assert_int_ge(c[i], 0);
	}
	/* Threads sit in recv(); shutdown must wake them all. */
	clients_shutdown(reg);
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	ck_assert_uint_eq(clients_count(reg), 0);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS_PEAK), 8);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_uint_eq(read_full(c[i], buf, sizeof(buf)), 0);
		close(c[i]);
	}
	ck_assert_int_eq(start_client(100, &err), -1);
	ck_assert_int_eq(err, ESHUTDOWN);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct timespec t0, t1;
	long long elapsed;
	char	 buf[8];
	int	 c, err;

	clients_set_timeouts(reg, 1, 0);
	c = start_client(4, &err);
	ck_assert_int_ge(c, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Silent client: the session gives up and the client sees EOF. */
	ck_assert_uint_eq(read_full(c, buf, sizeof(buf)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* SO_RCVTIMEO of 1 s: not before it, and not much after. */
	ck_assert_int_ge(elapsed, 900);
	ck_assert_int_le(elapsed, 3000);
	await_count(0);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLOSED_IDLE), 1);
	close(c);
}
END_TEST

/*
 * A session whose thread cannot start leaves no trace: not in the count,
 * not in the peak.  A stack larger than the address space makes
 * pthread_create() fail with EAGAIN, as thread exhaustion does.
 */
START_TEST(test_thread_failure_rolls_back)
{
	struct workers *old;
	int	 c, err;

	c = start_client(4, &err);
	ck_assert_int_ge(c, 0);
	/* A pool whose threads' stacks cannot be mapped. */
	old = pool;
	make_pool((size_t)1 << 46);
	ck_assert_int_eq(start_client(4, &err), -1);
	ck_assert_int_eq(workers_shutdown(pool, 2000), 0);
	workers_free(pool);
	pool = old;
	ck_assert_int_eq(err, EAGAIN);
	ck_assert_uint_eq(clients_count(reg), 1);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS), 1);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS_PEAK), 1);
	close(c);
	await_count(0);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc;

	tc = tcase_create("registry");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_echo_and_counts);
	tcase_add_test(tc, test_max_clients);
	tcase_add_test(tc, test_shutdown_wakes_and_refuses);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_thread_failure_rolls_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(session_suite());
}
