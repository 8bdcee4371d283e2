/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for udp_reply.c, the UDP reply batching: which replies share
 * one UDP_SEGMENT message (same peer, same arrival address, same size but
 * a shorter last one), where a new message starts, the limits of a
 * message and of a batch, and the control data each message ends with.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/udp_int.h"

#include "suite.h"

static struct udp_batch *b;
static char payload[UDP_GSO_BYTES];

static void
setup(void)
{
	ck_assert_ptr_nonnull(b = calloc(1, sizeof(*b)));
	udp_batch_reset(b, UDP_BATCH);
}

static void
teardown(void)
{
	free(b);
}

/* Received message i came from peer:port to dst (on loopback or not). */
static void
received(int i, const char *peer, int port, const char *dst, bool lo)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&b->peer[i];

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, peer, &sin->sin_addr), 1);
	b->in[i].msg_hdr.msg_namelen = sizeof(*sin);
	memset(&b->arr[i], 0, sizeof(b->arr[i]));
	b->arr[i].family = AF_INET;
	b->arr[i].on_loopback = lo;
	ck_assert_int_eq(inet_pton(AF_INET, dst, &b->arr[i].pi4.ipi_addr), 1);
}

/* The UDP_SEGMENT size of sealed message k, or 0 if it has none. */
static unsigned
segment_of(int k)
{
	struct msghdr *o = &b->out[k].msg_hdr;
	struct cmsghdr *c;
	uint16_t seg;

	for (c = CMSG_FIRSTHDR(o); c != NULL; c = CMSG_NXTHDR(o, c))
		if (c->cmsg_level == IPPROTO_UDP &&
		    c->cmsg_type == UDP_SEGMENT) {
			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			return seg;
		}
	return 0;
}

START_TEST(test_one_flow_one_message)
{
	int	 i;

	for (i = 0; i < 5; i++) {
		received(i, "192.0.2.1", 4000, "198.51.100.1", false);
		ck_assert_int_eq(udp_reply_add(b, i, payload, 100, true), 0);
	}
	/* The last one shorter: still the same message, which it closes. */
	received(5, "192.0.2.1", 4000, "198.51.100.1", false);
	ck_assert_int_eq(udp_reply_add(b, 5, payload, 40, true), 0);
	received(6, "192.0.2.1", 4000, "198.51.100.1", false);
	ck_assert_int_eq(udp_reply_add(b, 6, payload, 40, true), 0);
	udp_replies_seal(b);
	ck_assert_int_eq(b->nout, 2);
	ck_assert_uint_eq(b->out[0].msg_hdr.msg_iovlen, 6);
	ck_assert_uint_eq(b->rep[0].bytes, 540);
	ck_assert_uint_eq(segment_of(0), 100);
	/* A message of one datagram needs no segment size. */
	ck_assert_uint_eq(b->out[1].msg_hdr.msg_iovlen, 1);
	ck_assert_uint_eq(segment_of(1), 0);
	/* Each replies from where its datagram arrived. */
	ck_assert_ptr_nonnull(CMSG_FIRSTHDR(&b->out[0].msg_hdr));
	ck_assert_int_eq(CMSG_FIRSTHDR(&b->out[0].msg_hdr)->cmsg_type,
	    IP_PKTINFO);
}
END_TEST

START_TEST(test_other_peer_or_address_new_message)
{
	received(0, "192.0.2.1", 4000, "198.51.100.1", false);
	received(1, "192.0.2.1", 4001, "198.51.100.1", false);	/* port */
	received(2, "192.0.2.1", 4001, "198.51.100.2", false);	/* to */
	received(3, "192.0.2.1", 4001, "198.51.100.2", false);
	ck_assert_int_eq(udp_reply_add(b, 0, payload, 64, true), 0);
	ck_assert_int_eq(udp_reply_add(b, 1, payload, 64, true), 0);
	ck_assert_int_eq(udp_reply_add(b, 2, payload, 64, true), 0);
	ck_assert_int_eq(udp_reply_add(b, 3, payload, 64, true), 0);
	ck_assert_int_eq(b->nout, 3);
	ck_assert_uint_eq(b->out[2].msg_hdr.msg_iovlen, 2);
	ck_assert_ptr_eq(b->out[0].msg_hdr.msg_name, &b->peer[0]);
	ck_assert_ptr_eq(b->out[1].msg_hdr.msg_name, &b->peer[1]);
}
END_TEST

