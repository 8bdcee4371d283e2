/* SPDX-License-Identifier: MIT */
/*
 * The service-manager side of notify.c, end to end: the real echod with
 * NOTIFY_SOCKET pointing at a socket of ours (READY=1 only once it listens,
 * STATUS=, RELOADING=1 with MONOTONIC_USEC= then READY=1, STOPPING=1), and
 * socket activation with sockets passed as systemd passes them;
 * WATCHDOG=1 from the real daemon (its schedule is check_watchdog's).  Built
 * without libsystemd, the same calls must be inert and the daemon unchanged.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/notify.h"

#include "harness.h"
#include "harness_check.h"

static void
teardown(void)
{
	harness_teardown();
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}

#ifdef ECHOD_HAVE_SYSTEMD

START_TEST(test_notify_lifecycle)
{
	struct daemon d = DAEMON_INIT;
	char	 msg[512], want[64];
	int	 nfd = notify_listen_tmp(), tfd;

	start(&d, "");
	ck_assert_msg(notify_await(nfd, "READY=1", msg, sizeof(msg),
	    HARNESS_IO_MS) == 0, "no READY=1; log: %s", daemon_log_tail(&d));
	/* Ready means listening: both sockets were logged before it. */
	ck_assert_int_eq(daemon_log_count(&d, "listening on"), 2);
	snprintf(want, sizeof(want), "MAINPID=%ld", (long)d.pid);
	ck_assert_msg(strstr(msg, want) != NULL, "'%s' lacks %s", msg, want);

	/* STATUS= follows what happens: one client connected. */
	tfd = connect_ok(&d, AF_INET);
	echo_ok(tfd, "x", 1);
	ck_assert_msg(notify_await(nfd, "STATUS=1 TCP clients", msg,
	    sizeof(msg), HARNESS_IO_MS) == 0, "no status with 1 client");

	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_msg(notify_await(nfd, "RELOADING=1", msg, sizeof(msg),
	    HARNESS_IO_MS) == 0, "no RELOADING=1");
	ck_assert_msg(strstr(msg, "\nMONOTONIC_USEC=") != NULL, "got '%s'",
	    msg);
	ck_assert_msg(notify_await(nfd, "READY=1", msg, sizeof(msg),
	    HARNESS_IO_MS) == 0, "no READY=1 after the reload");
	/* The reload kept the client. */
	echo_ok(tfd, "y", 1);

	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	ck_assert_msg(notify_await(nfd, "STOPPING=1", msg, sizeof(msg),
	    HARNESS_IO_MS) == 0, "no STOPPING=1");
	ck_assert_int_eq(daemon_wait_exit(&d, HARNESS_IO_MS), 0);
	ck_assert_int_eq(daemon_exit_code(&d), 0);
	close(tfd);
	close(nfd);
	daemon_free(&d);
}
END_TEST

/* Count WATCHDOG=1 datagrams arriving within ms. */
static int
count_pings(int fd, int ms)
{
	char	 msg[512];
	long long end = harness_now_ms() + ms;
	int	 n = 0;

	while (notify_await(fd, "WATCHDOG=1", msg, sizeof(msg),
	    (int)(end - harness_now_ms())) == 0)
		n++;
	return n;
}

START_TEST(test_watchdog_daemon)
{
	struct daemon d = DAEMON_INIT;
	int	 nfd = notify_listen_tmp(), n;

	/* The real echod: pings while it runs, none while it is stopped. */
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "300000", 1), 0);
	start(&d, "");
	unsetenv("WATCHDOG_USEC");
	n = count_pings(nfd, 1200);
	ck_assert_msg(n >= 3, "%d WATCHDOG=1 in 1.2 s at 300 ms; log: %s", n,
	    daemon_log_tail(&d));
	ck_assert_int_eq(daemon_signal(&d, SIGSTOP), 0);
	(void)count_pings(nfd, 100);	/* one may have been in flight */
	n = count_pings(nfd, 700);
	ck_assert_msg(n == 0, "%d WATCHDOG=1 while stopped", n);
	ck_assert_int_eq(daemon_signal(&d, SIGCONT), 0);
	n = count_pings(nfd, 1000);
	ck_assert_msg(n >= 2, "%d WATCHDOG=1 after SIGCONT", n);
	stop_ok(&d, SIGTERM);
	close(nfd);
}
END_TEST

