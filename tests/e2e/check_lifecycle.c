/* SPDX-License-Identifier: MIT */
/*
 * Signals and lifecycle end to end: SIGTERM with 50 clients and SIGINT
 * stop within 2 s with exit 0 and close every client; a restart on the
 * same port binds despite TIME_WAIT with reuseaddr, and only with it.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

START_TEST(test_signal_term_clients)
{
	enum { N = 50 };
	struct daemon d = DAEMON_INIT;
	int	 fd[N], i;

	start(&d, "");
	for (i = 0; i < N; i++) {
		fd[i] = connect_ok(&d, AF_INET);
		echo_ok(fd[i], "hi", 2);
	}
	clients_ok(&d, N);
	stop_ok(&d, SIGTERM);
	for (i = 0; i < N; i++) {
		ck_assert_msg(sock_wait_closed(fd[i], HARNESS_IO_MS) == 0,
		    "client %d after SIGTERM: %s", i, harness_error());
		close(fd[i]);
	}
}
END_TEST

START_TEST(test_signal_int)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "hi", 2);
	stop_ok(&d, SIGINT);
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0,
	    "client after SIGINT: %s", harness_error());
	close(fd);
}
END_TEST

/* The first instance leaves TIME_WAIT behind; reuseaddr binds anyway. */
START_TEST(test_signal_restart)
{
	struct daemon d = DAEMON_INIT;
	int	 fd, port, rc;

	start(&d, "reuseaddr = true\n");
	port = d.port;
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "first", 5);
	stop_ok(&d, SIGTERM);
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	close(fd);
	/* TIME_WAIT (6), or FIN_WAIT2 (5) if our FIN is still on its way. */
	ck_assert_msg(harness_tcp_state_count(port, 6) +
	    harness_tcp_state_count(port, 5) > 0,
	    "expected a TIME_WAIT socket on port %d", port);

	/* Without SO_REUSEADDR the same restart fails: the test has teeth. */
	rc = daemon_start_on(&d, port, 2, CONF_LOCAL "reuseaddr = false\n");
	ck_assert_msg(rc == -1 && daemon_exit_code(&d) == 71,
	    "reuseaddr = false: expected exit 71 while in TIME_WAIT, got %d",
	    daemon_exit_code(&d));

	rc = daemon_start_on(&d, port, 2, CONF_LOCAL "reuseaddr = true\n");
	ck_assert_msg(rc == 0, "restart on port %d: %s", port,
	    harness_error());
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "second", 6);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
lifecycle_suite(void)
{
	Suite	*s = suite_create("lifecycle");
	TCase	*tc = tcase_new(s, "signal", 60);

	tcase_add_test(tc, test_signal_term_clients);
	tcase_add_test(tc, test_signal_int);
	tcase_add_test(tc, test_signal_restart);
	return s;
}

int
main(void)
{
	return harness_main(lifecycle_suite(), "check_lifecycle");
}
