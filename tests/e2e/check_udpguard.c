/* SPDX-License-Identifier: MIT */
/*
 * UDP that never loops and never reflects at a high rate, end to end: the
 * loop guard's port rules from real sockets (each with a neighbour that
 * passes), the rate limit per source prefix (a flooding source is cut to
 * its rate, another source gets every answer), a spoofed-source flood that
 * does not grow memory, and two daemons whose spoofed ping-pong dies out
 * with the shipped defaults: echo and echo, STAMP and echo, STAMP and
 * STAMP (a STAMP reply is never longer than its request, so the loop
 * cannot grow either).  Needs root (ports below 1024, a raw
 * socket to forge sources): skipped otherwise.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

/*
 * A datagram from src:lport is dropped by rule (its counter goes up, no
 * answer), or answered when rule is NULL.
 */
static void
from_port(struct daemon *d, const char *src, int lport, const char *rule)
{
	char	 buf[16];
	unsigned long long before = rule != NULL ? counter_ok(d, rule) : 0;
	int	 u = udp_connect_src(src, lport, d->port);

	/*
	 * Below 1024 any port shows the rule: take one no parallel suite
	 * holds (check_udp binds low ports too).
	 */
	while (u == -1 && lport < 1024 && lport > 900)
		u = udp_connect_src(src, --lport, d->port);
	ck_assert_msg(u != -1, "%s", harness_error());
	if (rule == NULL) {
		ck_assert_msg(udp_echo(u, "pass", 4) == 0, "from %s:%d: %s",
		    src, lport, harness_error());
	} else {
		ck_assert_int_eq(send(u, "drop", 4, 0), 4);
		counter_wait_ok(d, rule, before + 1);
		ck_assert_msg(udp_recv(u, buf, sizeof(buf), 50) == -1,
		    "from %s:%d answered despite %s", src, lport, rule);
	}
	close(u);
}

