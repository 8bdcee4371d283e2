/* SPDX-License-Identifier: MIT */
/*
 * The UDP thread's STAMP sockets (RFC 8762, RFC 8972): each test packet
 * through the same loop guard, ACL and rate limit as echo, T2 from the
 * kernel's timestamp of that datagram, the reply built in place by
 * stamp.c, T3 read right before the reply's own sendmsg(2).
 */

#include <sys/socket.h>
#include <sys/timex.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "echod/counters.h"
#include "echod/ipaddr.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/stamp.h"
#include "echod/stamp_session.h"
#include "echod/udp.h"
#include "udp_int.h"

/*
 * The kernel's clock state for STAMP's Error Estimate (RFC 8762 §4.2.1):
 * synchronized or not, and its estimated error, read at most once a
 * second (adjtimex(2) only reads with modes 0).
 */
static void
stamp_clock(struct udp_service *u, uint64_t now_ns)
{
	struct timex tx = { .modes = 0 };
	int	 state;

	if (u->stamp_clock_ns != 0 && now_ns - u->stamp_clock_ns < 1000000000)
		return;
	u->stamp_clock_ns = now_ns;
	state = adjtimex(&tx);
	if (state == -1 && !u->stamp_clock_warned) {
		/* systemd's ProtectClock= filters even a read. */
		log_warn("stamp: cannot read the clock state; the Error "
		    "Estimate says not synchronized");
		u->stamp_clock_warned = true;
	}
	u->stamp_synced = state != -1 && state != TIME_ERROR &&
	    !(tx.status & STA_UNSYNC);
	u->stamp_err = stamp_error_estimate(u->stamp_synced,
	    state != -1 ? tx.esterror : 16000000);
}

/*
 * Send one STAMP reply: T3 is read here, right before the reply is handed
 * to the kernel, so each reply has its own (a batched send would give a
 * whole batch one T3, or T3s earlier than the sends they describe).
 */
static void
stamp_send(struct udp_service *u, int fd, struct udp_batch *b, int i,
    size_t len, int tos, const struct ipaddr *src)
{
	struct msghdr m = {
		.msg_name = b->in[i].msg_hdr.msg_name,
		.msg_namelen = b->in[i].msg_hdr.msg_namelen,
		.msg_iov = &b->iov[i], .msg_iovlen = 1,
	};
	struct udp_cmsg *c = &b->cout[0];
	struct cmsghdr *h;
	struct timespec ts;
	size_t	 clen;
	/*
	 * src counts a mapped sender as IPv4: a dual-stack socket's reply to
	 * it takes its TOS from IP_TOS; Linux ignores IPV6_TCLASS there.
	 */
	bool	 v4 = src->family == AF_INET;

	b->iov[i].iov_len = len;
	clen = udp_reply_pktinfo(&b->arr[i], c);
	/* Class of Service TLV: the reply carries the DSCP1 asked for. */
	if (tos >= 0 && b->arr[i].family != AF_UNSPEC) {
		h = (struct cmsghdr *)(void *)(c->buf + clen);
		h->cmsg_level = v4 ? IPPROTO_IP : IPPROTO_IPV6;
		h->cmsg_type = v4 ? IP_TOS : IPV6_TCLASS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &tos, sizeof(tos));
		clen += CMSG_SPACE(sizeof(int));
	}
	m.msg_control = clen > 0 ? c->buf : NULL;
	m.msg_controllen = clen;
	clock_gettime(CLOCK_REALTIME, &ts);
	stamp_finish(&u->policy.stamp, b->iov[i].iov_base, len,
	    stamp_ntp(&ts));
	while (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		if (errno == EINTR)
			continue;
		counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
		udp_log_drop(&u->send_rl, m.msg_name, log_errstr(errno));
		return;
	}
	counter_add(&u->ctr, CTR_STAMP_REFLECTED, 1);
}

/*
 * Reflect one STAMP test packet (message i) that the policy let through:
 * T2 from the kernel's timestamp of this datagram, the session's numbers
 * in stateful mode, the reply built in place, then sent alone.
 */
