/* SPDX-License-Identifier: MIT */
/*
 * The TCP accept side: drain a listener, ask the admission about each
 * client, hand the admitted ones to the worker pool (a cached thread at
 * once, or a new one after the drain), and turn accept(2) resource errors
 * into a back-off instead of a busy loop.
 */

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "echod/clients.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/session.h"
#include "echod/tcp.h"
#include "echod/workers.h"

/*
 * Per wake-up: accept(2) a listener's whole backlog (a few µs each), then
 * start at most a batch of threads (tens of µs each), so that a connect
 * burst waits admitted in the daemon instead of overflowing the kernel's
 * listen queue, which drops SYNs and costs those clients a 1 s retransmit.
 */
#define ACCEPT_BATCH		4096
#define LAUNCH_BATCH		16
#define LOG_INTERVAL		5

struct tcp_service {
	struct clients		*clients;
	struct admission	*admission;
	struct workers		*workers;
	struct counters		*counters;
	struct counter_shard	 ctr;		/* the accept loop's */
	struct log_ratelimit	 accept_rl;	/* accept resource errors */
};

static void
job_run(void *job, struct counter_shard *ctr, void *ctx)
{
	(void)ctx;
	session_serve(job, ctr);
}

/* An admitted client that gets no thread: closed, as if refused. */
static void
job_drop(void *job, int err, void *ctx)
{
	struct tcp_service *t = ctx;
	struct session *s = job;

	clients_leave(t->clients, &s->client);
	(void)shutdown(s->client.fd, SHUT_RDWR);
	close(s->client.fd);
	if (err != ESHUTDOWN)
		admission_report(t->admission, REFUSE_THREAD, &s->client.addr,
		    &t->ctr);
}

static void
job_launched(void *ctx)
{
	struct tcp_service *t = ctx;

	clients_note_peak(t->clients);
}

struct tcp_service *
tcp_service_new(struct counters *counters)
{
	static const struct workers_ops ops = { job_run, job_drop,
	    job_launched };
	struct tcp_service *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->counters = counters;
	if ((t->clients = clients_new(counters)) == NULL ||
	    (t->admission = admission_new()) == NULL ||
	    (t->workers = workers_new(sizeof(struct session),
	    session_stack_size(), &ops, t, counters, CTR_TCP_THREADS_STARTED,
	    CTR_TCP_THREADS_CACHED)) == NULL) {
		admission_free(t->admission);
		clients_free(t->clients);
		free(t);
		return NULL;
	}
	counters_attach(counters, &t->ctr);
	return t;
}

void
tcp_service_free(struct tcp_service *t)
{
	if (t == NULL)
		return;
	counters_detach(t->counters, &t->ctr);
	workers_free(t->workers);
	admission_free(t->admission);
	clients_free(t->clients);
	free(t);
}

void
tcp_service_set(struct tcp_service *t, const struct tcp_settings *s,
    const struct acl *acl, struct ratelimit *rate)
{
	admission_set(t->admission, &s->admission, acl, rate);
	clients_set_timeouts(t->clients, s->idle_timeout, s->send_timeout);
	clients_set_keepalive(t->clients, s->keepalive);
	workers_set_cache(t->workers, s->cache_size, s->cache_timeout);
}

/* One accepted client: hand it to a thread, or close it and say why. */
static void
admit(struct tcp_service *t, int cfd, const struct sockaddr *peer,
    socklen_t len)
{
	enum admission_verdict v;
	struct ipaddr addr;
	struct session *s;
	char	 buf[NET_ADDRSTRLEN];

	/* A mapped IPv6 peer counts as its IPv4 address everywhere. */
	if (ipaddr_from_sockaddr(&addr, peer, len) == -1) {
		close(cfd);
		return;
	}
	if ((s = workers_alloc(t->workers)) == NULL) {
		admission_report(t->admission, REFUSE_THREAD, &addr, &t->ctr);
		close(cfd);
		return;
	}
	client_init(&s->client, cfd, peer, len, &addr);
	s->clients = t->clients;
	v = admission_check(t->admission, t->clients, &s->client, &addr);
	admission_report(t->admission, v, &addr, &t->ctr);
	if (v != ADMIT && v != ADMIT_EVICTED) {
		workers_release(t->workers, s);
		close(cfd);
		return;
	}
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("tcp %s: connected", net_format_addr(peer, buf,
		    sizeof(buf)));
	workers_submit(t->workers, s);
}

bool
tcp_launch(struct tcp_service *t)
{
	return workers_launch(t->workers, LAUNCH_BATCH);
}

int
tcp_reclaim(struct tcp_service *t)
{
	return workers_reclaim(t->workers);
}

unsigned
tcp_clients(struct tcp_service *t)
{
	return clients_count(t->clients);
}

int
tcp_service_shutdown(struct tcp_service *t, int timeout_ms)
{
	clients_shutdown(t->clients);
	return workers_shutdown(t->workers, timeout_ms);
}

/* accept(2) errors that mean "out of something": back off, don't spin. */
static int
accept_exhausted(struct tcp_service *t)
{
	unsigned long suppressed;

	counter_add(&t->ctr, CTR_TCP_ACCEPT_ERRORS, 1);
	if (log_ratelimit_pass(&t->accept_rl, LOG_INTERVAL, &suppressed))
		log_warn("tcp: accept failed, pausing new connections "
		    "(%lu more like it not logged)", suppressed);
	return -1;
}

int
tcp_accept_batch(struct tcp_service *t, int fd)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int	 cfd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(peer);
		cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (cfd >= 0) {
			admit(t, cfd, (struct sockaddr *)&peer, len);
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
			return accept_exhausted(t);
		}
	}
	return 0;
}
