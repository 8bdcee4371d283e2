#ifndef ECHOD_SOURCES_H
#define ECHOD_SOURCES_H

#include <stddef.h>

#include "echod/ipaddr.h"

/*
 * TCP clients grouped by source (the client address masked to
 * source_prefix_v4/v6): how many each source holds, and which, so
 * admission can cap a source and fair share can pick the heaviest one.
 * Not locked: the session registry calls it under its own lock.
 */

/* A link in a source's list of clients, embedded in the client. */
struct source_member {
	struct source_member	*prev;
	struct source_member	*next;
};

struct source_slot {
	struct ipaddr		 key;
	unsigned		 live;		/* clients not being evicted */
	unsigned		 refs;		/* every client, evicted too */
	struct source_member	*members;	/* newest first */
	struct source_slot	*hnext;		/* hash chain */
	struct source_slot	*prev;		/* every slot */
	struct source_slot	*next;
};

struct sources {
	struct ipaddr_hashkey	 hk;
	struct source_slot	**buckets;
	size_t			 nbuckets;	/* a power of two */
	struct source_slot	*all;
	size_t			 nslots;
};

/* An empty table with a random hash key; 0, or -1 with errno. */
int	sources_init(struct sources *t);
/* Free the table; every member must have left. */
void	sources_destroy(struct sources *t);
/* The slot of key, made if new (refs 0); NULL with errno ENOMEM. */
struct source_slot *sources_get(struct sources *t, const struct ipaddr *key);
/* The slot of key, or NULL. */
struct source_slot *sources_find(const struct sources *t,
	    const struct ipaddr *key);
/* Add m to slot (refs + 1; live is the caller's). */
void	sources_join(struct source_slot *slot, struct source_member *m);
/* Remove m from slot; the slot is freed when its last member leaves. */
void	sources_leave(struct sources *t, struct source_slot *slot,
	    struct source_member *m);
/* Free slot if nobody is in it (after sources_get() found no use). */
void	sources_release(struct sources *t, struct source_slot *slot);
/* The slot with the most live clients, NULL if none: O(sources). */
struct source_slot *sources_heaviest(const struct sources *t);

#endif /* ECHOD_SOURCES_H */
