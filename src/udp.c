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

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/net.h"
#include "echod/counters.h"
#include "echod/udp.h"

/* Larger than any UDP payload (65,507 bytes on IPv4, 65,527 on IPv6). */
#define UDP_BUFSIZE		((size_t)64 * 1024)
#define UDP_BATCH		64	/* datagrams per socket per wake-up */
#define UDP_GUARD_PORT		1024	/* inetd's dg_badinput(): echo loops */
#define RATELIMIT_SECONDS	5

union udp_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/*
 * Turn the destination of the received datagram into the source of the
 * reply.  Returns the control length to send, 0 if there is none.
 */
static size_t
reply_pktinfo(struct msghdr *in, union udp_cmsg *out)
{
	struct cmsghdr *c, *o = &out->hdr;

	memset(out, 0, sizeof(*out));
	for (c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* Source address only; let routing pick the link. */
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			/* Keep the interface: link-local peers need it. */
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
			memcpy(CMSG_DATA(o), CMSG_DATA(c),
			    sizeof(struct in6_pktinfo));
			return CMSG_SPACE(sizeof(struct in6_pktinfo));
		}
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

/* Echo one datagram from fd.  Returns 0, or -1 once fd is drained. */
static int
udp_echo_one(struct udp_service *u, int fd, char *buf,
    struct log_ratelimit *rl)
{
	struct sockaddr_storage peer;
	union udp_cmsg cin, cout;
	struct iovec iov = { .iov_base = buf, .iov_len = UDP_BUFSIZE };
	struct msghdr msg = {
		.msg_name = &peer, .msg_namelen = sizeof(peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cin.buf, .msg_controllen = sizeof(cin.buf),
	};
	ssize_t	 n;
	int	 port;

	do
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_IN, 1);
	counter_add(&u->ctr, CTR_UDP_BYTES_IN, (uint64_t)n);

	port = net_addr_port((struct sockaddr *)&peer);
	if (port == 0 || (atomic_load_explicit(&u->loop_guard,
	    memory_order_relaxed) && port < UDP_GUARD_PORT)) {
		/* Another service's reply would come back here: a loop. */
		counter_add(&u->ctr, CTR_UDP_DROPPED_LOOP_GUARD, 1);
		udp_drop(&rl[0], (struct sockaddr *)&peer,
		    "source port below 1024 dropped (udp_loop_guard)");
		return 0;
	}
	if (msg.msg_flags & MSG_TRUNC)
		return 0;	/* cannot happen with a 64 KiB buffer */

	msg.msg_controllen = reply_pktinfo(&msg, &cout);
	msg.msg_control = msg.msg_controllen > 0 ? cout.buf : NULL;
	msg.msg_flags = 0;
	iov.iov_len = (size_t)n;
	do
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
		udp_drop(&rl[1], (struct sockaddr *)&peer, log_errstr(errno));
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
	struct log_ratelimit rl[2] = { { 0, 0 }, { 0, 0 } };
	size_t	 i, n;
	int	 k;

	pthread_mutex_lock(&u->lock);
	n = poll_set(pfd, u);
	pthread_mutex_unlock(&u->lock);
	for (;;) {
		if (poll(pfd, n + 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_err("udp: poll");
			break;
		}
		if (pfd[n].revents != 0 && !handle_wake(u, pfd, &n))
			break;
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			/* A bounded batch each, so one busy socket can't starve the others. */
			for (k = 0; k < UDP_BATCH; k++)
				if (udp_echo_one(u, pfd[i].fd, u->buf, rl) == -1)
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
    size_t nsocks, struct counters *counters, bool loop_guard)
{
	pthread_condattr_t ca;
	int	 rc;

	memset(u, 0, sizeof(*u));
	u->wake_fd = -1;
	u->socks = socks;
	u->nsocks = nsocks < ECHOD_UDP_MAX_SOCKS ? nsocks : ECHOD_UDP_MAX_SOCKS;
	u->counters = counters;
	atomic_init(&u->loop_guard, loop_guard);
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
udp_service_set_loop_guard(struct udp_service *u, bool on)
{
	atomic_store_explicit(&u->loop_guard, on, memory_order_relaxed);
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
