/* SPDX-License-Identifier: MIT */
/*
 * The TCP accept side: drain a listener, admit each client against
 * max_clients (over the limit: accept and close at once, logged once per
 * burst), hand it to a cached session thread or start one for it after the
 * drain, and turn accept(2) resource errors into a back-off instead of a
 * busy loop.
 */

#include <sys/socket.h>

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "echod/acl.h"
#include "echod/counters.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/ratelimit.h"
#include "echod/session.h"
#include "echod/tcp.h"

/*
 * Per wake-up: accept(2) a listener's whole backlog (a few µs each), then
 * start at most a batch of threads (tens of µs each), so that a connect
 * burst waits admitted in the daemon instead of overflowing the kernel's
 * listen queue, which drops SYNs and costs those clients a 1 s retransmit.
 */
#define ACCEPT_BATCH		4096
#define LAUNCH_BATCH		16
#define RATELIMIT_SECONDS	5

void
tcp_acceptor_init(struct tcp_acceptor *a, struct sessions *s,
    struct counters *counters, unsigned max_clients)
{
	*a = (struct tcp_acceptor){
		.sessions = s,
		.counters = counters,
		.max_clients = max_clients,
	};
	counters_attach(counters, &a->ctr);
}

void
tcp_acceptor_destroy(struct tcp_acceptor *a)
{
	counters_detach(a->counters, &a->ctr);
}

void
tcp_acceptor_set_limits(struct tcp_acceptor *a, const struct tcp_limits *l)
{
	a->limits = *l;
	a->max_clients = l->max_clients;
}

void
tcp_acceptor_set_policy(struct tcp_acceptor *a, const struct acl *acl,
    struct ratelimit *connect_rate)
{
	a->acl = acl;
	a->connect_rate = connect_rate;
}

/*
 * A burst of refusals at max_clients is logged once, and its end once.
 * Clients that come and go at the limit (or fair share admitting one
 * while closing another) would start a burst per client: at most one pair
 * of lines per period, the rest counted only.
 */
static void
refuse_full(struct tcp_acceptor *a)
{
	unsigned long suppressed;

	counter_add(&a->ctr, CTR_TCP_REFUSED_MAX_CLIENTS, 1);
	a->refused++;
	if (a->full)
		return;
	a->full = true;
	if (!a->full_logged && log_ratelimit_pass(&a->full_rl,
	    RATELIMIT_SECONDS, &suppressed)) {
		a->full_logged = true;
		log_warnx("tcp: max_clients (%u) reached: closing new "
		    "connections until a client leaves (%lu more bursts not "
		    "logged)", a->max_clients, suppressed);
	}
}

static void
admitted(struct tcp_acceptor *a)
{
	a->full = false;
	if (a->full_logged) {
		a->full_logged = false;
		log_notice("tcp: accepting clients again after refusing %llu",
		    a->refused);
		a->refused = 0;
	}
}

/* A refusal a source can repeat at will: counted, logged once per 5 s. */
static void
refuse(struct tcp_acceptor *a, enum tcp_refusal why, enum counter_id ctr,
    const struct ipaddr *src, const char *what)
{
	char	 buf[IPADDR_STRLEN];
	unsigned long suppressed;

	counter_add(&a->ctr, ctr, 1);
	if (log_ratelimit_pass(&a->refuse_rl[why], RATELIMIT_SECONDS,
	    &suppressed))
		log_notice("tcp %s: %s: closed (%lu more like it not logged)",
		    ipaddr_format(src, -1, buf, sizeof(buf)), what,
		    suppressed);
}

static void
refuse_thread(struct tcp_acceptor *a, const char *peer)
{
	unsigned long suppressed;

	counter_add(&a->ctr, CTR_TCP_REFUSED_THREAD, 1);
	if (log_ratelimit_pass(&a->thread_rl, RATELIMIT_SECONDS, &suppressed))
		log_warn("tcp %s: cannot start a client thread, closed "
		    "(%lu more like it not logged)", peer, suppressed);
}

