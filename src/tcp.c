/* SPDX-License-Identifier: MIT */
/*
 * The TCP accept side: drain a listener, admit each client against
 * max_clients (over the limit: accept and close at once, logged once per
 * burst), hand it to its session thread, and turn accept(2) resource errors
 * into a back-off instead of a busy loop.
 */

#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/net.h"
#include "echod/session.h"
#include "echod/counters.h"
#include "echod/tcp.h"

#define ACCEPT_BATCH		64	/* per listener per wake-up */
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
tcp_acceptor_set_max_clients(struct tcp_acceptor *a, unsigned max_clients)
{
	a->max_clients = max_clients;
}

static void
refuse_full(struct tcp_acceptor *a)
{
	counter_add(&a->ctr, CTR_TCP_REFUSED_MAX_CLIENTS, 1);
	a->refused++;
	if (!a->full) {
		a->full = true;
		log_warnx("tcp: max_clients (%u) reached: closing new "
		    "connections until a client leaves", a->max_clients);
	}
}

static void
admitted(struct tcp_acceptor *a)
{
	if (a->full) {
		a->full = false;
		log_notice("tcp: accepting clients again after refusing %llu",
		    a->refused);
		a->refused = 0;
	}
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

/* One accepted client: start its session, or close it and say why. */
static void
admit(struct tcp_acceptor *a, int cfd, const struct sockaddr *peer,
    socklen_t len)
{
	char	 addr[NET_ADDRSTRLEN];

	if (session_start(a->sessions, cfd, peer, len, a->max_clients) == 0) {
		admitted(a);
		counter_add(&a->ctr, CTR_TCP_ACCEPTED, 1);
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("tcp %s: connected", net_format_addr(peer,
			    addr, sizeof(addr)));
		return;
	}
	if (errno == EBUSY)
		refuse_full(a);
	else if (errno != ESHUTDOWN)
		refuse_thread(a, net_format_addr(peer, addr, sizeof(addr)));
	close(cfd);
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
