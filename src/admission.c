/* SPDX-License-Identifier: MIT */
/*
 * TCP admission: the access list and the connect rate (may this address
 * connect at all?), then the registry's limits (is there room, or can fair
 * share make some?), returning a verdict that names its counter and its
 * log line.  The connect-rate table and the log state are shared by every
 * caller, so both sit under one lock: it is taken once per new client.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "echod/acl.h"
#include "echod/admission.h"
#include "echod/log.h"
#include "echod/ratelimit.h"

#define LOG_INTERVAL	5	/* seconds between lines of one kind */

struct admission {
	pthread_mutex_t		 lock;
	struct admission_limits	 lim;
	const struct acl	*acl;		/* NULL: everyone */
	struct ratelimit	*rate;		/* NULL: no connect rate */
	bool			 ready;		/* admission_set() called */
	bool			 full;		/* refusing since last admit */
	bool			 full_logged;	/* ...and said so */
	unsigned long long	 refused;	/* since "accepting again" */
	struct log_ratelimit	 full_rl;	/* bursts at max_clients */
	struct log_ratelimit	 rl[ADMISSION_NVERDICTS];
};

/* Each verdict's counter row, name, and what a refusal log line says. */
static const struct {
	const char	*name;
	int		 counter;	/* -1: none */
	const char	*why;		/* NULL: not logged as a refusal */
} verdicts[ADMISSION_NVERDICTS] = {
	[ADMIT] = { "admitted", CTR_TCP_ACCEPTED, NULL },
	[ADMIT_EVICTED] = { "evicted", CTR_TCP_EVICTED_FAIR_SHARE,
	    "admitted by fair share: max_clients reached, the longest-silent "
	    "or stalled client of the heaviest sources closed" },
	[REFUSE_ACL] = { "acl", CTR_TCP_REFUSED_ACL,
	    "refused by allow/deny" },
	[REFUSE_CONNECT_RATE] = { "connect_rate", CTR_TCP_REFUSED_CONNECT_RATE,
	    "connect_rate_per_source exceeded" },
	[REFUSE_PER_SOURCE] = { "per_source", CTR_TCP_REFUSED_PER_SOURCE,
	    "max_clients_per_source reached" },
	[REFUSE_MAX_CLIENTS] = { "max_clients", CTR_TCP_REFUSED_MAX_CLIENTS,
	    NULL },
	[REFUSE_THREAD] = { "thread", CTR_TCP_REFUSED_THREAD, NULL },
	[REFUSE_STOPPING] = { "stopping", -1, NULL },
};

struct admission *
admission_new(void)
{
	struct admission *a;
	int	 rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((rc = pthread_mutex_init(&a->lock, NULL)) != 0) {
		free(a);
		errno = rc;
		return NULL;
	}
	return a;
}

void
admission_free(struct admission *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void
admission_set(struct admission *a, const struct admission_limits *l,
    const struct acl *acl, struct ratelimit *rate)
{
	pthread_mutex_lock(&a->lock);
	a->lim = *l;
	a->acl = acl;
	a->rate = rate;
	a->ready = true;
	pthread_mutex_unlock(&a->lock);
}

/* The access list and the connect rate: may addr (source src) connect? */
static enum admission_verdict
may_connect_locked(struct admission *a, const struct ipaddr *addr,
    const struct ipaddr *src)
{
	struct timespec ts;

	if (a->acl != NULL && acl_check(a->acl, addr) == ACL_DENY)
		return REFUSE_ACL;
	if (a->lim.connect_rate > 0 && a->rate != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ratelimit_admit(a->rate, src, (uint64_t)ts.tv_sec *
		    1000000000ULL + (uint64_t)ts.tv_nsec, a->lim.connect_rate,
		    a->lim.connect_burst) == RATELIMIT_LIMIT)
			return REFUSE_CONNECT_RATE;
	}
	return ADMIT;
}