START_TEST(test_port_rules)
{
	struct daemon d = DAEMON_INIT;

	start(&d, "");
	from_port(&d, "127.0.0.1", 1023, "udp_loop_port_privileged");
	from_port(&d, "127.0.0.1", 1024, NULL);
	from_port(&d, "127.0.0.1", 2049, "udp_loop_port_nfs");
	from_port(&d, "127.0.0.1", 2050, NULL);
	/* FreeBSD's check_loop: our own port, from another address. */
	from_port(&d, "127.0.0.2", d.port, "udp_loop_port_self");
	ck_assert_uint_eq(counter_ok(&d, "udp_dropped_loop_guard"), 3);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_port_rules_off)
{
	struct daemon d = DAEMON_INIT;

	start(&d, "udp_loop_guard = false\n");
	from_port(&d, "127.0.0.1", 1023, NULL);
	from_port(&d, "127.0.0.1", 2049, NULL);
	ck_assert_uint_eq(counter_ok(&d, "udp_dropped_loop_guard"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Send n datagrams as fast as possible; the answers that came back. */
static int
flood(int u, int n)
{
	char	 buf[64];
	int	 i, got = 0;

	for (i = 0; i < n; i++) {
		if (send(u, "flood", 5, 0) != 5)
			continue;	/* our own buffer is full: fine */
		while (recv(u, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			got++;
	}
	while (udp_recv(u, buf, sizeof(buf), 100) > 0)
		got++;
	return got;
}

START_TEST(test_rate_limit_cuts_one_source)
{
	struct daemon d = DAEMON_INIT;
	long long t0, took;
	int	 hog, other, got, i;

	start(&d, "udp_rate_per_source = 100\nudp_rate_burst = 50\n"
	    "udp_prefix_v4 = 32\n");
	hog = udp_connect_src("127.0.0.2", 0, d.port);
	other = udp_connect_src("127.0.0.3", 0, d.port);
	ck_assert(hog != -1 && other != -1);
	t0 = harness_now_ms();
	got = flood(hog, 3000);
	took = harness_now_ms() - t0;
	/* The burst and what the rate refilled meanwhile, no more. */
	ck_assert_msg(got >= 50 && got <= 50 + 100 * (took + 1000) / 1000,
	    "%d answers to 3000 datagrams in %lld ms", got, took);
	ck_assert_uint_gt(counter_ok(&d, "udp_dropped_rate_limit"), 0);
	/* Another source gets every answer, during and after. */
	for (i = 0; i < 40; i++)
		udp_echo_ok(other, "other", 5);
	/* Slowed down, the hog is answered again. */
	ck_assert_msg(udp_echo_retry(hog, "slow", 4, 6) == 0, "%s",
	    harness_error());
	close(hog);
	close(other);
	stop_ok(&d, SIGTERM);
}
END_TEST

#define SPOOFED		60000
#define SPOOF_ROUND	100	/* 100 small datagrams: ~100 KiB of buffer */

/* 60,000 forged sources cannot grow the rate-limit state. */
START_TEST(test_spoofed_flood_fixed_memory)
{
	struct daemon d = DAEMON_INIT;
	char	 src[32];
	long long before, after;
	unsigned rounds = 0;
	int	 i, marker;

	start(&d, "");
	/* Warm up: one datagram through every path first. */
	ck_assert_int_eq(udp_spoof("127.9.9.9", 40000, "127.0.0.1", d.port,
	    "w", 1), 0);
	counter_wait_ok(&d, "udp_datagrams_in", 1);
	before = proc_status(d.pid, "VmRSS");
	ck_assert_msg(before > 0, "%s", harness_error());
	/*
	 * In rounds the socket's receive buffer holds whole, each closed by
	 * a real client's echo: the daemon reads in order, so once that
	 * comes back the round was read, and a daemon slowed by a sanitizer
	 * or a busy machine still sees every datagram the flood sent.
	 */
	ck_assert((marker = udp_connect_src("127.0.0.1", 0, d.port)) != -1);
	for (i = 0; i < SPOOFED; i++) {
		snprintf(src, sizeof(src), "127.%d.%d.%d", 1 + i / 65536 % 200,
		    i / 256 % 256, i % 256);
		ck_assert_msg(udp_spoof(src, 40000 + i % 1000, "127.0.0.1",
		    d.port, "spoof", 5) == 0, "%s", harness_error());
		if ((i + 1) % SPOOF_ROUND == 0 || i + 1 == SPOOFED) {
			ck_assert_msg(udp_echo(marker, "round", 5) == 0,
			    "after %d forged: %s", i + 1, harness_error());
			rounds++;
		}
	}
	close(marker);
	counter_wait_ok(&d, "udp_datagrams_in", 1 + SPOOFED + rounds);
	after = proc_status(d.pid, "VmRSS");
	ck_assert_msg(after > 0, "%s", harness_error());
	/*
	 * The table (65,536 entries, 2,752,600 bytes) was allocated whole
	 * at start: growth stays below its size, even where a sanitizer's
	 * shadow pages come in as the flood touches it.
	 */
	ck_assert_msg(after - before < 2752600 / 1024, "RSS grew from %lld to "
	    "%lld KiB", before, after);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Two echo daemons, shipped defaults, unprivileged ports: datagrams forged
 * from one to the other bounce until the rate limit drops them, then both
 * are idle.
 */
START_TEST(test_loop_between_two_daemons_dies)
{
	struct daemon a = DAEMON_INIT, b = DAEMON_INIT;
	unsigned long long in, last = 0;
	long long t0, quiet_since;
	int	 i;

	start(&a, "");
	ck_assert_msg(daemon_start(&b, 2, "listen = {\"127.0.0.2\"}\n") == 0,
	    "%s", harness_error());
	for (i = 0; i < 20; i++)
		ck_assert_msg(udp_spoof("127.0.0.2", b.port, "127.0.0.1",
		    a.port, "ping-pong", 9) == 0, "%s", harness_error());
	t0 = quiet_since = harness_now_ms();
	for (;;) {
		in = counter_ok(&a, "udp_datagrams_in");
		if (in != last) {
			last = in;
			quiet_since = harness_now_ms();
		} else if (harness_now_ms() - quiet_since >= 1000)
			break;
		ck_assert_msg(harness_now_ms() - t0 < 30000, "still looping "
		    "after 30 s: %llu datagrams", in);
		usleep(100 * 1000);
	}
	printf("udpguard: loop of 20 died after %lld ms, %llu datagrams\n",
	    quiet_since - t0, last);
	ck_assert_msg(last > 1000, "no loop formed (%llu datagrams): the test "
	    "tests nothing", last);
	ck_assert_uint_gt(counter_ok(&a, "udp_dropped_rate_limit") +
	    counter_ok(&b, "udp_dropped_rate_limit"), 0);
	stop_ok(&a, SIGTERM);
	stop_ok(&b, SIGTERM);
}
END_TEST

/* Datagrams a and b received on every UDP socket, echo and STAMP. */
static unsigned long long
udp_in(struct daemon *a, struct daemon *b)
{
	return counter_ok(a, "udp_datagrams_in") +
	    counter_ok(a, "stamp_packets_in") +
	    counter_ok(b, "udp_datagrams_in") + counter_ok(b, "stamp_packets_in");
}

/*
 * Forge 20 datagrams of 44 octets (a STAMP base packet) from b's port
 * fport to a's port tport, and wait until both daemons are quiet.
 */
static void
loop_dies(struct daemon *a, struct daemon *b, int fport, int tport,
    const char *what)
{
	unsigned long long in, last = udp_in(a, b), first = last;
	long long t0, quiet_since;
	char	 pkt[44];
	int	 i;

	memset(pkt, 0, sizeof(pkt));
	for (i = 0; i < 20; i++)
		ck_assert_msg(udp_spoof("127.0.0.2", fport, "127.0.0.1", tport,
		    pkt, sizeof(pkt)) == 0, "%s", harness_error());
	t0 = quiet_since = harness_now_ms();
	for (;;) {
		in = udp_in(a, b);
		if (in != last) {
			last = in;
			quiet_since = harness_now_ms();
		} else if (harness_now_ms() - quiet_since >= 1000)
			break;
		ck_assert_msg(harness_now_ms() - t0 < 30000, "%s: still "
		    "looping after 30 s: %llu datagrams", what, in - first);
		usleep(100 * 1000);
	}
	printf("udpguard: %s loop of 20 died after %lld ms, %llu datagrams\n",
	    what, quiet_since - t0, last - first);
	ck_assert_msg(last - first > 1000, "%s: no loop formed (%llu "
	    "datagrams): the test tests nothing", what, last - first);
}

/* STAMP into echo, and STAMP into STAMP: the same rate limit ends both. */
START_TEST(test_loop_with_stamp_dies)
{
	struct daemon a = DAEMON_INIT, b = DAEMON_INIT;
	int	 sa = harness_free_port(false), sb = harness_free_port(false);
	char	 conf[128];

	snprintf(conf, sizeof(conf), "stamp = true\nstamp_port = %d\n", sa);
	ck_assert_msg(daemon_start(&a, 3, "listen = {\"127.0.0.1\"}\n%s",
	    conf) == 0, "%s", harness_error());
	ck_assert_msg(daemon_start(&b, 3, "listen = {\"127.0.0.2\"}\n"
	    "stamp = true\nstamp_port = %d\n", sb) == 0, "%s",
	    harness_error());
	loop_dies(&a, &b, b.port, sa, "stamp-echo");
	ck_assert_uint_gt(counter_ok(&a, "udp_dropped_rate_limit") +
	    counter_ok(&b, "udp_dropped_rate_limit"), 0);
	/* The buckets refill slowly: a fresh pair for the second loop. */
	stop_ok(&a, SIGTERM);
	stop_ok(&b, SIGTERM);
	ck_assert_msg(daemon_start(&a, 3, "listen = {\"127.0.0.1\"}\n%s",
	    conf) == 0, "%s", harness_error());
	ck_assert_msg(daemon_start(&b, 3, "listen = {\"127.0.0.2\"}\n"
	    "stamp = true\nstamp_port = %d\n", sb) == 0, "%s",
	    harness_error());
	loop_dies(&a, &b, sb, sa, "stamp-stamp");
	stop_ok(&a, SIGTERM);
	stop_ok(&b, SIGTERM);
}
END_TEST

static Suite *
udpguard_suite(void)
{
	Suite	*s = suite_create("udpguard");
	TCase	*tc = tcase_new(s, "loop_guard", 60);

	tcase_add_test(tc, test_port_rules);
	tcase_add_test(tc, test_port_rules_off);
	tc = tcase_new(s, "rate_limit", 120);
	tcase_add_test(tc, test_rate_limit_cuts_one_source);
	tcase_add_test(tc, test_spoofed_flood_fixed_memory);
	tcase_add_test(tc, test_loop_between_two_daemons_dies);
	tcase_add_test(tc, test_loop_with_stamp_dies);
	return s;
}

int
main(void)
{
	if (geteuid() != 0)
		return harness_skip("check_udpguard", "needs root (ports below "
		    "1024, raw sockets to forge sources)");
	return harness_main(udpguard_suite(), "check_udpguard");
}
