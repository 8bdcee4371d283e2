/* SPDX-License-Identifier: MIT */
/*
 * tcp_keepalive end to end: a client that vanishes without a FIN or a
 * reset (power off, a NAT that forgot the flow) is found by the probes and
 * its thread and slot are freed, also when the key arrives by reload.  The
 * vanishing is TCP_REPAIR's silent close (needs CAP_NET_ADMIN: skipped
 * otherwise); the probe then meets no socket and draws a reset.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

/* Close fd without telling the peer anything. */
static void
vanish(int fd)
{
	ck_assert_msg(tcp_vanish(fd) == 0, "%s", harness_error());
}

START_TEST(test_vanished_peer_dropped)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "tcp_keepalive = 1\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "here", 4);
	vanish(fd);
	/* Probe after 1 s of silence: gone within a few seconds. */
	ck_assert_msg(daemon_wait_clients(&d, 0, 5000) == 0, "%s",
	    harness_error());
	counter_wait_ok(&d, "tcp_closed_error", 1);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_reaches_connected_clients)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "tcp_keepalive = 0\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "here", 4);
	vanish(fd);
	clients_ok(&d, 1);
	reload(&d, "applied", d.port, CONF_LOCAL "tcp_keepalive = 1\n");
	ck_assert_msg(daemon_wait_clients(&d, 0, 5000) == 0,
	    "keepalive did not reach the connected client: %s",
	    harness_error());
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
keepalive_suite(void)
{
	Suite	*s = suite_create("keepalive");
	TCase	*tc = tcase_new(s, "probes", 60);

	tcase_add_test(tc, test_vanished_peer_dropped);
	tcase_add_test(tc, test_reload_reaches_connected_clients);
	return s;
}

int
main(void)
{
	if (!harness_can_repair())
		return harness_skip("check_keepalive", "TCP_REPAIR needs "
		    "CAP_NET_ADMIN to make a client vanish silently");
	return harness_main(keepalive_suite(), "check_keepalive");
}
