/* SPDX-License-Identifier: MIT */
/*
 * Rate limits per source prefix (NSD/BIND RRL style): a keyed hash picks a
 * set of RATELIMIT_WAYS buckets.  Tokens are integers: one event costs
 * NS tokens and every nanosecond adds rate_per_s of them, so the rate is
 * exact for any rate and there is no float drift.
 *
 * A bucket that has refilled to its burst is indistinguishable from a new
 * one, so only such buckets are replaced: a flood of fresh keys can take
 * the idle ways but never the state of a source still being limited.
 * When every way of a set holds state, newcomers share the set's one
 * overflow bucket with the same rate and burst: they get answers (none
 * of them is refused outright because of strangers) but together no more
 * than one source would, so spoofing many sources buys nothing.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "echod/ratelimit.h"

#define NS	1000000000ULL

struct bucket {
	uint64_t	tokens;		/* NS per event, at most burst * NS */
	uint64_t	last_ns;	/* when tokens was last brought up */
};

struct way {
	struct bucket	b;
	uint8_t		addr[16];
	uint8_t		family;		/* 0: never used */
};

struct set {
	struct way	way[RATELIMIT_WAYS];
	struct bucket	overflow;
};

struct ratelimit {
	struct ipaddr_hashkey	 hk;
	size_t			 nsets;
	struct set		*sets;
};

struct ratelimit *
ratelimit_new(size_t entries, const struct ipaddr_hashkey *hk)
{
	struct ratelimit *rl;
	size_t i;

	if (entries < RATELIMIT_MIN_ENTRIES ||
	    entries > RATELIMIT_MAX_ENTRIES) {
		errno = EINVAL;
		return NULL;
	}
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return NULL;
	rl->hk = *hk;
	rl->nsets = (entries + RATELIMIT_WAYS - 1) / RATELIMIT_WAYS;
	/* calloc zeroes it: every way free (family 0). */
	if ((rl->sets = calloc(rl->nsets, sizeof(struct set))) == NULL) {
		free(rl);
		return NULL;
	}
	/* Overflow buckets start full: refill() clamps them to the burst. */
	for (i = 0; i < rl->nsets; i++)
		rl->sets[i].overflow.tokens = UINT64_MAX;
	return rl;
}

/* Bring b up to now; returns the cap (burst * NS). */
static uint64_t
refill(struct bucket *b, uint64_t now_ns, uint32_t rate, uint64_t cap)
{
	uint64_t elapsed, room;

	/* A clock that steps back adds nothing (and never underflows). */
	elapsed = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	b->last_ns = now_ns > b->last_ns ? now_ns : b->last_ns;
	if (b->tokens >= cap) {
		b->tokens = cap;	/* the burst may have been lowered */
		return cap;
	}
	room = cap - b->tokens;
	/* elapsed * rate would overflow; compare by division instead. */
	if (rate != 0 && elapsed >= (room + rate - 1) / rate)
		b->tokens = cap;
	else
		b->tokens += elapsed * rate;
	return cap;
}

static int
take(struct bucket *b)
{
	if (b->tokens < NS)
		return 0;
	b->tokens -= NS;
	return 1;
}

/* True if b holds no information at now: refilled to the burst. */
static int
idle(const struct bucket *b, uint64_t now_ns, uint32_t rate, uint64_t cap)
{
	struct bucket t = *b;

	(void)refill(&t, now_ns, rate, cap);
	return t.tokens >= cap;
}

static size_t
set_index(const struct ratelimit *rl, const struct ipaddr *key)
{
	uint64_t h = ipaddr_hash(&rl->hk, key);

	/* Lemire's multiply-shift range reduction: no modulo, no bias
	 * worth counting for nsets < 2^32. */
	return (size_t)(((h >> 32) * (uint64_t)rl->nsets) >> 32);
}

enum ratelimit_verdict
ratelimit_admit(struct ratelimit *rl, const struct ipaddr *key,
    uint64_t now_ns, uint32_t rate_per_s, uint32_t burst)
{
	struct set *s = &rl->sets[set_index(rl, key)];
	struct way *w, *victim = NULL;
	uint64_t cap;
	int i, ok;

	if (burst == 0)
		burst = 1;
	if (burst > RATELIMIT_MAX_BURST)
		burst = RATELIMIT_MAX_BURST;
	cap = (uint64_t)burst * NS;
	for (i = 0; i < RATELIMIT_WAYS; i++) {
		w = &s->way[i];
		if (w->family == key->family &&
		    memcmp(w->addr, key->bytes, sizeof(w->addr)) == 0) {
			(void)refill(&w->b, now_ns, rate_per_s, cap);
			goto charge;
		}
		/* Prefer a never-used way, then the longest idle one. */
		if (w->family == 0) {
			if (victim == NULL || victim->family != 0)
				victim = w;
		} else if ((victim == NULL || (victim->family != 0 &&
		    w->b.last_ns < victim->b.last_ns)) &&
		    idle(&w->b, now_ns, rate_per_s, cap))
			victim = w;
	}
	if (victim == NULL) {
		(void)refill(&s->overflow, now_ns, rate_per_s, cap);
		ok = take(&s->overflow);
		goto out;
	}
	w = victim;
	w->family = (uint8_t)key->family;
	memcpy(w->addr, key->bytes, sizeof(w->addr));
	w->b.tokens = cap;
	w->b.last_ns = now_ns;
charge:
	ok = take(&w->b);
out:
	return ok ? RATELIMIT_ADMIT : RATELIMIT_LIMIT;
}

size_t
ratelimit_entry_bytes(void)
{
	return sizeof(struct set) / RATELIMIT_WAYS;
}

size_t
ratelimit_bytes(const struct ratelimit *rl)
{
	return sizeof(*rl) + rl->nsets * sizeof(struct set);
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->sets);
	free(rl);
}
