/* SPDX-License-Identifier: MIT */
/*
 * check_udp_gso: the kernel's UDP batching.  A client that sends a run of
 * datagrams as one UDP_SEGMENT message reaches echod as one UDP_GRO
 * buffer; each datagram in it must come back whole and apart, with its own
 * size and bytes, judged by the rate limit one by one and counted one by
 * one.  Replies echod coalesces must keep the boundaries a client that
 * takes GRO buffers sees, and runs of mixed sizes must not merge.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define SEGS		40	/* full segments in the message */
#define SEG		100
#define TAIL		37	/* the shorter last one */

static int
client(int port, bool gro)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int	 fd, one = 1;

	ck_assert((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	if (gro)
		ck_assert_msg(setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one,
		    sizeof(one)) == 0, "UDP_GRO: %s", harness_error());
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ck_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

/* Datagram i of the run: SEG bytes, TAIL for the last, its own pattern. */
static size_t
segment(int i, int nseg, unsigned char *buf)
{
	size_t	 len = i == nseg ? TAIL : SEG;

	harness_fill(buf, len, 7000 + (uint64_t)i);
	return len;
}

/* nseg full segments and the tail in one UDP_SEGMENT message. */
static void
send_segmented(int fd, int nseg)
{
	static unsigned char data[(SEGS + 1) * SEG];
	union {
		char	 buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} c;
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	uint16_t seg = SEG;
	size_t	 len = 0;
	int	 i;

	for (i = 0; i <= nseg; i++)
		len += segment(i, nseg, &data[len]);
	iov = (struct iovec){ data, len };
	h->cmsg_level = IPPROTO_UDP;
	h->cmsg_type = UDP_SEGMENT;
	h->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(h), &seg, sizeof(seg));
	ck_assert_msg(sendmsg(fd, &m, 0) == (ssize_t)iov.iov_len,
	    "sendmsg with UDP_SEGMENT: %s", harness_error());
}

/* Receive n datagrams one by one and check each against segment(). */
static void
expect_segments(int fd, int first, int count, int nseg)
{
	unsigned char want[SEG], got[65536];
	size_t	 len;
	ssize_t	 n;
	int	 i;

	for (i = first; i < first + count; i++) {
		len = segment(i, nseg, want);
		n = udp_recv(fd, got, sizeof(got), HARNESS_IO_MS);
		ck_assert_msg(n == (ssize_t)len && memcmp(got, want, len) == 0,
		    "datagram %d: expected %zu bytes, got %zd (%s)", i, len, n,
		    n == -1 ? harness_error() : "other bytes");
	}
}

START_TEST(test_segmented_message_comes_back_as_datagrams)
{
	struct daemon d = DAEMON_INIT;
	unsigned char got[64];
	int	 fd;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"127.0.0.1\"}\n"
	    "udp = true\n") == 0, "%s", harness_error());
	fd = client(d.port, false);
	send_segmented(fd, SEGS);
	expect_segments(fd, 0, SEGS + 1, SEGS);
	/* Nothing more: no datagram twice, none merged. */
	ck_assert_int_eq(udp_recv(fd, got, sizeof(got), 200), -1);
	ck_assert_uint_eq(counter_ok(&d, "udp_datagrams_in"), SEGS + 1);
	/* Counted once sendmmsg(2) returns: maybe after the client has it. */
	counter_wait_ok(&d, "udp_datagrams_out", SEGS + 1);
	counter_wait_ok(&d, "udp_bytes_out", SEGS * SEG + TAIL);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * A client that takes GRO buffers gets the replies in as few buffers as
 * the kernel likes, but each with the segment size that cuts it back into
 * exactly the datagrams sent.
 */
