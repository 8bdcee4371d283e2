/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ratelimit.c with an injected clock: exact integer rate
 * and burst, refill after slowing down, a million spoofed keys that do not
 * evict a limited one, fixed memory, one prefix limited and another not.
 */

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <string.h>

#include "echod/ratelimit.h"

#include "suite.h"
#include "testrand.h"

#define SEC	1000000000ULL

static struct ratelimit *
table(size_t entries)
{
	struct ipaddr_hashkey hk;
	uint8_t secret[16] = { 7, 1, 2, 3 };
	struct ratelimit *rl;

	ipaddr_hash_init(&hk, secret);
	rl = ratelimit_new(entries, &hk);
	ck_assert_ptr_nonnull(rl);
	return rl;
}

static struct ipaddr
v4(uint8_t a, uint8_t b, uint8_t c)
{
	struct ipaddr ip;

	memset(&ip, 0, sizeof(ip));
	ip.family = AF_INET;
	ip.bytes[0] = a;
	ip.bytes[1] = b;
	ip.bytes[2] = c;
	return ip;
}

/* How many of n events spread evenly over [t, t + span) are admitted. */
static int
admitted(struct ratelimit *rl, const struct ipaddr *k, uint64_t t,
    uint64_t span, int n, uint32_t rate, uint32_t burst)
{
	int i, ok = 0;

	for (i = 0; i < n; i++)
		ok += ratelimit_admit(rl, k, t + span * (uint64_t)i /
		    (uint64_t)n, rate, burst) == RATELIMIT_ADMIT;
	return ok;
}

START_TEST(test_new_rejects)
{
	struct ipaddr_hashkey hk = { 1, 2 };

	errno = 0;
	ck_assert_ptr_null(ratelimit_new(RATELIMIT_MIN_ENTRIES - 1, &hk));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(ratelimit_new(RATELIMIT_MAX_ENTRIES + 1, &hk));
	ck_assert_int_eq(errno, EINVAL);
	ratelimit_free(NULL);
}
END_TEST

/* Burst at once, then exactly rate per second, for a rate like 3/s. */
START_TEST(test_exact_rate)
{
	struct ratelimit *rl = table(64);
	struct ipaddr k = v4(192, 0, 2);
	uint64_t t = 5 * SEC;
	int i;

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(ratelimit_admit(rl, &k, t, 3, 10),
		    RATELIMIT_ADMIT);
	ck_assert_int_eq(ratelimit_admit(rl, &k, t, 3, 10), RATELIMIT_LIMIT);
	/* One token every 333,333,333.3 ns: not at ...333, at ...334. */
	ck_assert_int_eq(ratelimit_admit(rl, &k, t + 333333333, 3, 10),
	    RATELIMIT_LIMIT);
	ck_assert_int_eq(ratelimit_admit(rl, &k, t + 333333334, 3, 10),
	    RATELIMIT_ADMIT);
	/* 2/3 s later exactly two tokens (1,999,999,998 + 2 units). */
	t += SEC;
	ck_assert_int_eq(admitted(rl, &k, t, 0, 3, 3, 10), 2);
	/* 3/s over 1000 s: 2999 by the last event at 999.97 s, the 3000th
	 * at 1000 s exactly; no drift either way. */
	ck_assert_int_eq(admitted(rl, &k, t, 1000 * SEC, 30000, 3, 10), 2999);
	ck_assert_int_eq(ratelimit_admit(rl, &k, t + 1000 * SEC, 3, 10),
	    RATELIMIT_ADMIT);
	ck_assert_int_eq(ratelimit_admit(rl, &k, t + 1000 * SEC, 3, 10),
	    RATELIMIT_LIMIT);
	ratelimit_free(rl);
}
END_TEST

/* A limited source is answered again once it slows below the rate. */
START_TEST(test_refill_after_slowing)
{
	struct ratelimit *rl = table(64);
	struct ipaddr k = v4(198, 51, 100);
	uint64_t t = SEC;

	/* 10,000/s for a second at 100/s, burst 200: the burst and 99.99. */
	ck_assert_int_eq(admitted(rl, &k, t, SEC, 10000, 100, 200), 299);
	/* It slows to 50/s: every one answered from the next tick on. */
	ck_assert_int_eq(admitted(rl, &k, t + SEC, 10 * SEC, 500, 100, 200),
	    500);
	/* After a pause the whole burst is back. */
	ck_assert_int_eq(admitted(rl, &k, t + 100 * SEC, 0, 201, 100, 200),
	    200);
	ratelimit_free(rl);
}
END_TEST

/* Clock stepping back and huge gaps neither underflow nor overflow. */
START_TEST(test_clock_edges)
{
	struct ratelimit *rl = table(64);
	struct ipaddr k = v4(203, 0, 113);

	ck_assert_int_eq(admitted(rl, &k, 100 * SEC, 0, 5, 1, 4), 4);
	ck_assert_int_eq(ratelimit_admit(rl, &k, 50 * SEC, 1, 4),
	    RATELIMIT_LIMIT);
	ck_assert_int_eq(admitted(rl, &k, UINT64_MAX - 10, 0, 5, UINT32_MAX,
	    4), 4);
	/* burst 0 is read as 1; rate 0 never refills. */
	k = v4(203, 0, 114);
	ck_assert_int_eq(admitted(rl, &k, SEC, 1000 * SEC, 10, 0, 0), 1);
	ratelimit_free(rl);
}
END_TEST

/*
 * A source held at its limit by a steady stream keeps its state while a
 * million random spoofed keys go by in a tiny table; its rate stays cut.
 */
