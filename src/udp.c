/* SPDX-License-Identifier: MIT */
/*
 * The UDP service: one thread polls every UDP socket and sends each
 * datagram back to its sender, whole, from the address it arrived on
 * (IP_PKTINFO / IPV6_PKTINFO), so wildcard sockets answer correctly on
 * multi-homed hosts.  Datagrams come and go in batches (recvmmsg(2),
 * sendmmsg(2)), each with its own source address and pktinfo.  Replies
 * never block: a full send buffer drops the reply, as UDP may.
 *
 * The kernel's own batching is used both ways: a run of equal datagrams
 * one flow sent is received as one buffer (UDP_GRO) and consecutive replies
 * to one peer from one address leave as one message the kernel cuts into
 * the same datagrams (UDP_SEGMENT, udp(7)), one trip down the stack instead
 * of one per datagram.  Every datagram is still judged and counted alone.
 * STAMP sockets are served by the same thread (udp_stamp.c).
 */

#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <net/if.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/counters.h"
#include "echod/ipaddr.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/notify.h"
#include "echod/stamp_session.h"
#include "echod/udp.h"

#include "udp_int.h"

/* True if the datagram was sent to a loopback address (127/8, ::1). */
static bool
to_loopback(bool v6, const struct in6_pktinfo *pi6,
    const struct in_pktinfo *pi)
{
	const struct in6_addr *a = &pi6->ipi6_addr;

	if (v6)
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) &&
		    a->s6_addr[12] == 127);
	return (ntohl(pi->ipi_addr.s_addr) >> 24) == 127;
}

/* An int of control data: IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS. */
static int
cmsg_int(const struct cmsghdr *c)
{
	int	 v;

	if (c->cmsg_len < CMSG_LEN(sizeof(v)))
		return -1;
	memcpy(&v, CMSG_DATA(c), sizeof(v));
	return v >= 0 && v <= 255 ? v : -1;
}

/*
 * What a STAMP socket asked for: the receive timestamp, TTL and TOS (or
 * IPv6's names).  True if c was one of them.
 */
static bool
stamp_cmsg(const struct cmsghdr *c, struct udp_arrival *a)
{
	if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
	    c->cmsg_len >= CMSG_LEN(sizeof(a->ts))) {
		memcpy(&a->ts, CMSG_DATA(c), sizeof(a->ts));
		a->has_ts = true;
	} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
	    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
		a->ttl = cmsg_int(c);
	else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS &&
	    c->cmsg_len >= CMSG_LEN(1))
		a->tos = *CMSG_DATA(c);		/* one octet, not an int */
	else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
		a->tos = cmsg_int(c);
	else
		return false;
	return true;
}

/*
 * Read the destination of a received datagram out of its control data,
 * and whether it came in on the loopback interface lo_index.  The
 * interface is 0 for a datagram queued before the socket asked for it
 * (the one that started a socket-activated echod): then only a loopback
 * destination, which routing reaches through lo alone, says where it came
 * from.
 */
void
udp_arrival_read(const struct msghdr *in, struct udp_arrival *a, unsigned lo_index)
{
	struct cmsghdr *c;
	bool	 v4 = false, v6 = false;

	a->family = AF_UNSPEC;
	a->ifindex = 0;
	a->gro_size = 0;
	a->has_drops = a->has_ts = false;
	a->ttl = a->tos = -1;
	for (c = CMSG_FIRSTHDR(in); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		if (stamp_cmsg(c, a))
			continue;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			memcpy(&a->drops, CMSG_DATA(c), sizeof(a->drops));
			a->has_drops = true;
		} else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int	 gro;

			memcpy(&gro, CMSG_DATA(c), sizeof(gro));
			if (gro > 0)
				a->gro_size = (size_t)gro;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(a->pi4))) {
			memcpy(&a->pi4, CMSG_DATA(c), sizeof(a->pi4));
			v4 = true;
			if (a->ifindex == 0)
				a->ifindex = (unsigned)a->pi4.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(a->pi6))) {
			memcpy(&a->pi6, CMSG_DATA(c), sizeof(a->pi6));
			v6 = true;
			if (a->ifindex == 0)
				a->ifindex = a->pi6.ipi6_ifindex;
		}
	}
	/* An IPv6 socket answers with IPV6_PKTINFO, mapped or not. */
	if (v6) {
		a->family = AF_INET6;
		if (a->pi6.ipi6_ifindex == 0)
			a->pi6.ipi6_ifindex = a->ifindex;
	} else if (v4)
		a->family = AF_INET;
	a->on_loopback = (v4 || v6) && (a->ifindex != 0 ?
	    a->ifindex == lo_index : to_loopback(v6, &a->pi6, &a->pi4));
}

