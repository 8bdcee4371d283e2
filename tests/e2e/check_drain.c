/* SPDX-License-Identifier: MIT */
/*
 * Drain on stop (shutdown_grace), end to end: on SIGTERM the listeners
 * close at once (new connects are refused) while connected clients keep
 * echoing, every byte verified; echod exits 0 as soon as the last leaves,
 * or closes the rest (EOF) when the grace ends; a second SIGTERM or a
 * SIGINT cuts it short; SIGINT alone never waits; systemd hears STOPPING=1
 * and STATUS=draining, N clients.  shutdown_grace = 0 is today's stop.
 */

#include <sys/socket.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define DRAINING	"draining "

/* SIGTERM, and wait until echod says it drains n clients. */
static void
sigterm_draining(struct daemon *d, unsigned n)
{
	char	 want[64];

	ck_assert_int_eq(daemon_signal(d, SIGTERM), 0);
	snprintf(want, sizeof(want), DRAINING "%u clients", n);
	ck_assert_msg(daemon_wait_log(d, want, 1, HARNESS_IO_MS) == 0,
	    "no '%s':\n%s", want, daemon_log_tail(d));
}

/* The daemon is gone with exit 0 within limit_ms. */
static void
exited_ok(struct daemon *d, int limit_ms)
{
	ck_assert_msg(daemon_wait_exit(d, limit_ms) == 0, "still running "
	    "after %d ms:\n%s", limit_ms, daemon_log_tail(d));
	ck_assert_msg(daemon_exit_code(d) == 0, "exit %d:\n%s",
	    daemon_exit_code(d), daemon_log_tail(d));
}

/* A new TCP connection is refused: the listener is closed. */
static void
refused_now(struct daemon *d)
{
	int	 fd = tcp_connect(AF_INET, d->port);

	ck_assert_msg(fd == -1, "a new client connected while draining");
}

START_TEST(test_drain_keeps_echoing)
{
	enum { NCLIENT = 3, LEN = 256 * 1024 };
	struct daemon d = DAEMON_INIT;
	struct echo_job jobs[NCLIENT];
	unsigned char *data = random_buf(LEN, 42);
	long long t0;
	int	 fds[NCLIENT], i;

	start(&d, "shutdown_grace = 30\n");
	for (i = 0; i < NCLIENT; i++) {
		fds[i] = connect_ok(&d, AF_INET);
		echo_ok(fds[i], "before\n", 7);
	}
	clients_ok(&d, NCLIENT);
	t0 = harness_now_ms();
	sigterm_draining(&d, NCLIENT);
	refused_now(&d);
	/* Every client keeps its echo: 256 KiB each, every byte checked. */
	for (i = 0; i < NCLIENT; i++)
		jobs[i] = (struct echo_job){ .fd = fds[i], .data = data,
		    .len = LEN };
	echo_jobs_ok(jobs, NCLIENT, 20000);
	ck_assert(daemon_alive(&d));
	/* They leave one by one; the last one ends the drain at once. */
	close(fds[0]);
	close(fds[1]);
	echo_ok(fds[2], "still\n", 6);
	ck_assert(daemon_alive(&d));
	close(fds[2]);
	exited_ok(&d, HARNESS_IO_MS);
	ck_assert_msg(harness_now_ms() - t0 < 15000, "drain waited the grace");
	log_has(&d, "drained: every client left");
	daemon_free(&d);
	free(data);
}
END_TEST

/* At the grace's end the rest see EOF, and echod exits 0. */
START_TEST(test_grace_ends)
{
	struct daemon d = DAEMON_INIT;
	long long t0, took;
	int	 a, b;

	start(&d, "shutdown_grace = 1\n");
	a = connect_ok(&d, AF_INET);
	b = connect_ok(&d, AF_INET);
	echo_ok(a, "x", 1);
	echo_ok(b, "y", 1);
	t0 = harness_now_ms();
	sigterm_draining(&d, 2);
	echo_ok(a, "during\n", 7);
	ck_assert_msg(sock_wait_closed(a, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	ck_assert_msg(sock_wait_closed(b, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	took = harness_now_ms() - t0;
	ck_assert_msg(took >= 900 && took < 4000, "EOF after %lld ms", took);
	exited_ok(&d, HARNESS_IO_MS);
	log_has(&d, "shutdown_grace over: closing 2 clients");
	close(a);
	close(b);
	daemon_free(&d);
}
END_TEST

/* A second SIGTERM, or a SIGINT, ends the grace at once. */
START_TEST(test_second_signal)
{
	static const int second[] = { SIGTERM, SIGINT };
	struct daemon d = DAEMON_INIT;
	long long t0;
	int	 fd;

	start(&d, "shutdown_grace = 3600\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "x", 1);
	sigterm_draining(&d, 1);
	echo_ok(fd, "y", 1);
	t0 = harness_now_ms();
	ck_assert_int_eq(daemon_signal(&d, second[_i]), 0);
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	exited_ok(&d, STOP_LIMIT_MS);
	ck_assert_msg(harness_now_ms() - t0 <= STOP_LIMIT_MS, "too slow");
	log_has(&d, "grace cut short, closing 1 clients");
	close(fd);
	daemon_free(&d);
}
END_TEST

/* SIGINT first: no drain at all; a grace with nobody connected: none. */
START_TEST(test_sigint_and_idle)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "shutdown_grace = 3600\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "x", 1);
	stop_ok(&d, SIGINT);
	ck_assert_int_eq(daemon_log_count(&d, DRAINING), 0);
	ck_assert_int_eq(sock_wait_closed(fd, HARNESS_IO_MS), 0);
	close(fd);
	daemon_free(&d);		/* the log read after stop_ok() */

	d = (struct daemon)DAEMON_INIT;
	start(&d, "shutdown_grace = 3600\n");
	stop_ok(&d, SIGTERM);
	log_has(&d, "drained: every client left");
	daemon_free(&d);
}
END_TEST

#ifdef ECHOD_HAVE_SYSTEMD
/* systemd hears STOPPING=1, then STATUS=draining, N clients. */
START_TEST(test_drain_notifies)
{
	struct daemon d = DAEMON_INIT;
	char	 msg[512];
	int	 nfd, fd;

	nfd = notify_listen_tmp();
	start(&d, "shutdown_grace = 30\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "x", 1);
	clients_ok(&d, 1);
	sigterm_draining(&d, 1);
	/* In this order. */
	ck_assert_msg(notify_await(nfd, "STOPPING=1", msg, sizeof(msg),
	    HARNESS_IO_MS) == 0, "no STOPPING=1");
	ck_assert_msg(notify_await(nfd, "STATUS=draining, 1 clients", msg,
	    sizeof(msg), HARNESS_IO_MS) == 0, "no STATUS=draining, last: %s",
	    msg);
	close(fd);
	exited_ok(&d, HARNESS_IO_MS);
	daemon_free(&d);
	unsetenv("NOTIFY_SOCKET");
	close(nfd);
}
END_TEST
#endif

int
main(void)
{
	Suite	*s = suite_create("drain");
	TCase	*tc;

	tc = tcase_new(s, "drain", 60);
	tcase_add_test(tc, test_drain_keeps_echoing);
	tcase_add_test(tc, test_grace_ends);
	tcase_add_loop_test(tc, test_second_signal, 0, 2);
	tcase_add_test(tc, test_sigint_and_idle);
#ifdef ECHOD_HAVE_SYSTEMD
	tcase_add_test(tc, test_drain_notifies);
#endif
	return harness_main(s, "check_drain");
}
