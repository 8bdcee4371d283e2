#ifndef ECHOD_RATELIMIT_H
#define ECHOD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "echod/ipaddr.h"

/*
 * Token buckets per source prefix in a fixed-size, set-associative table
 * allocated once: O(1) per call, no allocation after ratelimit_new(), and
 * a flood of new (spoofed) keys never evicts a bucket that holds state.
 * One thread uses a table at a time (the UDP thread, the accept loop).
 */

/* Ways per set: a new key needs one of these to be idle. */
#define RATELIMIT_WAYS		8
/* Table sizes accepted by ratelimit_new(). */
#define RATELIMIT_MIN_ENTRIES	RATELIMIT_WAYS
#define RATELIMIT_MAX_ENTRIES	(1U << 24)
/* Largest burst: keeps burst * 1e9 token units inside 64 bits. */
#define RATELIMIT_MAX_BURST	1000000000U

enum ratelimit_verdict {
	RATELIMIT_ADMIT,
	RATELIMIT_LIMIT
};

struct ratelimit;

/* A table of at least entries buckets; NULL with errno EINVAL or ENOMEM. */
struct ratelimit *ratelimit_new(size_t entries,
		    const struct ipaddr_hashkey *hk);
/* Charge one event of key (masked) at now_ns; ADMIT or LIMIT. */
enum ratelimit_verdict ratelimit_admit(struct ratelimit *rl,
		    const struct ipaddr *key, uint64_t now_ns,
		    uint32_t rate_per_s, uint32_t burst);
/*
 * Bytes of table per entry (the per-set overflow bucket included): the
 * cost of udp_rate_table_size that echod.conf(5) quotes.
 */
size_t		ratelimit_entry_bytes(void);
/*
 * Bytes the whole table occupies: fixed by ratelimit_new(), however many
 * keys come (the contract the tests and bench/acl_lookup check).
 */
size_t		ratelimit_bytes(const struct ratelimit *rl);
/* Release rl; NULL is fine. */
void		ratelimit_free(struct ratelimit *rl);

#endif /* ECHOD_RATELIMIT_H */
