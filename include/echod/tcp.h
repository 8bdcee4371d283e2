#ifndef ECHOD_TCP_H
#define ECHOD_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "echod/counters.h"
#include "echod/log.h"

struct acl;
struct ratelimit;
struct sessions;

/* The admission limits, from the config. */
struct tcp_limits {
	unsigned		 max_clients;
	unsigned		 max_per_source;	/* 0 = no cap */
	bool			 fair_share;
	int			 prefix_v4;		/* a source is a /N */
	int			 prefix_v6;
	uint32_t		 connect_rate;		/* per source/s, 0 off */
	uint32_t		 connect_burst;
};

/* The refusals a source can provoke, each logged at its own pace. */
enum tcp_refusal {
	TCP_REFUSAL_ACL,
	TCP_REFUSAL_RATE,
	TCP_REFUSAL_PER_SOURCE,
	TCP_REFUSAL_EVICT,
	TCP_NREFUSALS
};

/* Accepts clients and admits them against max_clients; main thread only. */
struct tcp_acceptor {
	struct sessions		*sessions;
	struct counters		*counters;
	struct counter_shard	 ctr;		/* the accept loop's counters */
	unsigned		 max_clients;
	struct tcp_limits	 limits;
	const struct acl	*acl;		/* NULL: everyone */
	struct ratelimit	*connect_rate;	/* per source; NULL if off */
	bool			 full;		/* refusing since last admit */
	bool			 full_logged;	/* ...and said so */
	unsigned long long	 refused;	/* since "accepting again" */
	struct log_ratelimit	 full_rl;	/* bursts at max_clients */
	struct log_ratelimit	 thread_rl;	/* pthread_create failures */
	struct log_ratelimit	 accept_rl;	/* accept resource errors */
	struct log_ratelimit	 refuse_rl[TCP_NREFUSALS];
};

/* Set up an acceptor that starts sessions in s, counting into counters. */
void	tcp_acceptor_init(struct tcp_acceptor *a, struct sessions *s,
	    struct counters *counters, unsigned max_clients);
/* Fold its counters into the retired totals. */
void	tcp_acceptor_destroy(struct tcp_acceptor *a);
/* Admit under limits l from the next accept on. */
void	tcp_acceptor_set_limits(struct tcp_acceptor *a,
	    const struct tcp_limits *l);
/*
 * Check every new client against acl (NULL: none) and charge its connect
 * rate to connect_rate (NULL: off); both stay the caller's.
 */
void	tcp_acceptor_set_policy(struct tcp_acceptor *a, const struct acl *acl,
	    struct ratelimit *connect_rate);
/*
 * Accept the connections pending on listening socket fd (a bounded batch, so
 * other listeners and signals get their turn).  Returns 0, or -1 with errno
 * when accept(2) ran out of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM) and
 * the caller should stop polling the listeners for a while.
 */
/*
 * Start the threads of admitted clients, a batch at a time (after the
 * listeners are drained, so a burst waits in the daemon rather than in
 * the kernel's backlog); a client without a thread is closed and counted
 * as tcp_refused_thread.  True while more wait: call again without
 * sleeping.
 */
bool	tcp_launch(struct tcp_acceptor *a);
int	tcp_accept_batch(struct tcp_acceptor *a, int fd);

#endif /* ECHOD_TCP_H */
