/* SPDX-License-Identifier: MIT */
/*
 * Fault: clients that misbehave, all from FAULT_SRC_ATTACK while a client
 * from FAULT_SRC_PROBE is watched.  A reset storm (10,000 connections
 * that send and reset at random points) leaks no descriptor or thread;
 * clients that never read pin a thread only until idle_timeout, or, with
 * none, are held without costing anyone else and get all 32 MiB back once
 * they read; half-open clients are echoed and let go; peers that vanish
 * are found by keepalive; a slowloris of 5,000 idle connections against
 * the shipped configuration keeps nobody else out.  TCP_REPAIR (vanishing
 * peers) needs CAP_NET_ADMIN: skipped otherwise.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define RST_TOTAL	10000
#define RST_WAVE	200	/* connections at once */
#define RST_MAX_LEN	8192
#define NONREADERS	8
#define NONREADER_LEN	((uint64_t)32 * 1024 * 1024)
#define NONREADER_RCVBUF (256 * 1024)
#define IDLE_TIMEOUT_S	3
/*
 * A send timeout is per send(2): a send that moved some bytes returns
 * them at the timeout, the next one waits a whole timeout again.  While
 * the client's receive buffer still grows, its window takes more, so a
 * client that stops reading mid-send is dropped after one to three
 * timeouts (measured: 3.2-9.4 s for 3 s with 1 KiB first reads, 6.2 s
 * with 16 KiB ones), never later.
 */
#define DROP_LIMIT_MS	((3LL * IDLE_TIMEOUT_S + 3) * 1000)
#define HALF_OPEN	200
#define HALF_MAX_LEN	16384
#define VANISHED	50
#define LORIS		5000
#define LORIS_MORE	400	/* during the window */
#define LORIS_BATCH	500	/* connected, then pumped */
#define SETTLE_MS	10000

/* ---- reset storm ---- */

START_TEST(test_rst_storm)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct flow *f = calloc(RST_WAVE, sizeof(*f));
	uint64_t rnd = 0x8badf00d;
	long long t0;
	int	 lines, wave;
	size_t	 i;

	ck_assert_ptr_nonnull(f);
	start(&d, "");
	probe_open(&p, &d);
	lines = log_lines(&d);
	t0 = harness_now_ms();
	for (wave = 0; wave < RST_TOTAL / RST_WAVE; wave++) {
		flows_open(f, RST_WAVE, FAULT_SRC_ATTACK, d.port,
		    harness_rand(&rnd), 0);
		/* Reset after sending some, having read some of the echo. */
		for (i = 0; i < RST_WAVE; i++) {
			f[i].len = 1 + harness_rand(&rnd) % RST_MAX_LEN;
			f[i].end_sent = harness_rand(&rnd) % (f[i].len + 1);
			f[i].end_rcvd = harness_rand(&rnd) % (f[i].end_sent + 1);
			f[i].end = FLOW_RESET;
		}
		flows_settle(f, RST_WAVE, SETTLE_MS);
		flows_none_bad(f, RST_WAVE);
		ck_assert_uint_eq(flows_count(f, RST_WAVE, FLOW_ENDED),
		    RST_WAVE);
		if (wave % 5 == 0)
			probe_ok(&p);
	}
	printf("%d resets in %lld ms, %llu accepted\n", RST_TOTAL,
	    harness_now_ms() - t0, counter_ok(&d, "tcp_accepted"));
	log_lines_ok(&d, lines, 1);
	/* Back to the same descriptors and threads: nothing leaked. */
	recovered_ok(&d, &p, 1);
	free(f);
	fault_end(&d, &p);
}
END_TEST

/* ---- clients that never read ---- */

/*
 * A receive buffer of their own size: where tcp_rmem lets a buffer that
 * nobody reads grow to 32 MiB, the whole stream would fit in it and the
 * daemon would never be stuck in send(2).
 */
