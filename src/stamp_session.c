/* SPDX-License-Identifier: MIT */
/*
 * The stateful STAMP reflector's session table: a fixed set-associative
 * cache (no allocation after start), buckets chosen by SipHash keyed with
 * a per-process secret, least recently used session replaced in a full
 * bucket, idle sessions expired by their age alone.
 */

#include <stdlib.h>
#include <string.h>

#include "echod/stamp_session.h"

int
stamp_sessions_init(struct stamp_sessions *t, const uint8_t secret[16])
{
	t->v = calloc((size_t)STAMP_SESSION_BUCKETS * STAMP_SESSION_WAYS,
	    sizeof(*t->v));
	if (t->v == NULL)
		return -1;
	ipaddr_hash_init(&t->hk, secret);
	return 0;
}

void
stamp_sessions_free(struct stamp_sessions *t)
{
	free(t->v);
	t->v = NULL;
}

/* SipHash over every field of the key: the source first, then the rest. */
static size_t
bucket(const struct stamp_sessions *t, const struct stamp_session_key *k)
{
	struct ipaddr mix = k->dst;
	uint64_t h = ipaddr_hash(&t->hk, &k->src);
	size_t	 i;

	for (i = 0; i < 8; i++)
		mix.bytes[i] ^= (uint8_t)(h >> (8 * i));
	mix.bytes[8] ^= (uint8_t)(k->sport >> 8);
	mix.bytes[9] ^= (uint8_t)k->sport;
	mix.bytes[10] ^= (uint8_t)(k->dport >> 8);
	mix.bytes[11] ^= (uint8_t)k->dport;
	mix.bytes[12] ^= (uint8_t)(k->ssid >> 8);
	mix.bytes[13] ^= (uint8_t)k->ssid;
	mix.family = (sa_family_t)(mix.family ^ (k->src.family << 8));
	return (size_t)(ipaddr_hash(&t->hk, &mix) % STAMP_SESSION_BUCKETS);
}

static bool
same_key(const struct stamp_session_key *a, const struct stamp_session_key *b)
{
	return a->sport == b->sport && a->dport == b->dport &&
	    a->ssid == b->ssid && ipaddr_equal(&a->src, &b->src) &&
	    ipaddr_equal(&a->dst, &b->dst);
}

static bool
live(const struct stamp_session *s, uint64_t now_ns)
{
	return s->last_ns != 0 && now_ns - s->last_ns < STAMP_SESSION_IDLE_NS;
}

bool
stamp_sessions_next(struct stamp_sessions *t,
    const struct stamp_session_key *k, uint64_t now_ns,
    struct stamp_session_info *info)
{
	struct stamp_session *b = t->v + bucket(t, k) * STAMP_SESSION_WAYS;
	struct stamp_session *s = NULL, *victim = b;
	bool	 evicted = false;
	size_t	 i;

	if (now_ns == 0)
		now_ns = 1;		/* 0 marks a free slot */
	for (i = 0; i < STAMP_SESSION_WAYS; i++) {
		if (live(&b[i], now_ns) && same_key(&b[i].key, k)) {
			s = &b[i];
			break;
		}
		/* A free or expired slot first, else the oldest. */
		if (!live(&b[i], now_ns) ? live(victim, now_ns) :
		    live(victim, now_ns) && b[i].last_ns < victim->last_ns)
			victim = &b[i];
	}
	if (s == NULL) {
		s = victim;
		evicted = live(s, now_ns);
		memset(s, 0, sizeof(*s));
		s->key = *k;
	}
	s->last_ns = now_ns;
	*info = (struct stamp_session_info){
		.stateful = true, .seq = s->seq++, .rx = ++s->rx, .tx = ++s->tx,
	};
	return evicted;
}
