#ifndef ECHOD_COUNTERS_H
#define ECHOD_COUNTERS_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The daemon's counters: one table of (name, help, value) rows, read by
 * SIGUSR1, STATUS= and the tests through one formatter.  Hot paths never
 * share a cache line: each writer thread (the accept loop, the UDP thread,
 * every client thread) adds into its own shard, and a read sums the shards
 * (the kernel's percpu counters).  A shard that goes away is folded into
 * the retired totals first, so no count is lost or counted twice.
 */

/* The rows, in output order; counters.c holds their names and help. */
enum counter_id {
	CTR_TCP_CLIENTS,		/* gauge */
	CTR_TCP_CLIENTS_PEAK,		/* gauge */
	CTR_TCP_THREADS_STARTED,
	CTR_TCP_THREADS_CACHED,		/* gauge */
	CTR_TCP_ACCEPTED,
	CTR_TCP_BYTES_IN,
	CTR_TCP_BYTES_OUT,
	CTR_TCP_CLOSED_IDLE,
	CTR_TCP_CLOSED_ERROR,
	CTR_TCP_REFUSED_MAX_CLIENTS,
	CTR_TCP_REFUSED_THREAD,
	CTR_TCP_ACCEPT_ERRORS,
	CTR_TCP_REFUSED_PER_SOURCE,	/* max_clients_per_source */
	CTR_TCP_REFUSED_CONNECT_RATE,	/* connect_rate_per_source */
	CTR_TCP_REFUSED_ACL,		/* allow, deny */
	CTR_TCP_EVICTED_FAIR_SHARE,	/* closed to admit another source */
	CTR_TCP_REFUSED_PROXY_HEADER,	/* bad or late PROXY header */
	CTR_UDP_DATAGRAMS_IN,
	CTR_UDP_DATAGRAMS_OUT,
	CTR_UDP_BYTES_IN,
	CTR_UDP_BYTES_OUT,
	CTR_UDP_DROPPED_LOOP_GUARD,	/* all rules; by rule below */
	CTR_UDP_LOOP_FIRST,		/* loopguard verdict 1 ... */
	CTR_UDP_LOOP_LAST = CTR_UDP_LOOP_FIRST + 9,	/* ... verdict 10 */
	CTR_UDP_DROPPED_ACL,
	CTR_UDP_DROPPED_RATE_LIMIT,
	CTR_UDP_SEND_ERRORS,
	CTR_UDP_DROPPED_RCVBUF,		/* SO_RXQ_OVFL */
	CTR_STAMP_PACKETS_IN,		/* STAMP sockets */
	CTR_STAMP_REFLECTED,
	CTR_STAMP_DROPPED_SHORT,
	CTR_STAMP_DROPPED_AUTH,
	CTR_STAMP_TLV_UNKNOWN,
	CTR_STAMP_TLV_MALFORMED,
	CTR_STAMP_TLV_INTEGRITY,
	CTR_STAMP_SESSIONS_EVICTED,
	CTR_RELOADS,
	CTR_RELOADS_FAILED,
	CTR_COUNT
};

/*
 * The one histogram, echod_tcp_connection_duration_seconds: how long TCP
 * clients stay, in buckets up to 0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300,
 * 900, 3600 seconds and +Inf.  Shared, not per shard: it takes one
 * observation per connection, at its end, where a shared cache line costs
 * nothing next to close(2), and every held client's shard is 104 bytes
 * smaller.
 */
#define COUNTER_HIST_BUCKETS	12
/* Each bucket's upper bound in ms, the last UINT64_MAX (+Inf). */
extern const uint64_t counter_hist_bounds_ms[COUNTER_HIST_BUCKETS];

/* The histogram as read: counts per bucket, not cumulative. */
struct counter_hist {
	uint64_t	bucket[COUNTER_HIST_BUCKETS];
	uint64_t	count;
	uint64_t	sum_ms;
};

/* What one writer adds up; written by that thread alone. */
struct counter_shard {
	_Atomic uint64_t	 v[CTR_COUNT];
	LIST_ENTRY(counter_shard) link;		/* in counters' shards */
};

/* Every shard in use, the totals of retired ones, and the gauges. */
struct counters {
	pthread_mutex_t		 lock;
	LIST_HEAD(, counter_shard) shards;
	uint64_t		 retired[CTR_COUNT];
	_Atomic uint64_t	 gauge[CTR_COUNT];
	_Atomic uint64_t	 hist[COUNTER_HIST_BUCKETS];
	_Atomic uint64_t	 hist_sum_ms;
};

/* Prepare an empty table; 0, or -1 with errno. */
int	counters_init(struct counters *c);
/* Release the table; every shard must have been retired. */
void	counters_destroy(struct counters *c);
/* Zero shard and link it into c, so reads include it. */
void	counters_attach(struct counters *c, struct counter_shard *shard);
/* Fold shard into the retired totals and unlink it. */
void	counters_detach(struct counters *c, struct counter_shard *shard);

/* Add n to counter id of the calling thread's own shard. */
static inline void
counter_add(struct counter_shard *shard, enum counter_id id, uint64_t n)
{
	/* One writer per shard: a plain load and store, no locked RMW. */
	atomic_store_explicit(&shard->v[id], atomic_load_explicit(
	    &shard->v[id], memory_order_relaxed) + n, memory_order_relaxed);
}

/* Count a TCP client that stayed ms milliseconds (at session end). */
static inline void
counter_observe_duration(struct counters *c, uint64_t ms)
{
	size_t	 i = 0;

	while (i + 1 < COUNTER_HIST_BUCKETS && ms > counter_hist_bounds_ms[i])
		i++;
	atomic_fetch_add_explicit(&c->hist[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->hist_sum_ms, ms, memory_order_relaxed);
}

/* Set a gauge row (clients now, peak) to v. */
void	counters_set_gauge(struct counters *c, enum counter_id id, uint64_t v);
/* Sum every row into v[CTR_COUNT]. */
void	counters_read(struct counters *c, uint64_t v[CTR_COUNT]);
/* The histogram now. */
void	counters_read_hist(struct counters *c, struct counter_hist *h);
/* Bucket i's upper bound as Prometheus writes it: "0.01", "60", "+Inf". */
const char *counters_hist_le(size_t i);

/*
 * How a row is exported (the metrics endpoint): the family it belongs to,
 * its type, and the label that tells it from the family's other rows.
 * A row the table says nothing about is its own family, named after it:
 * echod_<name>_total for a counter, echod_<name> for a gauge.
 */
enum counter_type {
	COUNTER_TYPE_COUNTER,
	COUNTER_TYPE_GAUGE
};

struct counter_meta {
	const char	*family;	/* "tcp_refused": without echod_, _total */
	const char	*help;		/* the family's HELP */
	const char	*label;		/* "reason", or NULL */
	const char	*value;		/* "max_clients", or NULL */
	enum counter_type type;
};

/* Fill m for row id. */
void	counters_meta(enum counter_id id, struct counter_meta *m);

/*
 * The row's name ("tcp_bytes_in") and its one-line help text: the contract
 * every reader of the table formats with (counters_format(), a metrics
 * endpoint's names and HELP lines).
 */
const char *counters_name(enum counter_id id);
const char *counters_help(enum counter_id id);
/*
 * Format v as "name=value name=value ..." into buf; the length it needed
 * (as snprintf), so a short buffer is detectable.
 */
size_t	counters_format(const uint64_t v[CTR_COUNT], char *buf, size_t size);

#endif /* ECHOD_COUNTERS_H */
