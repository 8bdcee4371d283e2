/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmark of the UDP admission building blocks: acl_check() on a
 * 10,000-entry list against the linear reference scan in the same run,
 * and ratelimit_admit() (with its SipHash) per call.  Medians of RUNS
 * runs with their spread.  Usage: acl_lookup [entries] [runs]
 */

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "echod/acl.h"
#include "echod/ratelimit.h"

#include "acl_ref.h"
#include "testrand.h"

#define LOOKUPS		1000000
#define REF_LOOKUPS	2000
#define ADMITS		4000000
#define KEYS		65536
#define MAXRUNS		31

static volatile unsigned sink;	/* keeps the loops from being elided */

static double
now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *what, double *v, int runs)
{
	qsort(v, (size_t)runs, sizeof(*v), cmp);
	printf("%-28s %9.1f ns  (min %.1f, max %.1f, %d runs)\n", what,
	    v[runs / 2], v[0], v[runs - 1], runs);
}

int
main(int argc, char **argv)
{
	double trie[MAXRUNS], ref[MAXRUNS], adm[MAXRUNS], t0;
	struct ipaddr_hashkey hk = { 0x243f6a8885a308d3ULL, 0x13198a2e0370 };
	struct cidr *allow, *deny;
	struct ipaddr *ip;
	struct ratelimit *rl = NULL;
	struct acl *acl = NULL;
	uint64_t seed = 1, now;
	size_t n = 10000, i;
	unsigned long runs = 7;
	unsigned acc;
	char *end;
	int r, status = 71;

	if (argc > 1 && ((n = strtoul(argv[1], &end, 10)) < 2 ||
	    *end != '\0' || n > 2 * (size_t)ACL_MAX_ENTRIES))
		n = 0;
	if (argc > 2 && ((runs = strtoul(argv[2], &end, 10)) < 1 ||
	    *end != '\0' || runs > MAXRUNS))
		runs = 0;
	if (n == 0 || runs == 0) {
		fprintf(stderr, "usage: acl_lookup [entries] [runs <= %d]\n",
		    MAXRUNS);
		return 64;
	}
	allow = calloc(n / 2, sizeof(*allow));
	deny = calloc(n / 2, sizeof(*deny));
	ip = calloc(LOOKUPS, sizeof(*ip));
	if (allow == NULL || deny == NULL || ip == NULL)
		goto out;
	for (i = 0; i < n / 2; i++) {
		test_rand_cidr(&seed, &allow[i]);
		test_rand_cidr(&seed, &deny[i]);
	}
	for (i = 0; i < LOOKUPS; i++)
		test_rand_addr(&seed, &ip[i]);
	if ((acl = acl_build(allow, n / 2, deny, n / 2)) == NULL ||
	    (rl = ratelimit_new(KEYS, &hk)) == NULL)
		goto out;
	printf("acl: %zu entries (half allow, half deny), %zu bytes; "
	    "ratelimit: %d entries, %zu bytes/entry\n", n, acl_bytes(acl),
	    KEYS, ratelimit_entry_bytes());

	now = 1000000000ULL;
	for (r = 0; r < (int)runs; r++) {
		acc = 0;
		t0 = now_ns();
		for (i = 0; i < LOOKUPS; i++)
			acc += acl_check(acl, &ip[i]);
		trie[r] = (now_ns() - t0) / LOOKUPS;
		t0 = now_ns();
		for (i = 0; i < REF_LOOKUPS; i++)
			acc += acl_ref_check(allow, n / 2, deny, n / 2,
			    &ip[i]);
		ref[r] = (now_ns() - t0) / REF_LOOKUPS;
		/* 64 Ki /24 keys over a 64 Ki table: hits, misses, evictions. */
		t0 = now_ns();
		for (i = 0; i < ADMITS; i++) {
			acc += ratelimit_admit(rl, &ip[i % KEYS], now, 100,
			    200);
			now += 250;
		}
		adm[r] = (now_ns() - t0) / ADMITS;
		sink = acc;
	}
	report("acl_check (trie)", trie, (int)runs);
	report("linear scan (reference)", ref, (int)runs);
	printf("%-28s %9.0fx\n", "trie speedup (medians)", ref[runs / 2] /
	    trie[runs / 2]);
	report("ratelimit_admit", adm, (int)runs);
	status = 0;
out:
	acl_free(acl);
	ratelimit_free(rl);
	free(allow);
	free(deny);
	free(ip);
	return status;
}
