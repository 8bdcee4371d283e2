/* SPDX-License-Identifier: MIT */
/*
 * Limits end to end: max_clients closes the extra clients at once and
 * logs it once per burst, idle_timeout drops the silent and the
 * non-reading but not the busy, accept() out of descriptors backs off
 * without spinning and recovers, and 2,000 short connections leak no
 * descriptor or thread.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define MIB		((size_t)1024 * 1024)

START_TEST(test_limits_max_clients)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, c, i;

	start(&d, "max_clients = 2\n");
	a = connect_ok(&d, AF_INET);
	echo_ok(a, "a", 1);
	b = connect_ok(&d, AF_INET);
	echo_ok(b, "b", 1);
	/* Accepted and closed at once: no echo, just EOF or a reset. */
	for (i = 0; i < 3; i++) {
		c = connect_ok(&d, AF_INET);
		(void)send(c, "c", 1, MSG_NOSIGNAL);
		ck_assert_msg(sock_wait_closed(c, HARNESS_IO_MS) == 0,
		    "client %d over max_clients = 2: %s", 3 + i,
		    harness_error());
		close(c);
	}
	ck_assert_msg(daemon_log_count(&d, "closing new connections") == 1,
	    "expected the refusal logged once per burst:\n%s",
	    daemon_log_tail(&d));
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);

	close(a);
	clients_ok(&d, 1);
	c = connect_ok(&d, AF_INET);
	echo_ok(c, "served again", 12);
	ck_assert_msg(daemon_wait_log(&d, "accepting clients again after "
	    "refusing 3", 1, HARNESS_IO_MS) == 0, "%s", harness_error());
	close(b);
	close(c);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_idle_drop)
{
	struct daemon d = DAEMON_INIT;
	long long t0, took;
	int	 fd;

	start(&d, "idle_timeout = 1\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "then silence", 12);
	t0 = harness_now_ms();
	ck_assert_msg(sock_wait_closed(fd, 5000) == 0,
	    "idle client not dropped: %s", harness_error());
	took = harness_now_ms() - t0;
	ck_assert_msg(took >= 500 && took <= 3000, "idle_timeout = 1: "
	    "dropped after %lld ms, expected 1-3 s", took);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_idle_busy)
{
	struct daemon d = DAEMON_INIT;
	int	 fd, i;

	start(&d, "idle_timeout = 1\n");
	fd = connect_ok(&d, AF_INET);
	/* 3 s in all, never silent for 1 s: must stay connected. */
	for (i = 0; i < 10; i++) {
		echo_ok(fd, "tick", 4);
		(void)poll(NULL, 0, 300);	/* pacing, not a sync */
	}
	echo_ok(fd, "still on", 8);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A client that sends and never reads cannot pin its thread. */
START_TEST(test_limits_idle_nonreader)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *junk = random_buf(MIB, 9);
	struct pollfd pfd;
	long long t0, deadline;
	unsigned long long in, out;
	size_t	 total = 0;
	ssize_t	 n;
	int	 err = 0;

	start(&d, "idle_timeout = 1\n");
	pfd.fd = connect_ok(&d, AF_INET);
	pfd.events = POLLOUT;
	t0 = harness_now_ms();
	deadline = t0 + 10000;
	while (err == 0 && harness_now_ms() < deadline) {
		n = send(pfd.fd, junk, MIB, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			total += (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			err = errno;
		else
			(void)poll(&pfd, 1, 200);
	}
	ck_assert_msg(err == ECONNRESET || err == EPIPE, "a client that never "
	    "reads was not cut off within 10 s (sent %zu bytes, %s)", total,
	    err != 0 ? strerror(err) : "no error");
	printf("limits: non-reading client cut off after %lld ms, %zu bytes\n",
	    harness_now_ms() - t0, total);
	close(pfd.fd);
	clients_ok(&d, 0);
	/*
	 * Cut off mid-send, the session had read more than it could write
	 * back: the one case where "in" and "out" differ, so a swap of the
	 * two counters shows here.
	 */
	in = counter_ok(&d, "tcp_bytes_in");
	out = counter_ok(&d, "tcp_bytes_out");
	ck_assert_msg(in > out && in <= total, "tcp_bytes_in %llu, "
	    "tcp_bytes_out %llu, sent %zu", in, out, total);
	free(junk);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_accept_emfile)
{
	struct daemon d = DAEMON_INIT;
	long long cpu;
	int	 fd[6], i, base;

	start(&d, "");
	/* Room for two clients: the third accept() fails with EMFILE. */
	base = proc_fd_count(d.pid);
	ck_assert_int_gt(base, 0);
	limit_ok(d.pid, RLIMIT_NOFILE, (rlim_t)base + 2);
	for (i = 0; i < 6; i++)
		fd[i] = connect_ok(&d, AF_INET);
	echo_ok(fd[0], "a", 1);
	echo_ok(fd[1], "b", 1);
	ck_assert_msg(daemon_wait_log(&d, "accept failed, pausing", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	/* Backing off, not spinning on the pending connections. */
	cpu = proc_cpu_ticks(d.pid);
	ck_assert_msg(cpu >= 0, "%s", harness_error());
	/* A window of 1 s to measure in, not a wait for a condition. */
	ck_assert_int_eq(usleep(1000000), 0);
	cpu = proc_cpu_ticks(d.pid) - cpu;
	ck_assert_msg(cpu < 30, "%lld ticks of CPU in 1 s while out of "
	    "descriptors", cpu);
	/* Clients leave, descriptors come back: the waiting ones are served. */
	close(fd[0]);
	close(fd[1]);
	echo_ok(fd[2], "c", 1);
	echo_ok(fd[3], "d", 1);
	limit_ok(d.pid, RLIMIT_NOFILE, RLIM_INFINITY);
	echo_ok(fd[4], "e", 1);
	echo_ok(fd[5], "f", 1);
	ck_assert_int_gt(counter_ok(&d, "tcp_accept_errors"), 0);
	for (i = 2; i < 6; i++)
		close(fd[i]);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_leak_short_connections)
{
	enum { TOTAL = 2000, BATCH = 4 };
	struct daemon d = DAEMON_INIT;
	struct echo_job jobs[BATCH];
	unsigned char *data = random_buf(4096, 3);
	uint64_t rng = 3;
	long long deadline;
	int	 fds0, thr0, fds, thr, fd, n, i;

	start(&d, "");
	/*
	 * "listening on" comes before the UDP thread starts: an echo proves
	 * it runs (and a sanitizer's helper thread, spawned with it).
	 */
	fd = udp_connect_ok(&d, AF_INET);
	udp_echo_ok(fd, "warm-up", 7);
	close(fd);
	fds0 = proc_fd_count(d.pid);
	thr0 = proc_thread_count(d.pid);
	ck_assert_msg(fds0 > 0 && thr0 > 0, "cannot read /proc/%d", d.pid);
	for (n = 0; n < TOTAL; n += BATCH) {
		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < BATCH; i++) {
			jobs[i].fd = connect_ok(&d, AF_INET);
			jobs[i].len = 1 + harness_rand(&rng) % 64;
			jobs[i].data = data + harness_rand(&rng) % 4000;
		}
		echo_jobs_ok(jobs, BATCH, HARNESS_IO_MS);
		for (i = 0; i < BATCH; i++)
			close(jobs[i].fd);
	}
	/* Threads finish after their clients left: poll, bounded. */
	deadline = harness_now_ms() + HARNESS_IO_MS;
	do {
		fds = proc_fd_count(d.pid);
		thr = proc_thread_count(d.pid);
		if (fds == fds0 && thr == thr0)
			break;
		(void)poll(NULL, 0, 20);
	} while (harness_now_ms() < deadline);
	ck_assert_msg(fds == fds0 && thr == thr0, "after %d connections: %d "
	    "descriptors (baseline %d), %d threads (baseline %d)", TOTAL, fds,
	    fds0, thr, thr0);
	/* "tcp clients N now, N peak, N total": all served, none left. */
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), 0);
	ck_assert_uint_eq(counter_ok(&d, "tcp_accepted"), TOTAL);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc;

	tc = tcase_new(s, "limits", 60);
	tcase_add_test(tc, test_limits_max_clients);
	tcase_add_test(tc, test_limits_idle_drop);
	tcase_add_test(tc, test_limits_idle_busy);
	tcase_add_test(tc, test_limits_idle_nonreader);
	tcase_add_test(tc, test_limits_accept_emfile);

	tc = tcase_new(s, "leak", 120);
	tcase_add_test(tc, test_leak_short_connections);
	return s;
}

int
main(void)
{
	return harness_main(limits_suite(), "check_limits");
}
