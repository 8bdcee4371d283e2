/* SPDX-License-Identifier: MIT */
/*
 * PROXY protocol, end to end: echod with proxy_protocol on and 127.0.0.1 as
 * its only balancer (proxy_from), driven with handcrafted v1 and v2
 * headers.  The header is consumed and never echoed, bytes after it in the
 * same segment are; the real client address is the source for the
 * per-source cap, allow/deny and the logs; the balancer is never capped;
 * LOCAL is served; a bad, slow or cut header is closed and counted; a
 * client from elsewhere is echoed verbatim; a connection waiting for its
 * header holds a max_clients place; a reload turns it off.
 */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define BALANCER	"127.0.0.1"
#define CONF_PROXY	"proxy_protocol = true\nproxy_from = {\"127.0.0.1\"}\n" \
	"log_level = \"debug\"\n"

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 PROXY header for IPv4 src:sport, with tlv_len bytes of NOOP TLV. */
static size_t
v2_header(unsigned char *b, const unsigned char src[4], int sport,
    int ver_cmd, int fam, size_t tlv_len)
{
	size_t	 plen = 12 + (tlv_len > 0 ? 3 + tlv_len : 0);

	memcpy(b, v2_sig, 12);
	b[12] = (unsigned char)ver_cmd;
	b[13] = (unsigned char)fam;
	b[14] = (unsigned char)(plen >> 8);
	b[15] = (unsigned char)plen;
	memcpy(b + 16, src, 4);
	memcpy(b + 20, (const unsigned char[]){ 127, 0, 0, 1 }, 4);
	b[24] = (unsigned char)(sport >> 8);
	b[25] = (unsigned char)sport;
	b[26] = 0;
	b[27] = 7;
	if (tlv_len > 0) {
		b[28] = 0x04;		/* PP2_TYPE_NOOP */
		b[29] = (unsigned char)(tlv_len >> 8);
		b[30] = (unsigned char)tlv_len;
		memset(b + 31, 0xa5, tlv_len);
	}
	return 16 + plen;
}

/* Read exactly len bytes within HARNESS_IO_MS; 0, or -1. */
static int
recv_exact(int fd, unsigned char *buf, size_t len)
{
	long long deadline = harness_now_ms() + HARNESS_IO_MS;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (harness_now_ms() > deadline ||
		    poll(&pfd, 1, 100) == -1)
			return -1;
	}
	return 0;
}

/*
 * Connect from the balancer, send header and payload in one send, and get
 * exactly the payload back (the header is consumed, never echoed); the
 * connection stays open and echoes on.  The descriptor.
 */
static int
proxied_ok(struct daemon *d, const void *hdr, size_t hlen, const char *payload)
{
	unsigned char out[4096], back[4096];
	size_t	 plen = strlen(payload);
	int	 fd = tcp_connect_src(BALANCER, d->port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	ck_assert_uint_le(hlen + plen, sizeof(out));
	memcpy(out, hdr, hlen);
	memcpy(out + hlen, payload, plen);
	ck_assert_msg(sock_send_all(fd, out, hlen + plen, HARNESS_IO_MS) == 0,
	    "%s", harness_error());
	ck_assert_msg(recv_exact(fd, back, plen) == 0,
	    "no echo of the payload after the header:\n%s",
	    daemon_log_tail(d));
	ck_assert_mem_eq(back, payload, plen);
	echo_ok(fd, "and more\n", 9);
	return fd;
}

/* The connection is closed without any byte echoed. */
static void
closed_ok(struct daemon *d, int fd, const char *what)
{
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0, "%s: %s\n%s",
	    what, harness_error(), daemon_log_tail(d));
	close(fd);
}