/*
 * Turn the destination of the received datagram into the source of the
 * reply.  Returns the control length to send, 0 if there is none.
 */
size_t
udp_reply_pktinfo(const struct udp_arrival *a, struct udp_cmsg *out)
{
	struct cmsghdr *o;
	struct in_pktinfo pi;

	memset(out, 0, sizeof(*out));
	o = (struct cmsghdr *)(void *)out->buf;
	switch (a->family) {
	case AF_INET:
		/* Source address only; let routing pick the link. */
		pi = a->pi4;
		pi.ipi_spec_dst = pi.ipi_addr;
		pi.ipi_ifindex = 0;
		o->cmsg_level = IPPROTO_IP;
		o->cmsg_type = IP_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(o), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	case AF_INET6:
		/* Keep the interface: link-local peers need it. */
		o->cmsg_level = IPPROTO_IPV6;
		o->cmsg_type = IPV6_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(a->pi6));
		memcpy(CMSG_DATA(o), &a->pi6, sizeof(a->pi6));
		return CMSG_SPACE(sizeof(a->pi6));
	default:
		return 0;
	}
}

/* Drops are a hostile peer's to repeat: rate-limited, never per packet. */
void
udp_log_drop(struct log_ratelimit *rl,
    const struct sockaddr *peer, const char *why)
{
	char	 addr[NET_ADDRSTRLEN];
	unsigned long suppressed;

	if (log_ratelimit_pass(rl, RATELIMIT_SECONDS, &suppressed))
		log_notice("udp %s: %s (%lu more like it not logged)",
		    net_format_addr(peer, addr, sizeof(addr)), why, suppressed);
}

/* Count a dropped datagram and say so now and then. */
void
udp_count_drop(struct udp_service *u, enum udp_verdict v,
    enum loopguard_verdict rule, const struct sockaddr *peer)
{
	static const char *const what[] = {
		[UDP_DROP_LOOP] = "dropped by udp_loop_guard",
		[UDP_DROP_ACL] = "dropped by allow/deny",
		[UDP_DROP_RATE] = "over udp_rate_per_source, dropped",
	};
	char	 why[96];

	udp_policy_count(&u->ctr, v, rule);
	if (v == UDP_DROP_LOOP)
		snprintf(why, sizeof(why), "%s (%s)", what[v],
		    loopguard_name(rule));
	else
		snprintf(why, sizeof(why), "%s", what[v]);
	udp_log_drop(&u->drop_rl[v], peer, why);
}

/*
 * Count what the kernel dropped on socket sock because its receive buffer
 * was full: SO_RXQ_OVFL hands the socket's running total with each
 * datagram once there was a drop; the counter takes the difference.  A
 * total below the last one is a new socket on a reused slot.
 */
void
udp_count_overflow(struct udp_service *u, size_t sock, const struct udp_arrival *a)
{
	uint32_t last = u->rxq_drops[sock];

	if (!a->has_drops || a->drops == last)
		return;
	counter_add(&u->ctr, CTR_UDP_DROPPED_RCVBUF,
	    a->drops > last ? a->drops - last : a->drops);
	u->rxq_drops[sock] = a->drops;
}

/* Remember which socket each drop total belongs to. */
static void
rxq_fds(struct udp_service *u, const struct listener *socks, size_t nsocks)
{
	size_t	 i;

	for (i = 0; i < ECHOD_UDP_MAX_SOCKS; i++)
		u->rxq_fd[i] = i < nsocks ? socks[i].fd : -1;
}

