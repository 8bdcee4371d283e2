/* SPDX-License-Identifier: MIT */
/*
 * Fairness between TCP sources, end to end.  127.0.0.1 and 127.0.0.2 are
 * two sources.  One source holding every slot cannot keep another out
 * (fair share closes its longest-silent client, which sees EOF); a source
 * is capped by max_clients_per_source and slowed by connect_rate_per_source
 * without touching anybody else; the counters say what happened.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define NEWCOMER_MS	100	/* the contract: in and echoed within it */
#define SENDER_BYTES	((size_t)128 * 1024)	/* a stalled sender's */

static int
client_from(const char *src, int port)
{
	int	 fd = tcp_connect_src(src, port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	return fd;
}

/* A client from src must be closed at once, unserved. */
static void
refused_from(const char *src, int port)
{
	int	 fd = client_from(src, port);

	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0,
	    "a client from %s was served", src);
	close(fd);
}

/* Every thread of the daemon waits (client threads in recv()). */
static void
asleep_ok(struct daemon *d)
{
	ck_assert_msg(proc_wait_asleep(d->pid, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
}

/* Connect from src and be echoed within NEWCOMER_MS. */
static int
newcomer_ok(const char *src, int port)
{
	long long t0 = harness_now_ms(), took;
	int	 fd = client_from(src, port);

	echo_ok(fd, "newcomer", 8);
	took = harness_now_ms() - t0;
	ck_assert_msg(took <= NEWCOMER_MS, "the newcomer from %s waited "
	    "%lld ms", src, took);
	return fd;
}

/* Which of fds[0..n) saw EOF (or a reset), waiting up to timeout_ms. */
static size_t
closed_ones(const int *fds, size_t n, bool *closed, int timeout_ms)
{
	struct pollfd *pfd = calloc(n, sizeof(*pfd));
	long long deadline = harness_now_ms() + timeout_ms;
	size_t	 i, found = 0;
	char	 c;

	ck_assert_ptr_nonnull(pfd);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (found == 0 && harness_now_ms() < deadline)
		if (poll(pfd, n, 50) > 0)
			for (i = 0; i < n; i++)
				if (pfd[i].revents != 0 && !closed[i] &&
				    read(fds[i], &c, 1) <= 0) {
					closed[i] = true;
					found++;
				}
	free(pfd);
	return found;
}

/*
 * hold clients from 127.0.0.1 (each echoed once), the first of them
 * silent for longest; then 127.0.0.2 gets in, exactly that first one is
 * closed, and another client of the hog is refused.
 */
static void
fair_share_case(int hold, int extra)
{
	struct daemon d = DAEMON_INIT;
	char	 conf[64];
	int	*fds = calloc((size_t)hold, sizeof(int)), i, nc;
	bool	*closed = calloc((size_t)hold, sizeof(bool));

	ck_assert(fds != NULL && closed != NULL);
	snprintf(conf, sizeof(conf), "max_clients = %d\n", hold);
	start(&d, conf);
	fds[0] = client_from("127.0.0.1", d.port);
	echo_ok(fds[0], "0", 1);
	/* Older to the daemon: fds[0] is the longest silent. */
	coarse_clock_passes();
	for (i = 1; i < hold; i++) {
		fds[i] = client_from("127.0.0.1", d.port);
		echo_ok(fds[i], "h", 1);
	}
	clients_ok(&d, (unsigned)hold);
	/* Idle hogs: every thread back in recv(), where fair share looks. */
	asleep_ok(&d);
	/* Over the limit, the heaviest source's newcomers are refused. */
	for (i = 0; i < extra; i++)
		refused_from("127.0.0.1", d.port);
	nc = newcomer_ok("127.0.0.2", d.port);
	ck_assert_uint_eq(closed_ones(fds, (size_t)hold, closed, HARNESS_IO_MS),
	    1);
	ck_assert_msg(closed[0], "the client closed was not the longest "
	    "silent one");
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 1);
	ck_assert_uint_ge(counter_ok(&d, "tcp_refused_max_clients"),
	    (unsigned long long)extra);
	/* Everybody else still echoes. */
	echo_ok(fds[1], "still", 5);
	echo_ok(fds[hold - 1], "still", 5);
	echo_ok(nc, "again", 5);
	close(nc);
	for (i = 0; i < hold; i++)
		close(fds[i]);
	free(fds);
	free(closed);
	/*
	 * Gone before SIGTERM: how fast 4,096 threads wind down is the
	 * signal suite's business (and sanitizers' exit-time leak scan of
	 * their heap takes seconds), so only the exit status is asked here.
	 */
	ck_assert_msg(daemon_wait_clients(&d, 0, 30000) == 0, "%s",
	    harness_error());
	ck_assert_int_eq(daemon_signal(&d, SIGTERM), 0);
	ck_assert_msg(daemon_wait_exit(&d, HARNESS_IO_MS) == 0 &&
	    daemon_exit_code(&d) == 0, "SIGTERM: exit %d: %s",
	    daemon_exit_code(&d), daemon_log_tail(&d));
	daemon_free(&d);
}

START_TEST(test_fair_share_small)
{
	fair_share_case(20, 3);
}
END_TEST

START_TEST(test_fair_share_5000_idle)
{
	struct rlimit rl;

	/* 5,000 clients here and 4,096 there: descriptors for both. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 6000 && rl.rlim_max >= 6000) {
		rl.rlim_cur = 6000;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	ck_assert_msg(rl.rlim_cur >= 6000, "RLIMIT_NOFILE %llu < 6000",
	    (unsigned long long)rl.rlim_cur);
	fair_share_case(4096, 904);
}
END_TEST

START_TEST(test_fair_share_off)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b;

	start(&d, "max_clients = 2\nfair_share = false\n");
	a = client_from("127.0.0.1", d.port);
	b = client_from("127.0.0.1", d.port);
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);
	refused_from("127.0.0.2", d.port);
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 0);
	echo_ok(a, "a", 1);
	close(a);
	close(b);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_max_clients_per_source)
{
	struct daemon d = DAEMON_INIT;
	int	 fd[3], other, i;

	start(&d, "max_clients_per_source = 3\n");
	for (i = 0; i < 3; i++) {
		fd[i] = client_from("127.0.0.1", d.port);
		echo_ok(fd[i], "x", 1);
	}
	refused_from("127.0.0.1", d.port);
	other = newcomer_ok("127.0.0.2", d.port);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_per_source"), 1);
	/* A slot given back is a slot to take again. */
	close(fd[0]);
	clients_ok(&d, 3);
	fd[0] = client_from("127.0.0.1", d.port);
	echo_ok(fd[0], "y", 1);
	for (i = 0; i < 3; i++)
		close(fd[i]);
	close(other);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_connect_rate)
{
	struct daemon d = DAEMON_INIT;
	int	 i, fd, served = 0, refused = 0;
	long long t0;

	start(&d, "connect_rate_per_source = 2\nconnect_burst = 5\n");
	t0 = harness_now_ms();
	for (i = 0; i < 20; i++) {
		fd = client_from("127.0.0.1", d.port);
		if (tcp_echo(fd, "r", 1) == 0)
			served++;
		else
			refused++;
		close(fd);
	}
	/* The burst, plus what refilled meanwhile (2/s). */
	ck_assert_int_ge(served, 5);
	ck_assert_int_le(served, 5 + 1 + (int)((harness_now_ms() - t0) *
	    2 / 1000));
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_connect_rate"),
	    (unsigned long long)refused);
	/* Another source has its whole burst, and the listener never stopped. */
	for (i = 0; i < 5; i++) {
		fd = client_from("127.0.0.2", d.port);
		echo_ok(fd, "o", 1);
		close(fd);
	}
	stop_ok(&d, SIGTERM);
}
END_TEST


