/* SPDX-License-Identifier: MIT */
/*
 * The TCP client registry: every client, and a table of sources (a chained
 * hash table keyed with SipHash, so nobody can aim every source at one
 * chain), each with its count and its clients.  Admission against
 * max_clients and the per-source cap, and the fair-share victim, are
 * decided here under the registry's lock, so two admissions never both
 * take the last place.
 */

#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "echod/clients.h"
#include "echod/monotime.h"
#include "echod/net.h"

#define SOURCE_BUCKETS	16384	/* 128 KiB of heads; chains stay short */
/*
 * A client blocked in send() that long without its peer taking a byte is
 * stalled: the first to go when room is needed.
 */
#define STALL_MS	1000
/*
 * A client that exchanged data this recently is active: fair share closes
 * it only when no silent one is left.  A new client counts as silent from
 * the start (its clock starts this far back) until it sends.
 */
#define ACTIVE_MS	2000
#define TIER		(1LL << 40)	/* ms: far beyond any silence */

/*
 * A thread blocked in recv() keeps the timeout it entered with; a new
 * idle_timeout reaches it only through EINTR.  This signal, with a handler
 * that does nothing and no SA_RESTART, is that nudge.
 */
#define WAKE_SIGNAL	(SIGRTMIN)

/* cppcheck cannot see the macros use the heads' members. */
/* cppcheck-suppress unusedStructMember */
TAILQ_HEAD(source_members, client);
/* cppcheck-suppress unusedStructMember */
TAILQ_HEAD(client_list, client);
/* cppcheck-suppress unusedStructMember */
TAILQ_HEAD(source_list, client_source);

struct client_source {
	struct ipaddr		 key;
	unsigned		 live;		/* clients not being evicted */
	unsigned		 refs;		/* every client, evicted too */
	struct source_members	 members;
	struct client_source	*hnext;		/* hash chain */
	TAILQ_ENTRY(client_source) link;	/* every source */
};

struct clients {
	pthread_mutex_t		 lock;
	struct client_list	 all;
	struct source_list	 sources;
	struct client_source	**buckets;
	struct ipaddr_hashkey	 hk;
	unsigned		 count;
	unsigned		 peak;
	unsigned		 evicting;	/* closed, not yet gone */
	bool			 stopping;
	atomic_int		 idle_timeout;	/* seconds, 0 = never */
	atomic_int		 send_bound;	/* seconds a send may wait */
	atomic_int		 keepalive;
	struct counters		*counters;
};

static void
on_wake(int signo)
{
	(void)signo;
}

struct clients *
clients_new(struct counters *counters)
{
	struct sigaction sa;
	struct clients *r;
	uint8_t	 secret[16];
	ssize_t	 n;
	int	 rc;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_wake;	/* no SA_RESTART: recv() returns EINTR */
	if (sigaction(WAKE_SIGNAL, &sa, NULL) == -1)
		return NULL;
	do
		n = getrandom(secret, sizeof(secret), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(secret)) {
		if (n >= 0)
			errno = EIO;
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->buckets = calloc(SOURCE_BUCKETS,
	    sizeof(struct client_source *))) ==
	    NULL) {
		free(r);
		return NULL;
	}
	if ((rc = pthread_mutex_init(&r->lock, NULL)) != 0) {
		free(r->buckets);
		free(r);
		errno = rc;
		return NULL;
	}
	ipaddr_hash_init(&r->hk, secret);
	TAILQ_INIT(&r->all);
	TAILQ_INIT(&r->sources);
	r->counters = counters;
	return r;
}

void
clients_free(struct clients *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->buckets);
	free(r);
}

static struct client_source **
bucket_of(struct clients *r, const struct ipaddr *key)
{
	return &r->buckets[ipaddr_hash(&r->hk, key) & (SOURCE_BUCKETS - 1)];
}

/* The source of key, made if new (refs 0); NULL with ENOMEM. */
static struct client_source *
source_get_locked(struct clients *r, const struct ipaddr *key)
{
	struct client_source **b = bucket_of(r, key), *s;

	for (s = *b; s != NULL; s = s->hnext)
		if (ipaddr_equal(&s->key, key))
			return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->key = *key;
	TAILQ_INIT(&s->members);
	s->hnext = *b;
	*b = s;
	TAILQ_INSERT_HEAD(&r->sources, s, link);
	return s;
}

