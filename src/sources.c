/* SPDX-License-Identifier: MIT */
/*
 * TCP clients by source: a chained hash table (keyed SipHash, so nobody
 * can aim every source at one chain) of slots, each with its count and its
 * list of clients.  A slot lives while any client is in it.
 */

#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "echod/sources.h"

#define SOURCES_BUCKETS	16384	/* 128 KiB of heads; chains stay short */

int
sources_init(struct sources *t)
{
	uint8_t	 secret[16];
	ssize_t	 n;

	memset(t, 0, sizeof(*t));
	do
		n = getrandom(secret, sizeof(secret), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(secret)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	ipaddr_hash_init(&t->hk, secret);
	t->buckets = calloc(SOURCES_BUCKETS, sizeof(struct source_slot *));
	if (t->buckets == NULL)
		return -1;
	t->nbuckets = SOURCES_BUCKETS;
	return 0;
}

void
sources_destroy(struct sources *t)
{
	struct source_slot *s, *next;

	for (s = t->all; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static size_t
bucket_of(const struct sources *t, const struct ipaddr *key)
{
	return (size_t)ipaddr_hash(&t->hk, key) & (t->nbuckets - 1);
}

struct source_slot *
sources_find(const struct sources *t, const struct ipaddr *key)
{
	struct source_slot *s;

	for (s = t->buckets[bucket_of(t, key)]; s != NULL; s = s->hnext)
		if (ipaddr_equal(&s->key, key))
			return s;
	return NULL;
}

struct source_slot *
sources_get(struct sources *t, const struct ipaddr *key)
{
	struct source_slot *s;
	size_t	 b;

	if ((s = sources_find(t, key)) != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->key = *key;
	b = bucket_of(t, key);
	s->hnext = t->buckets[b];
	t->buckets[b] = s;
	s->next = t->all;
	if (t->all != NULL)
		t->all->prev = s;
	t->all = s;
	t->nslots++;
	return s;
}

void
sources_join(struct source_slot *slot, struct source_member *m)
{
	m->prev = NULL;
	m->next = slot->members;
	if (slot->members != NULL)
		slot->members->prev = m;
	slot->members = m;
	slot->refs++;
}

void
sources_release(struct sources *t, struct source_slot *slot)
{
	struct source_slot **pp;

	if (slot->refs > 0)
		return;
	for (pp = &t->buckets[bucket_of(t, &slot->key)]; *pp != slot;
	    pp = &(*pp)->hnext)
		;
	*pp = slot->hnext;
	if (slot->prev != NULL)
		slot->prev->next = slot->next;
	else
		t->all = slot->next;
	if (slot->next != NULL)
		slot->next->prev = slot->prev;
	t->nslots--;
	free(slot);
}

void
sources_leave(struct sources *t, struct source_slot *slot,
    struct source_member *m)
{
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		slot->members = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	slot->refs--;
	sources_release(t, slot);
}

struct source_slot *
sources_heaviest(const struct sources *t)
{
	struct source_slot *s, *best = NULL;

	for (s = t->all; s != NULL; s = s->next)
		if (s->live > 0 && (best == NULL || s->live > best->live))
			best = s;
	return best;
}
