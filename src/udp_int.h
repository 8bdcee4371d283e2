/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_UDP_INT_H
#define ECHOD_UDP_INT_H

/*
 * Internal to the UDP service (udp.c: sockets, the thread and echo;
 * udp_stamp.c: STAMP reflection; udp_cmsg.c, udp_reply.c and udp_send.c:
 * control data, reply layout and sending): the batch vectors and the
 * per-datagram steps both serve.  Not for other modules.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "echod/log.h"
#include "echod/udp.h"

/* Larger than any UDP payload (65,507 bytes on IPv4, 65,527 on IPv6). */
#define UDP_BUFSIZE		((size_t)64 * 1024)
/*
 * Datagrams per recvmmsg(2)/sendmmsg(2): one wake-up costs poll, one
 * receive and one send for up to this many.  Each slot has its own
 * maximal buffer (4 MiB of address space; only pages a datagram touched
 * become resident).
 */
#define UDP_BATCH		64
#define RATELIMIT_SECONDS	5
/* Datagrams Linux coalesces into one GRO buffer at most (UDP_GRO_CNT_MAX). */
#define UDP_GRO_SEGS		64
/* One reply message: segments (UDP_MAX_SEGMENTS before 6.x) and bytes. */
#define UDP_GSO_SEGS		64
#define UDP_GSO_BYTES		65507
/*
 * Beyond the loopback, a segment must fit the path MTU or the send fails
 * (EINVAL); 1500-byte Ethernet less the IP and UDP headers is safe.
 */
#define UDP_GSO_WIRE_V4		1472
#define UDP_GSO_WIRE_V6		1452
/* Every datagram of a batch, GRO buffers cut up: one iovec each. */
#define UDP_DATAGRAMS		((size_t)UDP_BATCH * UDP_GRO_SEGS)

/*
 * Control space aligned as the struct cmsghdr it holds, for both pktinfos
 * (a dual-stack socket gets an IPv4 datagram with both), UDP_GRO's or
 * UDP_SEGMENT's segment size, SO_RXQ_OVFL's drop count, and on STAMP
 * sockets the receive timestamp, the TTL and the TOS byte (or their IPv6
 * names).
 */
struct udp_cmsg {
	_Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
	    CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int)) +
	    CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec)) +
	    2 * CMSG_SPACE(sizeof(int))];
};

/* Where one datagram arrived: its IP_PKTINFO or IPV6_PKTINFO. */
struct udp_arrival {
	int			 family;	/* AF_UNSPEC: no pktinfo */
	unsigned		 ifindex;	/* 0: not known */
	bool			 on_loopback;	/* for the loop guard */
	size_t			 gro_size;	/* 0: one datagram */
	bool			 has_drops;	/* SO_RXQ_OVFL came */
	uint32_t		 drops;		/* the socket's drops so far */
	bool			 has_ts;	/* SO_TIMESTAMPNS came */
	struct timespec		 ts;		/* the kernel's receive time */
	int			 ttl;		/* TTL, Hop Limit; -1 */
	int			 tos;		/* TOS, Traffic Class; -1 */
	struct in_pktinfo	 pi4;
	struct in6_pktinfo	 pi6;
};

/* One reply message being built: datagrams to one peer from one address. */
struct udp_reply {
	int			 from;		/* its first datagram's message */
	size_t			 seg;		/* their size, all but the last */
	size_t			 bytes;
	unsigned		 segs;
	size_t			 pktinfo_len;	/* control before UDP_SEGMENT */
	bool			 open;		/* may take one more */
};

/* The receive and reply vectors of one batch; owned by the UDP thread. */
struct udp_batch {
	struct mmsghdr		 in[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH];
	struct sockaddr_storage	 peer[UDP_BATCH];
	struct udp_cmsg		 cin[UDP_BATCH];
	struct udp_arrival	 arr[UDP_BATCH];
	struct mmsghdr		 out[UDP_BATCH];
	struct udp_reply	 rep[UDP_BATCH];
	struct udp_cmsg		 cout[UDP_BATCH];
	struct iovec		 oiov[UDP_DATAGRAMS];
	int			 nout;		/* messages in out */
	size_t			 noiov;		/* iovecs used in oiov */
	char			*buf;		/* UDP_BATCH x UDP_BUFSIZE */
};

/*
 * Read what the control data of a received datagram says (destination,
 * GRO size, drops, and on STAMP sockets timestamp, TTL and TOS), and
 * whether it came in on the loopback interface lo_index.
 */
void	udp_arrival_read(const struct msghdr *in, struct udp_arrival *a,
	    unsigned lo_index);
/* The arrival's destination as the reply's source; control length or 0. */
size_t	udp_reply_pktinfo(const struct udp_arrival *a, struct udp_cmsg *out);
/* Log a drop now and then (rl), naming peer and why. */
void	udp_log_drop(struct log_ratelimit *rl, const struct sockaddr *peer,
	    const char *why);
/* Count a datagram the policy dropped (verdict v, rule) and log it. */
void	udp_count_drop(struct udp_service *u, enum udp_verdict v,
	    enum loopguard_verdict rule, const struct sockaddr *peer);
/* Count what a full receive buffer cost socket sock (SO_RXQ_OVFL). */
void	udp_count_overflow(struct udp_service *u, size_t sock,
	    const struct udp_arrival *a);
/*
 * Queue the reply to one datagram (len bytes at p) of received message i:
 * into the open message if it goes to the same peer from the same address
 * and fits its segments (same size, or shorter as the last one), else as
 * a new message, segmentable only if gso.  0, or -1 when a new message is
 * needed and the batch is full (send it, then add again).
 */
int	udp_reply_add(struct udp_batch *b, int i, char *p, size_t len, bool gso);
/* Close the queued messages: the segment size on those of several. */
void	udp_replies_seal(struct udp_batch *b);
/* Point the first n receive slots at their buffers. */
void	udp_batch_reset(struct udp_batch *b, size_t n);
/*
 * Send the replies queued in b (udp_send.c) from socket sock, descriptor
 * fd; empties the queue.
 */
void	udp_send_batch(struct udp_service *u, size_t sock, int fd,
	    struct udp_batch *b);
/*
 * Serve one batch of STAMP socket sock (udp_stamp.c); the messages
 * received.
 */
int	udp_stamp_batch(struct udp_service *u, size_t sock,
	    struct udp_batch *b, uint64_t now_ns);

#endif /* ECHOD_UDP_INT_H */
