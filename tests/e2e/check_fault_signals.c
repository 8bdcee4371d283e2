/* SPDX-License-Identifier: MIT */
/*
 * Fault: signal storms while 100 clients stream verified random data.
 * 500 SIGHUPs alternating a valid and an invalid file (each awaited, so
 * the counters must add up exactly), 500 SIGUSR1s sent back to back (they
 * merge; the daemon must neither die nor stall), and SIGTERM in the middle
 * of a slow reload: exit 0 within 2 s.  Throughout, a client from another
 * source is answered within the bound and no streamed byte is lost.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define STREAMS		100
#define STORM		500
#define VERDICT_OK	"applied (max_clients "
#define VERDICT_BAD	"is invalid; the running configuration stays"
#define READING		"reload: reading"
#define PROBE_EVERY	50	/* SIGHUPs between probe rounds */
/*
 * Allow entries for a reload of ~50 ms.  libconfuse grows a list one
 * realloc(3) per value, which ASan turns quadratic (14 s for 60,000).
 */
#define BIG_ACL		(HARNESS_SANITIZED ? 8000 : 60000)
#define MID_TRIES	5
#define FLOODERS	4	/* processes; one alone is drained in time */
#define FLOOD_SEEN	2000	/* connections accepted: the flood is on */

/* Pump the streams until needle was logged more than n times. */
static void
await_log(struct daemon *d, struct crowd *c, const char *needle, int n)
{
	long long deadline = harness_now_ms() + HARNESS_IO_MS;

	while (daemon_log_count(d, needle) <= n) {
		ck_assert_msg(daemon_alive(d), "echod died: %s",
		    daemon_log_tail(d));
		ck_assert_msg(harness_now_ms() < deadline, "no '%s' within "
		    "%d ms:\n%s", needle, HARNESS_IO_MS, daemon_log_tail(d));
		(void)flows_pump(c->f, c->n, 1);
	}
}

/* STREAMS clients streaming from FAULT_SRC_ATTACK. */
static void
start_streams(struct daemon *d, struct crowd *c)
{
	crowd_init(c, STREAMS, d->port, FLOW_FOREVER);
	crowd_add(c, STREAMS);
	(void)flows_pump(c->f, c->n, 200);
}

static void
write_conf(struct daemon *d, bool valid, int max_clients)
{
	ck_assert_int_eq(harness_write_file(d->conf, "port = %d\n%s%s%d\n",
	    d->port, CONF_LOCAL, "max_clients = ", valid ? max_clients : 0),
	    0);
}

START_TEST(test_sighup_sigusr1_storm)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	struct window w;
	int	 i, lines, reading, stats;
	uint64_t total = 0;
	size_t	 k;

	start(&d, "");
	probe_open(&p, &d);
	start_streams(&d, &c);
	lines = log_lines(&d);
	reading = daemon_log_count(&d, READING);
	for (i = 0; i < STORM; i++) {
		const char *verdict = i % 2 == 0 ? VERDICT_OK : VERDICT_BAD;
		int	 n = daemon_log_count(&d, verdict);

		write_conf(&d, i % 2 == 0, 1000 + i);
		ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
		await_log(&d, &c, verdict, n);
		if (i % PROBE_EVERY == 0)
			probe_ok(&p);
	}
	ck_assert_uint_eq(counter_ok(&d, "reloads"), STORM / 2);
	ck_assert_uint_eq(counter_ok(&d, "reloads_failed"), STORM / 2);
	ck_assert_int_eq(daemon_log_count(&d, READING) - reading, STORM);
	/* Per reload: "reading", the verdict, the parser's complaint. */
	log_lines_ok(&d, lines, 3 * STORM);

	/* Back to back, unawaited: they merge, but it answers after. */
	stats = daemon_log_count(&d, "echod: stats:");
	for (i = 0; i < STORM; i++) {
		ck_assert_int_eq(daemon_signal(&d, SIGUSR1), 0);
		if (i % 10 == 9)
			(void)flows_pump(c.f, c.n, 1);
	}
	probe_ok(&p);
	(void)counter_ok(&d, "tcp_clients");
	stats = daemon_log_count(&d, "echod: stats:") - stats;
	ck_assert_msg(stats >= 2 && stats <= STORM + 1, "%d stats lines for "
	    "%d SIGUSR1s", stats, STORM + 1);

	/* Every byte of every stream came back. */
	flows_finish(c.f, c.n);
	flows_settle(c.f, c.n, HARNESS_IO_MS);
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_done(c.f, c.n), STREAMS);
	for (k = 0; k < c.n; k++) {
		ck_assert_msg(c.f[k].rcvd > 0, "stream %zu never moved", k);
		total += c.f[k].rcvd;
	}
	printf("%d SIGHUPs, %d SIGUSR1s: %llu bytes streamed and verified\n",
	    STORM, STORM, (unsigned long long)total);
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), STREAMS + 1);
	window_ok(&d, &p, FAULT_WINDOW_MS, true, NULL, NULL, &w);
	crowd_free(&c);
	recovered_ok(&d, &p, 1);
	fault_end(&d, &p);
}
END_TEST

