#ifndef ECHOD_STAMP_SESSION_H
#define ECHOD_STAMP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "echod/ipaddr.h"
#include "echod/stamp.h"

/*
 * The stateful reflector's sessions (RFC 8762 §4.2, keyed as RFC 8972 §3
 * says: the SSID with the 4-tuple), in a table of fixed size allocated
 * once: a set-associative cache whose buckets are chosen by a keyed hash,
 * so a spoofed flood cannot grow it and cannot aim at one bucket; a full
 * bucket gives up its least recently used session.  Owned by the UDP
 * thread: no lock.
 */

#define STAMP_SESSION_WAYS	4
#define STAMP_SESSION_BUCKETS	1024	/* 4,096 sessions, about 300 KiB */
/* A session silent this long is over: its slot is free. */
#define STAMP_SESSION_IDLE_NS	(600ULL * 1000000000ULL)

struct stamp_session_key {
	struct ipaddr	 src;
	struct ipaddr	 dst;
	uint16_t	 sport;
	uint16_t	 dport;
	uint16_t	 ssid;
};

struct stamp_session {
	struct stamp_session_key key;
	uint64_t	 last_ns;	/* 0: free */
	uint32_t	 seq;		/* the next reflector sequence number */
	uint32_t	 rx;
	uint32_t	 tx;
};

struct stamp_sessions {
	struct stamp_session	*v;	/* BUCKETS x WAYS */
	struct ipaddr_hashkey	 hk;
};

/* Allocate the table, keyed by 16 secret bytes; 0, or -1 (ENOMEM). */
int	stamp_sessions_init(struct stamp_sessions *t, const uint8_t secret[16]);
/* Release the table. */
void	stamp_sessions_free(struct stamp_sessions *t);
/*
 * Count one packet of session k at now_ns (a new session starts at 0) and
 * fill info with its reflector sequence number and counters.  True if a
 * live session was evicted to make room.
 */
bool	stamp_sessions_next(struct stamp_sessions *t,
	    const struct stamp_session_key *k, uint64_t now_ns,
	    struct stamp_session_info *info);

#endif /* ECHOD_STAMP_SESSION_H */
