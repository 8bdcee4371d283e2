/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for admission.c and the registry's part of it (clients.c):
 * each verdict in its order (access list, connect rate, per-source cap,
 * max_clients, fair share), what each counts, and the fair-share victim:
 * a stalled sender first, then the longest-silent client across every
 * source tied for heaviest, an active client last, a busy one never.
 * In-process, without threads: clients are socketpair ends whose state the
 * test notes as a client thread would.
 */

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "echod/acl.h"
#include "echod/admission.h"
#include "echod/clients.h"
#include "echod/counters.h"
#include "echod/monotime.h"
#include "echod/ratelimit.h"

#include "counter_value.h"
#include "ipaddr_text.h"
#include "suite.h"

#define NCLIENTS	16

static struct counters	 counters;
static struct counter_shard shard;
static struct clients	*reg;
static struct admission	*adm;
static struct client	 cl[NCLIENTS];
static int		 peer_fd[NCLIENTS];
static unsigned		 used;

static void
setup(void)
{
	ck_assert_int_eq(counters_init(&counters), 0);
	counters_attach(&counters, &shard);
	ck_assert_ptr_nonnull(reg = clients_new(&counters));
	ck_assert_ptr_nonnull(adm = admission_new());
	used = 0;
}

static void
teardown(void)
{
	unsigned i;

	for (i = 0; i < used; i++) {
		clients_leave(reg, &cl[i]);
		close(cl[i].fd);
		close(peer_fd[i]);
	}
	admission_free(adm);
	clients_free(reg);
	counters_detach(&counters, &shard);
	counters_destroy(&counters);
}

static void
limits(unsigned max, unsigned per_source, bool fair, const struct acl *acl,
    struct ratelimit *rate, uint32_t rate_per_s)
{
	const struct admission_limits l = {
		.clients = { max, per_source, fair },
		.prefix_v4 = 32,
		.prefix_v6 = 64,
		.connect_rate = rate_per_s,
		.connect_burst = 1,
	};

	admission_set(adm, &l, acl, rate);
}

/* A new client from addr: its verdict, counted; *c is its record. */
static enum admission_verdict
arrive(const char *addr, struct client **c)
{
	struct ipaddr ip = from_text(addr);
	struct sockaddr_storage ss;
	enum admission_verdict v;
	socklen_t len = sockaddr_from_text(addr, 7, &ss);
	int	 sv[2];

	ck_assert_uint_lt(used, NCLIENTS);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*c = &cl[used];
	client_init(*c, sv[0], (struct sockaddr *)&ss, len, &ip);
	v = admission_check(adm, reg, *c, &ip);
	admission_report(adm, v, &ip, &shard);
	if (v == ADMIT || v == ADMIT_EVICTED) {
		/* As its thread would, once it runs. */
		clients_started(reg, *c);
		peer_fd[used++] = sv[1];
	} else {
		close(sv[0]);
		close(sv[1]);
	}
	return v;
}

/* c's thread waits in state, and data last moved ago_ms back. */
static void
waits(struct client *c, enum client_state state, long long ago_ms)
{
	client_note(c, state);
	client_progress(c, monotime_coarse_ms() - ago_ms);
}

START_TEST(test_admit_counts)
{
	struct client *c;

	limits(4, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &c), ADMIT);
	ck_assert_int_eq(arrive("2001:db8::1", &c), ADMIT);
	ck_assert_uint_eq(clients_count(reg), 2);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_ACCEPTED), 2);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_CLIENTS), 2);
	ck_assert_str_eq(admission_name(REFUSE_PER_SOURCE), "per_source");
	ck_assert_str_eq(admission_name(ADMISSION_NVERDICTS), "?");
}
END_TEST

START_TEST(test_nothing_before_set)
{
	struct client *c;

	ck_assert_int_eq(arrive("192.0.2.1", &c), REFUSE_STOPPING);
	ck_assert_uint_eq(clients_count(reg), 0);
}
END_TEST