enum admission_verdict
admission_check(struct admission *a, struct clients *r, struct client *c,
    const struct ipaddr *addr)
{
	struct client_limits lim;
	struct ipaddr src = *addr;
	enum admission_verdict v;

	pthread_mutex_lock(&a->lock);
	if (!a->ready) {
		pthread_mutex_unlock(&a->lock);
		return REFUSE_STOPPING;
	}
	(void)ipaddr_source(&src, a->lim.prefix_v4, a->lim.prefix_v6);
	v = may_connect_locked(a, addr, &src);
	lim = a->lim.clients;
	pthread_mutex_unlock(&a->lock);
	if (v != ADMIT)
		return v;
	switch (clients_join(r, c, &src, &lim)) {
	case CLIENTS_JOINED:
		return ADMIT;
	case CLIENTS_JOINED_EVICTED:
		return ADMIT_EVICTED;
	case CLIENTS_FULL:
		return REFUSE_MAX_CLIENTS;
	case CLIENTS_SOURCE_FULL:
		return REFUSE_PER_SOURCE;
	case CLIENTS_STOPPING:
		return REFUSE_STOPPING;
	case CLIENTS_NOMEM:
		break;
	}
	return REFUSE_THREAD;
}

enum admission_verdict
admission_hold(struct admission *a, struct clients *r, struct client *c)
{
	struct client_limits lim;

	pthread_mutex_lock(&a->lock);
	lim = a->lim.clients;
	pthread_mutex_unlock(&a->lock);
	/* No source: nothing to evict for, nobody's share to charge. */
	lim.fair_share = false;
	switch (clients_join(r, c, NULL, &lim)) {
	case CLIENTS_JOINED:
	case CLIENTS_JOINED_EVICTED:
		return ADMIT;
	case CLIENTS_FULL:
		return REFUSE_MAX_CLIENTS;
	case CLIENTS_STOPPING:
		return REFUSE_STOPPING;
	case CLIENTS_SOURCE_FULL:
	case CLIENTS_NOMEM:
		break;
	}
	return REFUSE_THREAD;
}

/*
 * A burst of refusals at max_clients is logged once, and its end once.
 * Clients that come and go at the limit (or fair share admitting one
 * while closing another) would start a burst per client: at most one pair
 * of lines per period, the rest counted only.
 */
static void
note_full_locked(struct admission *a, enum admission_verdict v)
{
	unsigned long suppressed;

	if (v == ADMIT) {
		a->full = false;
		if (a->full_logged) {
			a->full_logged = false;
			log_notice("tcp: accepting clients again after "
			    "refusing %llu", a->refused);
			a->refused = 0;
		}
		return;
	}
	a->refused++;
	if (a->full)
		return;
	a->full = true;
	if (!a->full_logged && log_ratelimit_pass(&a->full_rl, LOG_INTERVAL,
	    &suppressed)) {
		a->full_logged = true;
		log_warnx("tcp: max_clients (%u) reached: closing new "
		    "connections until a client leaves (%lu more bursts not "
		    "logged)", a->lim.clients.max_clients, suppressed);
	}
}

void
admission_report(struct admission *a, enum admission_verdict v,
    const struct ipaddr *addr, struct counter_shard *shard)
{
	char	 buf[IPADDR_STRLEN];
	unsigned long suppressed;
	struct ipaddr src = *addr;

	if (v == ADMIT_EVICTED)
		counter_add(shard, CTR_TCP_ACCEPTED, 1);
	if (verdicts[v].counter >= 0)
		counter_add(shard, (enum counter_id)verdicts[v].counter, 1);
	pthread_mutex_lock(&a->lock);
	if (v == ADMIT || v == REFUSE_MAX_CLIENTS)
		note_full_locked(a, v);
	if (v == REFUSE_THREAD && log_ratelimit_pass(&a->rl[v], LOG_INTERVAL,
	    &suppressed))
		log_warnx("tcp %s: cannot start a client thread, closed "
		    "(%lu more like it not logged)", ipaddr_format(addr, -1,
		    buf, sizeof(buf)), suppressed);
	else if (verdicts[v].why != NULL && log_ratelimit_pass(&a->rl[v],
	    LOG_INTERVAL, &suppressed)) {
		/* Limits apply to sources; the access list to addresses. */
		if (v != REFUSE_ACL)
			(void)ipaddr_source(&src, a->lim.prefix_v4,
			    a->lim.prefix_v6);
		log_notice("tcp %s: %s: closed (%lu more like it not logged)",
		    ipaddr_format(&src, -1, buf, sizeof(buf)),
		    verdicts[v].why, suppressed);
	}
	pthread_mutex_unlock(&a->lock);
}

const char *
admission_name(enum admission_verdict v)
{
	return (unsigned)v < ADMISSION_NVERDICTS ? verdicts[v].name : "?";
}
