/* SPDX-License-Identifier: MIT */
/*
 * The TCP accept side: drain a listener, ask the admission about each
 * client, hand the admitted ones to the worker pool (a cached thread at
 * once, or a new one after the drain), and turn accept(2) resource errors
 * into a back-off instead of a busy loop.  A connection from a trusted
 * load balancer (proxy_from) holds a place against max_clients while its
 * thread reads the PROXY header; the real client address it names then
 * goes through the whole admission.
 */

#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "echod/acl.h"
#include "echod/clients.h"
#include "echod/log.h"
#include "echod/net.h"
#include "echod/proxy.h"
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
	/* Read by admit() on the main thread, set by tcp_service_set(). */
	const struct acl	*proxy_from;	/* NULL: no PROXY headers */
	int			 proxy_timeout;	/* seconds */
	/* Header refusals, logged from worker threads. */
	pthread_mutex_t		 proxy_lock;
	struct log_ratelimit	 proxy_rl;
};

/* A client's job block: its session, and whether a header comes first. */
struct tcp_job {
	struct session		 s;
	int			 proxy_ms;	/* 0: no PROXY header */
};

/* A client from a balancer whose header did not come: count, log, close. */
static void
proxy_refused(struct tcp_service *t, struct tcp_job *j, enum proxy_result r,
    struct counter_shard *ctr)
{
	char	 buf[NET_ADDRSTRLEN];
	unsigned long suppressed;
	bool	 pass;

	counter_add(ctr, CTR_TCP_REFUSED_PROXY_HEADER, 1);
	pthread_mutex_lock(&t->proxy_lock);
	pass = log_ratelimit_pass(&t->proxy_rl, LOG_INTERVAL, &suppressed);
	pthread_mutex_unlock(&t->proxy_lock);
	if (pass)
		log_notice("tcp %s: PROXY header %s%s%s: closed (%lu more like "
		    "it not logged)", net_format_addr(&j->s.client.peer.sa,
		    buf, sizeof(buf)), proxy_result_name(r),
		    r == PROXY_IO_ERROR ? ": " : "",
		    r == PROXY_IO_ERROR ? log_errstr(errno) : "", suppressed);
}

/*
 * Read the PROXY header of a balancer's connection (held without a
 * source), then admit the client it names with its real address.  LOCAL
 * (a health check), v1 UNKNOWN and v2 UNSPEC are served as the balancer,
 * still without a source: the balancer is never capped as one.  0 to
 * serve, or -1 when the client was refused and closed.  Its own frame,
 * apart from the echo loop's, for the header buffer.
 */
static __attribute__((noinline)) int
proxy_admit(struct tcp_service *t, struct tcp_job *j,
    struct counter_shard *ctr)
{
	struct client *c = &j->s.client;
	struct sockaddr_storage ss;
	struct proxy_header h;
	enum admission_verdict v = ADMIT;
	enum proxy_result r;
	uint8_t	 buf[PROXY_MAX_HEADER];
	char	 from[NET_ADDRSTRLEN], via[NET_ADDRSTRLEN] = "";

	if ((r = proxy_read_header(c->fd, j->proxy_ms, buf, &h)) !=
	    PROXY_DONE) {
		proxy_refused(t, j, r, ctr);
		goto refused;
	}
	/* The balancer's address, before the client's replaces it. */
	(void)net_format_addr(&c->peer.sa, via, sizeof(via));
	if (h.command == PROXY_CMD_PROXY && h.known) {
		client_set_address(c, (const struct sockaddr *)&ss,
		    proxy_source_sockaddr(&h, &ss), &h.src);
		v = admission_check(t->admission, t->clients, c, &h.src);
	}
	admission_report(t->admission, v, &c->addr, ctr);
	if (v != ADMIT && v != ADMIT_EVICTED)
		goto refused;
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("tcp %s via %s: connected (PROXY v%d %s)",
		    net_format_addr(&c->peer.sa, from, sizeof(from)), via,
		    h.version, h.command == PROXY_CMD_LOCAL ? "LOCAL" :
		    h.known ? "PROXY" : "UNKNOWN");
	return 0;
refused:
	clients_leave(t->clients, c);
	close(c->fd);
	return -1;
}

static void
job_run(void *job, struct counter_shard *ctr, void *ctx)
{
	struct tcp_job *j = job;
	struct tcp_service *t = ctx;

	if (j->proxy_ms > 0 && proxy_admit(t, j, ctr) == -1)
		return;
	session_serve(&j->s, ctr, t->counters);
}

/* An admitted client that gets no thread: closed, as if refused. */
static void
job_drop(void *job, int err, void *ctx)
{
	struct tcp_service *t = ctx;
	struct tcp_job *j = job;

	clients_leave(t->clients, &j->s.client);
	(void)shutdown(j->s.client.fd, SHUT_RDWR);
	close(j->s.client.fd);
	if (err != ESHUTDOWN)
		admission_report(t->admission, REFUSE_THREAD,
		    &j->s.client.addr, &t->ctr);
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

	int	 rc;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((rc = pthread_mutex_init(&t->proxy_lock, NULL)) != 0) {
		free(t);
		errno = rc;
		return NULL;
	}
	t->counters = counters;
	if ((t->clients = clients_new(counters)) == NULL ||
	    (t->admission = admission_new()) == NULL ||
	    (t->workers = workers_new(sizeof(struct tcp_job),
	    session_stack_size(), &ops, t, counters, CTR_TCP_THREADS_STARTED,
	    CTR_TCP_THREADS_CACHED)) == NULL) {
		admission_free(t->admission);
		clients_free(t->clients);
		pthread_mutex_destroy(&t->proxy_lock);
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
	pthread_mutex_destroy(&t->proxy_lock);
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
	t->proxy_from = s->proxy_from;
	t->proxy_timeout = s->proxy_timeout;
}

/* One accepted client: hand it to a thread, or close it and say why. */
static void
admit(struct tcp_service *t, int cfd, const struct sockaddr *peer,
    socklen_t len)
{
	enum admission_verdict v;
	struct ipaddr addr;
	struct tcp_job *j;
	bool	 proxied;
	char	 buf[NET_ADDRSTRLEN];

	/* A mapped IPv6 peer counts as its IPv4 address everywhere. */
	if (ipaddr_from_sockaddr(&addr, peer, len) == -1) {
		close(cfd);
		return;
	}
	if ((j = workers_alloc(t->workers)) == NULL) {
		admission_report(t->admission, REFUSE_THREAD, &addr, &t->ctr);
		close(cfd);
		return;
	}
	client_init(&j->s.client, cfd, peer, len, &addr);
	j->s.clients = t->clients;
	/* A balancer: a place now, the admission once its header names who. */
	proxied = t->proxy_from != NULL &&
	    acl_check(t->proxy_from, &addr) == ACL_ALLOW;
	j->proxy_ms = proxied ? t->proxy_timeout * 1000 : 0;
	if (proxied)
		v = admission_hold(t->admission, t->clients, &j->s.client);
	else
		v = admission_check(t->admission, t->clients, &j->s.client,
		    &addr);
	if (!proxied || v != ADMIT)
		admission_report(t->admission, v, &addr, &t->ctr);
	if (v != ADMIT && v != ADMIT_EVICTED) {
		workers_release(t->workers, j);
		close(cfd);
		return;
	}
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_debug("tcp %s: connected%s", net_format_addr(peer, buf,
		    sizeof(buf)), proxied ? ", reading its PROXY header" : "");
	workers_submit(t->workers, j);
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
