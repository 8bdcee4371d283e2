/* SPDX-License-Identifier: MIT */
/*
 * The UDP per-datagram decision as a whole (udp_policy.c), fed synthetic
 * sources: loop guard first, then allow/deny, then the rate limit, so a
 * datagram an earlier check drops never spends a later check's state; a
 * loop guard turned off still drops what cannot be answered; each verdict
 * lands in its own counter rows.  The parts have their own suites
 * (check_loopguard, check_acl, check_ratelimit): this is the composition.
 */

#include <sys/socket.h>

#include <string.h>

#include <check.h>

#include "echod/acl.h"
#include "echod/cidr.h"
#include "echod/counters.h"
#include "echod/ratelimit.h"
#include "echod/udp_policy.h"

#include "ipaddr_text.h"
#include "suite.h"

#define BURST		3
#define NOW		((uint64_t)1000000000)	/* 1 s, any fixed instant */
#define HIGH_PORT	40000
#define SELF_PORT	7777	/* a UDP port echod serves */

static struct udp_policy pol;
static struct acl *acl;
static struct ratelimit *rl;

/* An ACL from one deny entry (NULL: none). */
static struct acl *
deny_one(const char *text)
{
	struct cidr deny;
	char	 err[CIDR_ERRLEN];

	ck_assert_msg(cidr_parse(text, &deny, err, sizeof(err)) == 0, "%s",
	    err);
	return acl_build(NULL, 0, &deny, 1);
}

/* Loop guard on, 192.0.2.5 denied, 3 answers per /24 and no refill. */
static void
setup(void)
{
	struct ipaddr_hashkey hk = { 1, 2 };

	acl = deny_one("192.0.2.5");
	rl = ratelimit_new(64, &hk);
	ck_assert_ptr_nonnull(acl);
	ck_assert_ptr_nonnull(rl);
	memset(&pol, 0, sizeof(pol));
	pol.loop_guard = true;
	loopguard_init(&pol.lg);
	ck_assert_int_eq(loopguard_add_port(&pol.lg, SELF_PORT), 0);
	pol.acl = acl;
	pol.rate = rl;
	pol.rate_per_s = 1;
	pol.burst = BURST;
	pol.prefix_v4 = 24;
	pol.prefix_v6 = 56;
}

static void
teardown(void)
{
	acl_free(acl);
	ratelimit_free(rl);
}

/* The verdict for text:port arriving off the loopback at NOW. */
static enum udp_verdict
check_from(const char *text, int port, enum loopguard_verdict *rule)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_text(text, port, &ss);

	return udp_policy_check(&pol, (struct sockaddr *)&ss, len,
	    ss.ss_family, false, NOW, rule);
}

/* A source the loop guard drops is not asked about by ACL or rate. */
START_TEST(test_loop_guard_first)
{
	enum loopguard_verdict rule;
	int	 i;

	/* Denied and from a privileged port: the loop guard says so. */
	ck_assert_int_eq(check_from("192.0.2.5", 53, &rule), UDP_DROP_LOOP);
	ck_assert_int_eq(rule, LOOPGUARD_PORT_PRIVILEGED);
	/* A neighbour's loop-guard drops spend none of the prefix's burst. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(check_from("192.0.2.6", SELF_PORT, &rule),
		    UDP_DROP_LOOP);
	ck_assert_int_eq(rule, LOOPGUARD_PORT_SELF);
	/* The same /24 still has its whole burst: none was charged. */
	for (i = 0; i < BURST; i++)
		ck_assert_int_eq(check_from("192.0.2.6", HIGH_PORT, &rule),
		    UDP_PASS);
	ck_assert_int_eq(check_from("192.0.2.6", HIGH_PORT, &rule),
	    UDP_DROP_RATE);
}
END_TEST

/* A denied source never spends the burst of its allowed neighbours. */
START_TEST(test_acl_before_rate)
{
	enum loopguard_verdict rule;
	int	 i;

	for (i = 0; i < 100; i++)
		ck_assert_int_eq(check_from("192.0.2.5", HIGH_PORT, &rule),
		    UDP_DROP_ACL);
	ck_assert_int_eq(rule, LOOPGUARD_OK);
	/* 192.0.2.6 shares the /24 with the denied one: its whole burst. */
	for (i = 0; i < BURST; i++)
		ck_assert_int_eq(check_from("192.0.2.6", HIGH_PORT, &rule),
		    UDP_PASS);
	ck_assert_int_eq(check_from("192.0.2.7", HIGH_PORT, &rule),
	    UDP_DROP_RATE);
	/* Over the rate, still denied: the ACL answers first. */
	ck_assert_int_eq(check_from("192.0.2.5", HIGH_PORT, &rule),
	    UDP_DROP_ACL);
	/* Another /24 has its own bucket. */
	ck_assert_int_eq(check_from("198.51.100.1", HIGH_PORT, &rule),
	    UDP_PASS);
}
END_TEST