START_TEST(test_acl_first)
{
	struct cidr deny;
	struct acl *acl;
	struct client *c;
	char	 err[128];

	ck_assert_int_eq(cidr_parse("192.0.2.0/24", &deny, err, sizeof(err)),
	    0);
	ck_assert_ptr_nonnull(acl = acl_build(NULL, 0, &deny, 1));
	/* Full and fair: the access list still speaks first. */
	limits(1, 0, true, acl, NULL, 0);
	ck_assert_int_eq(arrive("198.51.100.1", &c), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.9", &c), REFUSE_ACL);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_REFUSED_ACL), 1);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_EVICTED_FAIR_SHARE), 0);
	limits(1, 0, true, NULL, NULL, 0);
	acl_free(acl);
}
END_TEST

START_TEST(test_connect_rate_per_source)
{
	struct ipaddr_hashkey hk = { 1, 2 };
	struct ratelimit *rate = ratelimit_new(64, &hk);
	struct client *c;

	ck_assert_ptr_nonnull(rate);
	limits(8, 0, true, NULL, rate, 1);
	ck_assert_int_eq(arrive("192.0.2.1", &c), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.1", &c), REFUSE_CONNECT_RATE);
	/* Another source has its own bucket. */
	ck_assert_int_eq(arrive("192.0.2.2", &c), ADMIT);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_REFUSED_CONNECT_RATE), 1);
	limits(8, 0, true, NULL, NULL, 0);
	ratelimit_free(rate);
}
END_TEST

START_TEST(test_per_source_cap)
{
	struct client *c;

	limits(8, 2, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &c), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.1", &c), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.1", &c), REFUSE_PER_SOURCE);
	ck_assert_int_eq(arrive("192.0.2.2", &c), ADMIT);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_REFUSED_PER_SOURCE), 1);
}
END_TEST

START_TEST(test_max_clients_without_fair_share)
{
	struct client *a, *c;

	limits(1, 0, false, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &a), ADMIT);
	waits(a, CLIENT_RECV, 60000);
	ck_assert_int_eq(arrive("192.0.2.2", &c), REFUSE_MAX_CLIENTS);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_REFUSED_MAX_CLIENTS), 1);
	ck_assert(!a->evicted);
}
END_TEST

/* The heaviest source loses its longest-silent client to a lighter one. */
START_TEST(test_evict_longest_silent)
{
	struct client *a, *b, *c;

	limits(2, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &a), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.1", &b), ADMIT);
	waits(a, CLIENT_RECV, 5000);
	waits(b, CLIENT_RECV, 9000);
	/* From the heaviest source itself: refused. */
	ck_assert_int_eq(arrive("192.0.2.1", &c), REFUSE_MAX_CLIENTS);
	ck_assert_int_eq(arrive("192.0.2.7", &c), ADMIT_EVICTED);
	ck_assert(b->evicted && !a->evicted);
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_EVICTED_FAIR_SHARE), 1);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_ACCEPTED), 3);
}
END_TEST

/* Tied sources: the longest silence across all of them, not the newest. */
START_TEST(test_ties_across_sources)
{
	struct client *c[4], *n;

	limits(4, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &c[0]), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.2", &c[1]), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.3", &c[2]), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.4", &c[3]), ADMIT);
	waits(c[0], CLIENT_RECV, 3000);
	waits(c[1], CLIENT_RECV, 8000);
	waits(c[2], CLIENT_RECV, 4000);
	waits(c[3], CLIENT_RECV, 100);	/* active: pinged just now */
	ck_assert_int_eq(arrive("192.0.2.50", &n), ADMIT_EVICTED);
	ck_assert(c[1]->evicted);
	ck_assert(!c[0]->evicted && !c[2]->evicted && !c[3]->evicted);
}
END_TEST

/* An active client goes only when no silent one is left. */
START_TEST(test_active_spared_while_silent_exists)
{
	struct client *c[3], *n;

	limits(3, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &c[0]), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.2", &c[1]), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.3", &c[2]), ADMIT);
	/* Never sent a byte: silent from the start, however new. */
	client_note(c[2], CLIENT_RECV);
	waits(c[0], CLIENT_RECV, 1500);	/* exchanged data 1.5 s ago */
	waits(c[1], CLIENT_RECV, 1900);
	ck_assert_int_eq(arrive("192.0.2.60", &n), ADMIT_EVICTED);
	ck_assert(c[2]->evicted && !c[0]->evicted && !c[1]->evicted);
}
END_TEST