START_TEST(test_longer_starts_new_message)
{
	received(0, "192.0.2.1", 4000, "198.51.100.1", true);
	received(1, "192.0.2.1", 4000, "198.51.100.1", true);
	ck_assert_int_eq(udp_reply_add(b, 0, payload, 64, true), 0);
	ck_assert_int_eq(udp_reply_add(b, 1, payload, 65, true), 0);
	ck_assert_int_eq(b->nout, 2);
}
END_TEST

/* Without segmentation (a socket that failed it), one datagram each. */
START_TEST(test_no_gso_one_each)
{
	received(0, "192.0.2.1", 4000, "198.51.100.1", true);
	received(1, "192.0.2.1", 4000, "198.51.100.1", true);
	ck_assert_int_eq(udp_reply_add(b, 0, payload, 64, false), 0);
	ck_assert_int_eq(udp_reply_add(b, 1, payload, 64, false), 0);
	ck_assert_int_eq(b->nout, 2);
	/* Empty datagrams are never segmented either. */
	received(2, "192.0.2.1", 4000, "198.51.100.1", true);
	received(3, "192.0.2.1", 4000, "198.51.100.1", true);
	ck_assert_int_eq(udp_reply_add(b, 2, payload, 0, true), 0);
	ck_assert_int_eq(udp_reply_add(b, 3, payload, 0, true), 0);
	ck_assert_int_eq(b->nout, 4);
}
END_TEST

/* Off the loopback a segment must fit a 1500-byte path. */
START_TEST(test_wire_size_off_loopback)
{
	received(0, "192.0.2.1", 4000, "198.51.100.1", false);
	received(1, "192.0.2.1", 4000, "198.51.100.1", false);
	ck_assert_int_eq(udp_reply_add(b, 0, payload, UDP_GSO_WIRE_V4 + 1,
	    true), 0);
	ck_assert_int_eq(udp_reply_add(b, 1, payload, UDP_GSO_WIRE_V4 + 1,
	    true), 0);
	ck_assert_int_eq(b->nout, 2);
	received(2, "192.0.2.1", 4000, "127.0.0.1", true);
	received(3, "192.0.2.1", 4000, "127.0.0.1", true);
	ck_assert_int_eq(udp_reply_add(b, 2, payload, UDP_GSO_WIRE_V4 + 1,
	    true), 0);
	ck_assert_int_eq(udp_reply_add(b, 3, payload, UDP_GSO_WIRE_V4 + 1,
	    true), 0);
	ck_assert_int_eq(b->nout, 3);
}
END_TEST

/* A message holds UDP_GSO_SEGS datagrams and UDP_GSO_BYTES at most. */
START_TEST(test_message_limits)
{
	int	 i;

	received(0, "192.0.2.1", 4000, "127.0.0.1", true);
	for (i = 0; i < UDP_GSO_SEGS + 1; i++)
		ck_assert_int_eq(udp_reply_add(b, 0, payload, 10, true), 0);
	ck_assert_int_eq(b->nout, 2);
	ck_assert_uint_eq(b->rep[0].segs, UDP_GSO_SEGS);
	b->nout = 0;
	b->noiov = 0;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(udp_reply_add(b, 0, payload, 30000, true), 0);
	/* 60,000 bytes fit one message, 90,000 do not. */
	ck_assert_int_eq(b->nout, 2);
	ck_assert_uint_le(b->rep[0].bytes, UDP_GSO_BYTES);
}
END_TEST

/* A full batch says so, and takes nothing. */
START_TEST(test_batch_full)
{
	int	 i;

	for (i = 0; i < UDP_BATCH; i++) {
		received(i, "192.0.2.1", 4000 + i, "127.0.0.1", true);
		ck_assert_int_eq(udp_reply_add(b, i, payload, 8, true), 0);
	}
	ck_assert_int_eq(b->nout, UDP_BATCH);
	ck_assert_int_eq(udp_reply_add(b, 0, payload, 9, true), -1);
	ck_assert_int_eq(b->nout, UDP_BATCH);
	/* The open message may still take one of its own flow. */
	ck_assert_int_eq(udp_reply_add(b, UDP_BATCH - 1, payload, 8, true),
	    0);
}
END_TEST

static Suite *
udp_reply_suite(void)
{
	Suite	*s = suite_create("udp_reply");
	TCase	*tc = tcase_create("batching");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_flow_one_message);
	tcase_add_test(tc, test_other_peer_or_address_new_message);
	tcase_add_test(tc, test_longer_starts_new_message);
	tcase_add_test(tc, test_no_gso_one_each);
	tcase_add_test(tc, test_wire_size_off_loopback);
	tcase_add_test(tc, test_message_limits);
	tcase_add_test(tc, test_batch_full);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(udp_reply_suite());
}
