#ifndef ECHOD_STATS_H
#define ECHOD_STATS_H

#include <stdatomic.h>
#include <stddef.h>

/*
 * Counters shared by every thread.  Updated with relaxed atomics: they are
 * figures for people (SIGUSR1, STATUS=), not synchronisation.
 */
struct echod_stats {
	atomic_ullong	tcp_bytes_in;
	atomic_ullong	tcp_bytes_out;
	atomic_ullong	udp_datagrams_in;
	atomic_ullong	udp_datagrams_out;
	atomic_ullong	udp_bytes_in;
	atomic_ullong	udp_bytes_out;
	atomic_ullong	refused_full;		/* max_clients reached */
	atomic_ullong	refused_thread;		/* pthread_create or malloc */
	atomic_ullong	accept_errors;		/* EMFILE, ENFILE, ENOBUFS... */
	atomic_ullong	udp_dropped_guard;	/* source port below 1024 */
	atomic_ullong	udp_send_errors;	/* reply not sent */
};

static inline void
stats_add(atomic_ullong *counter, unsigned long long n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline unsigned long long
stats_get(const atomic_ullong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

#endif /* ECHOD_STATS_H */
