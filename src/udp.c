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
			if (v != UDP_PASS)
				udp_count_drop(u, v, rule, m->msg_name);
			else if (udp_reply_add(b, i, p + off,
			    dlen, !u->gso_off[sock]) == -1) {
				/* The batch is full: send it, start another. */
				udp_send_batch(u, sock, fd, b);
				(void)udp_reply_add(b, i, p + off, dlen,
				    !u->gso_off[sock]);
			}
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
