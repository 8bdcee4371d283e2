/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for cidr.c: every accepted form, and every refusal with the
 * message the config validator prints after "file:line: ".
 */

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <string.h>

#include "echod/cidr.h"

#include "acl_ref.h"
#include "suite.h"

struct good_case {
	const char	*text;
	const char	*shown;		/* formatted back */
};

static const struct good_case good[] = {
	{ "192.0.2.0/24", "192.0.2.0/24" },
	{ "192.0.2.7", "192.0.2.7/32" },
	{ "0.0.0.0/0", "0.0.0.0/0" },
	{ "2001:db8::/32", "2001:db8::/32" },
	{ "::1", "::1/128" },
	{ "::/0", "::/0" },
	{ "::ffff:192.0.2.0/120", "192.0.2.0/24" },
	{ "::ffff:192.0.2.7", "192.0.2.7/32" },
	{ "::ffff:0.0.0.0/96", "0.0.0.0/0" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128" },
};

START_TEST(test_parse_good)
{
	char err[CIDR_ERRLEN] = "", buf[IPADDR_STRLEN];
	struct cidr c;

	ck_assert_msg(cidr_parse(good[_i].text, &c, err, sizeof(err)) == 0,
	    "%s: %s", good[_i].text, err);
	ck_assert_str_eq(ipaddr_format(&c.addr, c.prefix, buf, sizeof(buf)),
	    good[_i].shown);
}
END_TEST

struct bad_case {
	const char	*text;
	const char	*msg;
};

static const struct bad_case bad[] = {
	{ "", "empty address" },
	{ "192.0.2.1/24", "192.0.2.1/24: host bits set (the network is "
	    "192.0.2.0/24)" },
	{ "2001:db8::1/32", "2001:db8::1/32: host bits set (the network is "
	    "2001:db8::/32)" },
	{ "192.0.2.0/33", "192.0.2.0/33: prefix length 33 out of range "
	    "0..32" },
	{ "::/129", "::/129: prefix length 129 out of range 0..128" },
	{ "192.0.2.0/024", "192.0.2.0/024: prefix length '024' is not a "
	    "decimal number" },
	{ "192.0.2.0/", "192.0.2.0/: prefix length '' is not a decimal "
	    "number" },
	{ "192.0.2.0/+8", "192.0.2.0/+8: prefix length '+8' is not a "
	    "decimal number" },
	{ "192.0.2.0/24 ", "192.0.2.0/24 : prefix length '24 ' is not a "
	    "decimal number" },
	{ "192.0.2.0/1000", "192.0.2.0/1000: prefix length '1000' is not a "
	    "decimal number" },
	{ "192.0.2.0/24/8", "192.0.2.0/24/8: more than one '/'" },
	{ " 192.0.2.0", " 192.0.2.0: not an IPv4 or IPv6 address" },
	{ "192.0.2", "192.0.2: not an IPv4 or IPv6 address" },
	{ "192.0.2.010", "192.0.2.010: not an IPv4 or IPv6 address" },
	{ "0x7f.0.0.1", "0x7f.0.0.1: not an IPv4 or IPv6 address" },
	{ "fe80::1%eth0", "fe80::1%eth0: not an IPv4 or IPv6 address" },
	{ "/24", "/24: not an IPv4 or IPv6 address" },
	{ "localhost", "localhost: not an IPv4 or IPv6 address" },
	{ "::ffff:0.0.0.0/95", "::ffff:0.0.0.0/95: an IPv4-mapped prefix "
	    "needs a length of 96..128 (write it as IPv4)" },
	{ "::ffff:192.0.2.1/120", "::ffff:192.0.2.1/120: host bits set "
	    "(the network is 192.0.2.0/24)" },
	{ "11111111111111111111111111111111111111111111111111111111111111111",
	    "address longer than 64 characters" },
};

START_TEST(test_parse_bad)
{
	char err[CIDR_ERRLEN] = "";
	struct cidr c;

	errno = 0;
	ck_assert_msg(cidr_parse(bad[_i].text, &c, err, sizeof(err)) == -1,
	    "'%s' parsed", bad[_i].text);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_str_eq(err, bad[_i].msg);
}
END_TEST

/* The cap is on length before parsing: 64 is read, 65 is not. */
START_TEST(test_parse_length_cap)
{
	char text[CIDR_MAXLEN + 2], err[CIDR_ERRLEN];
	struct cidr c;

	memset(text, '0', sizeof(text) - 1);
	text[CIDR_MAXLEN] = '\0';
	ck_assert_int_eq(cidr_parse(text, &c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an IPv4 or IPv6 address"));
	/* A tiny error buffer is truncated, never overrun. */
	ck_assert_int_eq(cidr_parse("x", &c, err, 3), -1);
	ck_assert_str_eq(err, "x:");
	ck_assert_int_eq(cidr_parse("x", &c, NULL, 0), -1);
}
END_TEST

/* What a parsed CIDR means, as the reference ACL (acl_ref.h) reads it. */
START_TEST(test_contains)
{
	char err[CIDR_ERRLEN];
	struct cidr net, host;

	ck_assert_int_eq(cidr_parse("192.0.2.0/24", &net, err, sizeof(err)),
	    0);
	ck_assert_int_eq(cidr_parse("192.0.2.255", &host, err, sizeof(err)),
	    0);
	ck_assert_int_eq(acl_ref_contains(&net, &host.addr), 1);
	ck_assert_int_eq(cidr_parse("192.0.3.0", &host, err, sizeof(err)), 0);
	ck_assert_int_eq(acl_ref_contains(&net, &host.addr), 0);
	ck_assert_int_eq(cidr_parse("::ffff:192.0.2.1", &host, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(acl_ref_contains(&net, &host.addr), 1);
	ck_assert_int_eq(cidr_parse("c000:200::", &host, err, sizeof(err)),
	    0);
	ck_assert_int_eq(acl_ref_contains(&net, &host.addr), 0);
}
END_TEST

static Suite *
cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0,
	    (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_parse_length_cap);
	tcase_add_test(tc, test_contains);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(cidr_suite());
}
