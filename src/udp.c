/* SPDX-License-Identifier: MIT */
/*
 * The UDP service: one thread polls every UDP socket and sends each
 * datagram back to its sender, whole, from the address it arrived on
 * (IP_PKTINFO / IPV6_PKTINFO), so wildcard sockets answer correctly on
 * multi-homed hosts.  Datagrams come and go in batches (recvmmsg(2),
 * sendmmsg(2)), each with its own source address and pktinfo.  Replies
 * never block: a full send buffer drops the reply, as UDP may.
 */

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
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
#include "echod/log.h"
#include "echod/net.h"
#include "echod/notify.h"
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

/*
 * Control space aligned as the struct cmsghdr it holds, for both pktinfos:
 * a dual-stack socket gets an IPv4 datagram with both.
 */
struct udp_cmsg {
	_Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
	    CMSG_SPACE(sizeof(struct in_pktinfo))];
};

/* Where one datagram arrived: its IP_PKTINFO or IPV6_PKTINFO. */
struct udp_arrival {
	int			 family;	/* AF_UNSPEC: no pktinfo */
	unsigned		 ifindex;	/* 0: not known */
	bool			 on_loopback;	/* for the loop guard */
	struct in_pktinfo	 pi4;
	struct in6_pktinfo	 pi6;
};

/* The receive and reply vectors of one batch; owned by the UDP thread. */
struct udp_batch {
	struct mmsghdr		 in[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH];
	struct sockaddr_storage	 peer[UDP_BATCH];
	struct udp_cmsg		 cin[UDP_BATCH];
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 oiov[UDP_BATCH];
	struct udp_cmsg		 cout[UDP_BATCH];
	char			*buf;		/* UDP_BATCH x UDP_BUFSIZE */
};

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

/*
 * Read the destination of a received datagram out of its control data,
 * and whether it came in on the loopback interface lo_index.  The
 * interface is 0 for a datagram queued before the socket asked for it
 * (the one that started a socket-activated echod): then only a loopback
 * destination, which routing reaches through lo alone, says where it came
 * from.
 */
