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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/net.h"
#include "echod/notify.h"
#include "echod/stats.h"
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

static void
udp_drop(struct log_ratelimit *rl,
    const struct sockaddr *peer, const char *why)
{
	char	 addr[NET_ADDRSTRLEN];
	unsigned long suppressed;

	if (log_ratelimit_pass(rl, RATELIMIT_SECONDS, &suppressed))
		log_warnx("udp %s: %s (%lu more like it not logged)",
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
	stats_add(&u->stats->udp_datagrams_in, 1);
	stats_add(&u->stats->udp_bytes_in, (unsigned long long)n);

	port = net_addr_port((struct sockaddr *)&peer);
	if (port == 0 || (atomic_load_explicit(&u->loop_guard,
	    memory_order_relaxed) && port < UDP_GUARD_PORT)) {
		/* Another service's reply would come back here: a loop. */
		stats_add(&u->stats->udp_dropped_guard, 1);
		if (log_enabled(LOG_LEVEL_DEBUG))
			udp_drop(rl, (struct sockaddr *)&peer,
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
		stats_add(&u->stats->udp_send_errors, 1);
		if (log_enabled(LOG_LEVEL_DEBUG))
			udp_drop(rl, (struct sockaddr *)&peer,
			    strerrordesc_np(errno));
		return 0;
	}
	stats_add(&u->stats->udp_datagrams_out, 1);
	stats_add(&u->stats->udp_bytes_out, (unsigned long long)n);
	return 0;
}

static void *
udp_thread(void *arg)
{
	struct udp_service *u = arg;
	struct pollfd pfd[ECHOD_UDP_MAX_SOCKS + 1];
	struct log_ratelimit rl = { 0 };
	size_t	 i;
	/* Wake at least 4 times per watchdog interval to show we live. */
	long long wd = notify_watchdog_interval_ms();
	int	 k, timeout = wd > 0 ? (int)(wd / 4 > 0 ? wd / 4 : 1) : -1;

	for (i = 0; i < u->nsocks; i++)
		pfd[i] = (struct pollfd){ .fd = u->socks[i].fd, .events = POLLIN };
	pfd[u->nsocks] = (struct pollfd){ .fd = u->wake_fd, .events = POLLIN };
	for (;;) {
		atomic_fetch_add_explicit(&u->heartbeat, 1, memory_order_relaxed);
		if (poll(pfd, u->nsocks + 1, timeout) == -1) {
			if (errno == EINTR)
				continue;
			log_err("udp: poll");
			break;
		}
		if (pfd[u->nsocks].revents != 0)
			break;
		for (i = 0; i < u->nsocks; i++) {
			if (pfd[i].revents == 0)
				continue;
			/* A bounded batch each, so one busy socket can't starve the others. */
			for (k = 0; k < UDP_BATCH; k++)
				if (udp_echo_one(u, pfd[i].fd, u->buf, &rl) == -1)
					break;
		}
	}
	return NULL;
}

int
udp_service_start(struct udp_service *u, const struct listener *socks,
    size_t nsocks, struct echod_stats *stats, bool loop_guard)
{
	int	 rc;

	memset(u, 0, sizeof(*u));
	u->wake_fd = -1;
	if (nsocks == 0)
		return 0;
	if (nsocks > ECHOD_UDP_MAX_SOCKS) {
		log_errx("udp: %zu sockets, at most %d", nsocks,
		    ECHOD_UDP_MAX_SOCKS);
		errno = EINVAL;
		return -1;
	}
	u->socks = socks;
	u->nsocks = nsocks;
	u->stats = stats;
	atomic_init(&u->loop_guard, loop_guard);
	atomic_init(&u->heartbeat, 1);
	if ((u->buf = malloc(UDP_BUFSIZE)) == NULL) {
		log_err("udp: cannot allocate the datagram buffer");
		return -1;
	}
	if ((u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_err("udp: eventfd");
		goto fail;
	}
	if ((rc = pthread_create(&u->thread, NULL, udp_thread, u)) != 0) {
		errno = rc;
		log_err("udp: cannot start the service thread");
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
	return -1;
}

unsigned long long
udp_service_heartbeat(struct udp_service *u)
{
	return u->running ? atomic_load_explicit(&u->heartbeat,
	    memory_order_relaxed) : 0;
}

void
udp_service_stop(struct udp_service *u)
{
	uint64_t one = 1;

	if (!u->running)
		return;
	/* An eventfd write of 1 cannot fail short of a bug; the join waits. */
	while (write(u->wake_fd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
	pthread_join(u->thread, NULL);
	close(u->wake_fd);
	u->wake_fd = -1;
	free(u->buf);
	u->buf = NULL;
	u->running = false;
}