/* The ACL sees a mapped IPv6 source as the IPv4 address it is. */
START_TEST(test_mapped_source_folded)
{
	enum loopguard_verdict rule;

	ck_assert_int_eq(check_from("::ffff:192.0.2.5", HIGH_PORT, &rule),
	    UDP_DROP_ACL);
	ck_assert_int_eq(check_from("::ffff:192.0.2.6", HIGH_PORT, &rule),
	    UDP_PASS);
	/* And charges the same /24 as the plain IPv4 form. */
	ck_assert_int_eq(check_from("192.0.2.6", HIGH_PORT, &rule), UDP_PASS);
	ck_assert_int_eq(check_from("192.0.2.6", HIGH_PORT, &rule), UDP_PASS);
	ck_assert_int_eq(check_from("::ffff:192.0.2.9", HIGH_PORT, &rule),
	    UDP_DROP_RATE);
}
END_TEST

/* udp_loop_guard = false: the rules are advice, but port 0 still drops. */
START_TEST(test_loop_guard_off)
{
	struct sockaddr_storage ss;
	enum loopguard_verdict rule;

	pol.loop_guard = false;
	ck_assert_int_eq(check_from("198.51.100.1", 53, &rule), UDP_PASS);
	ck_assert_int_eq(rule, LOOPGUARD_OK);
	/* Past the guard, the ACL still applies. */
	ck_assert_int_eq(check_from("192.0.2.5", 53, &rule), UDP_DROP_ACL);
	ck_assert_int_eq(check_from("198.51.100.1", 0, &rule),
	    UDP_DROP_LOOP);
	ck_assert_int_eq(rule, LOOPGUARD_PORT_ZERO);
	/* An IPv4 source on an IPv6 socket cannot be from a real peer. */
	(void)sockaddr_from_text("198.51.100.1", HIGH_PORT, &ss);
	ck_assert_int_eq(udp_policy_check(&pol, (struct sockaddr *)&ss,
	    sizeof(struct sockaddr_in), AF_INET6, false, NOW, &rule),
	    UDP_DROP_LOOP);
	ck_assert_int_eq(rule, LOOPGUARD_BAD_FAMILY);
}
END_TEST

/* Without an ACL or a rate limit only the loop guard decides. */
START_TEST(test_nothing_but_loop_guard)
{
	enum loopguard_verdict rule;
	int	 i;

	pol.acl = NULL;
	pol.rate = NULL;
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(check_from("192.0.2.5", HIGH_PORT, &rule),
		    UDP_PASS);
	ck_assert_int_eq(check_from("192.0.2.5", 2049, &rule),
	    UDP_DROP_LOOP);
	ck_assert_int_eq(rule, LOOPGUARD_PORT_NFS);
}
END_TEST

/* Each verdict moves its rows and no other. */
START_TEST(test_counters_per_verdict)
{
	static const struct {
		const char	*src;
		int		 port;
		enum udp_verdict want;
	} seq[] = {
		{ "198.51.100.1", HIGH_PORT, UDP_PASS },
		{ "198.51.100.1", 0, UDP_DROP_LOOP },
		{ "198.51.100.1", 53, UDP_DROP_LOOP },
		{ "198.51.100.1", 123, UDP_DROP_LOOP },
		{ "224.0.0.1", HIGH_PORT, UDP_DROP_LOOP },
		{ "192.0.2.5", HIGH_PORT, UDP_DROP_ACL },
		{ "192.0.2.5", HIGH_PORT, UDP_DROP_ACL },
		{ "203.0.113.1", HIGH_PORT, UDP_PASS },
		{ "203.0.113.1", HIGH_PORT, UDP_PASS },
		{ "203.0.113.1", HIGH_PORT, UDP_PASS },
		{ "203.0.113.1", HIGH_PORT, UDP_DROP_RATE },
	};
	struct counter_shard shard;
	uint64_t want[CTR_COUNT];
	enum loopguard_verdict rule;
	enum udp_verdict v;
	size_t	 i;
	int	 id;

	memset(&shard, 0, sizeof(shard));
	memset(want, 0, sizeof(want));
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		v = check_from(seq[i].src, seq[i].port, &rule);
		ck_assert_msg(v == seq[i].want, "%s:%d: verdict %d, want %d",
		    seq[i].src, seq[i].port, v, seq[i].want);
		udp_policy_count(&shard, v, rule);
	}
	want[CTR_UDP_DROPPED_LOOP_GUARD] = 4;
	want[CTR_UDP_LOOP_FIRST + LOOPGUARD_PORT_ZERO - 1] = 1;
	want[CTR_UDP_LOOP_FIRST + LOOPGUARD_PORT_PRIVILEGED - 1] = 2;
	want[CTR_UDP_LOOP_FIRST + LOOPGUARD_ADDR_MULTICAST - 1] = 1;
	want[CTR_UDP_DROPPED_ACL] = 2;
	want[CTR_UDP_DROPPED_RATE_LIMIT] = 1;
	for (id = 0; id < CTR_COUNT; id++)
		ck_assert_msg(shard.v[id] == want[id], "%s: %llu, want %llu",
		    counters_name((enum counter_id)id),
		    (unsigned long long)shard.v[id],
		    (unsigned long long)want[id]);
}
END_TEST

static Suite *
udp_policy_suite(void)
{
	Suite	*s = suite_create("udp_policy");
	TCase	*tc = tcase_create("compose");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_loop_guard_first);
	tcase_add_test(tc, test_acl_before_rate);
	tcase_add_test(tc, test_mapped_source_folded);
	tcase_add_test(tc, test_loop_guard_off);
	tcase_add_test(tc, test_nothing_but_loop_guard);
	tcase_add_test(tc, test_counters_per_verdict);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(udp_policy_suite());
}