static void
udp_arrival(const struct msghdr *in, struct udp_arrival *a, unsigned lo_index)
{
	struct cmsghdr *c;
	bool	 v4 = false, v6 = false;

	a->family = AF_UNSPEC;
	a->ifindex = 0;
	for (c = CMSG_FIRSTHDR(in); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
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
static size_t
reply_pktinfo(const struct udp_arrival *a, struct udp_cmsg *out)
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
static void
udp_drop(struct log_ratelimit *rl,
    const struct sockaddr *peer, const char *why)
{
	char	 addr[NET_ADDRSTRLEN];
	unsigned long suppressed;

	if (log_ratelimit_pass(rl, RATELIMIT_SECONDS, &suppressed))
		log_notice("udp %s: %s (%lu more like it not logged)",
		    net_format_addr(peer, addr, sizeof(addr)), why, suppressed);
}

/* Count a dropped datagram and say so now and then. */
static void
count_drop(struct udp_service *u, enum udp_verdict v,
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
	udp_drop(&u->drop_rl[v], peer, why);
}

/* Point every receive slot at its buffer, address and control space. */
static void
batch_reset(struct udp_batch *b, size_t n)
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

/*
 * Send the n replies queued in b->out.  sendmmsg(2) stops at the first
 * failure and reports only how many went, so the failed one is retried
 * alone to learn its errno, counted and skipped.
 */
static void
udp_send_batch(struct udp_service *u, int fd, struct udp_batch *b, int n)
{
	uint64_t bytes = 0;
	int	 i, off = 0, sent;

	while (off < n) {
		sent = sendmmsg(fd, b->out + off, (unsigned)(n - off),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent == -1) {
			if (errno == EINTR)
				continue;
			counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
			udp_drop(&u->drop_rl[0], b->out[off].msg_hdr.msg_name,
			    log_errstr(errno));
			off++;
			continue;
		}
		for (i = off; i < off + sent; i++)
			bytes += b->out[i].msg_len;
		counter_add(&u->ctr, CTR_UDP_DATAGRAMS_OUT, (uint64_t)sent);
		off += sent;
	}
	counter_add(&u->ctr, CTR_UDP_BYTES_OUT, bytes);
}

/*
 * Echo one batch from fd: one recvmmsg(2), the per-datagram decision,
 * one sendmmsg(2).  Returns how many datagrams were received (0 when fd
 * was empty or failed).
 */
static int
udp_echo_batch(struct udp_service *u, const struct listener *l,
    struct udp_batch *b, uint64_t now_ns)
{
	enum loopguard_verdict rule;
	enum udp_verdict v;
	struct udp_arrival a;
	struct msghdr *m, *o;
	int	 fd = l->fd;
	uint64_t bytes = 0;
	int	 i, n, k = 0;

	batch_reset(b, UDP_BATCH);
	do
		n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++) {
		m = &b->in[i].msg_hdr;
		bytes += b->in[i].msg_len;
		if (m->msg_flags & MSG_TRUNC)
			continue;	/* cannot happen with 64 KiB slots */
		udp_arrival(m, &a, u->lo_index);
		v = udp_policy_check(&u->policy, m->msg_name, m->msg_namelen,
		    l->addr.ss_family, a.on_loopback, now_ns, &rule);
		if (v != UDP_PASS) {
			count_drop(u, v, rule, m->msg_name);
			continue;
		}
		b->oiov[k] = (struct iovec){
			.iov_base = b->iov[i].iov_base,
			.iov_len = b->in[i].msg_len,
		};
		o = &b->out[k].msg_hdr;
		*o = (struct msghdr){
			.msg_name = m->msg_name,
			.msg_namelen = m->msg_namelen,
			.msg_iov = &b->oiov[k], .msg_iovlen = 1,
		};
		o->msg_controllen = reply_pktinfo(&a, &b->cout[k]);
		o->msg_control = o->msg_controllen > 0 ? b->cout[k].buf : NULL;
		b->out[k].msg_len = 0;
		k++;
	}
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_IN, (uint64_t)n);
	counter_add(&u->ctr, CTR_UDP_BYTES_IN, bytes);
	if (k > 0)
		udp_send_batch(u, fd, b, k);
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
			(void)udp_echo_batch(u, &u->socks[i], u->batch, now_ns);
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

int
udp_service_start(struct udp_service *u, const struct listener *socks,
    size_t nsocks, struct counters *counters, const struct udp_policy *p)
{
	pthread_condattr_t ca;
	int	 rc;

	memset(u, 0, sizeof(*u));
	u->wake_fd = -1;
	u->socks = socks;
	u->nsocks = nsocks < ECHOD_UDP_MAX_SOCKS ? nsocks : ECHOD_UDP_MAX_SOCKS;
	u->counters = counters;
	u->policy = *p;
	/* pktinfo names the arrival interface; 127/8 is fine only on lo. */
	u->lo_index = if_nametoindex("lo");
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
	if (u->wake_fd != -1)
		close(u->wake_fd);
	u->wake_fd = -1;
	if (u->batch != NULL)
		free(u->batch->buf);
	free(u->batch);
	u->batch = NULL;
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
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
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->socks = socks;
	u->nsocks = nsocks < ECHOD_UDP_MAX_SOCKS ? nsocks : ECHOD_UDP_MAX_SOCKS;
	u->pause_req = false;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

void
udp_service_set_sockets(struct udp_service *u, const struct listener *socks,
    size_t nsocks)
{
	udp_service_pause(u);
	udp_service_resume(u, socks, nsocks);
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
	close(u->wake_fd);
	u->wake_fd = -1;
	if (u->batch != NULL)
		free(u->batch->buf);
	free(u->batch);
	u->batch = NULL;
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	u->running = false;
}
