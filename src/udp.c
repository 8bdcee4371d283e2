/* SPDX-License-Identifier: MIT */
/*
 * The UDP service: one thread polls every UDP socket and sends each
 * datagram back to its sender, whole, from the address it arrived on
 * (IP_PKTINFO / IPV6_PKTINFO), so wildcard sockets answer correctly on
 * multi-homed hosts.  Replies never block: a full send buffer drops the
 * reply, as UDP may.
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

#include "echod/log.h"
#include "echod/net.h"
#include "echod/counters.h"
#include "echod/notify.h"
#include "echod/udp.h"

/* Larger than any UDP payload (65,507 bytes on IPv4, 65,527 on IPv6). */
#define UDP_BUFSIZE		((size_t)64 * 1024)
#define UDP_BATCH		64	/* datagrams per socket per wake-up */
#define RATELIMIT_SECONDS	5

/* Room for both: a dual-stack socket gets IPv4 datagrams with both. */
union udp_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			    CMSG_SPACE(sizeof(struct in_pktinfo))];
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
 * Turn the destination of the received datagram into the source of the
 * reply, and say whether it came in on the loopback interface lo_index.
 * Returns the control length to send, 0 if there is none.
 */
static size_t
reply_pktinfo(struct msghdr *in, union udp_cmsg *out, int lo_index,
    bool *on_loopback)
{
	int	 idx = 0;
	struct cmsghdr *c, *o = &out->hdr;
	struct in_pktinfo pi;
	struct in6_pktinfo pi6;
	bool	 v4 = false, v6 = false;

	memset(out, 0, sizeof(*out));
	for (c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			v4 = true;
			if (idx == 0)
				idx = pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			v6 = true;
			if (idx == 0)
				idx = (int)pi6.ipi6_ifindex;
		}
	}
	/*
	 * The interface is 0 for a datagram queued before the socket asked
	 * for it (the one that started a socket-activated echod): then only
	 * a loopback destination, which routing reaches through lo alone,
	 * says where it came from.
	 */
	*on_loopback = (v4 || v6) && (idx != 0 ? idx == lo_index :
	    to_loopback(v6, &pi6, &pi));
	if (v6) {
		/* Keep the interface: link-local peers need it. */
		if (pi6.ipi6_ifindex == 0)
			pi6.ipi6_ifindex = (unsigned)idx;
		o->cmsg_level = IPPROTO_IPV6;
		o->cmsg_type = IPV6_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(pi6));
		memcpy(CMSG_DATA(o), &pi6, sizeof(pi6));
		return CMSG_SPACE(sizeof(pi6));
	}
	if (v4) {
		/* Source address only; let routing pick the link. */
		pi.ipi_spec_dst = pi.ipi_addr;
		pi.ipi_ifindex = 0;
		o->cmsg_level = IPPROTO_IP;
		o->cmsg_type = IP_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(o), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	return 0;
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

	switch (v) {
	case UDP_DROP_LOOP:
		counter_add(&u->ctr, CTR_UDP_DROPPED_LOOP_GUARD, 1);
		counter_add(&u->ctr, (enum counter_id)(CTR_UDP_LOOP_FIRST +
		    rule - 1), 1);
		snprintf(why, sizeof(why), "%s (%s)", what[v],
		    loopguard_name(rule));
		break;
	case UDP_DROP_ACL:
		counter_add(&u->ctr, CTR_UDP_DROPPED_ACL, 1);
		snprintf(why, sizeof(why), "%s", what[v]);
		break;
	default:
		counter_add(&u->ctr, CTR_UDP_DROPPED_RATE_LIMIT, 1);
		snprintf(why, sizeof(why), "%s", what[UDP_DROP_RATE]);
		break;
	}
	udp_drop(&u->drop_rl[v], peer, why);
}

/* Echo one datagram from fd.  Returns 0, or -1 once fd is drained. */
static int
udp_echo_one(struct udp_service *u, const struct listener *l, char *buf,
    uint64_t now_ns)
{
	struct sockaddr_storage peer;
	union udp_cmsg cin, cout;
	struct iovec iov = { .iov_base = buf, .iov_len = UDP_BUFSIZE };
	struct msghdr msg = {
		.msg_name = &peer, .msg_namelen = sizeof(peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cin.buf, .msg_controllen = sizeof(cin.buf),
	};
	enum loopguard_verdict rule;
	enum udp_verdict v;
	ssize_t	 n;
	bool	 on_loopback;

	do
		n = recvmsg(l->fd, &msg, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_IN, 1);
	counter_add(&u->ctr, CTR_UDP_BYTES_IN, (uint64_t)n);
	if (msg.msg_flags & MSG_TRUNC)
		return 0;	/* cannot happen with a 64 KiB buffer */
	msg.msg_controllen = reply_pktinfo(&msg, &cout, u->lo_index,
	    &on_loopback);
	v = udp_policy_check(&u->policy, (struct sockaddr *)&peer,
	    msg.msg_namelen, l->addr.ss_family, on_loopback, now_ns, &rule);
	if (v != UDP_PASS) {
		count_drop(u, v, rule, (struct sockaddr *)&peer);
		return 0;
	}
	msg.msg_control = msg.msg_controllen > 0 ? cout.buf : NULL;
	msg.msg_flags = 0;
	iov.iov_len = (size_t)n;
	do
		n = sendmsg(l->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
		udp_drop(&u->drop_rl[0], (struct sockaddr *)&peer,
		    log_errstr(errno));
		return 0;
	}
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_OUT, 1);
	counter_add(&u->ctr, CTR_UDP_BYTES_OUT, (uint64_t)n);
	return 0;
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
	int	 k;
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
			/* A bounded batch each, so one busy socket can't starve the others. */
			for (k = 0; k < UDP_BATCH; k++)
				if (udp_echo_one(u, &u->socks[i], u->buf,
				    now_ns) == -1)
					break;
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
	u->lo_index = (int)if_nametoindex("lo");
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
	atomic_init(&u->heartbeat, 1);
	if ((u->buf = malloc(UDP_BUFSIZE)) == NULL) {
		log_err("udp: cannot allocate the datagram buffer");
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
	free(u->buf);
	u->buf = NULL;
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	return -1;
}

unsigned long long
udp_service_heartbeat(struct udp_service *u)
{
	return u->running ? atomic_load_explicit(&u->heartbeat,
	    memory_order_relaxed) : 0;
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
	free(u->buf);
	u->buf = NULL;
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	u->running = false;
}