/* Point every receive slot at its buffer, address and control space. */
void
udp_batch_reset(struct udp_batch *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		b->iov[i] = (struct iovec){
			.iov_base = b->buf + i * UDP_BUFSIZE,
			.iov_len = UDP_BUFSIZE,
		};
		b->in[i].msg_hdr = (struct msghdr){
			.msg_name = &b->peer[i],
			.msg_namelen = sizeof(b->peer[i]),
			.msg_iov = &b->iov[i], .msg_iovlen = 1,
			.msg_control = b->cin[i].buf,
			.msg_controllen = sizeof(b->cin[i].buf),
		};
		b->in[i].msg_len = 0;
	}
}

/* Same peer, same arrival address: replies to both may share a message. */
static bool
same_flow(const struct udp_batch *b, int i, int j)
{
	const struct msghdr *x = &b->in[i].msg_hdr, *y = &b->in[j].msg_hdr;
	const struct udp_arrival *p = &b->arr[i], *q = &b->arr[j];

	if (i == j)
		return true;
	if (x->msg_namelen != y->msg_namelen || memcmp(x->msg_name,
	    y->msg_name, x->msg_namelen) != 0 || p->family != q->family)
		return false;
	if (p->family == AF_INET)
		return p->pi4.ipi_addr.s_addr == q->pi4.ipi_addr.s_addr;
	if (p->family == AF_INET6)
		return p->pi6.ipi6_ifindex == q->pi6.ipi6_ifindex &&
		    memcmp(&p->pi6.ipi6_addr, &q->pi6.ipi6_addr,
		    sizeof(p->pi6.ipi6_addr)) == 0;
	return true;
}

/* Close the reply messages: a segment size on each of several datagrams. */
static void
replies_seal(struct udp_batch *b)
{
	struct cmsghdr *c;
	struct msghdr *o;
	uint16_t seg;
	int	 k;

	for (k = 0; k < b->nout; k++) {
		o = &b->out[k].msg_hdr;
		o->msg_controllen = b->rep[k].pktinfo_len;
		if (b->rep[k].segs > 1) {
			c = (struct cmsghdr *)(void *)(b->cout[k].buf +
			    b->rep[k].pktinfo_len);
			c->cmsg_level = IPPROTO_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			seg = (uint16_t)b->rep[k].seg;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			o->msg_controllen += CMSG_SPACE(sizeof(seg));
		}
		o->msg_control = o->msg_controllen > 0 ? b->cout[k].buf : NULL;
	}
}

/*
 * A reply message the kernel would not segment (a path MTU below the
 * segment, a device or IPsec that cannot): send its datagrams one by one.
 * Returns how many went.
 */
static unsigned
send_split(struct udp_service *u, int fd, const struct msghdr *o,
    size_t pktinfo_len)
{
	struct msghdr m = *o;
	unsigned sent = 0;
	size_t	 i;

	m.msg_controllen = pktinfo_len;
	m.msg_control = pktinfo_len > 0 ? o->msg_control : NULL;
	m.msg_iovlen = 1;
	for (i = 0; i < o->msg_iovlen; i++) {
		m.msg_iov = &o->msg_iov[i];
		if (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			sent++;
			continue;
		}
		counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
		udp_log_drop(&u->send_rl, o->msg_name, log_errstr(errno));
	}
	return sent;
}

/* errno of a segmented send that one datagram at a time may not meet. */
static bool
segmentation_failed(int err)
{
	return err == EINVAL || err == EMSGSIZE || err == EIO ||
	    err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/*
 * Send the replies queued in b->out.  sendmmsg(2) stops at the first
 * failure and reports only how many went, so the failed one is retried
 * alone to learn its errno, counted and skipped; a segmented one that
 * failed for its segmentation goes again datagram by datagram.
 */
static void
udp_send_batch(struct udp_service *u, size_t sock, int fd, struct udp_batch *b)
{
	uint64_t bytes = 0, datagrams = 0;
	int	 i, off = 0, sent, n = b->nout;

	replies_seal(b);
	while (off < n) {
		sent = sendmmsg(fd, b->out + off, (unsigned)(n - off),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent == -1 && b->rep[off].segs > 1 &&
		    segmentation_failed(errno)) {
			/* The socket or its device cannot: never again here. */
			if (errno != EINVAL && errno != EMSGSIZE)
				u->gso_off[sock] = true;
			datagrams += send_split(u, fd, &b->out[off].msg_hdr,
			    b->rep[off].pktinfo_len);
			off++;
			continue;
		}
		if (sent == -1) {
			counter_add(&u->ctr, CTR_UDP_SEND_ERRORS,
			    b->rep[off].segs);
			udp_log_drop(&u->send_rl, b->out[off].msg_hdr.msg_name,
			    log_errstr(errno));
			off++;
			continue;
		}
		for (i = off; i < off + sent; i++) {
			bytes += b->out[i].msg_len;
			datagrams += b->rep[i].segs;
		}
		off += sent;
	}
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_OUT, datagrams);
	counter_add(&u->ctr, CTR_UDP_BYTES_OUT, bytes);
	b->nout = 0;
	b->noiov = 0;
}

