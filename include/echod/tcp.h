#ifndef ECHOD_TCP_H
#define ECHOD_TCP_H

#include <stdbool.h>

#include "echod/admission.h"
#include "echod/counters.h"

struct acl;
struct ratelimit;

/*
 * The TCP service: the accept side (drain a listener, admit each client,
 * hand it to the worker pool) and the three rooms it wires together: the
 * client registry, the admission and the pool running the echo loop.
 * Accepting, launching and reclaiming run on the main thread only.
 */

struct tcp_service;

/* What the config sets on the TCP side. */
struct tcp_settings {
	struct admission_limits	 admission;
	int			 idle_timeout;	/* seconds, 0 = never */
	int			 send_timeout;	/* seconds, 0 = never */
	int			 keepalive;	/* seconds, 0 = off */
	unsigned		 cache_size;	/* idle threads kept */
	int			 cache_timeout;	/* seconds */
	/* PROXY headers from these balancers (the caller's; NULL: off). */
	const struct acl	*proxy_from;
	int			 proxy_timeout;	/* seconds for a whole header */
};

/* A service that admits nobody until tcp_service_set(); NULL, errno. */
struct tcp_service *tcp_service_new(struct counters *counters);
/* Free it; only once tcp_service_shutdown() returned 0. */
void	tcp_service_free(struct tcp_service *t);
/*
 * Apply settings s with access list acl (NULL: none) and connect-rate
 * table rate (NULL: off), both the caller's: new clients at once,
 * connected ones at their next wait.  Cannot fail.
 */
void	tcp_service_set(struct tcp_service *t, const struct tcp_settings *s,
	    const struct acl *acl, struct ratelimit *rate);
/*
 * Accept the connections pending on listening socket fd (a bounded batch,
 * so other listeners and signals get their turn).  Returns 0, or -1 with
 * errno when accept(2) ran out of a resource (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) and the caller should stop polling the listeners for a while.
 */
int	tcp_accept_batch(struct tcp_service *t, int fd);
/*
 * Start the threads of admitted clients, a batch at a time (after the
 * listeners are drained, so a burst waits in the daemon rather than in
 * the kernel's backlog).  True while more wait: call again without
 * sleeping.
 */
bool	tcp_launch(struct tcp_service *t);
/*
 * Give memory back after a crowd; the milliseconds until it should be
 * called again, or -1 when no thread is left.
 */
int	tcp_reclaim(struct tcp_service *t);
/* Clients connected now. */
unsigned tcp_clients(struct tcp_service *t);
/*
 * Refuse new clients, close every connected one (they see EOF) and wait
 * up to timeout_ms for their threads; 0, or -1 with ETIMEDOUT.
 */
int	tcp_service_shutdown(struct tcp_service *t, int timeout_ms);

#endif /* ECHOD_TCP_H */
