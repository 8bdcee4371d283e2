#ifndef ECHOD_CLIENTS_H
#define ECHOD_CLIENTS_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "echod/counters.h"
#include "echod/ipaddr.h"

/*
 * The TCP client registry: who is connected, grouped by source (the client
 * address masked to source_prefix_v4/v6), under its own lock.  It admits a
 * client against max_clients and the per-source cap, picks the fair-share
 * victim, applies live settings to every client and shuts them all down
 * at stop.  A client leaves before its socket is closed, so the registry
 * never touches a descriptor that was reused.
 */

struct clients;
struct client_source;

/* What a client's thread is doing: fair share may close it in RECV, SEND. */
enum client_state {
	CLIENT_BUSY,		/* between calls, or not started */
	CLIENT_RECV,		/* waiting for data, nothing unsent */
	CLIENT_SEND,		/* waiting for the client to take its echo */
};

/*
 * A TCP peer's address as accept(2) or the PROXY header gave it: IPv4 or
 * IPv6 only, 28 bytes in each held client where a sockaddr_storage is 128.
 */
union client_peer {
	struct sockaddr		 sa;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
};

/*
 * One client.  Its storage is the caller's (a job block of the worker
 * pool); every field is the registry's, read and written through the
 * functions below.
 */
struct client {
	TAILQ_ENTRY(client)	 link;		/* every client */
	TAILQ_ENTRY(client)	 by_source;	/* its source's clients */
	struct client_source	*src;		/* NULL: no source yet */
	pthread_t		 thread;
	_Atomic long long	 last_ms;	/* data last moved, monotonic */
	atomic_int		 state;		/* enum client_state */
	int			 fd;
	bool			 registered;
	bool			 evicted;	/* fair share closed it */
	bool			 started;	/* thread valid */
	struct ipaddr		 addr;		/* the client's own address */
	union client_peer	 peer;		/* as accept(2) gave it */
};

/* The limits a client is admitted under. */
struct client_limits {
	unsigned		 max_clients;
	unsigned		 max_per_source;	/* 0: no cap */
	bool			 fair_share;
};

/* The registry's answer to a client that asks to join. */
enum clients_verdict {
	CLIENTS_JOINED,
	CLIENTS_JOINED_EVICTED,	/* after closing a heavier source's client */
	CLIENTS_FULL,		/* max_clients, nobody to evict */
	CLIENTS_SOURCE_FULL,	/* max_per_source */
	CLIENTS_STOPPING,
	CLIENTS_NOMEM,
};

/* An empty registry updating the client gauges of counters; NULL, errno. */
struct clients *clients_new(struct counters *counters);
/* Free it; every client must have left. */
void	clients_free(struct clients *r);
/*
 * Fill c for socket fd from peer (len bytes), whose address is addr; not
 * yet registered.
 */
void	client_init(struct client *c, int fd, const struct sockaddr *peer,
	    socklen_t len, const struct ipaddr *addr);
/*
 * The client's real address, learned after accept (a PROXY header): for
 * logs and admission from now on.  Only by c's own thread, before it joins
 * its source.
 */
void	client_set_address(struct client *c, const struct sockaddr *peer,
	    socklen_t len, const struct ipaddr *addr);
/*
 * Register c (filled by client_init) under lim as a client of source (the
 * masked address), or, with source NULL, as a client without a source yet
 * (it counts against max_clients only).  A registered client without a
 * source joins its source with a second call, checked against the
 * per-source cap and fair share but not max_clients again.
 */
enum clients_verdict clients_join(struct clients *r, struct client *c,
	    const struct ipaddr *source, const struct client_limits *lim);
/* Unregister c (its thread ended, or it never got one). */
void	clients_leave(struct clients *r, struct client *c);
/* Tell the registry which thread serves c, so live settings can nudge it. */
void	clients_started(struct clients *r, struct client *c);
/*
 * A client's thread started: count the clients now toward the peak (only
 * clients whose thread really runs count).
 */
void	clients_note_peak(struct clients *r);
/* Clients registered now. */
unsigned clients_count(struct clients *r);
/* The source of c as a text, for logs. */
char	*client_format(const struct client *c, char *buf, size_t size);

/* Note what c's thread waits for now (cheap: the hot path calls it). */
static inline void
client_note(struct client *c, enum client_state s)
{
	atomic_store_explicit(&c->state, (int)s, memory_order_relaxed);
}

/* Note that data moved at now_ms: c is not silent. */
static inline void
client_progress(struct client *c, long long now_ms)
{
	atomic_store_explicit(&c->last_ms, now_ms, memory_order_relaxed);
}

/*
 * A client silent for idle_s is closed, and one that takes no byte of its
 * echo for the smaller of idle_s and send_s (0: none) too; connected
 * clients at once (a thread blocked in a call is nudged).
 */
void	clients_set_timeouts(struct clients *r, int idle_s, int send_s);
/* The idle timeout and the send bound in force, seconds (0: none). */
int	clients_idle_timeout(struct clients *r);
int	clients_send_bound(struct clients *r);
/* Apply TCP keepalive (seconds of silence, 0 = off) to new and connected. */
void	clients_set_keepalive(struct clients *r, int seconds);
int	clients_keepalive(struct clients *r);
/*
 * Refuse new clients and shut every client socket down: their threads see
 * EOF (or a failed send) and leave.
 */
void	clients_shutdown(struct clients *r);

#endif /* ECHOD_CLIENTS_H */
