/* SPDX-License-Identifier: MIT */
/*
 * server.c end to end: SIGHUP reload on the real echod.  A valid file is
 * applied without dropping clients (limits, timeouts and log level at once,
 * a changed port rebinds); an invalid file or a bind that fails changes
 * nothing and the daemon keeps serving.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

static int
client(int port)
{
	int	 fd = tcp_connect(AF_INET, port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	echo_ok(fd, "hello", 5);
	return fd;
}

START_TEST(test_reload_max_clients_keeps_clients)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, c;

	start(&d, "max_clients = 5\n");
	a = client(d.port);
	b = client(d.port);
	reload(&d, "applied (max_clients 2", d.port, CONF_LOCAL
	    "max_clients = 2\n");
	/* Both survive the reload; a third is now over the limit. */
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);
	c = tcp_connect(AF_INET, d.port);
	ck_assert_msg(c != -1, "%s", harness_error());
	ck_assert_msg(sock_wait_closed(c, HARNESS_IO_MS) == 0,
	    "a client over the new max_clients was served");
	close(a);
	close(b);
	close(c);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_invalid_keeps_config)
{
	struct daemon d = DAEMON_INIT;
	char	 want[4200];
	int	 a;

	start(&d, "max_clients = 1\n");
	a = client(d.port);
	reload(&d, "the running configuration stays", d.port,
	    "\nmax_clients = 0\n");
	snprintf(want, sizeof(want), "%s:3: max_clients 0 out of range",
	    d.conf);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL, "no '%s' in %s",
	    want, daemon_log_tail(&d));
	ck_assert(daemon_alive(&d));
	echo_ok(a, "still", 5);
	close(a);
	clients_ok(&d, 0);
	/* The old max_clients (1) still holds: one client, served. */
	a = client(d.port);
	close(a);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_rebinds_port)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, newport = harness_free_port(false), u;

	ck_assert_int_gt(newport, 0);
	start(&d, "");
	a = client(d.port);
	reload(&d, "applied", newport, CONF_LOCAL);
	ck_assert_int_eq(daemon_log_count(&d, "closing tcp 127.0.0.1:"), 1);
	/* The connected client stays; new ones go to the new port. */
	echo_ok(a, "kept", 4);
	b = client(newport);
	u = udp_connect(AF_INET, newport);
	ck_assert_msg(u != -1, "%s", harness_error());
	udp_echo_ok(u, "dgram", 5);
	/* Refused, not timed out or failed for some other reason. */
	ck_assert_msg(tcp_connect(AF_INET, d.port) == -1 &&
	    errno == ECONNREFUSED, "the old port is still served: %s",
	    harness_error());
	close(a);
	close(b);
	close(u);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_bind_failure_keeps_sockets)
{
	struct daemon d = DAEMON_INIT;
	int	 busy = harness_free_port(false), hold, a;

	ck_assert_int_gt(busy, 0);
	hold = harness_occupy(AF_INET, SOCK_STREAM, busy);
	ck_assert_msg(hold != -1, "%s", harness_error());
	start(&d, "");
	reload(&d, "the running configuration stays", busy, CONF_LOCAL);
	ck_assert_msg(strstr(daemon_log(&d), "cannot bind tcp 127.0.0.1:") !=
	    NULL, "%s", daemon_log_tail(&d));
	a = client(d.port);
	close(a);
	close(hold);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_idle_timeout_and_log_level)
{
	struct daemon d = DAEMON_INIT;
	int	 idle;

	start(&d, "");
	idle = client(d.port);
	ck_assert_int_eq(daemon_log_count(&d, ": connected"), 0);
	reload(&d, "applied (max_clients 1024, idle_timeout 1, log_level "
	    "debug)", d.port, CONF_LOCAL "idle_timeout = 1\n"
	    "log_level = \"debug\"\n");
	/* The new timeout reaches the client connected before it. */
	ck_assert_msg(sock_wait_closed(idle, HARNESS_IO_MS) == 0,
	    "idle client not dropped after reload");
	ck_assert_msg(daemon_wait_log(&d, "idle timeout", 1, HARNESS_IO_MS) ==
	    0, "%s", daemon_log_tail(&d));
	close(idle);
	idle = client(d.port);
	ck_assert_msg(daemon_wait_log(&d, ": connected", 1, HARNESS_IO_MS) ==
	    0, "debug level not applied: %s", daemon_log_tail(&d));
	close(idle);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_keeps_port_option)
{
	struct daemon d = DAEMON_INIT;
	const char *args[] = { "-c", NULL, "-p", NULL, NULL };
	char	 conf[4096], port[16];
	int	 p = harness_free_port(false), a;

	ck_assert_int_gt(p, 0);
	harness_tmppath(conf, sizeof(conf), "port-option.conf");
	ck_assert_int_eq(harness_write_file(conf, "port = 1\n" CONF_LOCAL),
	    0);
	snprintf(port, sizeof(port), "%d", p);
	args[1] = conf;
	args[3] = port;
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(&d, "listening on", 2, HARNESS_IO_MS) ==
	    0, "%s", daemon_log_tail(&d));
	snprintf(d.conf, sizeof(d.conf), "%s", conf);
	/* -p beats the file on reload too. */
	reload(&d, "applied (max_clients 3", 2, CONF_LOCAL
	    "max_clients = 3\n");
	a = client(p);
	close(a);
	ck_assert_int_eq(daemon_log_count(&d, "closing"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite	*s = suite_create("server");
	TCase	*tc = tcase_new(s, "reload", 60);

	tcase_add_test(tc, test_reload_max_clients_keeps_clients);
	tcase_add_test(tc, test_reload_invalid_keeps_config);
	tcase_add_test(tc, test_reload_rebinds_port);
	tcase_add_test(tc, test_reload_bind_failure_keeps_sockets);
	tcase_add_test(tc, test_reload_idle_timeout_and_log_level);
	tcase_add_test(tc, test_reload_keeps_port_option);
	return s;
}

int
main(void)
{
	return harness_main(server_suite(), "check_server");
}
