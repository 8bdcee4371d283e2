/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ipaddr.c: IPv4-mapped folding, masking, formatting and
 * the keyed hash (the SipHash-2-4 reference vector, key sensitivity).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <string.h>

#include "echod/ipaddr.h"

#include "ipaddr_text.h"
#include "suite.h"

START_TEST(test_mapped_is_v4)
{
	struct ipaddr a = from_text("::ffff:192.0.2.7");
	struct ipaddr b = from_text("192.0.2.7");
	char buf[IPADDR_STRLEN];

	ck_assert_int_eq(a.family, AF_INET);
	ck_assert(ipaddr_equal(&a, &b));
	ck_assert_str_eq(ipaddr_format(&a, -1, buf, sizeof(buf)),
	    "192.0.2.7");
	/* ::ffff:0:0 with one bit off is plain IPv6. */
	a = from_text("::fffe:192.0.2.7");
	ck_assert_int_eq(a.family, AF_INET6);
	a = from_text("::192.0.2.7");
	ck_assert_int_eq(a.family, AF_INET6);
}
END_TEST

START_TEST(test_from_sockaddr_rejects)
{
	struct sockaddr_in6 sin6;
	struct ipaddr ip;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	errno = 0;
	ck_assert_int_eq(ipaddr_from_sockaddr(&ip, (struct sockaddr *)&sin6,
	    sizeof(sin6) - 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	sin6.sin6_family = AF_UNIX;
	ck_assert_int_eq(ipaddr_from_sockaddr(&ip, (struct sockaddr *)&sin6,
	    sizeof(sin6)), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_int_eq(ipaddr_from_sockaddr(&ip, (struct sockaddr *)&sin6,
	    1), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_mask_format)
{
	struct ipaddr ip = from_text("192.0.2.77");
	char buf[IPADDR_STRLEN];

	ck_assert_int_eq(ipaddr_mask(&ip, 24), 0);
	ck_assert_str_eq(ipaddr_format(&ip, 24, buf, sizeof(buf)),
	    "192.0.2.0/24");
	ip = from_text("192.0.2.77");
	ck_assert_int_eq(ipaddr_mask(&ip, 27), 0);
	ck_assert_str_eq(ipaddr_format(&ip, 27, buf, sizeof(buf)),
	    "192.0.2.64/27");
	ck_assert_int_eq(ipaddr_mask(&ip, 0), 0);
	ck_assert_str_eq(ipaddr_format(&ip, 0, buf, sizeof(buf)),
	    "0.0.0.0/0");
	ck_assert_int_eq(ipaddr_mask(&ip, 33), -1);
	ck_assert_int_eq(ipaddr_mask(&ip, -1), -1);

	ip = from_text("2001:db8:1234:5678:9abc::1");
	ck_assert_int_eq(ipaddr_source(&ip, 24, 56), 0);
	ck_assert_str_eq(ipaddr_format(&ip, 56, buf, sizeof(buf)),
	    "2001:db8:1234:5600::/56");
	ck_assert_int_eq(ipaddr_mask(&ip, 128), 0);
	ck_assert_int_eq(ipaddr_mask(&ip, 129), -1);
	/* A short buffer truncates, never overflows. */
	ck_assert_str_eq(ipaddr_format(&ip, 56, buf, 5), "2001");
}
END_TEST

START_TEST(test_host_bits)
{
	struct ipaddr ip = from_text("10.0.0.1");

	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 32), 0);
	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 31), 1);
	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 8), 1);
	ip = from_text("10.0.0.0");
	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 8), 0);
	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 6), 1);
	ck_assert_int_eq(ipaddr_has_host_bits(&ip, 7), 0);
}
END_TEST

/* SipHash-2-4, key 00..0f, message 00..10: the reference vector 17. */
START_TEST(test_hash_vector)
{
	struct ipaddr_hashkey hk;
	struct ipaddr ip;
	uint8_t secret[16];
	int i;

	for (i = 0; i < 16; i++)
		secret[i] = (uint8_t)i;
	ipaddr_hash_init(&hk, secret);
	memcpy(ip.bytes, secret, 16);
	ip.family = 16;
	ck_assert_uint_eq(ipaddr_hash(&hk, &ip), 0x699ae9f52cbe4794ULL);
}
END_TEST

START_TEST(test_hash_keyed)
{
	struct ipaddr_hashkey a, b;
	struct ipaddr v4 = from_text("192.0.2.0");
	struct ipaddr v6 = from_text("c000:200::");
	uint8_t secret[16] = { 1 };

	ipaddr_hash_init(&a, secret);
	secret[15] = 1;
	ipaddr_hash_init(&b, secret);
	ck_assert_uint_ne(ipaddr_hash(&a, &v4), ipaddr_hash(&b, &v4));
	/* Same leading bytes, other family: another key. */
	ck_assert_uint_ne(ipaddr_hash(&a, &v4), ipaddr_hash(&a, &v6));
	ck_assert_uint_eq(ipaddr_hash(&a, &v4), ipaddr_hash(&a, &v4));
}
END_TEST

static Suite *
source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc;

	tc = tcase_create("address");
	tcase_add_test(tc, test_mapped_is_v4);
	tcase_add_test(tc, test_from_sockaddr_rejects);
	tcase_add_test(tc, test_mask_format);
	tcase_add_test(tc, test_host_bits);
	suite_add_tcase(s, tc);
	tc = tcase_create("hash");
	tcase_add_test(tc, test_hash_vector);
	tcase_add_test(tc, test_hash_keyed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(source_suite());
}
