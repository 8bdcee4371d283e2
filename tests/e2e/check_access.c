/* SPDX-License-Identifier: MIT */
/*
 * allow and deny, end to end: TCP clients refused right after accept,
 * datagrams dropped, longest prefix wins, deny wins a tie, a non-empty
 * allow list refuses the rest; a reload applies a new list at once, and a
 * bad CIDR is an error with file:line that leaves the old list in force.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

/* TCP from src is closed at once, a datagram from src gets no answer. */
static void
refused(struct daemon *d, const char *src)
{
	unsigned long long tcp0 = counter_ok(d, "tcp_refused_acl");
	unsigned long long udp0 = counter_ok(d, "udp_dropped_acl");
	char	 buf[16];
	int	 fd = tcp_connect_src(src, d->port), u;

	ck_assert_msg(fd != -1, "%s", harness_error());
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0,
	    "tcp from %s was served", src);
	close(fd);
	u = udp_connect_src(src, 0, d->port);
	ck_assert_msg(u != -1, "%s", harness_error());
	ck_assert_int_eq(send(u, "udp", 3, 0), 3);
	counter_wait_ok(d, "udp_dropped_acl", udp0 + 1);
	ck_assert_msg(udp_recv(u, buf, sizeof(buf), 50) == -1,
	    "udp from %s was answered", src);
	close(u);
	ck_assert_uint_eq(counter_ok(d, "tcp_refused_acl"), tcp0 + 1);
}

START_TEST(test_deny)
{
	struct daemon d = DAEMON_INIT;

	start(&d, "deny = {\"127.0.0.2\"}\n");
	refused(&d, "127.0.0.2");
	serving_from(&d, "127.0.0.1", "allow/deny");
	serving_from(&d, "127.0.0.3", "allow/deny");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_allow_refuses_the_rest)
{
	struct daemon d = DAEMON_INIT;

	start(&d, "allow = {\"127.0.0.1\", \"127.0.1.0/24\"}\n");
	serving_from(&d, "127.0.0.1", "allow/deny");
	serving_from(&d, "127.0.1.9", "allow/deny");
	refused(&d, "127.0.0.3");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_longest_prefix_wins)
{
	struct daemon d = DAEMON_INIT;

	/* /8 allowed, its /24 denied, one /32 inside that allowed again. */
	start(&d, "allow = {\"127.0.0.0/8\", \"127.0.0.2\"}\n"
	    "deny = {\"127.0.0.0/24\", \"127.0.0.1/32\", \"127.0.0.1\"}\n"
	    "allow += {\"127.0.0.1/32\"}\n");
	serving_from(&d, "127.0.0.2", "allow/deny");
	serving_from(&d, "127.0.5.5", "allow/deny");
	refused(&d, "127.0.0.3");
	/* 127.0.0.1/32 is both allowed and denied: deny wins. */
	refused(&d, "127.0.0.1");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_applies_at_once)
{
	struct daemon d = DAEMON_INIT;
	char	 want[4200];

	start(&d, "");
	serving_from(&d, "127.0.0.2", "allow/deny");
	reload(&d, "applied", d.port, CONF_LOCAL "deny = {\"127.0.0.2\"}\n");
	refused(&d, "127.0.0.2");
	/* A bad CIDR: file:line, and the list in force stays. */
	reload(&d, "is invalid", d.port, CONF_LOCAL
	    "deny = {\"127.0.0.3\",\n \"127.0.0.0/33\"}\n");
	snprintf(want, sizeof(want), "%s:4: deny: ", d.conf);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL, "no '%s' in %s",
	    want, daemon_log_tail(&d));
	refused(&d, "127.0.0.2");
	serving_from(&d, "127.0.0.3", "allow/deny");
	reload(&d, "applied", d.port, CONF_LOCAL);
	serving_from(&d, "127.0.0.2", "allow/deny");
	stop_ok(&d, SIGTERM);
}
END_TEST

/* 10,000 entries load, and lookups stay correct at both ends. */
START_TEST(test_ten_thousand_entries)
{
	struct daemon d = DAEMON_INIT;
	static char conf[10000 * 24 + 64];
	size_t	 len;
	int	 i;

	len = (size_t)snprintf(conf, sizeof(conf), "deny = {");
	for (i = 0; i < 10000; i++)
		len += (size_t)snprintf(conf + len, sizeof(conf) - len,
		    "%s\"10.%d.%d.0/24\"", i > 0 ? ", " : "", i / 256, i % 256);
	len += (size_t)snprintf(conf + len, sizeof(conf) - len,
	    ", \"127.0.0.9\"}\n");
	ck_assert_uint_lt(len, sizeof(conf) - 1);
	ck_assert_msg(daemon_start(&d, 2, "%s%s", CONF_LOCAL, conf) == 0,
	    "%s", harness_error());
	refused(&d, "127.0.0.9");
	serving_from(&d, "127.0.0.8", "allow/deny");
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*tc = tcase_new(s, "allow_deny", 60);

	tcase_add_test(tc, test_deny);
	tcase_add_test(tc, test_allow_refuses_the_rest);
	tcase_add_test(tc, test_longest_prefix_wins);
	tcase_add_test(tc, test_reload_applies_at_once);
	tcase_add_test(tc, test_ten_thousand_entries);
	return s;
}

int
main(void)
{
	return harness_main(access_suite(), "check_access");
}