/*
 * A connection from src that, like a client on a real path, takes its echo
 * through a 4 KiB receive buffer with a 1,460-byte MSS, sends up to
 * 128 KiB and never reads.
 */
static int
stalled_sender_from(const char *src, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char	*junk = calloc(1, SENDER_BYTES);
	int	 fd, rcvbuf = 4096, mss = 1460;
	size_t	 sent = 0;
	ssize_t	 n;

	ck_assert_ptr_nonnull(junk);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)), 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss,
	    sizeof(mss)), 0);
	ck_assert_int_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	/* As much as the two windows take, then nothing more. */
	while (sent < SENDER_BYTES && (n = send(fd, junk + sent,
	    SENDER_BYTES - sent, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
		sent += (size_t)n;
	free(junk);
	return fd;
}

/*
 * Hole 1: every slot is held by one source's clients that stopped reading
 * (each server thread blocked in send() to a zero window).  Twenty other
 * sources must still get in and be echoed: a client that takes none of
 * its echo is the first to go when room is needed.
 */
static void
stalled_senders_case(int max)
{
	struct daemon d = DAEMON_INIT;
	char	 conf[64], src[32];
	int	*hog = calloc((size_t)max, sizeof(int)), nc[20], i;
	int	 served = 0;

	ck_assert_ptr_nonnull(hog);
	snprintf(conf, sizeof(conf), "max_clients = %d\n", max);
	start(&d, conf);
	for (i = 0; i < max; i++)
		hog[i] = stalled_sender_from("127.0.0.2", d.port);
	clients_ok(&d, (unsigned)max);
	/*
	 * Every client has its thread (a sanitizer's thread starts are slow),
	 * every thread blocked: the windows are full.
	 */
	ck_assert_msg(daemon_wait_counter(&d, "tcp_threads_started",
	    (unsigned long long)max, HARNESS_SANITIZED ? 300000 :
	    HARNESS_IO_MS) == 0, "%s", harness_error());
	asleep_ok(&d);
	/* Each stays connected: each needs a place of its own. */
	for (i = 0; i < 20; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 3 + i);
		nc[i] = client_from(src, d.port);
		if (tcp_echo(nc[i], "hello", 5) == 0)
			served++;
		else
			printf("newcomer %d: %s\n", i, harness_error());
	}
	ck_assert_msg(served == 20, "%d of 20 newcomers echoed while one "
	    "source's clients stopped reading", served);
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 20);
	for (i = 0; i < 20; i++)
		close(nc[i]);
	for (i = 0; i < max; i++)
		close(hog[i]);
	free(hog);
	stop_ok(&d, SIGTERM);
}