/*
 * Queue the reply to one datagram (len bytes at p) of message i: into the
 * open message if it goes to the same peer from the same address and fits
 * its segments (same size, or shorter as the last one), else as a new one.
 */
static void
reply_add(struct udp_service *u, size_t sock, int fd, struct udp_batch *b,
    int i, char *p, size_t len)
{
	struct udp_reply *r = b->nout > 0 ? &b->rep[b->nout - 1] : NULL;
	const struct udp_arrival *a = &b->arr[i];
	struct msghdr *o;
	size_t	 wire;

	if (r != NULL && r->open && len > 0 && len <= r->seg &&
	    r->segs < UDP_GSO_SEGS && r->bytes + len <= UDP_GSO_BYTES &&
	    same_flow(b, r->from, i)) {
		b->oiov[b->noiov++] = (struct iovec){ p, len };
		b->out[b->nout - 1].msg_hdr.msg_iovlen++;
		r->bytes += len;
		r->segs++;
		r->open = len == r->seg;
		return;
	}
	if (b->nout == UDP_BATCH || b->noiov == UDP_DATAGRAMS)
		udp_send_batch(u, sock, fd, b);
	wire = a->family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(
	    &a->pi6.ipi6_addr) ? UDP_GSO_WIRE_V6 : UDP_GSO_WIRE_V4;
	r = &b->rep[b->nout];
	*r = (struct udp_reply){
		.from = i, .seg = len, .bytes = len, .segs = 1,
		.pktinfo_len = udp_reply_pktinfo(a, &b->cout[b->nout]),
		.open = len > 0 && !u->gso_off[sock] &&
		    (a->on_loopback || len <= wire),
	};
	b->oiov[b->noiov] = (struct iovec){ p, len };
	o = &b->out[b->nout].msg_hdr;
	*o = (struct msghdr){
		.msg_name = b->in[i].msg_hdr.msg_name,
		.msg_namelen = b->in[i].msg_hdr.msg_namelen,
		.msg_iov = &b->oiov[b->noiov], .msg_iovlen = 1,
	};
	b->out[b->nout].msg_len = 0;
	b->noiov++;
	b->nout++;
}

/*
 * Echo one batch from socket sock: one recvmmsg(2), the decision for each
 * datagram (a GRO buffer is cut into the datagrams it holds), the replies
 * in as few messages as they fit, one sendmmsg(2).  Returns how many
 * messages were received (0 when the socket was empty or failed).
 */
static int
udp_echo_batch(struct udp_service *u, size_t sock, struct udp_batch *b,
    uint64_t now_ns)
{
	const struct listener *l = &u->socks[sock];
	enum loopguard_verdict rule;
	enum udp_verdict v;
	struct ipaddr src;
	struct msghdr *m;
	uint16_t port;
	bool	 valid;
	int	 fd = l->fd;
	uint64_t bytes = 0, datagrams = 0;
	size_t	 off, len, seg, dlen;
	char	*p;
	int	 i, n;

	udp_batch_reset(b, UDP_BATCH);
	do
		n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		m = &b->in[i].msg_hdr;
		len = b->in[i].msg_len;
		bytes += len;
		udp_arrival_read(m, &b->arr[i], u->lo_index);
		udp_count_overflow(u, sock, &b->arr[i]);
		if (m->msg_flags & MSG_TRUNC) {
			datagrams++;
			continue;	/* cannot happen with 64 KiB slots */
		}
		/* One decode per message: its datagrams share the source. */
		valid = loopguard_decode(m->msg_name, m->msg_namelen,
		    l->addr.ss_family, &src, &port) == 0;
		seg = b->arr[i].gro_size > 0 ? b->arr[i].gro_size : len;
		p = b->iov[i].iov_base;
		off = 0;
		do {	/* once for an empty datagram */
			dlen = len - off < seg ? len - off : seg;
			datagrams++;
			if (valid)
				v = udp_policy_decide(&u->policy, &src, port,
				    b->arr[i].on_loopback, now_ns, &rule);
			else {
				v = UDP_DROP_LOOP;
				rule = LOOPGUARD_BAD_FAMILY;
			}
			if (v == UDP_PASS)
				reply_add(u, sock, fd, b, i, p + off, dlen);
			else
				udp_count_drop(u, v, rule, m->msg_name);
			off += dlen;
		} while (off < len);
	}
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_IN, datagrams);
	counter_add(&u->ctr, CTR_UDP_BYTES_IN, bytes);
	if (b->nout > 0)
		udp_send_batch(u, sock, fd, b);
	return n;
}