START_TEST(test_v1_and_v2_headers)
{
	static const unsigned char src[4] = { 192, 0, 2, 10 };
	unsigned char h[2200];
	struct daemon d = DAEMON_INIT;
	size_t	 n;
	int	 fd;

	start(&d, CONF_PROXY);
	fd = proxied_ok(&d, "PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\r\n", 40,
	    "v1 payload\n");
	log_has(&d, "tcp 192.0.2.1:40001 via 127.0.0.1:");
	close(fd);
	fd = proxied_ok(&d, "PROXY TCP6 2001:db8::5 ::1 40002 7\r\n", 36,
	    "v1 six\n");
	log_has(&d, "tcp [2001:db8::5]:40002 via 127.0.0.1:");
	close(fd);
	n = v2_header(h, src, 40003, 0x21, 0x11, 0);
	fd = proxied_ok(&d, h, n, "v2 payload\n");
	log_has(&d, "tcp 192.0.2.10:40003 via 127.0.0.1:");
	close(fd);
	/* 2,000 bytes of TLVs: within the limit, skipped. */
	n = v2_header(h, src, 40004, 0x21, 0x11, 2000);
	fd = proxied_ok(&d, h, n, "v2 tlvs\n");
	log_has(&d, "tcp 192.0.2.10:40004 via");
	close(fd);
	/* UNKNOWN, LOCAL: served as the balancer. */
	fd = proxied_ok(&d, "PROXY UNKNOWN\r\n", 15, "unknown\n");
	close(fd);
	/* LOCAL as HAProxy's health check sends it: no addresses. */
	fd = proxied_ok(&d, "\r\n\r\n\0\r\nQUIT\n\x20\0\0\0", 16, "local\n");
	log_has(&d, "(PROXY v2 LOCAL)");
	close(fd);
	counter_wait_ok(&d, "tcp_accepted", 6);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_proxy_header"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* The header's bytes may come one at a time: the payload still follows. */
START_TEST(test_split_header)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\r\n";
	struct daemon d = DAEMON_INIT;
	unsigned char back[8];
	size_t	 i;
	int	 fd;

	start(&d, CONF_PROXY);
	fd = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	for (i = 0; i < sizeof(line) - 1; i += 7)
		ck_assert_int_eq(sock_send_all(fd, line + i, sizeof(line) - 1 -
		    i < 7 ? sizeof(line) - 1 - i : 7, HARNESS_IO_MS), 0);
	ck_assert_int_eq(sock_send_all(fd, "abc", 3, HARNESS_IO_MS), 0);
	ck_assert_int_eq(recv_exact(fd, back, 3), 0);
	ck_assert_mem_eq(back, "abc", 3);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

struct bad_header {
	const char	*bytes;
	size_t		 len;		/* 0: strlen(bytes) */
	const char	*why;		/* in the log line */
};

static const struct bad_header bad[] = {
	{ "hello\r\n", 0, "malformed" },
	{ "PROXY TCP4 192.0.2.1 127.0.0.1 40001\r\n", 0, "malformed" },
	{ "PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\n", 0, "malformed" },
	{ "PROXY TCP4 192.0.2.1 127.0.0.1 40001 70000\r\n", 0, "malformed" },
	{ "PROXY UDP4 192.0.2.1 127.0.0.1 40001 7\r\n", 0,
	    "unsupported protocol" },
	{ "PROXY TCP5 192.0.2.1 127.0.0.1 40001 7\r\n", 0,
	    "unknown address family" },
	{ "\r\n\r\n\0\r\nQUIT\n\x11\x11\0\x0c", 16, "unknown version" },
	{ "\r\n\r\n\0\r\nQUIT\n\x23\x11\0\x0c", 16, "unknown command" },
	{ "\r\n\r\n\0\r\nQUIT\n\x21\x51\0\x0c", 16, "unknown address family" },
	{ "\r\n\r\n\0\r\nQUIT\n\x21\x12\0\x0c", 16, "unsupported protocol" },
	{ "\r\n\r\n\0\r\nQUIT\n\x21\x11\x08\x01", 16, "too long" },
	{ "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0b" "01234567890", 27,
	    "malformed" },
};

START_TEST(test_bad_header_closed)
{
	const struct bad_header *b = &bad[_i];
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, CONF_PROXY);
	fd = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	ck_assert_int_eq(sock_send_all(fd, b->bytes, b->len > 0 ? b->len :
	    strlen(b->bytes), HARNESS_IO_MS), 0);
	/* Nothing of it may come back: a header is never echoed. */
	closed_ok(&d, fd, b->why);
	counter_wait_ok(&d, "tcp_refused_proxy_header", 1);
	log_has(&d, "tcp 127.0.0.1:");
	log_has(&d, ": PROXY header %s: closed", b->why);
	ck_assert_uint_eq(counter_ok(&d, "tcp_accepted"), 0);
	serving_from(&d, "127.0.0.2", b->why);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A burst of bad headers: each counted, one line logged. */
START_TEST(test_refusals_rate_limited)
{
	struct daemon d = DAEMON_INIT;
	int	 i, fd;

	start(&d, CONF_PROXY);
	for (i = 0; i < 20; i++) {
		fd = tcp_connect_src(BALANCER, d.port);
		ck_assert_msg(fd != -1, "%s", harness_error());
		ck_assert_int_eq(sock_send_all(fd, "GET / HTTP/1.0\r\n\r\n",
		    18, HARNESS_IO_MS), 0);
		closed_ok(&d, fd, "a burst of bad headers");
	}
	counter_wait_ok(&d, "tcp_refused_proxy_header", 20);
	ck_assert_int_eq(daemon_log_count(&d, "PROXY header malformed"), 1);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* proxy_timeout bounds the whole header, however slowly it trickles. */
START_TEST(test_header_timeout)
{
	struct daemon d = DAEMON_INIT;
	long long t0, took;
	int	 fd, cut;

	start(&d, CONF_PROXY "proxy_timeout = 1\n");
	fd = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	t0 = harness_now_ms();
	ck_assert_int_eq(sock_send_all(fd, "PROXY TCP4 ", 11, HARNESS_IO_MS),
	    0);
	closed_ok(&d, fd, "a header that stops half-way");
	took = harness_now_ms() - t0;
	ck_assert_msg(took >= 900 && took < 5000, "closed after %lld ms", took);
	log_has(&d, "PROXY header timed out: closed");
	/* Cut half-way: counted too. */
	cut = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(cut != -1, "%s", harness_error());
	ck_assert_int_eq(sock_send_all(cut, "\r\n\r\n", 4, HARNESS_IO_MS), 0);
	ck_assert_int_eq(shutdown(cut, SHUT_WR), 0);
	closed_ok(&d, cut, "a header cut half-way");
	counter_wait_ok(&d, "tcp_refused_proxy_header", 2);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* The real address is the source: capped per client, not per balancer. */
START_TEST(test_real_source_limits)
{
	static const char *const via[] = {
		"PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\r\n",
		"PROXY TCP4 192.0.2.2 127.0.0.1 40002 7\r\n",
		"PROXY TCP4 192.0.2.3 127.0.0.1 40003 7\r\n",
	};
	struct daemon d = DAEMON_INIT;
	int	 fds[3], again, denied, health;
	size_t	 i;

	start(&d, CONF_PROXY "max_clients_per_source = 1\n"
	    "deny = {\"192.0.2.66\"}\n");
	for (i = 0; i < 3; i++)
		fds[i] = proxied_ok(&d, via[i], strlen(via[i]), "hi\n");
	/* Three clients through one balancer: the balancer is not capped. */
	clients_ok(&d, 3);
	/* A second connection of 192.0.2.1 is over its cap. */
	again = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(again != -1, "%s", harness_error());
	ck_assert_int_eq(sock_send_all(again, via[0], strlen(via[0]),
	    HARNESS_IO_MS), 0);
	closed_ok(&d, again, "over max_clients_per_source");
	counter_wait_ok(&d, "tcp_refused_per_source", 1);
	log_has(&d, "tcp 192.0.2.1: max_clients_per_source reached");
	/* deny applies to the real address. */
	denied = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(denied != -1, "%s", harness_error());
	ck_assert_int_eq(sock_send_all(denied,
	    "PROXY TCP4 192.0.2.66 127.0.0.1 1 7\r\n", 37, HARNESS_IO_MS), 0);
	closed_ok(&d, denied, "denied by its real address");
	counter_wait_ok(&d, "tcp_refused_acl", 1);
	log_has(&d, "tcp 192.0.2.66: refused by allow/deny");
	/* Health checks get in, two at once: the balancer is nobody's source. */
	health = proxied_ok(&d, "PROXY UNKNOWN\r\n", 15, "check\n");
	again = proxied_ok(&d, "\r\n\r\n\0\r\nQUIT\n\x20\0\0\0", 16,
	    "local\n");
	clients_ok(&d, 5);
	close(health);
	close(again);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_proxy_header"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Anyone outside proxy_from is a client: its bytes are only echoed. */
START_TEST(test_direct_client_verbatim)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\r\n";
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, CONF_PROXY);
	fd = tcp_connect_src("127.0.0.2", d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	echo_ok(fd, line, sizeof(line) - 1);
	close(fd);
	log_has(&d, "tcp 127.0.0.2:");
	ck_assert_uint_eq(counter_ok(&d, "tcp_refused_proxy_header"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A connection waiting for its header holds a max_clients place. */
START_TEST(test_waiting_counts)
{
	struct daemon d = DAEMON_INIT;
	int	 w1, w2, third;

	start(&d, CONF_PROXY "max_clients = 2\nfair_share = false\n"
	    "proxy_timeout = 30\n");
	w1 = tcp_connect_src(BALANCER, d.port);
	w2 = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(w1 != -1 && w2 != -1, "%s", harness_error());
	clients_ok(&d, 2);
	third = tcp_connect_src("127.0.0.2", d.port);
	ck_assert_msg(third != -1, "%s", harness_error());
	closed_ok(&d, third, "a third client at max_clients 2");
	counter_wait_ok(&d, "tcp_refused_max_clients", 1);
	/* One header arrives: that client is served. */
	ck_assert_int_eq(sock_send_all(w1, "PROXY UNKNOWN\r\n", 15,
	    HARNESS_IO_MS), 0);
	echo_ok(w1, "served\n", 7);
	close(w1);
	close(w2);
	clients_ok(&d, 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A reload turns it off (headers are then echoed) and on again. */
START_TEST(test_reload)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 127.0.0.1 40001 7\r\n";
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, CONF_PROXY);
	reload(&d, "applied", d.port, CONF_LOCAL);
	fd = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	echo_ok(fd, line, sizeof(line) - 1);
	close(fd);
	/* On without balancers: refused with its line, the old one stays. */
	reload(&d, "configuration stays", d.port,
	    CONF_LOCAL "\nproxy_protocol = true\n");
	log_has(&d, ":4: proxy_protocol is true but proxy_from is empty");
	fd = tcp_connect_src(BALANCER, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	echo_ok(fd, line, sizeof(line) - 1);
	close(fd);
	reload(&d, "applied", d.port, CONF_LOCAL CONF_PROXY);
	fd = proxied_ok(&d, line, sizeof(line) - 1, "on again\n");
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("proxy_protocol");
	TCase	*tc;

	tc = tcase_new(s, "headers", 60);
	tcase_add_test(tc, test_v1_and_v2_headers);
	tcase_add_test(tc, test_split_header);
	tcase_add_loop_test(tc, test_bad_header_closed, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_header_timeout);
	tcase_add_test(tc, test_refusals_rate_limited);
	tc = tcase_new(s, "admission", 60);
	tcase_add_test(tc, test_real_source_limits);
	tcase_add_test(tc, test_direct_client_verbatim);
	tcase_add_test(tc, test_waiting_counts);
	tcase_add_test(tc, test_reload);
	return harness_main(s, "check_proxy_protocol");
}
