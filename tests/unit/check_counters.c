/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for counters.c: shards are summed on read, a detached shard's
 * counts are kept (not lost, not doubled), gauges, names and the one
 * formatter that SIGUSR1, STATUS= and the tests read.
 */

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "echod/counters.h"

#include "suite.h"

static struct counters	c;

static void
setup(void)
{
	ck_assert_int_eq(counters_init(&c), 0);
}

static void
teardown(void)
{
	counters_destroy(&c);
}

START_TEST(test_shards_sum_and_retire)
{
	struct counter_shard a, b;
	uint64_t v[CTR_COUNT];

	counters_attach(&c, &a);
	counters_attach(&c, &b);
	counter_add(&a, CTR_TCP_BYTES_IN, 5);
	counter_add(&b, CTR_TCP_BYTES_IN, 7);
	counter_add(&b, CTR_UDP_DATAGRAMS_IN, 1);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_BYTES_IN], 12);
	ck_assert_uint_eq(v[CTR_UDP_DATAGRAMS_IN], 1);
	ck_assert_uint_eq(v[CTR_TCP_BYTES_OUT], 0);
	/* A shard that leaves keeps its counts in the totals, once. */
	counters_detach(&c, &a);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_BYTES_IN], 12);
	counters_detach(&c, &b);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_BYTES_IN], 12);
	ck_assert_uint_eq(v[CTR_UDP_DATAGRAMS_IN], 1);
	/* A shard attached again starts from zero. */
	counters_attach(&c, &a);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_BYTES_IN], 12);
	counters_detach(&c, &a);
}
END_TEST

START_TEST(test_gauges_are_levels)
{
	struct counter_shard a;
	uint64_t v[CTR_COUNT];

	counters_attach(&c, &a);
	/* A shard never adds into a gauge row. */
	counter_add(&a, CTR_TCP_CLIENTS, 100);
	counters_set_gauge(&c, CTR_TCP_CLIENTS, 3);
	counters_set_gauge(&c, CTR_TCP_CLIENTS_PEAK, 9);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_CLIENTS], 3);
	ck_assert_uint_eq(v[CTR_TCP_CLIENTS_PEAK], 9);
	counters_set_gauge(&c, CTR_TCP_CLIENTS, 1);
	counters_read(&c, v);
	ck_assert_uint_eq(v[CTR_TCP_CLIENTS], 1);
	counters_detach(&c, &a);
}
END_TEST

START_TEST(test_names)
{
	const char *name, *p;
	int	 i, j;

	for (i = 0; i < CTR_COUNT; i++) {
		name = counters_name((enum counter_id)i);
		ck_assert_ptr_nonnull(name);
		ck_assert_msg(name[0] != '\0', "row %d has no name", i);
		/* Safe as a metric name and a name=value key. */
		for (p = name; *p != '\0'; p++)
			ck_assert_msg(islower((unsigned char)*p) || *p == '_',
			    "bad character in '%s'", name);
		ck_assert_msg(strlen(counters_help((enum counter_id)i)) > 8,
		    "%s has no help", name);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(name, counters_name((enum counter_id)j));
	}
}
END_TEST

START_TEST(test_format)
{
	uint64_t v[CTR_COUNT] = { 0 };
	char	 buf[2048], small[16], want[64];
	size_t	 need;

	v[CTR_TCP_CLIENTS] = 2;
	v[CTR_RELOADS_FAILED] = 18446744073709551615ULL;
	need = counters_format(v, buf, sizeof(buf));
	ck_assert_uint_eq(need, strlen(buf));
	ck_assert_msg(strncmp(buf, "tcp_clients=2 tcp_clients_peak=0 ", 33) ==
	    0, "%s", buf);
	snprintf(want, sizeof(want), " %s=18446744073709551615",
	    counters_name(CTR_RELOADS_FAILED));
	ck_assert_msg(strstr(buf, want) != NULL, "%s", buf);
	/* Every row, once, as name=value separated by one space. */
	for (int i = 0; i < CTR_COUNT; i++) {
		snprintf(want, sizeof(want), "%s=", counters_name(
		    (enum counter_id)i));
		ck_assert_msg(strstr(buf, want) != NULL, "no %s", want);
	}
	/* A short buffer is cut, NUL-terminated, and says what it needed. */
	ck_assert_uint_eq(counters_format(v, small, sizeof(small)), need);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	/* The SIGUSR1 line fits the log's line. */
	memset(v, 0xff, sizeof(v));
	ck_assert_uint_lt(counters_format(v, buf, sizeof(buf)), 2032);
}
END_TEST

static Suite *
counters_suite(void)
{
	Suite	*s = suite_create("counters");
	TCase	*tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_shards_sum_and_retire);
	tcase_add_test(tc, test_gauges_are_levels);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(counters_suite());
}