/* Poll these sockets and the wake-up eventfd (last); the count. */
static size_t
poll_set(struct pollfd *pfd, const struct udp_service *u)
{
	size_t	 i;

	for (i = 0; i < u->nsocks; i++)
		pfd[i] = (struct pollfd){ .fd = u->socks[i].fd, .events = POLLIN };
	pfd[i] = (struct pollfd){ .fd = u->wake_fd, .events = POLLIN };
	return i;
}

/*
 * The eventfd fired: stop, or park while the main thread changes the
 * sockets (it may close the ones polled here), then take the new set.
 * Returns false when the thread must exit.
 */
static bool
handle_wake(struct udp_service *u, struct pollfd *pfd, size_t *n)
{
	uint64_t v;
	bool	 run;

	while (read(u->wake_fd, &v, sizeof(v)) == -1 && errno == EINTR)
		;
	pthread_mutex_lock(&u->lock);
	if (u->pause_req && !u->stop) {
		u->paused = true;
		pthread_cond_broadcast(&u->cond);
		while (u->pause_req && !u->stop)
			pthread_cond_wait(&u->cond, &u->lock);
		u->paused = false;
	}
	run = !u->stop;
	*n = poll_set(pfd, u);
	pthread_mutex_unlock(&u->lock);
	return run;
}

static void *
udp_thread(void *arg)
{
	struct udp_service *u = arg;
	struct pollfd pfd[ECHOD_UDP_MAX_SOCKS + 1];
	struct timespec ts;
	uint64_t now_ns;
	size_t	 i, n;
	/* Wake at least 4 times per watchdog interval to show we live. */
	long long wd = notify_watchdog_interval_ms();
	int	 timeout = wd > 0 ? (int)(wd / 4 > 0 ? wd / 4 : 1) : -1;

	pthread_mutex_lock(&u->lock);
	n = poll_set(pfd, u);
	pthread_mutex_unlock(&u->lock);
	for (;;) {
		atomic_fetch_add_explicit(&u->heartbeat, 1, memory_order_relaxed);
		if (poll(pfd, n + 1, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_err("udp: poll");
			break;
		}
		if (pfd[n].revents != 0 && !handle_wake(u, pfd, &n))
			break;
		/* One clock read a wake-up: the rate limit needs no finer. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
		    (uint64_t)ts.tv_nsec;
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			/*
			 * One batch each, so a busy socket cannot starve the
			 * others; a short batch means the socket is drained,
			 * so no receive is spent just to hear EAGAIN.
			 */
			if (u->socks[i].stamp)
				(void)udp_stamp_batch(u, i, u->batch, now_ns);
			else
				(void)udp_echo_batch(u, i, u->batch, now_ns);
		}
	}
	return NULL;
}