static void
nonreaders_open(struct crowd *c, int port)
{
	int	 rcvbuf = NONREADER_RCVBUF;
	size_t	 i;

	crowd_init(c, NONREADERS, port, NONREADER_LEN);
	crowd_add(c, NONREADERS);
	for (i = 0; i < c->n; i++) {
		c->f[i].reading = false;
		ck_assert_msg(setsockopt(c->f[i].fd, SOL_SOCKET, SO_RCVBUF,
		    &rcvbuf, sizeof(rcvbuf)) == 0, "SO_RCVBUF: %s",
		    harness_error());
	}
}

START_TEST(test_nonreaders_timed_out)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	struct window w;
	long long t0, took;
	char	 conf[64];
	int	 lines;

	snprintf(conf, sizeof(conf), "idle_timeout = %d\n", IDLE_TIMEOUT_S);
	start(&d, conf);
	probe_open(&p, &d);
	lines = log_lines(&d);
	t0 = harness_now_ms();
	nonreaders_open(&c, d.port);
	flows_stall(c.f, c.n, SETTLE_MS);
	/* Stuck in send(2) until the timeout: idle, still serving. */
	window_ok(&d, &p, 1000, true, crowd_step, &c, &w);
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), NONREADERS + 1);
	while (counter_ok(&d, "tcp_closed_idle") < NONREADERS) {
		ck_assert_msg(harness_now_ms() - t0 < DROP_LIMIT_MS,
		    "non-readers still held after %lld ms", DROP_LIMIT_MS);
		window_ok(&d, &p, 200, false, crowd_step, &c, &w);
	}
	took = harness_now_ms() - t0;
	printf("non-readers dropped after %lld ms\n", took);
	ck_assert_msg(took >= IDLE_TIMEOUT_S * 1000LL, "dropped after %lld ms, "
	    "before idle_timeout", took);
	/* They see the reset once they try to send again. */
	flows_settle(c.f, c.n, SETTLE_MS);
	ck_assert_uint_eq(flows_count(c.f, c.n, FLOW_LOST), NONREADERS);
	ck_assert_uint_eq(counter_ok(&d, "tcp_closed_idle"), NONREADERS);
	log_lines_ok(&d, lines, 1);
	crowd_free(&c);
	recovered_ok(&d, &p, 1);
	fault_end(&d, &p);
}
END_TEST

START_TEST(test_nonreaders_held)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	struct window w;
	size_t	 i;

	start(&d, "");
	probe_open(&p, &d);
	nonreaders_open(&c, d.port);
	flows_stall(c.f, c.n, SETTLE_MS);
	window_ok(&d, &p, FAULT_WINDOW_MS, true, crowd_step, &c, &w);
	ck_assert_msg(w.lines == 0, "%d log lines while held:\n%s", w.lines,
	    daemon_log_tail(&d));
	ck_assert_uint_eq(flows_count(c.f, c.n, FLOW_OPEN), NONREADERS);
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), NONREADERS + 1);
	/* At last they read: all 32 MiB come back, byte for byte. */
	for (i = 0; i < c.n; i++)
		c.f[i].reading = true;
	flows_settle(c.f, c.n, 60000);
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_done(c.f, c.n), NONREADERS);
	crowd_free(&c);
	recovered_ok(&d, &p, 1);
	fault_end(&d, &p);
}
END_TEST

/* ---- half-open and vanished peers ---- */

START_TEST(test_half_open)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	uint64_t rnd = 0xfeedface;
	int	 lines;
	size_t	 i;

	start(&d, "");
	probe_open(&p, &d);
	lines = log_lines(&d);
	crowd_init(&c, HALF_OPEN, d.port, 0);
	crowd_add(&c, HALF_OPEN);
	/* Send, half-close, then neither read nor close. */
	for (i = 0; i < c.n; i++) {
		c.f[i].len = c.f[i].end_sent = c.f[i].end_rcvd =
		    1 + harness_rand(&rnd) % HALF_MAX_LEN;
		c.f[i].shut_wr = true;
		c.f[i].reading = false;
	}
	ck_assert_uint_eq(flows_pump(c.f, c.n, SETTLE_MS), 0);
	for (i = 0; i < c.n; i++)
		ck_assert_uint_eq(c.f[i].sent, c.f[i].len);
	/* The daemon echoed, saw EOF and let go of every one of them. */
	recovered_ok(&d, &p, 1);
	/* What it echoed waits for them, whole, then EOF. */
	for (i = 0; i < c.n; i++)
		c.f[i].reading = true;
	flows_settle(c.f, c.n, SETTLE_MS);
	flows_none_bad(c.f, c.n);
	ck_assert_uint_eq(flows_done(c.f, c.n), HALF_OPEN);
	log_lines_ok(&d, lines, 1);
	crowd_free(&c);
	fault_end(&d, &p);
}
END_TEST