static void
stamp_packet(struct udp_service *u, size_t sock, struct udp_batch *b, int i,
    const struct ipaddr *src, uint16_t port, uint64_t now_ns)
{
	const struct stamp_params *par = &u->policy.stamp;
	const struct udp_arrival *a = &b->arr[i];
	struct stamp_session_info si = { .stateful = false };
	struct stamp_session_key key;
	struct stamp_request rq;
	struct stamp_result res;
	struct stamp_rx rx;
	struct timespec now;
	uint8_t	*p = b->iov[i].iov_base;
	size_t	 len = b->in[i].msg_len;

	if (stamp_peek(p, len, par->key.len > 0, &rq) == -1) {
		counter_add(&u->ctr, CTR_STAMP_DROPPED_SHORT, 1);
		return;
	}
	if (!a->has_ts)		/* cannot happen with SO_TIMESTAMPNS on */
		clock_gettime(CLOCK_REALTIME, &now);
	rx = (struct stamp_rx){
		.t2 = stamp_ntp(a->has_ts ? &a->ts : &now),
		.err = u->stamp_err, .synced = u->stamp_synced,
		.ttl = a->ttl, .tos = a->tos,
	};
	if (par->stateful) {
		/* Only a packet that will be answered counts in a session. */
		if (par->key.len > 0 && stamp_reflect_check(par, p, len) !=
		    STAMP_REFLECT)
			goto reflect;
		memset(&key, 0, sizeof(key));
		key.src = *src;
		key.sport = port;
		key.dport = net_addr_port((const struct sockaddr *)
		    &u->socks[sock].addr);
		key.ssid = rq.ssid;
		if (a->family == AF_INET)
			(void)ipaddr_from_bytes(&key.dst, AF_INET,
			    &a->pi4.ipi_addr);
		else if (a->family == AF_INET6)
			(void)ipaddr_from_bytes(&key.dst, AF_INET6,
			    &a->pi6.ipi6_addr);
		if (stamp_sessions_next(&u->sessions, &key, now_ns, &si))
			counter_add(&u->ctr, CTR_STAMP_SESSIONS_EVICTED, 1);
	}
reflect:
	switch (stamp_reflect(par, p, len, &rx, &si, &res)) {
	case STAMP_DROP_SHORT:
		counter_add(&u->ctr, CTR_STAMP_DROPPED_SHORT, 1);
		return;
	case STAMP_DROP_AUTH:
		counter_add(&u->ctr, CTR_STAMP_DROPPED_AUTH, 1);
		udp_log_drop(&u->stamp_rl, b->in[i].msg_hdr.msg_name,
		    "stamp: HMAC does not verify, dropped");
		return;
	case STAMP_REFLECT:
		break;
	}
	counter_add(&u->ctr, CTR_STAMP_TLV_UNKNOWN, res.unknown);
	if (res.malformed)
		counter_add(&u->ctr, CTR_STAMP_TLV_MALFORMED, 1);
	if (res.integrity)
		counter_add(&u->ctr, CTR_STAMP_TLV_INTEGRITY, 1);
	stamp_send(u, u->socks[sock].fd, b, i, len, res.reply_tos, src);
}

/*
 * Serve one batch of a STAMP socket: one recvmmsg(2), then each packet
 * through the same loop guard, ACL and rate limit as echo, in the same
 * order, and reflected with its own sendmsg(2).  Returns the messages
 * received.
 */
int
udp_stamp_batch(struct udp_service *u, size_t sock, struct udp_batch *b,
    uint64_t now_ns)
{
	const struct listener *l = &u->socks[sock];
	enum loopguard_verdict rule;
	enum udp_verdict v;
	struct ipaddr src;
	struct msghdr *m;
	uint16_t port;
	int	 i, n;

	udp_batch_reset(b, UDP_BATCH);
	do
		n = recvmmsg(l->fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	stamp_clock(u, now_ns);
	counter_add(&u->ctr, CTR_STAMP_PACKETS_IN, (uint64_t)n);
	for (i = 0; i < n; i++) {
		m = &b->in[i].msg_hdr;
		udp_arrival_read(m, &b->arr[i], u->lo_index);
		udp_count_overflow(u, sock, &b->arr[i]);
		if (m->msg_flags & MSG_TRUNC)
			continue;	/* cannot happen with 64 KiB slots */
		if (loopguard_decode(m->msg_name, m->msg_namelen,
		    l->addr.ss_family, &src, &port) == -1) {
			udp_count_drop(u, UDP_DROP_LOOP, LOOPGUARD_BAD_FAMILY,
			    m->msg_name);
			continue;
		}
		v = udp_policy_decide(&u->policy, &src, port,
		    b->arr[i].on_loopback, now_ns, &rule);
		if (v != UDP_PASS) {
			udp_count_drop(u, v, rule, m->msg_name);
			continue;
		}
		stamp_packet(u, sock, b, i, &src, port, now_ns);
	}
	return n;
}
