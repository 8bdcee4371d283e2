/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for net.c: address parsing and formatting, and opening real
 * sockets on 127.0.0.1 and ::1 (port 0, so tests never collide).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/net.h"

#include "suite.h"

START_TEST(test_parse_v4)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;

	ck_assert_int_eq(net_parse_addr("127.0.0.1", 7, &ss, &len), 0);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(*sin));
	ck_assert_uint_eq(ntohs(sin->sin_port), 7);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
}
END_TEST

START_TEST(test_parse_v6)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	ck_assert_int_eq(net_parse_addr("::1", 65535, &ss, &len), 0);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(*sin6));
	ck_assert_uint_eq(ntohs(sin6->sin6_port), 65535);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
}
END_TEST

static const char *const not_literals[] = {
	"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:7",
	"[::1]", "::1%lo", ":::", "0x7f.0.0.1", " 127.0.0.1", "127.0.0.1 ",
};

START_TEST(test_parse_rejects)
{
	struct sockaddr_storage ss;
	socklen_t len;

	errno = 0;
	ck_assert_msg(net_parse_addr(not_literals[_i], 7, &ss, &len) == -1,
	    "'%s' parsed", not_literals[_i]);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_parse_bad_port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	ck_assert_int_eq(net_parse_addr("::", -1, &ss, &len), -1);
	ck_assert_int_eq(net_parse_addr("::", 65536, &ss, &len), -1);
}
END_TEST

START_TEST(test_format)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char	 buf[NET_ADDRSTRLEN], tiny[6];

	ck_assert_int_eq(net_parse_addr("0.0.0.0", 7, &ss, &len), 0);
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "0.0.0.0:7");
	ck_assert_int_eq(net_parse_addr("::", 7, &ss, &len), 0);
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[::]:7");
	ck_assert_int_eq(net_parse_addr("ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255", 65535, &ss, &len), 0);
	net_format_addr((struct sockaddr *)&ss, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* Truncates, never overflows. */
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, tiny,
	    sizeof(tiny)), "[ffff");
	ss.ss_family = AF_UNIX;
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "(family 1)");
	ck_assert_int_eq(net_addr_port((struct sockaddr *)&ss), -1);
}
END_TEST

/* Open a listener on host port 0; -1 (errno kept) if host is absent. */
static int
listen_on(const char *host, struct sockaddr_storage *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	 fd;

	ck_assert_int_eq(net_parse_addr(host, 0, &ss, &len), 0);
	fd = net_tcp_listen((struct sockaddr *)&ss, len, 16, true, false,
	    false);
	if (fd == -1 && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
		return -1;
	ck_assert_msg(fd >= 0, "listen %s: %s", host, strerror(errno));
	ck_assert_int_eq(net_local_addr(fd, bound, &len), 0);
	ck_assert_int_gt(net_addr_port((struct sockaddr *)bound), 0);
	return fd;
}

/* Send all of buf as the echo loop does (MSG_NOSIGNAL, partial sends). */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Connect to the listener, send, read it back. */
static void
roundtrip(const char *host)
{
	struct sockaddr_storage bound;
	socklen_t len;
	char	 buf[64];
	int	 lfd, cfd, afd;

	if ((lfd = listen_on(host, &bound)) == -1) {
		test_skip("%s cannot be bound: %s", host, strerror(errno));
		return;
	}
	cfd = socket(bound.ss_family, SOCK_STREAM, 0);
	ck_assert_int_ge(cfd, 0);
	len = bound.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&bound, len), 0);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	ck_assert_int_eq(net_set_nodelay(afd), 0);
	ck_assert_int_eq(net_set_timeouts(afd, 2, 2), 0);
	ck_assert_int_eq(send_all(afd, "ping", 4), 0);
	ck_assert_int_eq(recv(cfd, buf, 4, MSG_WAITALL), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	/* Peer gone: an error, never SIGPIPE (the test would die). */
	close(cfd);
	ck_assert_int_eq(send_all(afd, "x", 1) == -1 ||
	    send_all(afd, "x", 1) == -1 || send_all(afd, "x", 1) == -1,
	    1);
	close(afd);
	close(lfd);
}

START_TEST(test_tcp_v4)
{
	roundtrip("127.0.0.1");
}
END_TEST