/* Gone without telling the daemon anything. */
static void
vanish(struct flow *f)
{
	ck_assert_msg(tcp_vanish(f->fd) == 0, "%s", harness_error());
	f->fd = -1;
	f->state = FLOW_ENDED;
}

START_TEST(test_vanished_peers)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct crowd c;
	struct window w;
	int	 lines;
	size_t	 i;

	/* Only this case needs it: the others still run without root. */
	if (!harness_can_repair()) {
		test_skip("TCP_REPAIR needs CAP_NET_ADMIN to make peers vanish "
		    "silently");
		return;
	}

	start(&d, "tcp_keepalive = 1\n");
	probe_open(&p, &d);
	lines = log_lines(&d);
	crowd_init(&c, VANISHED, d.port, 1024);
	crowd_add(&c, VANISHED);
	flows_settle(c.f, c.n, SETTLE_MS);
	ck_assert_uint_eq(flows_done(c.f, c.n), VANISHED);
	for (i = 0; i < c.n; i++)
		vanish(&c.f[i]);
	/* Keepalive finds them; meanwhile the daemon idles and serves. */
	window_ok(&d, &p, FAULT_WINDOW_MS, true, NULL, NULL, &w);
	recovered_ok(&d, &p, 1);
	ck_assert_uint_eq(counter_ok(&d, "tcp_closed_error"), VANISHED);
	log_lines_ok(&d, lines, 1);
	crowd_free(&c);
	fault_end(&d, &p);
}
END_TEST

/* ---- slowloris ---- */

/* The shipped conf/echod.conf, but on the harness's port and 127.0.0.1. */
static char *
shipped_conf(int *max_clients)
{
	const char *dir = getenv("ECHOD_SOURCE_DIR");
	char	 path[PATH_MAX], line[512], *out = NULL;
	size_t	 size = 0;
	FILE	*in, *mem;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/conf/echod.conf", dir);
	ck_assert_msg((in = fopen(path, "r")) != NULL, "%s", path);
	ck_assert_ptr_nonnull(mem = open_memstream(&out, &size));
	*max_clients = 0;
	while (fgets(line, sizeof(line), in) != NULL) {
		(void)sscanf(line, "max_clients = %d", max_clients);
		if (strncmp(line, "port ", 5) != 0 &&
		    strncmp(line, "listen ", 7) != 0)
			fputs(line, mem);
	}
	fputs(CONF_LOCAL, mem);
	fclose(in);
	ck_assert_int_eq(fclose(mem), 0);
	ck_assert_int_gt(*max_clients, 0);
	return out;
}

/* The attack goes on, and a newcomer from the probe's source each round. */
struct loris {
	struct crowd	 c;
	int		 newcomers[FAULT_WINDOW_MS / 100 + 1];
	size_t		 nn;
	int		 port;
};

static void
loris_step(void *arg, int ms)
{
	struct loris *l = arg;

	if (l->nn < sizeof(l->newcomers) / sizeof(l->newcomers[0]))
		l->newcomers[l->nn++] = newcomer_ok(l->port);
	crowd_step(&l->c, ms);
}

