/* SPDX-License-Identifier: MIT */
/*
 * check_udp_batch: the batched UDP path (recvmmsg/sendmmsg) keeps every
 * datagram of a burst apart: each reply goes to its own sender, whole,
 * in order, from the address the datagram arrived on, and the counters
 * see every datagram once.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define NSRC		3	/* 127.0.0.1, .2, .3 */
#define PER_SRC		40	/* a burst fits the daemon's receive buffer */
#define MAXLEN		65507
#define ECHOED		((unsigned long long)NSRC * (PER_SRC + 1))

/* A UDP socket bound to 127.0.0.<host> and connected to the daemon. */
static int
source(int host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int	 fd;

	ck_assert((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	a.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)host);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0,
	    "bind 127.0.0.%d", host);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

/* Datagram i of source s: its length and its bytes differ from all others. */
static size_t
dgram(int s, int i, unsigned char *buf)
{
	size_t	 len = i == PER_SRC ? MAXLEN : (size_t)(1 + (s * 131 +
	    i * 37) % 900);

	harness_fill(buf, len, (uint64_t)s * 1000 + (uint64_t)i);
	return len;
}

START_TEST(test_udp_batch_burst_from_many_sources)
{
	static unsigned char want[MAXLEN], got[65536];
	struct daemon d = DAEMON_INIT;
	size_t	 len;
	ssize_t	 n;
	int	 fd[NSRC], s, i;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"127.0.0.1\"}\n"
	    "udp = true\n") == 0, "%s", harness_error());
	for (s = 0; s < NSRC; s++)
		fd[s] = source(s + 1, d.port);
	/*
	 * Interleave the sources without reading, so one recvmmsg takes
	 * datagrams from several peers.  Small ones: the burst must fit the
	 * daemon's receive buffer, or the kernel drops some, as UDP may.
	 */
	for (i = 0; i < PER_SRC; i++)
		for (s = 0; s < NSRC; s++) {
			len = dgram(s, i, want);
			ck_assert_int_eq(send(fd[s], want, len, 0), (ssize_t)len);
		}
	for (s = 0; s < NSRC; s++)
		for (i = 0; i < PER_SRC; i++) {
			len = dgram(s, i, want);
			n = udp_recv(fd[s], got, sizeof(got), HARNESS_IO_MS);
			ck_assert_msg(n == (ssize_t)len && memcmp(got, want,
			    len) == 0, "source 127.0.0.%d datagram %d: "
			    "expected %zu bytes, got %zd (%s)", s + 1, i, len,
			    n, n == -1 ? harness_error() : "other bytes");
		}
	/* A maximal datagram from each, one at a time, still whole. */
	for (s = 0; s < NSRC; s++) {
		len = dgram(s, PER_SRC, want);
		ck_assert_int_eq(send(fd[s], want, len, 0), (ssize_t)len);
		n = udp_recv(fd[s], got, sizeof(got), HARNESS_IO_MS);
		ck_assert_msg(n == (ssize_t)len && memcmp(got, want, len) == 0,
		    "source 127.0.0.%d: maximal datagram: got %zd bytes (%s)",
		    s + 1, n, n == -1 ? harness_error() : "other bytes");
	}
	counter_wait_ok(&d, "udp_datagrams_out", ECHOED);
	ck_assert_uint_eq(counter_ok(&d, "udp_datagrams_in"), ECHOED);
	ck_assert_uint_eq(counter_ok(&d, "udp_datagrams_out"), ECHOED);
	for (s = 0; s < NSRC; s++)
		close(fd[s]);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
udp_batch_suite(void)
{
	Suite	*s = suite_create("udp_batch");
	TCase	*tc = tcase_new(s, "burst", 60);

	tcase_add_test(tc, test_udp_batch_burst_from_many_sources);
	return s;
}

int
main(void)
{
	return harness_main(udp_batch_suite(), "check_udp_batch");
}