/* Free s if nobody is in it. */
static void
source_release_locked(struct clients *r, struct client_source *s)
{
	struct client_source **pp;

	if (s->refs > 0)
		return;
	for (pp = bucket_of(r, &s->key); *pp != s; pp = &(*pp)->hnext)
		;
	*pp = s->hnext;
	TAILQ_REMOVE(&r->sources, s, link);
	free(s);
}

/*
 * Fair share's order, highest first, for a client it may close now: one
 * waiting in recv() with nothing unsent (or for its thread), or one
 * waiting for its peer to take its echo; -1 for others.  Three tiers: a stalled sender (the bytes
 * it refuses to read are its own), then a silent client (no data for
 * ACTIVE_MS, or none ever), then an active one; within a tier, the one
 * quiet longest.
 */
static long long
victim_rank(struct client *c, long long now)
{
	int	 st = atomic_load_explicit(&c->state, memory_order_relaxed);
	long long quiet = now - atomic_load_explicit(&c->last_ms,
	    memory_order_relaxed);

	/* Without a thread yet, a client waits as one in recv() does. */
	if (!c->started)
		st = CLIENT_RECV;
	if (c->evicted || (st != CLIENT_RECV && st != CLIENT_SEND))
		return -1;
	if (quiet < 0)
		quiet = 0;
	if (quiet > TIER - 1)
		quiet = TIER - 1;
	if (st == CLIENT_SEND)
		return quiet >= STALL_MS ? 2 * TIER + quiet : quiet;
	return quiet >= ACTIVE_MS ? TIER + quiet : quiet;
}

/*
 * Fair share: when the newcomer's source holds fewer clients than the
 * heaviest, close one client of the heaviest sources (all of those tied
 * for heaviest), the first in victim_rank()'s order across all of them.  SHUT_RD wakes a recv(), which still returns any
 * bytes already queued, and those are echoed before the thread sees EOF;
 * a stalled sender is shut down both ways.  True if a client was chosen.
 */
static bool
evict_for_locked(struct clients *r, unsigned live)
{
	struct client_source *s;
	struct client *c, *victim = NULL;
	long long now = monotime_coarse_ms(), rank, best = -1;
	unsigned heaviest = 0;

	TAILQ_FOREACH(s, &r->sources, link)
		if (s->live > heaviest)
			heaviest = s->live;
	if (heaviest <= live)
		return false;
	TAILQ_FOREACH(s, &r->sources, link) {
		if (s->live != heaviest)
			continue;
		TAILQ_FOREACH(c, &s->members, by_source)
			if ((rank = victim_rank(c, now)) > best) {
				best = rank;
				victim = c;
			}
	}
	if (victim == NULL)
		return false;
	victim->evicted = true;
	victim->src->live--;
	r->evicting++;
	(void)shutdown(victim->fd, atomic_load_explicit(&victim->state,
	    memory_order_relaxed) == CLIENT_SEND ? SHUT_RDWR : SHUT_RD);
	return true;
}

void
client_init(struct client *c, int fd, const struct sockaddr *peer,
    socklen_t len, const struct ipaddr *addr)
{
	c->fd = fd;
	c->src = NULL;
	c->registered = c->evicted = c->started = false;
	atomic_init(&c->state, CLIENT_BUSY);
	atomic_init(&c->last_ms, monotime_coarse_ms() - ACTIVE_MS);
	client_set_address(c, peer, len, addr);
}

void
client_set_address(struct client *c, const struct sockaddr *peer,
    socklen_t len, const struct ipaddr *addr)
{
	c->addr = *addr;
	memset(&c->peer, 0, sizeof(c->peer));
	if (len > sizeof(c->peer))
		len = sizeof(c->peer);
	memcpy(&c->peer, peer, len);
}

static void
set_count_locked(struct clients *r, unsigned count)
{
	r->count = count;
	counters_set_gauge(r->counters, CTR_TCP_CLIENTS, count);
}

/* Room for one more client under lim, or why not. */
static enum clients_verdict
admit_locked(struct clients *r, struct client *c, struct client_source *s,
    const struct client_limits *lim)
{
	unsigned live = s != NULL ? s->live : 0;
	bool	 evicted = false;

	if (r->stopping)
		return CLIENTS_STOPPING;
	if (s != NULL && lim->max_per_source > 0 &&
	    live >= lim->max_per_source)
		return CLIENTS_SOURCE_FULL;
	/* A client without a source yet holds its place already. */
	if (!c->registered && r->count - r->evicting >= lim->max_clients) {
		if (!lim->fair_share || !evict_for_locked(r, live))
			return CLIENTS_FULL;
		evicted = true;
	}
	return evicted ? CLIENTS_JOINED_EVICTED : CLIENTS_JOINED;
}