/* Kept, or closed unechoed (refused), or closed once echoed (evicted). */
static void
loris_count(const struct crowd *c, size_t *kept, size_t *refused,
    size_t *evicted)
{
	size_t	 i;

	*kept = *refused = *evicted = 0;
	for (i = 0; i < c->n; i++) {
		const struct flow *f = &c->f[i];

		if (f->state == FLOW_OPEN)
			(*kept)++;
		else if (f->state == FLOW_LOST && f->rcvd == 0)
			(*refused)++;
		else if (f->state == FLOW_LOST && f->rcvd == f->sent)
			(*evicted)++;
		else
			ck_abort_msg("slowloris client %zu: %s", i, f->why);
	}
}

START_TEST(test_slowloris)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct loris l = { .nn = 0 };
	struct window w;
	struct rlimit rl;
	long long deadline;
	char	*conf;
	int	 max, lines;
	size_t	 kept, refused, evicted, i;

	/* Its 5,000 and more at once, the daemon's 1,024. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 8192 && rl.rlim_max >= 8192) {
		rl.rlim_cur = 8192;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= LORIS + LORIS_MORE + 100,
	    "RLIMIT_NOFILE %llu is too small", (unsigned long long)rl.rlim_cur);
	conf = shipped_conf(&max);
	ck_assert_msg(daemon_start(&d, 2, "%s", conf) == 0, "%s",
	    harness_error());
	free(conf);
	probe_open(&p, &d);
	lines = log_lines(&d);
	l.port = d.port;
	crowd_init(&l.c, LORIS + LORIS_MORE, d.port, 1);
	/* One byte each (echoed), then idle. */
	for (i = 0; i < LORIS; i += LORIS_BATCH) {
		crowd_add(&l.c, LORIS_BATCH);
		(void)flows_pump(l.c.f, l.c.n, 50);
	}
	flows_settle(l.c.f, l.c.n, SETTLE_MS);
	loris_count(&l.c, &kept, &refused, &evicted);
	ck_assert_uint_eq(kept, (size_t)max - 1);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_max_clients"), refused);

	l.c.per_round = LORIS_MORE * 100 / FAULT_WINDOW_MS;
	window_ok(&d, &p, FAULT_WINDOW_MS, true, loris_step, &l, &w);
	flows_settle(l.c.f, l.c.n, SETTLE_MS);
	/*
	 * The newcomer is served as soon as its victim is shut down; the
	 * victim's own thread closes it a moment later.  Until its client
	 * sees that, it looks like one still kept.
	 */
	deadline = harness_now_ms() + SETTLE_MS;
	do {
		flows_watch(l.c.f, l.c.n, 50);
		loris_count(&l.c, &kept, &refused, &evicted);
	} while (evicted < l.nn && harness_now_ms() < deadline);
	printf("slowloris: %zu kept, %zu refused, %zu evicted for %zu "
	    "newcomers\n", kept, refused, evicted, l.nn);
	ck_assert_uint_eq(evicted, l.nn);
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), evicted);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_max_clients"), refused);
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), kept + 1 + l.nn);
	log_lines_ok(&d, lines, 2 + 2 * (int)(w.wall_ms / 1000));

	crowd_free(&l.c);
	for (i = 0; i < l.nn; i++)
		close(l.newcomers[i]);
	recovered_ok(&d, &p, 1);
	fault_end(&d, &p);
}
END_TEST

static Suite *
fault_clients_suite(void)
{
	Suite	*s = suite_create("fault_clients");
	TCase	*tc = tcase_new(s, "resets", 120);

	tcase_add_test(tc, test_rst_storm);
	tc = tcase_new(s, "nonreaders", 120);
	tcase_add_test(tc, test_nonreaders_timed_out);
	tcase_add_test(tc, test_nonreaders_held);
	tc = tcase_new(s, "halfopen", 60);
	tcase_add_test(tc, test_half_open);
	tcase_add_test(tc, test_vanished_peers);
	tc = tcase_new(s, "slowloris", 120);
	tcase_add_test(tc, test_slowloris);
	return s;
}

int
main(void)
{
	return harness_main(fault_clients_suite(), "check_fault_clients");
}