START_TEST(test_tcp_v6)
{
	roundtrip("::1");
}
END_TEST

/*
 * net_addr_bindable() refuses exactly what bind() refuses on echod's
 * sockets (IPV6_V6ONLY): try both on loopback's port 0.
 */
static const struct bindable_case {
	const char	*text;
	int		 bindable;
} bind_cases[] = {
	{ "127.0.0.1", 0 }, { "::1", 0 }, { "::", 0 }, { "0.0.0.0", 0 },
	{ "::ffff:127.0.0.1", -1 }, { "::ffff:0.0.0.0", -1 },
	{ "fe80::1", -1 }, { "febf::1", -1 },
};

START_TEST(test_bindable)
{
	const struct bindable_case *c = &bind_cases[_i];
	struct sockaddr_storage ss;
	socklen_t len;
	char	 why[128] = "";
	int	 fd;

	ck_assert_int_eq(net_parse_addr(c->text, 0, &ss, &len), 0);
	ck_assert_msg(net_addr_bindable(&ss, why, sizeof(why)) ==
	    c->bindable, "%s: '%s'", c->text, why);
	ck_assert_msg((c->bindable == 0) == (why[0] == '\0'),
	    "%s: why '%s'", c->text, why);
	fd = net_tcp_listen((struct sockaddr *)&ss, len, 1, true, false,
	    false);
	if (fd == -1 && c->bindable == 0 && ss.ss_family ==
	    AF_INET6 && errno == EAFNOSUPPORT) {
		test_skip("no IPv6 here");
		return;
	}
	ck_assert_msg((fd != -1) == (c->bindable == 0),
	    "%s: bind %s: %s", c->text, fd == -1 ? "failed" :
	    "worked", strerror(errno));
	if (fd != -1)
		close(fd);
}
END_TEST

START_TEST(test_tcp_v4_v6_same_port)
{
	struct sockaddr_storage ss, bound;
	socklen_t len;
	int	 v4, v6;

	/* "0.0.0.0" and "::" coexist on one port thanks to IPV6_V6ONLY. */
	ck_assert_int_eq(net_parse_addr("0.0.0.0", 0, &ss, &len), 0);
	v4 = net_tcp_listen((struct sockaddr *)&ss, len, 4, true, false,
	    false);
	ck_assert_int_ge(v4, 0);
	ck_assert_int_eq(net_local_addr(v4, &bound, &len), 0);
	ck_assert_int_eq(net_parse_addr("::",
	    net_addr_port((struct sockaddr *)&bound), &ss, &len), 0);
	v6 = net_tcp_listen((struct sockaddr *)&ss, len, 4, true, false,
	    false);
	if (v6 == -1 && errno == EAFNOSUPPORT) {
		close(v4);
		test_skip("no IPv6: %s", strerror(errno));
		return;
	}
	ck_assert_msg(v6 >= 0, "::: %s", strerror(errno));
	close(v6);
	close(v4);
}
END_TEST

