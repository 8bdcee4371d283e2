/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for policy.c: the access list and rate-limit tables a config
 * asks for, built in prepare (which may fail and then keeps nothing),
 * swapped in at commit, a table of unchanged size kept with its state
 * across reloads, and the UDP policy it lends (the served ports in the
 * loop guard).
 */

#include <check.h>
#include <string.h>

#include "echod/acl.h"
#include "echod/config.h"
#include "echod/listeners.h"
#include "echod/policy.h"

#include "suite.h"

static struct policy cur;

static void
setup(void)
{
	ck_assert_int_eq(policy_init(&cur), 0);
}

static void
teardown(void)
{
	policy_free(&cur);
}

/* Prepare and commit text as a reload would; the next state. */
static void
apply(const char *text)
{
	struct echod_config cfg;
	struct policy next;

	ck_assert_int_eq(config_load_buf(&cfg, text), 0);
	ck_assert_int_eq(policy_prepare(&cur, &cfg, &next), 0);
	policy_commit(&cur, &next);
	config_free(&cfg);
}

START_TEST(test_nothing_asked_nothing_built)
{
	apply("udp_rate_per_source = 0\n");
	ck_assert_ptr_null(cur.acl);
	ck_assert_ptr_null(cur.udp_rate);
	ck_assert_ptr_null(cur.tcp_rate);
}
END_TEST

START_TEST(test_tables_kept_while_size_stays)
{
	struct ratelimit *udp, *tcp;

	apply("connect_rate_per_source = 5\nudp_rate_table_size = 1024\n");
	ck_assert_ptr_nonnull(udp = cur.udp_rate);
	ck_assert_ptr_nonnull(tcp = cur.tcp_rate);
	ck_assert_ptr_null(cur.acl);
	/* Other rates, same sizes: the same tables, state and all. */
	apply("connect_rate_per_source = 9\nudp_rate_per_source = 7\n"
	    "udp_rate_table_size = 1024\ndeny = {\"192.0.2.0/24\"}\n");
	ck_assert_ptr_eq(cur.udp_rate, udp);
	ck_assert_ptr_eq(cur.tcp_rate, tcp);
	ck_assert_ptr_nonnull(cur.acl);
	/* A new size is a new table; off is none. */
	apply("connect_rate_per_source = 0\nudp_rate_table_size = 2048\n");
	ck_assert_ptr_nonnull(cur.udp_rate);
	ck_assert_ptr_null(cur.tcp_rate);
	ck_assert_ptr_null(cur.acl);
}
END_TEST

/* proxy_from: an allow-only list while proxy_protocol is on, else none. */
START_TEST(test_proxy_from_list)
{
	struct ipaddr in = { .family = AF_INET, .bytes = { 198, 19, 7, 1 } };
	struct ipaddr out = { .family = AF_INET, .bytes = { 198, 18, 0, 10 } };

	apply("proxy_from = {\"198.19.0.0/16\"}\n");
	ck_assert_ptr_null(cur.proxy_from);
	apply("proxy_protocol = true\nproxy_from = {\"198.19.0.0/16\"}\n");
	ck_assert_ptr_nonnull(cur.proxy_from);
	ck_assert_int_eq(acl_check(cur.proxy_from, &in), ACL_ALLOW);
	ck_assert_int_eq(acl_check(cur.proxy_from, &out), ACL_DENY);
	/* The access list stays apart: allow/deny do not name balancers. */
	ck_assert_ptr_null(cur.acl);
	apply("");
	ck_assert_ptr_null(cur.proxy_from);
}
END_TEST

START_TEST(test_abort_keeps_current)
{
	struct echod_config cfg;
	struct policy next;
	struct ratelimit *udp;

	apply("udp_rate_table_size = 1024\n");
	udp = cur.udp_rate;
	ck_assert_int_eq(config_load_buf(&cfg, "udp_rate_table_size = 4096\n"
	    "allow = {\"10.0.0.0/8\"}\n"), 0);
	ck_assert_int_eq(policy_prepare(&cur, &cfg, &next), 0);
	ck_assert_ptr_ne(next.udp_rate, udp);
	policy_abort(&cur, &next);
	ck_assert_ptr_eq(cur.udp_rate, udp);
	ck_assert_ptr_null(cur.acl);
	config_free(&cfg);
}
END_TEST

START_TEST(test_udp_policy_lends_state)
{
	struct echod_config cfg;
	struct listeners ls;
	struct udp_policy p;

	apply("deny = {\"192.0.2.1\"}\n");
	ck_assert_int_eq(config_load_buf(&cfg, "udp_rate_per_source = 3\n"
	    "udp_rate_burst = 4\n"), 0);
	memset(&ls, 0, sizeof(ls));
	policy_udp(&cur, &cfg, &ls, &p);
	ck_assert_ptr_eq(p.acl, cur.acl);
	ck_assert_ptr_eq(p.rate, cur.udp_rate);
	ck_assert_uint_eq(p.rate_per_s, 3);
	ck_assert_uint_eq(p.burst, 4);
	ck_assert(p.loop_guard);
	config_free(&cfg);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("transaction");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_nothing_asked_nothing_built);
	tcase_add_test(tc, test_tables_kept_while_size_stays);
	tcase_add_test(tc, test_proxy_from_list);
	tcase_add_test(tc, test_abort_keeps_current);
	tcase_add_test(tc, test_udp_policy_lends_state);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(policy_suite());
}
