/* SPDX-License-Identifier: MIT */
/*
 * Fairness between TCP sources, end to end.  127.0.0.1 and 127.0.0.2 are
 * two sources.  One source holding every slot cannot keep another out
 * (fair share closes its longest-silent client, which sees EOF); a source
 * is capped by max_clients_per_source and slowed by connect_rate_per_source
 * without touching anybody else; the counters say what happened.
 */

#include <sys/resource.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define NEWCOMER_MS	100	/* the contract: in and echoed within it */

static int
client_from(const char *src, int port)
{
	int	 fd = tcp_connect_src(src, port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	return fd;
}

/* A client from src must be closed at once, unserved. */
static void
refused_from(const char *src, int port)
{
	int	 fd = client_from(src, port);

	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0,
	    "a client from %s was served", src);
	close(fd);
}

/* Connect from src and be echoed within NEWCOMER_MS. */
static int
newcomer_ok(const char *src, int port)
{
	long long t0 = harness_now_ms(), took;
	int	 fd = client_from(src, port);

	echo_ok(fd, "newcomer", 8);
	took = harness_now_ms() - t0;
	ck_assert_msg(took <= NEWCOMER_MS, "the newcomer from %s waited "
	    "%lld ms", src, took);
	return fd;
}

/* Which of fds[0..n) saw EOF (or a reset), waiting up to timeout_ms. */
static size_t
closed_ones(const int *fds, size_t n, bool *closed, int timeout_ms)
{
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	long long deadline = harness_now_ms() + timeout_ms;
	size_t	 i, found = 0;
	char	 c;

	ck_assert_ptr_nonnull(pfd);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (found == 0 && harness_now_ms() < deadline)
		if (poll(pfd, n, 50) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents != 0 && !closed[i] &&
				    read(fds[i], &c, 1) <= 0) {
					closed[i] = true;
					found++;
				}
	free(pfd);
	return found;
}

/*
 * hold clients from 127.0.0.1 (each echoed once), the first of them
 * silent for longest; then 127.0.0.2 gets in, exactly that first one is
 * closed, and another client of the hog is refused.
 */
static void
fair_share_case(int hold, int extra)
{
	struct daemon d = DAEMON_INIT;
	struct timespec gap = { 0, 30 * 1000000L };
	char	 conf[64];
	int	*fds = calloc((size_t)hold, sizeof(int)), i, nc;
	bool	*closed = calloc((size_t)hold, sizeof(bool));

	ck_assert(fds != NULL && closed != NULL);
	snprintf(conf, sizeof(conf), "max_clients = %d\n", hold);
	start(&d, conf);
	fds[0] = client_from("127.0.0.1", d.port);
	echo_ok(fds[0], "0", 1);
	/* A coarse-clock tick or more: fds[0] is the longest silent. */
	nanosleep(&gap, NULL);
	for (i = 1; i < hold; i++) {
		fds[i] = client_from("127.0.0.1", d.port);
		echo_ok(fds[i], "h", 1);
	}
	clients_ok(&d, (unsigned)hold);
	/* Idle hogs: every thread back in recv(), where fair share looks. */
	nanosleep(&gap, NULL);
	/* Over the limit, the heaviest source's newcomers are refused. */
	for (i = 0; i < extra; i++)
		refused_from("127.0.0.1", d.port);
	nc = newcomer_ok("127.0.0.2", d.port);
	ck_assert_uint_eq(closed_ones(fds, (size_t)hold, closed, HARNESS_IO_MS),
	    1);
	ck_assert_msg(closed[0], "the client closed was not the longest "
	    "silent one");
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 1);
	ck_assert_uint_ge(counter_ok(&d, "tcp_refused_max_clients"),
	    (unsigned long long)extra);
	/* Everybody else still echoes. */
	echo_ok(fds[1], "still", 5);
	echo_ok(fds[hold - 1], "still", 5);
	echo_ok(nc, "again", 5);
	close(nc);
	for (i = 0; i < hold; i++)
		close(fds[i]);
	free(fds);
	free(closed);
	/*
	 * Gone before SIGTERM: how fast 4,096 threads wind down is the
	 * signal suite's business (and sanitizers' exit-time leak scan of
	 * their heap takes seconds), so only the exit status is asked here.
	 */
	ck_assert_msg(daemon_wait_clients(&d, 0, 30000) == 0, "%s",
	    harness_error());
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	ck_assert_msg(daemon_wait_exit(&d, HARNESS_IO_MS) == 0 &&
	    daemon_exit_code(&d) == 0, "SIGTERM: exit %d: %s",
	    daemon_exit_code(&d), daemon_log_tail(&d));
	daemon_free(&d);
}

