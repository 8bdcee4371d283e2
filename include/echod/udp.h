#ifndef ECHOD_UDP_H
#define ECHOD_UDP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "echod/config.h"

#define ECHOD_UDP_MAX_SOCKS	ECHOD_MAX_LISTEN

struct echod_stats;
struct listener;

/* The UDP thread: echoes every datagram on every UDP socket to its sender. */
struct udp_service {
	const struct listener	*socks;
	size_t			 nsocks;
	struct echod_stats	*stats;
	atomic_bool		 loop_guard;	/* drop source ports < 1024 */
	int			 wake_fd;	/* eventfd: stop */
	char			*buf;		/* one datagram */
	pthread_t		 thread;
	bool			 running;
	atomic_ullong		 heartbeat;	/* +1 per wake-up (watchdog) */
};

/*
 * Start the thread serving the nsocks UDP sockets in socks (which must
 * outlive it).  Returns 0, or -1 with errno; logs its own failure.
 */
int	udp_service_start(struct udp_service *u, const struct listener *socks,
	    size_t nsocks, struct echod_stats *stats, bool loop_guard);
/* Advances while the thread runs (from 1); 0 if there is no thread. */
unsigned long long udp_service_heartbeat(struct udp_service *u);
/* Stop the thread and wait for it; a no-op if it is not running. */
void	udp_service_stop(struct udp_service *u);

#endif /* ECHOD_UDP_H */
