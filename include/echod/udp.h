#ifndef ECHOD_UDP_H
#define ECHOD_UDP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "echod/config.h"
#include "echod/counters.h"
#include "echod/log.h"
#include "echod/stamp_session.h"
#include "echod/udp_policy.h"

#define ECHOD_UDP_MAX_SOCKS	((size_t)2 * ECHOD_MAX_LISTEN) /* echo, STAMP */

struct listener;
struct udp_batch;

/*
 * The UDP thread: echoes every datagram on every UDP echo socket to its
 * sender, and reflects STAMP test packets on the STAMP sockets.
 * It runs from start to stop, even with no socket (udp = false), so a
 * reload never needs a new thread: the sockets and settings change in
 * place through the setters below.
 */
struct udp_service {
	pthread_mutex_t		 lock;		/* the fields up to stop */
	pthread_cond_t		 cond;
	const struct listener	*socks;
	size_t			 nsocks;
	bool			 pause_req;	/* main thread: please park */
	bool			 paused;	/* udp thread: parked */
	bool			 stop;
	struct udp_policy	 policy;	/* changed only while parked */
	unsigned		 lo_index;	/* the loopback interface */
	struct log_ratelimit	 drop_rl[UDP_DROP_RATE + 1]; /* by verdict */
	struct log_ratelimit	 send_rl;	/* failed sends */
	struct log_ratelimit	 stamp_rl;	/* STAMP HMAC failures */
	struct stamp_sessions	 sessions;	/* stateful STAMP */
	uint64_t		 stamp_clock_ns; /* adjtimex() read then */
	uint16_t		 stamp_err;	/* Error Estimate */
	bool			 stamp_synced;
	bool			 stamp_clock_warned;
	struct counters		*counters;
	struct counter_shard	 ctr;		/* the udp thread's counters */
	int			 wake_fd;	/* eventfd: pause, stop */
	struct udp_batch	*batch;		/* recvmmsg/sendmmsg vectors */
	bool			 gso_off[ECHOD_UDP_MAX_SOCKS]; /* cannot segment */
	uint32_t		 rxq_drops[ECHOD_UDP_MAX_SOCKS]; /* SO_RXQ_OVFL */
	int			 rxq_fd[ECHOD_UDP_MAX_SOCKS];	/* whose total */
	pthread_t		 thread;
	bool			 running;
	atomic_ullong		 heartbeat;	/* +1 per wake-up (watchdog) */
};

/*
 * Start the thread serving the nsocks sockets in socks (which must outlive
 * it; none is fine), counting into counters.  Returns 0, or -1 with errno;
 * logs its own failure.
 */
int	udp_service_start(struct udp_service *u, const struct listener *socks,
	    size_t nsocks, struct counters *counters, const struct udp_policy *p);
/*
 * Park the thread (it polls nothing meanwhile), so the sockets it serves
 * can be closed; no-op if not running.
 */
void	udp_service_pause(struct udp_service *u);
/* Serve the nsocks sockets in socks (which must outlive the thread) again. */
void	udp_service_resume(struct udp_service *u, const struct listener *socks,
	    size_t nsocks);
/* As udp_service_resume(), deciding by p (copied) from now on. */
void	udp_service_resume_with(struct udp_service *u,
	    const struct listener *socks, size_t nsocks,
	    const struct udp_policy *p);
/* Advances while the thread runs (from 1); 0 if there is no thread. */
unsigned long long udp_service_heartbeat(struct udp_service *u);
/* Stop the thread and wait for it; a no-op if it is not running. */
void	udp_service_stop(struct udp_service *u);

#endif /* ECHOD_UDP_H */