enum clients_verdict
clients_join(struct clients *r, struct client *c, const struct ipaddr *source,
    const struct client_limits *lim)
{
	struct client_source *s = NULL;
	enum clients_verdict v;

	pthread_mutex_lock(&r->lock);
	if (source != NULL && (s = source_get_locked(r, source)) == NULL) {
		pthread_mutex_unlock(&r->lock);
		return CLIENTS_NOMEM;
	}
	v = admit_locked(r, c, s, lim);
	if (v != CLIENTS_JOINED && v != CLIENTS_JOINED_EVICTED) {
		if (s != NULL)
			source_release_locked(r, s);
		pthread_mutex_unlock(&r->lock);
		return v;
	}
	if ((c->src = s) != NULL) {
		s->live++;
		s->refs++;
		TAILQ_INSERT_HEAD(&s->members, c, by_source);
	}
	if (!c->registered) {
		c->registered = true;
		TAILQ_INSERT_HEAD(&r->all, c, link);
		set_count_locked(r, r->count + 1);
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

void
clients_leave(struct clients *r, struct client *c)
{
	struct client_source *s = c->src;

	pthread_mutex_lock(&r->lock);
	if (c->evicted)
		r->evicting--;
	else if (s != NULL)
		s->live--;
	if (s != NULL) {
		TAILQ_REMOVE(&s->members, c, by_source);
		s->refs--;
		source_release_locked(r, s);
	}
	if (c->registered) {
		TAILQ_REMOVE(&r->all, c, link);
		set_count_locked(r, r->count - 1);
	}
	c->registered = false;
	c->src = NULL;
	pthread_mutex_unlock(&r->lock);
}

void
clients_started(struct clients *r, struct client *c)
{
	pthread_mutex_lock(&r->lock);
	c->thread = pthread_self();
	c->started = true;
	pthread_mutex_unlock(&r->lock);
}

void
clients_note_peak(struct clients *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->count > r->peak) {
		r->peak = r->count;
		counters_set_gauge(r->counters, CTR_TCP_CLIENTS_PEAK, r->peak);
	}
	pthread_mutex_unlock(&r->lock);
}

unsigned
clients_count(struct clients *r)
{
	unsigned n;

	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

char *
client_format(const struct client *c, char *buf, size_t size)
{
	return net_format_addr(&c->peer.sa, buf, size);
}

/* The bound on a send: the smaller of the two that is set, 0 if none. */
static int
send_bound(int idle_s, int send_s)
{
	return idle_s > 0 && (send_s == 0 || idle_s < send_s) ? idle_s : send_s;
}

void
clients_set_timeouts(struct clients *r, int idle_s, int send_s)
{
	struct client *c;
	int	 bound = send_bound(idle_s, send_s);
	bool	 changed = atomic_load(&r->idle_timeout) != idle_s ||
	    atomic_load(&r->send_bound) != bound;

	atomic_store(&r->idle_timeout, idle_s);
	atomic_store(&r->send_bound, bound);
	if (!changed)
		return;
	pthread_mutex_lock(&r->lock);
	TAILQ_FOREACH(c, &r->all, link) {
		(void)net_set_timeouts(c->fd, idle_s, bound);
		/* Registered, so its thread has not ended yet. */
		if (c->started)
			(void)pthread_kill(c->thread, WAKE_SIGNAL);
	}
	pthread_mutex_unlock(&r->lock);
}

int
clients_idle_timeout(struct clients *r)
{
	return atomic_load_explicit(&r->idle_timeout, memory_order_relaxed);
}

int
clients_send_bound(struct clients *r)
{
	return atomic_load_explicit(&r->send_bound, memory_order_relaxed);
}

void
clients_set_keepalive(struct clients *r, int seconds)
{
	struct client *c;

	if (atomic_exchange(&r->keepalive, seconds) == seconds)
		return;
	pthread_mutex_lock(&r->lock);
	/* Takes effect on the next idle period; no thread needs waking. */
	TAILQ_FOREACH(c, &r->all, link)
		(void)net_set_keepalive(c->fd, seconds);
	pthread_mutex_unlock(&r->lock);
}

int
clients_keepalive(struct clients *r)
{
	return atomic_load_explicit(&r->keepalive, memory_order_relaxed);
}

void
clients_shutdown(struct clients *r)
{
	struct client *c;

	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	/* Wakes a thread blocked in recv() or send(); the peer sees EOF. */
	TAILQ_FOREACH(c, &r->all, link)
		(void)shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&r->lock);
}
