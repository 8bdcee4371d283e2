/* SPDX-License-Identifier: MIT */
/*
 * UDP echo end to end: every size up to 65,507 bytes (and the empty
 * datagram), the reply leaves from the address it was sent to, two
 * senders interleaved keep their own order, the loop guard drops sources
 * below port 1024 (needs root, else skipped), tcp or udp alone, and the
 * datagrams a full receive buffer cost are counted (udp_dropped_rcvbuf).
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

START_TEST(test_udp_sizes)
{
	static const size_t sizes[] = { 1, 2, 3, 512, 1471, 1472, 1473,
	    4096, 8192, 8193, 65506, HARNESS_UDP_MAX4 };
	static unsigned char reply[65536];
	struct daemon d = DAEMON_INIT;
	unsigned char *data = random_buf(HARNESS_UDP_MAX4, 65507);
	uint64_t rng = 1;
	ssize_t	 n;
	size_t	 i;
	int	 fd;

	start(&d, "");
	fd = udp_connect_ok(&d, AF_INET);

	/* An empty datagram is echoed empty, and the next one still flows. */
	ck_assert_int_eq(send(fd, "", 0, 0), 0);
	ck_assert_int_eq(send(fd, "x", 1, 0), 1);
	n = udp_recv(fd, reply, sizeof(reply), HARNESS_IO_MS);
	ck_assert_msg(n == 0, "empty datagram: expected an empty reply, got "
	    "%zd (%s)", n, n == -1 ? harness_error() : "bytes");
	n = udp_recv(fd, reply, sizeof(reply), HARNESS_IO_MS);
	ck_assert_msg(n == 1 && reply[0] == 'x', "after the empty datagram: "
	    "expected \"x\", got %zd bytes (%s)", n, harness_error());

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		udp_echo_ok(fd, data, sizes[i]);
	for (i = 0; i < 300; i++)
		udp_echo_ok(fd, data,
		    1 + harness_rand(&rng) % HARNESS_UDP_MAX4);
	close(fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Every size from 1 to 65507, each compared byte for byte. */
START_TEST(test_udp_sweep)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *data = random_buf(HARNESS_UDP_MAX4, 1);
	long long t0;
	size_t	 len;
	int	 fd;

	start(&d, "");
	fd = udp_connect_ok(&d, AF_INET);
	t0 = harness_now_ms();
	for (len = 1; len <= HARNESS_UDP_MAX4; len++)
		udp_echo_ok(fd, data, len);
	printf("udp: sizes 1..%d echoed in %lld ms\n",
	    HARNESS_UDP_MAX4, harness_now_ms() - t0);
	close(fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * On a wildcard socket, the reply must leave from the address the datagram
 * was sent to: a client connected to 127.0.0.2 accepts datagrams from
 * 127.0.0.2 only, so a reply from the default source (127.0.0.1) would be
 * dropped by its kernel and the test would time out.
 */
START_TEST(test_udp_reply_source)
{
	struct daemon d = DAEMON_INIT;
	struct sockaddr_in to = { .sin_family = AF_INET };
	char	 buf[64];
	int	 fd;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"0.0.0.0\"}\n") == 0,
	    "%s", harness_error());
	to.sin_port = htons((uint16_t)d.port);
	to.sin_addr.s_addr = htonl(0x7f000002);	/* 127.0.0.2 */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_int_eq(send(fd, "second address", 14, 0), 14);
	ck_assert_msg(udp_recv(fd, buf, sizeof(buf), HARNESS_IO_MS) == 14,
	    "no reply from 127.0.0.2: %s", harness_error());
	ck_assert_int_eq(memcmp(buf, "second address", 14), 0);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Two senders interleaved: each gets its own datagrams back, in order. */
START_TEST(test_udp_two_sockets)
{
	enum { ROUNDS = 300, BURST = 3, MAXLEN = 3000 };
	static unsigned char out[2][BURST][MAXLEN], in[65536];
	struct daemon d = DAEMON_INIT;
	size_t	 len[2][BURST];
	uint64_t rng = 2;
	ssize_t	 n;
	int	 fd[2], r, s, k;

	start(&d, "");
	for (s = 0; s < 2; s++) {
		fd[s] = udp_connect_ok(&d, AF_INET);
	}
	for (r = 0; r < ROUNDS; r++) {
		for (k = 0; k < BURST; k++) {
			for (s = 0; s < 2; s++) {
				len[s][k] = 16 + harness_rand(&rng) %
				    (MAXLEN - 16);
				harness_fill(out[s][k], len[s][k],
				    harness_rand(&rng));
				snprintf((char *)out[s][k], 16, "%c:%d:%d",
				    'A' + s, r, k);
				ck_assert_int_eq(send(fd[s], out[s][k],
				    len[s][k], 0), (ssize_t)len[s][k]);
			}
		}
		for (s = 0; s < 2; s++) {
			for (k = 0; k < BURST; k++) {
				n = udp_recv(fd[s], in, sizeof(in),
				    HARNESS_IO_MS);
				ck_assert_msg(n == (ssize_t)len[s][k] &&
				    memcmp(in, out[s][k], len[s][k]) == 0,
				    "socket %c round %d: expected its "
				    "datagram '%s' (%zu bytes), got %zd bytes "
				    "'%.15s' %s", 'A' + s, r, out[s][k],
				    len[s][k], n, n > 0 ? (char *)in : "",
				    n == -1 ? harness_error() : "");
			}
		}
	}
	close(fd[0]);
	close(fd[1]);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_udp_loop_guard)
{
	static unsigned char buf[65536];
	struct daemon d = DAEMON_INIT;
	ssize_t	 n;
	int	 low, fd;

	start(&d, "");
	if ((low = udp_low_port(d.port)) == -1) {
		test_skip("udp_loop_guard needs a source port below 1024 "
		    "(root): %s", harness_error());
		stop_ok(&d, SIGTERM);
		return;
	}
	fd = udp_connect_ok(&d, AF_INET);
	ck_assert_int_eq(send(low, "loop?", 5, 0), 5);
	/* Served in arrival order: once this is back, the other was seen. */
	udp_echo_ok(fd, "normal", 6);
	n = udp_recv(low, buf, sizeof(buf), 100);
	ck_assert_msg(n == -1 && errno == ETIMEDOUT, "udp_loop_guard = true: "
	    "a datagram from a port below 1024 was answered (%zd)", n);
	ck_assert_uint_eq(counter_ok(&d, "udp_dropped_loop_guard"), 1);
	close(low);
	close(fd);
	stop_ok(&d, SIGTERM);

	start(&d, "udp_loop_guard = false\n");
	low = udp_low_port(d.port);
	ck_assert_msg(low != -1, "%s", harness_error());
	udp_echo_ok(low, "loop!", 5);
	close(low);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_proto_udp_only)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 1, CONF_LOCAL "tcp = false\n") == 0,
	    "%s", harness_error());
	ck_assert_msg(strstr(daemon_log(&d), "listening on tcp") == NULL,
	    "tcp = false but:\n%s", daemon_log(&d));
	fd = udp_connect_ok(&d, AF_INET);
	udp_echo_ok(fd, "udp only", 8);
	close(fd);
	fd = tcp_connect(AF_INET, d.port);
	ck_assert_msg(fd == -1 && errno == ECONNREFUSED,
	    "tcp = false, yet a TCP connect got: %s",
	    fd == -1 ? harness_error() : "connected");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_proto_tcp_only)
{
	static unsigned char buf[65536];
	struct daemon d = DAEMON_INIT;
	ssize_t	 n;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 1, CONF_LOCAL "udp = false\n") == 0,
	    "%s", harness_error());
	ck_assert_msg(strstr(daemon_log(&d), "listening on udp") == NULL,
	    "udp = false but:\n%s", daemon_log(&d));
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "tcp only", 8);
	close(fd);
	/* Nobody on the UDP port: the kernel's ICMP says so. */
	fd = udp_connect_ok(&d, AF_INET);
	ck_assert_int_eq(send(fd, "anyone?", 7, 0), 7);
	n = udp_recv(fd, buf, sizeof(buf), HARNESS_IO_MS);
	ck_assert_msg(n == -1 && errno == ECONNREFUSED,
	    "udp = false, yet UDP got: %s", n >= 0 ? "a reply" :
	    harness_error());
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * While the daemon is stopped (SIGSTOP), a burst overflows its socket's
 * receive buffer; once it runs again, every datagram sent is either
 * received or counted as dropped by the kernel, and the stats line shows
 * the row.
 */