/* A valid file whose reload takes a while: a long allow list. */
static void
write_slow_conf(struct daemon *d)
{
	size_t	 size = 32 + (size_t)BIG_ACL * 16, len;
	char	*buf = malloc(size);
	int	 i;

	ck_assert_ptr_nonnull(buf);
	len = (size_t)snprintf(buf, size, "allow = {\"127.0.0.0/8\"");
	for (i = 0; i < BIG_ACL; i++)
		len += (size_t)snprintf(buf + len, size - len,
		    ",\"10.%d.%d.%d\"", (i >> 16) & 255, (i >> 8) & 255,
		    i & 255);
	ck_assert_uint_lt(len, size - 2);
	ck_assert_int_eq(harness_write_file(d->conf, "port = %d\n%s%s}\n",
	    d->port, CONF_LOCAL, buf), 0);
	free(buf);
}

/*
 * SIGTERM once the reload began (its first line is out) and before its
 * verdict, streams running: exit 0 within 2 s, the streams' bytes right
 * up to the end.  True if it came before the verdict.
 */
static bool
sigterm_mid_reload(void)
{
	struct daemon d = DAEMON_INIT;
	struct crowd c;
	bool	 mid;

	start(&d, "");
	start_streams(&d, &c);
	write_slow_conf(&d);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	await_log(&d, &c, READING, 0);
	mid = daemon_log_count(&d, "applied (") == 0;
	stop_ok(&d, SIGTERM);
	/* Shut down: each stream ends in EOF or a reset, never a bad byte. */
	flows_settle(c.f, c.n, HARNESS_IO_MS);
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_count(c.f, c.n, FLOW_LOST), STREAMS);
	crowd_free(&c);
	return mid;
}

START_TEST(test_sigterm_mid_reload)
{
	int	 tries = 0;

	/* The test cannot pause the daemon mid-reload: a few tries. */
	while (!sigterm_mid_reload())
		ck_assert_msg(++tries < MID_TRIES, "%d reloads all finished "
		    "before SIGTERM could be sent", MID_TRIES);
	printf("SIGTERM landed mid-reload after %d earlier tries\n", tries);
}
END_TEST

/*
 * A listener that is always ready must not hold signals off: ppoll lets
 * them in only when nothing is ready.  Under a connection flood SIGUSR1 is
 * answered within a second and SIGTERM stops it within 2 s.
 */
START_TEST(test_signals_under_flood)
{
	struct daemon d = DAEMON_INIT;
	struct flood fl;
	struct probe p;
	char	 line[2048];
	long long t0, took;

	start(&d, "");
	probe_open(&p, &d);
	flood_start(&fl, d.port, FLOODERS, 4 * HARNESS_IO_MS);
	(void)counter_wait_ge(&d, "tcp_accepted", FLOOD_SEEN, HARNESS_IO_MS,
	    NULL, NULL);
	t0 = harness_now_ms();
	ck_assert_msg(daemon_stats(&d, line, sizeof(line)) == 0, "%s",
	    harness_error());
	took = harness_now_ms() - t0;
	ck_assert_msg(took <= 1000, "SIGUSR1 under a flood answered after "
	    "%lld ms", took);
	probe_ok(&p);
	fault_end(&d, &p);
	flood_stop(&fl);
}
END_TEST

static Suite *
fault_signals_suite(void)
{
	Suite	*s = suite_create("fault_signals");
	TCase	*tc = tcase_new(s, "storms", 120);

	tcase_add_test(tc, test_sighup_sigusr1_storm);
	tc = tcase_new(s, "sigterm", 60);
	tcase_add_test(tc, test_sigterm_mid_reload);
	tcase_add_test(tc, test_signals_under_flood);
	return s;
}

int
main(void)
{
	return harness_main(fault_signals_suite(), "check_fault_signals");
}