START_TEST(test_stalled_senders_evicted)
{
	stalled_senders_case(50);
}
END_TEST

START_TEST(test_stalled_senders_evicted_default_limit)
{
	stalled_senders_case(1024);
}
END_TEST

/* With idle_timeout = 0, a send nobody takes still ends: send_timeout. */
START_TEST(test_send_timeout_without_idle_timeout)
{
	struct daemon d = DAEMON_INIT;
	long long t0;
	int	 fd;

	start(&d, "send_timeout = 1\n");
	fd = stalled_sender_from("127.0.0.2", d.port);
	clients_ok(&d, 1);
	t0 = harness_now_ms();
	ck_assert_msg(daemon_wait_clients(&d, 0, 10000) == 0, "%s",
	    harness_error());
	/* No progress for one second, whatever the window did before. */
	ck_assert_int_ge(harness_now_ms() - t0, 500);
	ck_assert_uint_eq(counter_ok(&d, "tcp_closed_idle"), 1);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Hole 2: fair share switched on by SIGHUP covers clients connected before. */
START_TEST(test_fair_share_on_by_reload)
{
	struct daemon d = DAEMON_INIT;
	int	 hog[20], nc[5], i;
	char	 src[32];

	start(&d, "max_clients = 20\nfair_share = false\n");
	for (i = 0; i < 20; i++)
		hog[i] = client_from("127.0.0.2", d.port);
	clients_ok(&d, 20);
	refused_from("127.0.0.3", d.port);
	reload(&d, "applied", d.port, CONF_LOCAL
	    "max_clients = 20\nfair_share = true\n");
	ck_assert_uint_eq(counter_ok(&d, "reloads"), 1);
	for (i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i);
		nc[i] = newcomer_ok(src, d.port);
	}
	ck_assert_uint_eq(counter_ok(&d, "tcp_evicted_fair_share"), 5);
	for (i = 0; i < 5; i++)
		close(nc[i]);
	for (i = 0; i < 20; i++)
		close(hog[i]);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Hole 3: among sources tied for heaviest (one client each), the client
 * silent longest across all of them goes, never one that exchanged data
 * in the last seconds while a silent one exists.
 */
START_TEST(test_tie_spares_the_active_client)
{
	struct daemon d = DAEMON_INIT;
	int	 idle[50], attacker[80], legit, i;
	char	 src[32];

	start(&d, "max_clients = 50\n");
	for (i = 0; i < 50; i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i);
		idle[i] = client_from(src, d.port);
	}
	clients_ok(&d, 50);
	/* Every thread started and waiting: each a client fair share sees. */
	counter_wait_ok(&d, "tcp_threads_started", 50);
	asleep_ok(&d);
	legit = client_from("127.0.0.200", d.port);
	echo_ok(legit, "hello", 5);
	/* More attackers than idle clients: their own turn comes too. */
	for (i = 0; i < 80; i++) {
		snprintf(src, sizeof(src), "127.0.2.%d", 1 + i);
		attacker[i] = client_from(src, d.port);
		echo_ok(legit, "ping", 4);
	}
	/* Accepted and judged after the kernel's handshake: wait for it. */
	counter_wait_ok(&d, "tcp_evicted_fair_share", 81);
	echo_ok(legit, "still", 5);
	for (i = 0; i < 50; i++)
		close(idle[i]);
	for (i = 0; i < 80; i++)
		close(attacker[i]);
	close(legit);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
fairness_suite(void)
{
	Suite	*s = suite_create("fairness");
	TCase	*tc = tcase_new(s, "fair_share", 120);

	tcase_add_test(tc, test_fair_share_small);
	tcase_add_test(tc, test_fair_share_5000_idle);
	tcase_add_test(tc, test_fair_share_off);
	tc = tcase_new(s, "attacks", 120);
	tcase_add_test(tc, test_stalled_senders_evicted);
	tcase_add_test(tc, test_stalled_senders_evicted_default_limit);
	tcase_add_test(tc, test_send_timeout_without_idle_timeout);
	tcase_add_test(tc, test_fair_share_on_by_reload);
	tcase_add_test(tc, test_tie_spares_the_active_client);
	tc = tcase_new(s, "limits", 60);
	tcase_add_test(tc, test_max_clients_per_source);
	tcase_add_test(tc, test_connect_rate);
	return s;
}

int
main(void)
{
	return harness_main(fairness_suite(), "check_fairness");
}