START_TEST(test_fair_share_small)
{
	fair_share_case(20, 3);
}
END_TEST

START_TEST(test_fair_share_5000_idle)
{
	struct rlimit rl;

	/* 5,000 clients here and 4,096 there: descriptors for both. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 6000 && rl.rlim_max >= 6000) {
		rl.rlim_cur = 6000;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= 6000, "RLIMIT_NOFILE %llu < 6000",
	    (unsigned long long)rl.rlim_cur);
	fair_share_case(4096, 904);
}
END_TEST

START_TEST(test_fair_share_off)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b;

	start(&d, "max_clients = 2\nfair_share = false\n");
	a = client_from("127.0.0.1", d.port);
	b = client_from("127.0.0.1", d.port);
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);
	refused_from("127.0.0.2", d.port);
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 0);
	echo_ok(a, "a", 1);
	close(a);
	close(b);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_max_clients_per_source)
{
	struct daemon d = DAEMON_INIT;
	int	 fd[3], other, i;

	start(&d, "max_clients_per_source = 3\n");
	for (i = 0; i < 3; i++) {
		fd[i] = client_from("127.0.0.1", d.port);
		echo_ok(fd[i], "x", 1);
	}
	refused_from("127.0.0.1", d.port);
	other = newcomer_ok("127.0.0.2", d.port);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_per_source"), 1);
	/* A slot given back is a slot to take again. */
	close(fd[0]);
	clients_ok(&d, 3);
	fd[0] = client_from("127.0.0.1", d.port);
	echo_ok(fd[0], "y", 1);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	close(other);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_connect_rate)
{
	struct daemon d = DAEMON_INIT;
	int	 i, fd, served = 0, refused = 0;
	long long t0;

	start(&d, "connect_rate_per_source = 2\nconnect_burst = 5\n");
	t0 = harness_now_ms();
	for (i = 0; i < 20; i++) {
		fd = client_from("127.0.0.1", d.port);
		if (tcp_echo(fd, "r", 1) == 0)
			served++;
		else
			refused++;
		close(fd);
	}
	/* The burst, plus what refilled meanwhile (2/s). */
	ck_assert_int_ge(served, 5);
	ck_assert_int_le(served, 5 + 1 + (int)((harness_now_ms() - t0) *
	    2 / 1000));
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_connect_rate"),
	    (unsigned long long)refused);
	/* Another source has its whole burst, and the listener never stopped. */
	for (i = 0; i < 5; i++) {
		fd = client_from("127.0.0.2", d.port);
		echo_ok(fd, "o", 1);
		close(fd);
	}
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
fairness_suite(void)
{
	Suite	*s = suite_create("fairness");
	TCase	*tc = tcase_new(s, "fair_share", 120);

	tcase_add_test(tc, test_fair_share_small);
	tcase_add_test(tc, test_fair_share_5000_idle);
	tcase_add_test(tc, test_fair_share_off);
	tc = tcase_new(s, "limits", 60);
	tcase_add_test(tc, test_max_clients_per_source);
	tcase_add_test(tc, test_connect_rate);
	return s;
}

int
main(void)
{
	return harness_main(fairness_suite(), "check_fairness");
}