START_TEST(test_spoof_flood_keeps_limited)
{
	struct ratelimit *rl = table(1024);
	struct ipaddr victim = v4(192, 0, 2), spoof;
	uint64_t seed = 42, t = SEC, step = 1000;	/* 1 µs per spoof */
	size_t bytes = ratelimit_bytes(rl);
	int i, ok = 0;

	/* Exhaust the burst. */
	ck_assert_int_eq(admitted(rl, &victim, t, 0, 20, 10, 10), 10);
	for (i = 0; i < 1000000; i++) {
		test_rand_addr(&seed, &spoof);
		(void)ipaddr_source(&spoof, 24, 56);
		(void)ratelimit_admit(rl, &spoof, t, 10, 10);
		/* The victim prefix sends 1000/s throughout: 1 per ms. */
		if (i % 1000 == 0)
			ok += ratelimit_admit(rl, &victim, t, 10, 10) ==
			    RATELIMIT_ADMIT;
		t += step;
	}
	/* 1 s of 1000/s at 10/s: 10 more admitted (+1 for rounding). */
	ck_assert_int_ge(ok, 9);
	ck_assert_int_le(ok, 11);
	ck_assert_uint_eq(ratelimit_bytes(rl), bytes);
	ratelimit_free(rl);
}
END_TEST

/* When a set is full of busy sources, newcomers share one bucket. */
START_TEST(test_overflow_shared)
{
	struct ratelimit *rl = table(RATELIMIT_WAYS);	/* one set */
	struct ipaddr k;
	int i, j, ok = 0;

	for (i = 0; i < RATELIMIT_WAYS; i++) {
		k = v4(10, 0, (uint8_t)i);
		ck_assert_int_eq(ratelimit_admit(rl, &k, SEC, 1, 5),
		    RATELIMIT_ADMIT);
	}
	/* 100 strangers at once: together they get one burst, not 100. */
	for (i = 0; i < 100; i++) {
		k = v4(10, 1, (uint8_t)i);
		ok += ratelimit_admit(rl, &k, SEC, 1, 5) == RATELIMIT_ADMIT;
	}
	ck_assert_int_eq(ok, 5);
	/*
	 * No stranger took a way: each source kept its bucket with the 4
	 * tokens it left (a new bucket would have the whole burst of 5).
	 */
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		k = v4(10, 0, (uint8_t)i);
		for (j = 0; j < 4; j++)
			ck_assert_int_eq(ratelimit_admit(rl, &k, SEC, 1, 5),
			    RATELIMIT_ADMIT);
		ck_assert_int_eq(ratelimit_admit(rl, &k, SEC, 1, 5),
		    RATELIMIT_LIMIT);
	}
	/* Once the ways refill (5 s at 1/s), a newcomer gets a whole one. */
	k = v4(10, 2, 0);
	for (j = 0; j < 5; j++)
		ck_assert_int_eq(ratelimit_admit(rl, &k, 6 * SEC, 1, 5),
		    RATELIMIT_ADMIT);
	ck_assert_int_eq(ratelimit_admit(rl, &k, 6 * SEC, 1, 5),
	    RATELIMIT_LIMIT);
	ratelimit_free(rl);
}
END_TEST

/* One /24 floods and is cut to its rate; a neighbour /24 never notices. */
START_TEST(test_prefixes_independent)
{
	struct ratelimit *rl = table(4096);
	struct ipaddr flood = v4(192, 0, 2), quiet = v4(192, 0, 3);
	uint64_t t = SEC;
	int i, fok = 0, qok = 0;

	for (i = 0; i < 100000; i++) {
		fok += ratelimit_admit(rl, &flood, t, 100, 200) ==
		    RATELIMIT_ADMIT;
		if (i % 1000 == 0)
			qok += ratelimit_admit(rl, &quiet, t, 100, 200) ==
			    RATELIMIT_ADMIT;
		t += 10000;	/* 100,000/s for one second */
	}
	ck_assert_int_eq(fok, 300 - 1);	/* burst + rate over 0.99999 s */
	ck_assert_int_eq(qok, 100);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_sizes)
{
	struct ratelimit *rl = table(1000), *more;
	size_t	 bytes = ratelimit_bytes(rl);

	ck_assert_uint_le(ratelimit_entry_bytes(), 48);
	ck_assert_uint_ge(bytes, 1000 * ratelimit_entry_bytes());
	ck_assert_uint_lt(bytes, 1000 * ratelimit_entry_bytes() + 4096);
	ratelimit_free(rl);
	/* Rounded up to whole sets of 8: 1001 entries cost what 1008 do. */
	rl = table(1001);
	more = table(1008);
	ck_assert_uint_gt(ratelimit_bytes(rl), bytes);
	ck_assert_uint_eq(ratelimit_bytes(rl), ratelimit_bytes(more));
	ratelimit_free(rl);
	rl = table(1009);
	ck_assert_uint_gt(ratelimit_bytes(rl), ratelimit_bytes(more));
	ratelimit_free(more);
	ratelimit_free(rl);
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc;

	tc = tcase_create("bucket");
	tcase_add_test(tc, test_new_rejects);
	tcase_add_test(tc, test_exact_rate);
	tcase_add_test(tc, test_refill_after_slowing);
	tcase_add_test(tc, test_clock_edges);
	tcase_add_test(tc, test_sizes);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_spoof_flood_keeps_limited);
	tcase_add_test(tc, test_overflow_shared);
	tcase_add_test(tc, test_prefixes_independent);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(ratelimit_suite());
}
