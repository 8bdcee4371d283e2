/* SPDX-License-Identifier: MIT */
/*
 * IPv6 end to end: echod on 127.0.0.1 and ::1 at once serves TCP and UDP
 * on both, up to the IPv6 datagram maximum of 65,527 bytes.  A host
 * without a usable ::1 skips the suite (exit 77; a failure when
 * ECHOD_TEST=require), on its own so the IPv4 suites still count.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

START_TEST(test_ipv6_tcp_udp)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *data;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 4, "listen = {\"127.0.0.1\", \"::1\"}\n")
	    == 0, "cannot start echod: %s", harness_error());
	log_has(&d, "echod: listening on tcp [::1]:%d\n", d.port);
	log_has(&d, "echod: listening on udp [::1]:%d\n", d.port);

	data = random_buf(65527, 6);
	fd = connect_ok(&d, AF_INET6);
	echo_ok(fd, data, 65527);
	close(fd);
	fd = udp_connect_ok(&d, AF_INET6);
	udp_echo_ok(fd, data, 1);
	udp_echo_ok(fd, data, 1452);
	udp_echo_ok(fd, data, HARNESS_UDP_MAX4);
	udp_echo_ok(fd, data, 65527);	/* the IPv6 maximum */
	close(fd);
	still_serving(&d, "IPv6 traffic");	/* IPv4 on the same port */
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
ipv6_suite(void)
{
	Suite	*s = suite_create("ipv6");
	TCase	*tc = tcase_new(s, "ipv6", 30);

	tcase_add_test(tc, test_ipv6_tcp_udp);
	return s;
}

int
main(void)
{
	if (!harness_have_ipv6())
		return harness_skip("check_ipv6", "::1 cannot be bound for TCP "
		    "and UDP");
	return harness_main(ipv6_suite(), "check_ipv6");
}
