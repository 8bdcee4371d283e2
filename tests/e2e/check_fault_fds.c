/* SPDX-License-Identifier: MIT */
/*
 * Fault: descriptors exhausted.  echod under RLIMIT_NOFILE 64 and 256 (set
 * on the running daemon, since as root it raises its own limit at start)
 * meets 500 clients at once, and more while it is watched.  accept(2)
 * fails with EMFILE: the daemon must back off (no spinning, a log line
 * per period), keep serving the clients it holds, and take the others
 * from the backlog as descriptors free up, every byte echoed.  No new
 * connection can be taken while none is free, so the well-behaved client
 * is one connected before (the probe); newcomers are served afterwards.
 */

#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define CROWD		500	/* at once */
#define MORE		100	/* during the window */
#define CROWD_LEN	4096	/* each sends, then waits for its echo */
#define DRAIN_MS	30000	/* the backlog served through the few fds */

static const int limits[] = { 64, 256 };

START_TEST(test_descriptors_exhausted)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	struct window w;
	int	 limit = limits[_i], before;
	long long t0;
	size_t	 served, i;

	start(&d, "");
	probe_open(&p, &d);
	ck_assert_msg(p.fds + 8 < limit, "echod holds %d descriptors "
	    "before the fault", p.fds);
	daemon_limit(&d, RLIMIT_NOFILE, (unsigned long long)limit);
	t0 = harness_now_ms();
	before = daemon_log_count(&d, "accept failed");

	crowd_init(&c, CROWD + MORE, d.port, CROWD_LEN);
	crowd_add(&c, CROWD);
	(void)counter_wait_ge(&d, "tcp_accept_errors", 1, HARNESS_IO_MS,
	    crowd_step, &c);
	c.per_round = MORE * 100 / FAULT_WINDOW_MS;
	window_ok(&d, &p, FAULT_WINDOW_MS, true, crowd_step, &c, &w);

	/* Steady: each client it took has its echo whole, the rest wait. */
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_count(c.f, c.n, FLOW_LOST), 0);
	served = flows_done(c.f, c.n);
	printf("RLIMIT_NOFILE %d: %zu of %zu clients served at once\n", limit,
	    served, c.n);
	ck_assert_msg(served >= 1 && served < c.n, "%zu of %zu served: the "
	    "limit did not bite", served, c.n);
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), served + 1);
	ck_assert_int_le(proc_fd_count(d.pid), limit);

	/* Each leaves once echoed; the backlog goes through the freed fds. */
	for (i = 0; i < c.n; i++)
		c.f[i].end = FLOW_CLOSE;
	flows_settle(c.f, c.n, DRAIN_MS);
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_count(c.f, c.n, FLOW_ENDED), c.n);
	log_rate_ok(&d, "accept failed", before, t0);

	recovered_ok(&d, &p, 1);
	crowd_free(&c);
	fault_end(&d, &p);
}
END_TEST

static Suite *
fault_fds_suite(void)
{
	Suite	*s = suite_create("fault_fds");
	TCase	*tc = tcase_new(s, "nofile", 120);

	tcase_add_loop_test(tc, test_descriptors_exhausted, 0,
	    (int)(sizeof(limits) / sizeof(limits[0])));
	return s;
}

int
main(void)
{
	return harness_main(fault_fds_suite(), "check_fault_fds");
}