static void
wake(struct udp_service *u)
{
	uint64_t one = 1;

	/* An eventfd write of 1 cannot fail short of a bug. */
	while (write(u->wake_fd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

/* Release what udp_service_start() set up: its failure path and stop. */
static void
udp_service_release(struct udp_service *u)
{
	if (u->wake_fd != -1)
		close(u->wake_fd);
	u->wake_fd = -1;
	if (u->batch != NULL)
		free(u->batch->buf);
	free(u->batch);
	u->batch = NULL;
	stamp_sessions_free(&u->sessions);
	explicit_bzero(&u->policy.stamp.key, sizeof(u->policy.stamp.key));
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
}

int
udp_service_start(struct udp_service *u, const struct listener *socks,
    size_t nsocks, struct counters *counters, const struct udp_policy *p)
{
	pthread_condattr_t ca;
	uint8_t	 secret[16];
	int	 rc;

	memset(u, 0, sizeof(*u));
	u->wake_fd = -1;
	u->socks = socks;
	u->nsocks = nsocks < ECHOD_UDP_MAX_SOCKS ? nsocks : ECHOD_UDP_MAX_SOCKS;
	u->counters = counters;
	u->policy = *p;
	/* pktinfo names the arrival interface; 127/8 is fine only on lo. */
	u->lo_index = if_nametoindex("lo");
	rxq_fds(u, socks, u->nsocks);
	atomic_init(&u->heartbeat, 1);
	if ((rc = pthread_mutex_init(&u->lock, NULL)) != 0) {
		errno = rc;
		log_err("udp: cannot set up the service");
		return -1;
	}
	if ((rc = pthread_condattr_init(&ca)) == 0) {
		rc = pthread_cond_init(&u->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		errno = rc;
		log_err("udp: cannot set up the service");
		pthread_mutex_destroy(&u->lock);
		return -1;
	}
	if ((u->batch = calloc(1, sizeof(*u->batch))) == NULL ||
	    (u->batch->buf = malloc(UDP_BATCH * UDP_BUFSIZE)) == NULL) {
		log_err("udp: cannot allocate the datagram buffers");
		goto fail;
	}
	if ((u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_err("udp: eventfd");
		goto fail;
	}
	/* The stateful STAMP sessions: fixed, keyed by a secret. */
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret) ||
	    stamp_sessions_init(&u->sessions, secret) == -1) {
		log_err("udp: cannot set up the STAMP session table");
		goto fail;
	}
	counters_attach(counters, &u->ctr);
	if ((rc = pthread_create(&u->thread, NULL, udp_thread, u)) != 0) {
		errno = rc;
		log_err("udp: cannot start the service thread");
		counters_detach(counters, &u->ctr);
		goto fail;
	}
	u->running = true;
	return 0;
fail:
	udp_service_release(u);
	return -1;
}

void
udp_service_pause(struct udp_service *u)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->pause_req = true;
	wake(u);
	while (!u->paused)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

void
udp_service_resume(struct udp_service *u, const struct listener *socks,
    size_t nsocks)
{
	uint32_t drops[ECHOD_UDP_MAX_SOCKS];
	size_t	 i, j;

	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	/* A kept socket keeps its drop total; a new one starts at 0. */
	for (i = 0; i < ECHOD_UDP_MAX_SOCKS; i++)
		drops[i] = 0;
	for (i = 0; i < nsocks && i < ECHOD_UDP_MAX_SOCKS; i++)
		for (j = 0; j < ECHOD_UDP_MAX_SOCKS; j++)
			if (u->rxq_fd[j] == socks[i].fd)
				drops[i] = u->rxq_drops[j];
	memcpy(u->rxq_drops, drops, sizeof(drops));
	rxq_fds(u, socks, nsocks);
	u->socks = socks;
	u->nsocks = nsocks < ECHOD_UDP_MAX_SOCKS ? nsocks : ECHOD_UDP_MAX_SOCKS;
	memset(u->gso_off, 0, sizeof(u->gso_off));
	u->pause_req = false;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

unsigned long long
udp_service_heartbeat(struct udp_service *u)
{
	return u->running ? atomic_load_explicit(&u->heartbeat,
	    memory_order_relaxed) : 0;
}

void
udp_service_resume_with(struct udp_service *u, const struct listener *socks,
    size_t nsocks, const struct udp_policy *p)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->policy = *p;
	pthread_mutex_unlock(&u->lock);
	udp_service_resume(u, socks, nsocks);
}

void
udp_service_stop(struct udp_service *u)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	wake(u);
	pthread_join(u->thread, NULL);
	counters_detach(u->counters, &u->ctr);
	udp_service_release(u);
	u->running = false;
}
