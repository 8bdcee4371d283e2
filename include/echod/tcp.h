#ifndef ECHOD_TCP_H
#define ECHOD_TCP_H

#include <stdbool.h>

#include "echod/counters.h"
#include "echod/log.h"

struct sessions;

/* Accepts clients and admits them against max_clients; main thread only. */
struct tcp_acceptor {
	struct sessions		*sessions;
	struct counters		*counters;
	struct counter_shard	 ctr;		/* the accept loop's counters */
	unsigned		 max_clients;
	bool			 full;		/* refusing since last admit */
	unsigned long long	 refused;	/* in the current burst */
	struct log_ratelimit	 thread_rl;	/* pthread_create failures */
	struct log_ratelimit	 accept_rl;	/* accept resource errors */
};

/* Set up an acceptor that starts sessions in s, counting into counters. */
void	tcp_acceptor_init(struct tcp_acceptor *a, struct sessions *s,
	    struct counters *counters, unsigned max_clients);
/* Fold its counters into the retired totals. */
void	tcp_acceptor_destroy(struct tcp_acceptor *a);
/* Admit at most max_clients from the next accept on. */
void	tcp_acceptor_set_max_clients(struct tcp_acceptor *a,
	    unsigned max_clients);
/*
 * Accept the connections pending on listening socket fd (a bounded batch, so
 * other listeners and signals get their turn).  Returns 0, or -1 with errno
 * when accept(2) ran out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM) and
 * the caller should stop polling the listeners for a while.
 */
int	tcp_accept_batch(struct tcp_acceptor *a, int fd);

#endif /* ECHOD_TCP_H */