START_TEST(test_gro_client_sees_the_same_boundaries)
{
	static unsigned char got[65536];
	unsigned char want[SEG];
	union {
		char	 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct daemon d = DAEMON_INIT;
	struct iovec iov = { got, sizeof(got) };
	struct msghdr m;
	struct pollfd pfd;
	struct cmsghdr *h;
	size_t	 off, len, seg;
	ssize_t	 n;
	int	 fd, i = 0, gro;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"127.0.0.1\"}\n"
	    "udp = true\n") == 0, "%s", harness_error());
	fd = client(d.port, true);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	send_segmented(fd, SEGS);
	while (i <= SEGS) {
		m = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
		    .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
		ck_assert_msg(poll(&pfd, 1, HARNESS_IO_MS) == 1,
		    "datagram %d did not come back", i);
		ck_assert((n = recvmsg(fd, &m, MSG_DONTWAIT)) >= 0);
		seg = (size_t)n;
		for (h = CMSG_FIRSTHDR(&m); h != NULL; h = CMSG_NXTHDR(&m, h))
			if (h->cmsg_level == IPPROTO_UDP &&
			    h->cmsg_type == UDP_GRO) {
				memcpy(&gro, CMSG_DATA(h), sizeof(gro));
				seg = (size_t)gro;
			}
		for (off = 0; off < (size_t)n; off += len, i++) {
			ck_assert_msg(i <= SEGS, "more bytes than were sent");
			len = segment(i, SEGS, want);
			ck_assert_msg((size_t)n - off >= len &&
			    (i == SEGS || seg == len) &&
			    memcmp(got + off, want, len) == 0,
			    "datagram %d: segment size %zu, %zd bytes at %zu "
			    "(expected %zu)", i, seg, n, off, len);
		}
	}
	counter_wait_ok(&d, "udp_datagrams_out", SEGS + 1);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* The rate limit spends one token a datagram, not one a buffer. */
START_TEST(test_rate_limit_counts_each_segment)
{
	struct daemon d = DAEMON_INIT;
	unsigned char got[64];
	int	 fd;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"127.0.0.1\"}\n"
	    "udp = true\nudp_rate_per_source = 1\nudp_rate_burst = 5\n") == 0,
	    "%s", harness_error());
	fd = client(d.port, false);
	send_segmented(fd, SEGS);
	expect_segments(fd, 0, 5, SEGS);
	ck_assert_int_eq(udp_recv(fd, got, sizeof(got), 200), -1);
	ck_assert_uint_eq(counter_ok(&d, "udp_datagrams_in"), SEGS + 1);
	counter_wait_ok(&d, "udp_datagrams_out", 5);
	ck_assert_uint_eq(counter_ok(&d, "udp_dropped_rate_limit"),
	    SEGS + 1 - 5);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * Plain datagrams of changing sizes in one burst: replies echod puts in
 * one message must not swallow a longer one or cross a size change.
 */
START_TEST(test_mixed_sizes_stay_apart)
{
	static const size_t sizes[] = { 64, 64, 64, 10, 64, 200, 200, 1,
	    0, 0, 300, 300, 299, 300, 1472, 1472, 1473, 65507, 64 };
	static unsigned char want[65507], got[65536];
	struct daemon d = DAEMON_INIT;
	size_t	 i, len;
	ssize_t	 n;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"127.0.0.1\"}\n"
	    "udp = true\n") == 0, "%s", harness_error());
	fd = client(d.port, false);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		harness_fill(want, sizes[i], 500 + i);
		ck_assert_int_eq(send(fd, want, sizes[i], 0),
		    (ssize_t)sizes[i]);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		len = sizes[i];
		harness_fill(want, len, 500 + i);
		n = udp_recv(fd, got, sizeof(got), HARNESS_IO_MS);
		ck_assert_msg(n == (ssize_t)len && memcmp(got, want, len) == 0,
		    "datagram %zu: expected %zu bytes, got %zd (%s)", i, len,
		    n, n == -1 ? harness_error() : "other bytes");
	}
	counter_wait_ok(&d, "udp_datagrams_out", sizeof(sizes) / sizeof(sizes[0]));
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
udp_gso_suite(void)
{
	Suite	*s = suite_create("udp_gso");
	TCase	*tc = tcase_new(s, "segments", 60);

	tcase_add_test(tc, test_segmented_message_comes_back_as_datagrams);
	tcase_add_test(tc, test_gro_client_sees_the_same_boundaries);
	tcase_add_test(tc, test_rate_limit_counts_each_segment);
	tcase_add_test(tc, test_mixed_sizes_stay_apart);
	return s;
}

int
main(void)
{
	return harness_main(udp_gso_suite(), "check_udp_gso");
}