/* TCP and UDP sockets on one free port, as ListenStream=/ListenDatagram=. */
static int
activation_sockets(struct daemon *d)
{
	int	 port = harness_free_port(false);

	ck_assert_msg(port > 0, "%s", harness_error());
	d->pass_fds[0] = harness_occupy(AF_INET, SOCK_STREAM, port);
	d->pass_fds[1] = harness_occupy(AF_INET, SOCK_DGRAM, port);
	ck_assert_msg(d->pass_fds[0] >= 0 && d->pass_fds[1] >= 0, "%s",
	    harness_error());
	d->npass = 2;
	return port;
}

START_TEST(test_activation_serves_passed_sockets)
{
	struct daemon d = DAEMON_INIT;
	const char *args[] = { "-c", NULL, NULL };
	char	 conf[4096];
	int	 port = activation_sockets(&d), tfd, ufd;

	/* The file's port and listen must be ignored: sockets come from us. */
	harness_tmppath(conf, sizeof(conf), "activated.conf");
	ck_assert_int_eq(harness_write_file(conf, "port = 1\nlisten = "
	    "{\"::1\"}\n"), 0);
	args[1] = conf;
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(&d, "(socket activation)", 2,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	ck_assert_int_eq(daemon_log_count(&d, "port, backlog, reuseaddr, "
	    "freebind, listen, tcp, udp, reuseport, stamp, stamp_port are "
	    "ignored"), 1);
	ck_assert_int_eq(daemon_log_count(&d, "listening on tcp 127.0.0.1:"),
	    1);
	ck_assert_int_eq(daemon_log_count(&d, "listening on udp 127.0.0.1:"),
	    1);

	tfd = tcp_connect(AF_INET, port);
	ck_assert_msg(tfd != -1, "%s", harness_error());
	echo_ok(tfd, "activated", 9);
	ufd = udp_connect(AF_INET, port);
	ck_assert_msg(ufd != -1, "%s", harness_error());
	udp_echo_ok(ufd, "datagram", 8);

	/* Socket keys changed on reload: reported, sockets kept. */
	ck_assert_int_eq(harness_write_file(conf, "port = 2\nmax_clients = "
	    "7\n"), 0);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_msg(daemon_wait_log(&d, "do not apply under socket "
	    "activation", 1, HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	ck_assert_msg(daemon_wait_log(&d, "applied (max_clients 7", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	echo_ok(tfd, "still", 5);
	udp_echo_ok(ufd, "still", 5);

	stop_ok(&d, SIGTERM);
	close(tfd);
	close(ufd);
}
END_TEST

START_TEST(test_activation_rejects_other_sockets)
{
	struct daemon d = DAEMON_INIT;
	const char *args[] = { NULL };
	int	 sv[2];

	/* A unix socket is not something echod can serve: exit 71. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.pass_fds[0] = sv[0];
	d.npass = 1;
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_int_eq(daemon_wait_exit(&d, HARNESS_IO_MS), 0);
	ck_assert_int_eq(daemon_exit_code(&d), 71);
	ck_assert_msg(strstr(daemon_log(&d), "fd 3 is not a TCP or UDP "
	    "socket") != NULL, "%s", daemon_log_tail(&d));
	close(sv[0]);
	close(sv[1]);
	daemon_free(&d);
}
END_TEST

#else /* !ECHOD_HAVE_SYSTEMD */

START_TEST(test_notify_inert)
{
	struct daemon d = DAEMON_INIT;
	struct pollfd pfd;
	int	 nfd = notify_listen_tmp(), tfd;

	/* Built without libsystemd: serves as usual and says nothing. */
	start(&d, "");
	tfd = connect_ok(&d, AF_INET);
	echo_ok(tfd, "x", 1);
	pfd = (struct pollfd){ .fd = nfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 1500), 0);
	stop_ok(&d, SIGTERM);
	close(tfd);
	close(nfd);
}
END_TEST

#endif /* ECHOD_HAVE_SYSTEMD */

static Suite *
notify_suite(void)
{
	Suite	*s = suite_create("notify");
	TCase	*tc = tcase_create("systemd");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
#ifdef ECHOD_HAVE_SYSTEMD
	tcase_add_test(tc, test_notify_lifecycle);
	tcase_add_test(tc, test_watchdog_daemon);
	tcase_add_test(tc, test_activation_serves_passed_sockets);
	tcase_add_test(tc, test_activation_rejects_other_sockets);
#else
	tcase_add_test(tc, test_notify_inert);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(notify_suite(), "check_notify");
}