START_TEST(test_udp_rcvbuf_overflow)
{
	enum { BURST = 20000 };
	char	 stats[8192], payload[64];
	struct daemon d = DAEMON_INIT;
	unsigned long long in, dropped, sent = BURST;
	long long t0;
	int	 flood, probe, i;

	start(&d, "");
	flood = udp_connect_ok(&d, AF_INET);
	probe = udp_connect_ok(&d, AF_INET);
	memset(payload, 'x', sizeof(payload));
	ck_assert_int_eq(daemon_signal(&d, SIGSTOP), 0);
	ck_assert_msg(proc_wait_stopped(d.pid, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	for (i = 0; i < BURST; i++)
		ck_assert_int_eq(send(flood, payload, sizeof(payload), 0),
		    (ssize_t)sizeof(payload));
	ck_assert_int_eq(daemon_signal(&d, SIGCONT), 0);
	/* A datagram queued after the drops carries their total. */
	ck_assert_msg(udp_echo_retry(probe, "probe", 5, 5) == 0, "%s",
	    harness_error());
	t0 = harness_now_ms();
	for (;;) {
		in = counter_ok(&d, "udp_datagrams_in");
		dropped = counter_ok(&d, "udp_dropped_rcvbuf");
		/* The probe went at least once, at most five times. */
		if (dropped > 0 && in + dropped >= sent + 1 &&
		    in + dropped <= sent + 5)
			break;
		ck_assert_msg(harness_now_ms() - t0 < HARNESS_IO_MS,
		    "received %llu + dropped %llu != sent %llu", in, dropped,
		    sent);
		usleep(20 * 1000);
	}
	ck_assert_msg(dropped < sent, "every datagram dropped: %llu", dropped);
	ck_assert_int_eq(daemon_stats(&d, stats, sizeof(stats)), 0);
	ck_assert_msg(strstr(stats, " udp_dropped_rcvbuf=") != NULL, "%s",
	    stats);
	close(flood);
	close(probe);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
udp_suite(void)
{
	Suite	*s = suite_create("udp");
	TCase	*tc;

	tc = tcase_new(s, "udp", 120);
	tcase_add_test(tc, test_udp_sizes);
	tcase_add_test(tc, test_udp_sweep);
	tcase_add_test(tc, test_udp_two_sockets);
	tcase_add_test(tc, test_udp_reply_source);
	tcase_add_test(tc, test_udp_loop_guard);
	tcase_add_test(tc, test_udp_rcvbuf_overflow);

	tc = tcase_new(s, "proto", 30);
	tcase_add_test(tc, test_proto_udp_only);
	tcase_add_test(tc, test_proto_tcp_only);
	return s;
}

int
main(void)
{
	return harness_main(udp_suite(), "check_udp");
}
