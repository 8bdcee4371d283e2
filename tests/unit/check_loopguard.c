/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for loopguard.c: one test per rule, each with a neighbour
 * value that passes (port 1023 dropped, 1024 answered, ...).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <string.h>

#include "echod/loopguard.h"

#include "ipaddr_text.h"
#include "suite.h"

#define SELF_PORT	7777

static struct loopguard lg;

static void
setup(void)
{
	loopguard_init(&lg);
	ck_assert_int_eq(loopguard_add_port(&lg, 7), 0);
	ck_assert_int_eq(loopguard_add_port(&lg, SELF_PORT), 0);
}

/* Verdict for text:port on a socket of its own family (or AF_INET6). */
static enum loopguard_verdict
verdict(const char *text, int port, int sock_family, bool on_loopback)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_text(text, port, &ss);

	if (sock_family == 0)
		sock_family = ss.ss_family;
	return loopguard_check(&lg, (struct sockaddr *)&ss, len, sock_family,
	    on_loopback);
}

#define V(text, port)	verdict(text, port, 0, false)

START_TEST(test_port_zero)
{
	ck_assert_int_eq(V("192.0.2.1", 0), LOOPGUARD_PORT_ZERO);
	ck_assert_int_eq(V("2001:db8::1", 0), LOOPGUARD_PORT_ZERO);
	ck_assert_int_eq(V("192.0.2.1", 40000), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_port_privileged)
{
	ck_assert_int_eq(V("192.0.2.1", 1), LOOPGUARD_PORT_PRIVILEGED);
	ck_assert_int_eq(V("192.0.2.1", 19), LOOPGUARD_PORT_PRIVILEGED);
	ck_assert_int_eq(V("2001:db8::1", 1023), LOOPGUARD_PORT_PRIVILEGED);
	ck_assert_int_eq(V("192.0.2.1", 1023), LOOPGUARD_PORT_PRIVILEGED);
	ck_assert_int_eq(V("192.0.2.1", 1024), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_port_nfs)
{
	ck_assert_int_eq(V("192.0.2.1", 2049), LOOPGUARD_PORT_NFS);
	ck_assert_int_eq(V("192.0.2.1", 2048), LOOPGUARD_OK);
	ck_assert_int_eq(V("192.0.2.1", 2050), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_port_self)
{
	ck_assert_int_eq(V("192.0.2.1", SELF_PORT), LOOPGUARD_PORT_SELF);
	ck_assert_int_eq(V("2001:db8::1", SELF_PORT), LOOPGUARD_PORT_SELF);
	ck_assert_int_eq(V("192.0.2.1", SELF_PORT + 1), LOOPGUARD_OK);
	ck_assert_int_eq(V("192.0.2.1", SELF_PORT - 1), LOOPGUARD_OK);
	ck_assert_int_eq(V("192.0.2.1", 65535), LOOPGUARD_OK);
	ck_assert_int_eq(loopguard_add_port(&lg, 65535), 0);
	ck_assert_int_eq(V("192.0.2.1", 65535), LOOPGUARD_PORT_SELF);
	errno = 0;
	ck_assert_int_eq(loopguard_add_port(&lg, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(loopguard_add_port(&lg, 65536), -1);
}
END_TEST

START_TEST(test_addr_unspecified)
{
	ck_assert_int_eq(V("0.0.0.0", 40000), LOOPGUARD_ADDR_UNSPECIFIED);
	ck_assert_int_eq(V("::", 40000), LOOPGUARD_ADDR_UNSPECIFIED);
	ck_assert_int_eq(V("::2", 40000), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_addr_this_net)
{
	ck_assert_int_eq(V("0.0.0.1", 40000), LOOPGUARD_ADDR_THIS_NET);
	ck_assert_int_eq(V("0.255.255.255", 40000), LOOPGUARD_ADDR_THIS_NET);
	ck_assert_int_eq(V("1.0.0.0", 40000), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_addr_broadcast)
{
	ck_assert_int_eq(V("255.255.255.255", 40000),
	    LOOPGUARD_ADDR_BROADCAST);
	ck_assert_int_eq(V("255.255.255.254", 40000), LOOPGUARD_OK);
}
END_TEST

START_TEST(test_addr_multicast)
{
	ck_assert_int_eq(V("224.0.0.1", 40000), LOOPGUARD_ADDR_MULTICAST);
	ck_assert_int_eq(V("239.255.255.255", 40000),
	    LOOPGUARD_ADDR_MULTICAST);
	ck_assert_int_eq(V("223.255.255.255", 40000), LOOPGUARD_OK);
	ck_assert_int_eq(V("240.0.0.1", 40000), LOOPGUARD_OK);
	ck_assert_int_eq(V("ff02::1", 40000), LOOPGUARD_ADDR_MULTICAST);
	ck_assert_int_eq(V("fe80::1", 40000), LOOPGUARD_OK);
}
END_TEST

/* Local nc -u keeps working; 127/8 from the wire is spoofed. */
START_TEST(test_addr_loopback)
{
	ck_assert_int_eq(verdict("127.0.0.1", 40000, 0, true), LOOPGUARD_OK);
	ck_assert_int_eq(verdict("127.0.0.3", 40000, 0, true), LOOPGUARD_OK);
	ck_assert_int_eq(verdict("::1", 40000, 0, true), LOOPGUARD_OK);
	ck_assert_int_eq(V("127.0.0.1", 40000), LOOPGUARD_ADDR_LOOPBACK);
	ck_assert_int_eq(V("127.255.255.255", 40000),
	    LOOPGUARD_ADDR_LOOPBACK);
	ck_assert_int_eq(V("::1", 40000), LOOPGUARD_ADDR_LOOPBACK);
	ck_assert_int_eq(V("128.0.0.1", 40000), LOOPGUARD_OK);
	ck_assert_int_eq(V("::2", 40000), LOOPGUARD_OK);
	/* Port rules still apply on loopback. */
	ck_assert_int_eq(verdict("127.0.0.1", SELF_PORT, 0, true),
	    LOOPGUARD_PORT_SELF);
}
END_TEST

/* Mapped on an IPv6 socket: judged by the IPv4 address only. */
START_TEST(test_v4_mapped)
{
	ck_assert_int_eq(verdict("::ffff:192.0.2.1", 40000, AF_INET6, false),
	    LOOPGUARD_OK);
	ck_assert_int_eq(verdict("::ffff:255.255.255.255", 40000, AF_INET6,
	    false), LOOPGUARD_ADDR_BROADCAST);
	ck_assert_int_eq(verdict("::ffff:0.0.0.0", 40000, AF_INET6, false),
	    LOOPGUARD_ADDR_UNSPECIFIED);
	ck_assert_int_eq(verdict("::ffff:0.1.2.3", 40000, AF_INET6, false),
	    LOOPGUARD_ADDR_THIS_NET);
	ck_assert_int_eq(verdict("::ffff:224.0.0.1", 40000, AF_INET6, false),
	    LOOPGUARD_ADDR_MULTICAST);
	ck_assert_int_eq(verdict("::ffff:127.0.0.1", 40000, AF_INET6, false),
	    LOOPGUARD_ADDR_LOOPBACK);
	ck_assert_int_eq(verdict("::ffff:127.0.0.1", 40000, AF_INET6, true),
	    LOOPGUARD_OK);
	ck_assert_int_eq(verdict("::ffff:192.0.2.1", 1023, AF_INET6, false),
	    LOOPGUARD_PORT_PRIVILEGED);
}
END_TEST

START_TEST(test_bad_family)
{
	struct sockaddr_in sin;

	ck_assert_int_eq(verdict("192.0.2.1", 40000, AF_INET6, false),
	    LOOPGUARD_BAD_FAMILY);
	ck_assert_int_eq(verdict("2001:db8::1", 40000, AF_INET, false),
	    LOOPGUARD_BAD_FAMILY);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	ck_assert_int_eq(loopguard_check(&lg, (struct sockaddr *)&sin,
	    sizeof(sin) - 1, AF_INET, false), LOOPGUARD_BAD_FAMILY);
	ck_assert_int_eq(loopguard_check(&lg, (struct sockaddr *)&sin,
	    sizeof(sin), AF_INET, false), LOOPGUARD_OK);
	sin.sin_family = AF_UNIX;
	ck_assert_int_eq(loopguard_check(&lg, (struct sockaddr *)&sin,
	    sizeof(sin), AF_UNIX, false), LOOPGUARD_BAD_FAMILY);
}
END_TEST

/* Counter names are a contract: distinct, stable, prefixed. */
START_TEST(test_names)
{
	int i, j;

	ck_assert_str_eq(loopguard_name(LOOPGUARD_OK), "ok");
	ck_assert_str_eq(loopguard_name(LOOPGUARD_PORT_NFS),
	    "udp_loop_port_nfs");
	ck_assert_str_eq(loopguard_name(LOOPGUARD_NVERDICTS),
	    "udp_loop_unknown");
	for (i = 1; i < LOOPGUARD_NVERDICTS; i++) {
		ck_assert_ptr_nonnull(loopguard_name(i));
		ck_assert_int_eq(strncmp(loopguard_name(i), "udp_loop_", 9),
		    0);
		for (j = 1; j < i; j++)
			ck_assert_str_ne(loopguard_name(i), loopguard_name(j));
	}
}
END_TEST

static Suite *
loopguard_suite(void)
{
	Suite *s = suite_create("loopguard");
	TCase *tc;

	tc = tcase_create("ports");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_port_zero);
	tcase_add_test(tc, test_port_privileged);
	tcase_add_test(tc, test_port_nfs);
	tcase_add_test(tc, test_port_self);
	suite_add_tcase(s, tc);
	tc = tcase_create("addresses");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_addr_unspecified);
	tcase_add_test(tc, test_addr_this_net);
	tcase_add_test(tc, test_addr_broadcast);
	tcase_add_test(tc, test_addr_multicast);
	tcase_add_test(tc, test_addr_loopback);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_bad_family);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(loopguard_suite());
}