/* The access list and the connect rate: may src connect at all? */
static bool
allowed(struct tcp_acceptor *a, const struct ipaddr *addr,
    const struct ipaddr *src)
{
	struct timespec ts;

	if (a->acl != NULL && acl_check(a->acl, addr) == ACL_DENY) {
		refuse(a, TCP_REFUSAL_ACL, CTR_TCP_REFUSED_ACL, addr,
		    "refused by allow/deny");
		return false;
	}
	if (a->limits.connect_rate > 0 && a->connect_rate != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ratelimit_admit(a->connect_rate, src,
		    (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec,
		    a->limits.connect_rate, a->limits.connect_burst) ==
		    RATELIMIT_LIMIT) {
			refuse(a, TCP_REFUSAL_RATE,
			    CTR_TCP_REFUSED_CONNECT_RATE, src,
			    "connect_rate_per_source exceeded");
			return false;
		}
	}
	return true;
}

/* One accepted client: start its session, or close it and say why. */
static void
admit(struct tcp_acceptor *a, int cfd, const struct sockaddr *peer,
    socklen_t len)
{
	const struct session_admission adm = {
		.max_clients = a->max_clients,
		.max_per_source = a->limits.max_per_source,
		.fair_share = a->limits.fair_share,
	};
	struct ipaddr addr, src;
	char	 buf[NET_ADDRSTRLEN];
	bool	 evicted;

	/* A mapped IPv6 peer counts as its IPv4 address everywhere. */
	if (ipaddr_from_sockaddr(&addr, peer, len) == -1) {
		close(cfd);
		return;
	}
	src = addr;
	(void)ipaddr_source(&src, a->limits.prefix_v4, a->limits.prefix_v6);
	if (!allowed(a, &addr, &src)) {
		close(cfd);
		return;
	}
	if (session_start(a->sessions, cfd, peer, len, &src, &adm,
	    &evicted) == 0) {
		/* Fair share made room by closing another: still full. */
		if (!evicted)
			admitted(a);
		counter_add(&a->ctr, CTR_TCP_ACCEPTED, 1);
		if (evicted)
			refuse(a, TCP_REFUSAL_EVICT, CTR_TCP_EVICTED_FAIR_SHARE,
			    &src, "admitted by fair share: max_clients "
			    "reached, the longest-silent client of the "
			    "busiest source closed");
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("tcp %s: connected", net_format_addr(peer,
			    buf, sizeof(buf)));
		return;
	}
	if (errno == EBUSY)
		refuse_full(a);
	else if (errno == EDQUOT)
		refuse(a, TCP_REFUSAL_PER_SOURCE, CTR_TCP_REFUSED_PER_SOURCE,
		    &src, "max_clients_per_source reached");
	else if (errno != ESHUTDOWN)
		refuse_thread(a, net_format_addr(peer, buf, sizeof(buf)));
	close(cfd);
}

bool
tcp_launch(struct tcp_acceptor *a)
{
	struct sockaddr_storage peer;
	char	 buf[NET_ADDRSTRLEN];
	unsigned failed;
	bool	 more;

	more = sessions_launch(a->sessions, LAUNCH_BATCH, &failed, &peer);
	if (failed > 0) {
		counter_add(&a->ctr, CTR_TCP_REFUSED_THREAD, failed - 1);
		refuse_thread(a, net_format_addr((struct sockaddr *)&peer,
		    buf, sizeof(buf)));
	}
	return more;
}

/* accept(2) errors that mean "out of something": back off, don't spin. */
static int
accept_exhausted(struct tcp_acceptor *a)
{
	unsigned long suppressed;

	counter_add(&a->ctr, CTR_TCP_ACCEPT_ERRORS, 1);
	if (log_ratelimit_pass(&a->accept_rl, RATELIMIT_SECONDS, &suppressed))
		log_warn("tcp: accept failed, pausing new connections "
		    "(%lu more like it not logged)", suppressed);
	return -1;
}

int
tcp_accept_batch(struct tcp_acceptor *a, int fd)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int	 cfd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(peer);
		cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (cfd >= 0) {
			admit(a, cfd, (struct sockaddr *)&peer, len);
			continue;
		}
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return 0;
		case EINTR:
		case ECONNABORTED:
		case EPERM:		/* a firewall said no */
		case EPROTO:
		case ENOPROTOOPT:
		case ENETDOWN:
		case ENETUNREACH:
		case EHOSTDOWN:
		case EHOSTUNREACH:
		case ENONET:
		case EOPNOTSUPP:
			/*
			 * That connection died before we took it; Linux
			 * passes such network errors on (accept(2)).
			 */
			continue;
		default:
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM, or worse. */
			return accept_exhausted(a);
		}
	}
	return 0;
}
