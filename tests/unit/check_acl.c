/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for acl.c: each rule of the issue on its own, the edge
 * prefixes, v4-mapped lookups, build limits, and 10,000 random entries
 * checked against the linear reference for 100,000 random lookups.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "echod/acl.h"

#include "acl_ref.h"
#include "ipaddr_text.h"
#include "suite.h"
#include "testrand.h"

#define MAXLIST	8

/* Lists from strings; a NULL ends each. */
static struct acl *
build(const char *const *allow, const char *const *deny)
{
	struct cidr a[MAXLIST], d[MAXLIST];
	char err[CIDR_ERRLEN];
	size_t na = 0, nd = 0;

	for (; allow != NULL && allow[na] != NULL; na++)
		ck_assert_msg(cidr_parse(allow[na], &a[na], err,
		    sizeof(err)) == 0, "%s", err);
	for (; deny != NULL && deny[nd] != NULL; nd++)
		ck_assert_msg(cidr_parse(deny[nd], &d[nd], err,
		    sizeof(err)) == 0, "%s", err);
	return acl_build(a, na, d, nd);
}

/* The verdict for a textual source, which goes through the sockaddr. */
static enum acl_verdict
check(const struct acl *acl, const char *text)
{
	struct ipaddr ip = from_text(text);

	return acl_check(acl, &ip);
}

START_TEST(test_empty_allows_all)
{
	struct acl *acl = acl_build(NULL, 0, NULL, 0);

	ck_assert_ptr_nonnull(acl);
	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "0.0.0.0"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "::"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "2001:db8::1"), ACL_ALLOW);
	acl_free(acl);
}
END_TEST

START_TEST(test_allow_refuses_unmatched)
{
	const char *allow[] = { "192.0.2.0/24", NULL };
	struct acl *acl = build(allow, NULL);

	ck_assert_int_eq(check(acl, "192.0.2.255"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "192.0.3.0"), ACL_DENY);
	ck_assert_int_eq(check(acl, "2001:db8::1"), ACL_DENY);
	acl_free(acl);
}
END_TEST

START_TEST(test_deny_only_allows_rest)
{
	const char *deny[] = { "2001:db8::/32", NULL };
	struct acl *acl = build(NULL, deny);

	ck_assert_int_eq(check(acl, "2001:db8:ffff::1"), ACL_DENY);
	ck_assert_int_eq(check(acl, "2001:db9::1"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_ALLOW);
	acl_free(acl);
}
END_TEST

START_TEST(test_longest_wins)
{
	const char *allow[] = { "10.0.0.0/8", "10.1.2.0/24", NULL };
	const char *deny[] = { "10.1.0.0/16", NULL };
	struct acl *acl = build(allow, deny);

	ck_assert_int_eq(check(acl, "10.2.0.1"), ACL_ALLOW);	/* /8 */
	ck_assert_int_eq(check(acl, "10.1.3.1"), ACL_DENY);	/* /16 */
	ck_assert_int_eq(check(acl, "10.1.2.1"), ACL_ALLOW);	/* /24 */
	ck_assert_int_eq(check(acl, "11.0.0.1"), ACL_DENY);	/* none */
	acl_free(acl);
}
END_TEST

START_TEST(test_equal_length_deny_wins)
{
	const char *same[] = { "192.0.2.0/24", NULL };
	struct acl *acl = build(same, same);

	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_DENY);
	acl_free(acl);
}
END_TEST

START_TEST(test_duplicates)
{
	const char *allow[] = { "192.0.2.0/24", "192.0.2.0/24",
	    "192.0.2.0/24", NULL };
	const char *deny[] = { "192.0.2.9", "192.0.2.9", NULL };
	struct acl *acl = build(allow, deny);

	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "192.0.2.9"), ACL_DENY);
	acl_free(acl);
}
END_TEST

START_TEST(test_edges)
{
	const char *allow[] = { "0.0.0.0/0", "::/0", NULL };
	const char *deny[] = { "192.0.2.1", "2001:db8::1", "0.0.0.0",
	    "255.255.255.255", NULL };
	struct acl *acl = build(allow, deny);

	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_DENY);	/* /32 */
	ck_assert_int_eq(check(acl, "192.0.2.0"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "192.0.2.2"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "0.0.0.0"), ACL_DENY);
	ck_assert_int_eq(check(acl, "255.255.255.255"), ACL_DENY);
	ck_assert_int_eq(check(acl, "255.255.255.254"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "2001:db8::1"), ACL_DENY);	/* /128 */
	ck_assert_int_eq(check(acl, "2001:db8::"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "2001:db8::3"), ACL_ALLOW);
	acl_free(acl);
}
END_TEST

START_TEST(test_v4_mapped)
{
	const char *allow[] = { "::ffff:192.0.2.0/120", NULL };
	const char *deny[] = { "192.0.2.128/25", "::/0", NULL };
	struct acl *acl = build(allow, deny);

	/* The mapped entry is the v4 /24; a v6 /0 does not cover IPv4. */
	ck_assert_int_eq(check(acl, "192.0.2.1"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "::ffff:192.0.2.1"), ACL_ALLOW);
	ck_assert_int_eq(check(acl, "::ffff:192.0.2.200"), ACL_DENY);
	ck_assert_int_eq(check(acl, "::ffff:192.0.3.1"), ACL_DENY);
	ck_assert_int_eq(check(acl, "2001:db8::1"), ACL_DENY);
	acl_free(acl);
}
END_TEST

