/* SPDX-License-Identifier: MIT */
/*
 * reuseport, end to end: two echod on one port both serve, TCP and UDP
 * (each takes a share of new connections and of flows, seen in its own
 * counters); without it the second cannot bind (exit 71) until a reload
 * turns it on in the first; stopping one with a grace keeps the port
 * served by the other, and the stopped one's clients lose nothing.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define CONF_RP		"reuseport = true\n"
#define MAX_TRIES	400	/* connections or flows before giving up */

/* Two instances on one port, both with body. */
static void
start_pair(struct daemon *a, struct daemon *b, const char *body)
{
	char	 conf[256];

	snprintf(conf, sizeof(conf), "%s%s", CONF_LOCAL, body);
	start(a, body);
	ck_assert_msg(daemon_start_on(b, a->port, 2, conf) == 0,
	    "second instance on port %d: %s\n%s", a->port, harness_error(),
	    daemon_log_tail(b));
}

/*
 * Both instances' counts of name once they add up to want: a datagram is
 * counted after its reply has left, so a count may trail the echo its
 * client already holds.  True when each instance has some.
 */
static bool
shared_by_both(struct daemon *a, struct daemon *b, const char *name,
    unsigned want)
{
	long long deadline = harness_now_ms() + HARNESS_IO_MS;
	unsigned long long na, nb;

	do {
		na = counter_ok(a, name);
		nb = counter_ok(b, name);
	} while (na + nb < want && harness_now_ms() < deadline);
	ck_assert_msg(na + nb == want, "%s: %llu and %llu, %u expected in all",
	    name, na, nb, want);
	return na > 0 && nb > 0;
}

/*
 * New TCP connections or UDP flows (a new source port each), each echoed,
 * until both instances have taken one (the kernel hashes each to one of
 * them).  How many.
 */
static int
until_both(struct daemon *a, struct daemon *b, int type)
{
	bool	 tcp = type == SOCK_STREAM;
	int	 i, fd;

	for (i = 1; i <= MAX_TRIES; i++) {
		if (tcp) {
			fd = connect_ok(a, AF_INET);
			echo_ok(fd, "share\n", 6);
		} else {
			fd = udp_connect_ok(a, AF_INET);
			udp_echo_ok(fd, "share", 5);
		}
		close(fd);
		if (i % 8 == 0 && shared_by_both(a, b, tcp ? "tcp_accepted" :
		    "udp_datagrams_out", (unsigned)i))
			return i;
	}
	ck_abort_msg("%d %s, all to one instance", MAX_TRIES,
	    tcp ? "connections" : "flows");
	return -1;
}

START_TEST(test_both_serve)
{
	struct daemon a = DAEMON_INIT, b = DAEMON_INIT;
	int	 tcp, udp;

	start_pair(&a, &b, CONF_RP);
	tcp = until_both(&a, &b, SOCK_STREAM);
	udp = until_both(&a, &b, SOCK_DGRAM);
	printf("reuseport: both took TCP after %d connections, UDP after %d "
	    "flows\n", tcp, udp);
	stop_ok(&a, SIGTERM);
	still_serving(&b, "its sibling stopped");
	stop_ok(&b, SIGTERM);
}
END_TEST

/* Off: the port is taken; a reload turns it on for the next sibling. */
START_TEST(test_off_then_reload)
{
	struct daemon a = DAEMON_INIT, b = DAEMON_INIT, c = DAEMON_INIT;

	start(&a, "");
	ck_assert_int_eq(daemon_start_on(&b, a.port, 2,
	    CONF_LOCAL CONF_RP), -1);
	ck_assert_int_eq(daemon_wait_exit(&b, HARNESS_IO_MS), 0);
	ck_assert_int_eq(daemon_exit_code(&b), 71);
	ck_assert_msg(strstr(daemon_log(&b), "Address already in use") != NULL,
	    "%s", daemon_log_tail(&b));
	reload(&a, "applied", a.port, CONF_LOCAL CONF_RP);
	ck_assert_msg(daemon_start_on(&c, a.port, 2, CONF_LOCAL CONF_RP) == 0,
	    "after the reload: %s\n%s", harness_error(), daemon_log_tail(&c));
	(void)until_both(&a, &c, SOCK_STREAM);
	(void)until_both(&a, &c, SOCK_DGRAM);
	stop_ok(&c, SIGTERM);
	stop_ok(&a, SIGTERM);
	daemon_free(&b);
}
END_TEST

/* One stops with a grace: its clients finish, the other takes the rest. */
START_TEST(test_stop_one_with_grace)
{
	enum { LEN = 128 * 1024, NEW = 20 };
	struct daemon a = DAEMON_INIT, b = DAEMON_INIT;
	unsigned char *data = random_buf(LEN, 7);
	struct echo_job job;
	unsigned long long before;
	int	 fd = -1, i, n;

	start_pair(&a, &b, CONF_RP "shutdown_grace = 30\n");
	/* A client of a: connect until one lands there. */
	for (i = 0; i < MAX_TRIES && fd == -1; i++) {
		fd = connect_ok(&a, AF_INET);
		echo_ok(fd, "who\n", 4);
		if (counter_ok(&a, "tcp_clients") == 1)
			break;
		close(fd);
		fd = -1;
	}
	ck_assert_msg(fd != -1, "no connection reached the first instance");
	ck_assert_int_eq(daemon_signal(&a, SIGTERM), 0);
	ck_assert_msg(daemon_wait_log(&a, "draining 1 clients", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&a));
	/* The port stays served: every new client reaches b. */
	before = counter_ok(&b, "tcp_accepted");
	for (n = 0; n < NEW; n++) {
		int	 c = connect_ok(&b, AF_INET);

		echo_ok(c, "new\n", 4);
		close(c);
	}
	counter_wait_ok(&b, "tcp_accepted", before + NEW);
	/* a's client loses nothing. */
	job = (struct echo_job){ .fd = fd, .data = data, .len = LEN,
	    .shut_wr = true };
	echo_jobs_ok(&job, 1, 20000);
	close(fd);
	ck_assert_int_eq(daemon_wait_exit(&a, HARNESS_IO_MS), 0);
	ck_assert_int_eq(daemon_exit_code(&a), 0);
	daemon_free(&a);
	still_serving(&b, "its sibling drained");
	stop_ok(&b, SIGTERM);
	free(data);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("reuseport");
	TCase	*tc;

	tc = tcase_new(s, "reuseport", 120);
	tcase_add_test(tc, test_both_serve);
	tcase_add_test(tc, test_off_then_reload);
	tcase_add_test(tc, test_stop_one_with_grace);
	return harness_main(s, "check_reuseport");
}