/* A client that stopped taking its echo goes before any silent one. */
START_TEST(test_stalled_sender_first)
{
	struct client *a, *b, *n;

	limits(2, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &a), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.1", &b), ADMIT);
	waits(a, CLIENT_RECV, 600000);
	waits(b, CLIENT_SEND, 1500);
	ck_assert_int_eq(arrive("192.0.2.9", &n), ADMIT_EVICTED);
	ck_assert(b->evicted && !a->evicted);
}
END_TEST

/* A client whose thread is between calls is never chosen. */
START_TEST(test_busy_never_evicted)
{
	struct client *a, *n;

	limits(1, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("192.0.2.1", &a), ADMIT);
	waits(a, CLIENT_BUSY, 600000);
	ck_assert_int_eq(arrive("192.0.2.2", &n), REFUSE_MAX_CLIENTS);
	ck_assert(!a->evicted);
}
END_TEST

/* A client still waiting for its thread counts as waiting for data. */
START_TEST(test_queued_client_evictable)
{
	struct ipaddr ip = from_text("192.0.2.1");
	struct sockaddr_storage ss;
	struct client *q, *n;
	socklen_t len = sockaddr_from_text("192.0.2.1", 7, &ss);
	int	 sv[2];

	limits(1, 0, true, NULL, NULL, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	q = &cl[used];
	peer_fd[used++] = sv[1];
	client_init(q, sv[0], (struct sockaddr *)&ss, len, &ip);
	ck_assert_int_eq(admission_check(adm, reg, q, &ip), ADMIT);
	ck_assert_int_eq(arrive("192.0.2.2", &n), ADMIT_EVICTED);
	ck_assert(q->evicted);
}
END_TEST

/* Held without a source (a PROXY header pending), then charged to one. */
START_TEST(test_hold_then_source)
{
	struct ipaddr real = from_text("203.0.113.5");
	struct sockaddr_storage ss;
	struct client *a, *b;
	socklen_t len = sockaddr_from_text("198.51.100.1", 7, &ss);
	int	 sv[2];

	limits(2, 1, true, NULL, NULL, 0);
	ck_assert_int_eq(arrive("203.0.113.5", &a), ADMIT);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	b = &cl[used];
	peer_fd[used++] = sv[1];
	client_init(b, sv[0], (struct sockaddr *)&ss, len, &real);
	ck_assert_int_eq(admission_hold(adm, reg, b), ADMIT);
	ck_assert_uint_eq(clients_count(reg), 2);
	/* Its real source already holds its cap: refused there. */
	ck_assert_int_eq(admission_check(adm, reg, b, &real),
	    REFUSE_PER_SOURCE);
	ck_assert_uint_eq(clients_count(reg), 2);
	clients_leave(reg, b);
	ck_assert_uint_eq(clients_count(reg), 1);
}
END_TEST

START_TEST(test_stopping)
{
	struct client *c;

	limits(4, 0, true, NULL, NULL, 0);
	clients_shutdown(reg);
	ck_assert_int_eq(arrive("192.0.2.1", &c), REFUSE_STOPPING);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_ACCEPTED), 0);
}
END_TEST

static Suite *
admission_suite(void)
{
	Suite	*s = suite_create("admission");
	TCase	*tc;

	tc = tcase_create("verdicts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_admit_counts);
	tcase_add_test(tc, test_nothing_before_set);
	tcase_add_test(tc, test_acl_first);
	tcase_add_test(tc, test_connect_rate_per_source);
	tcase_add_test(tc, test_per_source_cap);
	tcase_add_test(tc, test_max_clients_without_fair_share);
	tcase_add_test(tc, test_stopping);
	tcase_add_test(tc, test_hold_then_source);
	suite_add_tcase(s, tc);
	tc = tcase_create("fair_share");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_evict_longest_silent);
	tcase_add_test(tc, test_ties_across_sources);
	tcase_add_test(tc, test_active_spared_while_silent_exists);
	tcase_add_test(tc, test_stalled_sender_first);
	tcase_add_test(tc, test_busy_never_evicted);
	tcase_add_test(tc, test_queued_client_evictable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(admission_suite());
}