START_TEST(test_build_rejects)
{
	struct cidr *many, bad;
	char err[CIDR_ERRLEN];

	many = calloc(ACL_MAX_ENTRIES + 1, sizeof(*many));
	ck_assert_ptr_nonnull(many);
	for (size_t i = 0; i <= ACL_MAX_ENTRIES; i++) {
		many[i].addr.family = AF_INET;
		many[i].prefix = 32;
	}
	errno = 0;
	ck_assert_ptr_null(acl_build(many, ACL_MAX_ENTRIES + 1, NULL, 0));
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_ptr_null(acl_build(NULL, 0, many, ACL_MAX_ENTRIES + 1));
	ck_assert_int_eq(errno, E2BIG);
	/*
	 * At the limit, both lists: builds, in memory linear in the entries
	 * (acl_bytes: a fixed part and at most two nodes per entry).
	 */
	{
		struct acl *acl = acl_build(many, ACL_MAX_ENTRIES, many,
		    ACL_MAX_ENTRIES), *one = acl_build(many, 1, NULL, 0),
		    *none = acl_build(NULL, 0, NULL, 0);
		size_t	 node;

		ck_assert_ptr_nonnull(acl);
		ck_assert_ptr_nonnull(one);
		ck_assert_ptr_nonnull(none);
		node = (acl_bytes(one) - acl_bytes(none)) / 2;
		ck_assert_uint_gt(node, 0);
		ck_assert_uint_le(node, 64);
		ck_assert_uint_le(acl_bytes(acl), acl_bytes(none) +
		    (size_t)2 * 2 * ACL_MAX_ENTRIES * node);
		acl_free(acl);
		acl_free(one);
		acl_free(none);
	}
	free(many);

	/* Entries not from cidr_parse(): refused, nothing built. */
	ck_assert_int_eq(cidr_parse("192.0.2.0/24", &bad, err, sizeof(err)),
	    0);
	bad.addr.bytes[3] = 1;
	errno = 0;
	ck_assert_ptr_null(acl_build(&bad, 1, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	bad.addr.bytes[3] = 0;
	bad.prefix = 33;
	ck_assert_ptr_null(acl_build(NULL, 0, &bad, 1));
	ck_assert_int_eq(errno, EINVAL);
	bad.prefix = 24;
	bad.addr.family = AF_UNIX;
	ck_assert_ptr_null(acl_build(&bad, 1, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	acl_free(NULL);
}
END_TEST

#define RANDOM_ENTRIES	10000
#if defined(__SANITIZE_THREAD__)
/* No threads here; TSan would only make the linear reference crawl. */
#define RANDOM_LOOKUPS	5000
#else
#define RANDOM_LOOKUPS	100000
#endif

/* Allow and deny lists of 5,000 each, half the lookups near an entry. */
START_TEST(test_random_vs_reference)
{
	struct cidr *allow, *deny;
	struct ipaddr ip;
	struct acl *acl;
	uint64_t seed = 0x5eed0000ULL + (uint64_t)_i;
	size_t n = RANDOM_ENTRIES / 2, i;
	int b, bits, mismatches = 0;

	allow = calloc(n, sizeof(*allow));
	deny = calloc(n, sizeof(*deny));
	ck_assert(allow != NULL && deny != NULL);
	for (i = 0; i < n; i++) {
		test_rand_cidr(&seed, &allow[i]);
		test_rand_cidr(&seed, &deny[i]);
	}
	/* Loop 1 has no allow list: the "matches nothing" default flips. */
	acl = acl_build(allow, _i == 1 ? 0 : n, deny, n);
	ck_assert_ptr_nonnull(acl);
	for (i = 0; i < (_i == 0 ? RANDOM_LOOKUPS : RANDOM_LOOKUPS / 10); i++) {
		if (i % 2) {
			test_rand_addr(&seed, &ip);
		} else {
			ip = (i % 4 ? allow : deny)[test_rand(&seed) % n].addr;
			bits = ipaddr_bits(&ip);
			b = (int)(test_rand(&seed) % (uint64_t)bits);
			ip.bytes[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		}
		if (acl_check(acl, &ip) != acl_ref_check(allow,
		    _i == 1 ? 0 : n, deny, n, &ip))
			mismatches++;
	}
	ck_assert_int_eq(mismatches, 0);
	acl_free(acl);
	free(allow);
	free(deny);
}
END_TEST

static Suite *
acl_suite(void)
{
	Suite *s = suite_create("acl");
	TCase *tc;

	tc = tcase_create("rules");
	tcase_add_test(tc, test_empty_allows_all);
	tcase_add_test(tc, test_allow_refuses_unmatched);
	tcase_add_test(tc, test_deny_only_allows_rest);
	tcase_add_test(tc, test_longest_wins);
	tcase_add_test(tc, test_equal_length_deny_wins);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_edges);
	tcase_add_test(tc, test_v4_mapped);
	suite_add_tcase(s, tc);
	tc = tcase_create("build");
	tcase_add_test(tc, test_build_rejects);
	suite_add_tcase(s, tc);
	tc = tcase_create("random");
	/* The reference is linear: 10^9 prefix checks under sanitizers. */
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_random_vs_reference, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(acl_suite());
}