START_TEST(test_bind_conflict)
{
	struct sockaddr_storage bound;
	socklen_t len = sizeof(struct sockaddr_in);
	int	 a, b;

	a = listen_on("127.0.0.1", &bound);
	ck_assert_int_ge(a, 0);
	b = net_tcp_listen((struct sockaddr *)&bound, len, 4, true, false,
	    false);
	ck_assert_int_eq(b, -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	close(a);
}
END_TEST

/* SO_REUSEPORT on both: a second socket shares the port, TCP and UDP. */
START_TEST(test_reuseport)
{
	struct sockaddr_storage ss, bound;
	socklen_t len;
	int	 a, b, c, ua, ub;

	ck_assert_int_eq(net_parse_addr("127.0.0.1", 0, &ss, &len), 0);
	a = net_tcp_listen((struct sockaddr *)&ss, len, 4, true, false, true);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(net_local_addr(a, &bound, &len), 0);
	b = net_tcp_listen((struct sockaddr *)&bound, len, 4, true, false,
	    true);
	ck_assert_msg(b >= 0, "%s", strerror(errno));
	/* A socket without it is still refused. */
	c = net_tcp_listen((struct sockaddr *)&bound, len, 4, true, false,
	    false);
	ck_assert_int_eq(c, -1);
	ck_assert_int_eq(errno, EADDRINUSE);
	/* In place, on a bound socket (a reload). */
	ck_assert_int_eq(net_set_reuseport(a, false), 0);
	ck_assert_int_eq(net_set_reuseport(a, true), 0);
	close(a);
	close(b);

	ck_assert_int_eq(net_parse_addr("127.0.0.1", 0, &ss, &len), 0);
	ua = net_udp_bind((struct sockaddr *)&ss, len, false, true);
	ck_assert_int_ge(ua, 0);
	ck_assert_int_eq(net_local_addr(ua, &bound, &len), 0);
	ub = net_udp_bind((struct sockaddr *)&bound, len, false, true);
	ck_assert_msg(ub >= 0, "%s", strerror(errno));
	ck_assert_int_eq(net_udp_bind((struct sockaddr *)&bound, len, false,
	    false), -1);
	close(ua);
	close(ub);
}
END_TEST

START_TEST(test_udp_pktinfo)
{
	struct sockaddr_storage ss, bound;
	socklen_t len;
	int	 fd, on = 0;
	socklen_t olen = sizeof(on);

	ck_assert_int_eq(net_parse_addr("127.0.0.1", 0, &ss, &len), 0);
	fd = net_udp_bind((struct sockaddr *)&ss, len, false, false);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(net_local_addr(fd, &bound, &len), 0);
	ck_assert_int_gt(net_addr_port((struct sockaddr *)&bound), 0);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, &olen),
	    0);
	ck_assert_int_eq(on, 1);
	close(fd);
}
END_TEST

/* "addr:port", "[v6]:port", or the address alone with the default. */
START_TEST(test_parse_hostport)
{
	struct sockaddr_storage ss;
	char	 buf[NET_ADDRSTRLEN];
	socklen_t len;

	ck_assert_int_eq(net_parse_hostport("127.0.0.1:9107", 1, &ss, &len), 0);
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "127.0.0.1:9107");
	ck_assert_int_eq(net_parse_hostport("127.0.0.1", 81, &ss, &len), 0);
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "127.0.0.1:81");
	ck_assert_int_eq(net_parse_hostport("[::1]:1", 81, &ss, &len), 0);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[::1]:1");
	ck_assert_int_eq(net_parse_hostport("[::]", 81, &ss, &len), 0);
	ck_assert_str_eq(net_format_addr((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[::]:81");
	ck_assert_int_eq(net_parse_hostport("[ffff:ffff:ffff:ffff:ffff:ffff:"
	    "255.255.255.255]:65535", 81, &ss, &len), 0);
	errno = 0;
	ck_assert_int_eq(net_parse_hostport("::1", 81, &ss, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(net_parse_hostport("", 81, &ss, &len), -1);
	ck_assert_int_eq(net_parse_hostport("[]:80", 81, &ss, &len), -1);
	ck_assert_int_eq(net_parse_hostport("1.2.3.4:065536", 81, &ss, &len),
	    -1);
	ck_assert_int_eq(net_parse_hostport("1.2.3.4: 80", 81, &ss, &len), -1);
	ck_assert_int_eq(net_parse_hostport("1.2.3.4:-1", 81, &ss, &len), -1);
	ck_assert_int_eq(net_parse_hostport("[::1]:", 81, &ss, &len), -1);
	ck_assert_int_eq(net_parse_hostport("[::1]x", 81, &ss, &len), -1);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite	*s = suite_create("net");
	TCase	*tc;

	tc = tcase_create("addr");
	tcase_add_test(tc, test_parse_v4);
	tcase_add_test(tc, test_parse_v6);
	tcase_add_loop_test(tc, test_parse_rejects, 0,
	    sizeof(not_literals) / sizeof(not_literals[0]));
	tcase_add_test(tc, test_parse_bad_port);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_parse_hostport);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_tcp_v4);
	tcase_add_test(tc, test_tcp_v6);
	tcase_add_test(tc, test_tcp_v4_v6_same_port);
	tcase_add_loop_test(tc, test_bindable, 0,
	    sizeof(bind_cases) / sizeof(bind_cases[0]));
	tcase_add_test(tc, test_bind_conflict);
	tcase_add_test(tc, test_reuseport);
	tcase_add_test(tc, test_udp_pktinfo);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(net_suite());
}
