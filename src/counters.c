/* SPDX-License-Identifier: MIT */
/*
 * The counters table: the names and help of every row, the shards that
 * writer threads add into, and the one formatter that SIGUSR1, STATUS= and
 * the tests read.  A read locks only the shard list, never a writer.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "echod/counters.h"
#include "echod/loopguard.h"	/* the rule rows' names: loopguard_name() */

/*
 * A metrics family that rows share or are renamed into (see
 * counters_meta()): a row points at one, and gives its label's value.
 */
struct counter_family {
	const char	*name;		/* without echod_ and _total */
	const char	*help;		/* NULL: the row's own help */
	const char	*label;		/* NULL: one row, no label */
};

/* A row exported under another name, unlabelled. */
#define AS(fname)	(&(const struct counter_family){ .name = (fname) })

static const struct counter_family
    fam_tcp_refused = { "tcp_refused",
	"TCP clients closed right after accept, by reason", "reason" },
    fam_tcp_closed = { "tcp_closed",
	"TCP clients closed by the daemon, by reason (idle_timeout, error)",
	"reason" },
    fam_udp_dropped = { "udp_dropped",
	"UDP datagrams dropped without an answer, by reason (loop_guard "
	"counts every rule of udp_loop_guard)", "reason" },
    fam_udp_loop_rule = { "udp_loop_guard_dropped",
	"UDP datagrams dropped by udp_loop_guard, by rule (their sum is "
	"echod_udp_dropped_total{reason=\"loop_guard\"})", "rule" },
    fam_stamp_dropped = { "stamp_dropped",
	"STAMP test packets dropped without an answer, by reason", "reason" };

struct counter_def {
	const char	*name;
	const char	*help;
	bool		 gauge;		/* a level, not a sum */
};

const uint64_t counter_hist_bounds_ms[COUNTER_HIST_BUCKETS] = {
	10, 100, 500, 1000, 5000, 10000, 30000, 60000, 300000, 900000,
	3600000, UINT64_MAX
};
static const char *const hist_le[COUNTER_HIST_BUCKETS] = {
	"0.01", "0.1", "0.5", "1", "5", "10", "30", "60", "300", "900",
	"3600", "+Inf"
};

static const struct counter_def defs[CTR_COUNT] = {
	[CTR_TCP_CLIENTS] = { "tcp_clients",
	    "TCP clients connected now", true },
	[CTR_TCP_CLIENTS_PEAK] = { "tcp_clients_peak",
	    "most TCP clients connected at once", true },
	[CTR_TCP_THREADS_STARTED] = { "tcp_threads_started",
	    "client threads started since start (the rest were cached ones)",
	    false },
	[CTR_TCP_THREADS_CACHED] = { "tcp_threads_cached",
	    "finished client threads waiting for the next client now", true },
	[CTR_TCP_ACCEPTED] = { "tcp_accepted",
	    "TCP clients admitted since start", false },
	[CTR_TCP_BYTES_IN] = { "tcp_bytes_in",
	    "bytes read from TCP clients", false },
	[CTR_TCP_BYTES_OUT] = { "tcp_bytes_out",
	    "bytes echoed to TCP clients", false },
	[CTR_TCP_CLOSED_IDLE] = { "tcp_closed_idle",
	    "TCP clients closed by idle_timeout", false },
	[CTR_TCP_CLOSED_ERROR] = { "tcp_closed_error",
	    "TCP clients lost to an error (reset, keepalive timeout)", false },
	[CTR_TCP_REFUSED_MAX_CLIENTS] = { "tcp_refused_max_clients",
	    "TCP clients closed at once: max_clients reached", false },
	[CTR_TCP_REFUSED_THREAD] = { "tcp_refused_thread",
	    "TCP clients closed at once: no thread or memory", false },
	[CTR_TCP_ACCEPT_ERRORS] = { "tcp_accept_errors",
	    "accept(2) out of descriptors or memory (each pauses accepting)",
	    false },
	[CTR_TCP_REFUSED_PER_SOURCE] = { "tcp_refused_per_source",
	    "TCP clients closed at once: max_clients_per_source reached",
	    false },
	[CTR_TCP_REFUSED_CONNECT_RATE] = { "tcp_refused_connect_rate",
	    "TCP clients closed at once: connect_rate_per_source exceeded",
	    false },
	[CTR_TCP_REFUSED_ACL] = { "tcp_refused_acl",
	    "TCP clients closed at once: refused by allow/deny", false },
	[CTR_TCP_EVICTED_FAIR_SHARE] = { "tcp_evicted_fair_share",
	    "idle TCP clients of the heaviest source closed to admit another "
	    "source (fair_share)", false },
	[CTR_TCP_REFUSED_PROXY_HEADER] = { "tcp_refused_proxy_header",
	    "TCP connections from proxy_from closed: no valid PROXY header "
	    "within proxy_timeout", false },
	[CTR_UDP_DATAGRAMS_IN] = { "udp_datagrams_in",
	    "UDP datagrams received", false },
	[CTR_UDP_DATAGRAMS_OUT] = { "udp_datagrams_out",
	    "UDP datagrams echoed", false },
	[CTR_UDP_BYTES_IN] = { "udp_bytes_in",
	    "UDP payload bytes received", false },
	[CTR_UDP_BYTES_OUT] = { "udp_bytes_out",
	    "UDP payload bytes echoed", false },
	[CTR_UDP_DROPPED_LOOP_GUARD] = { "udp_dropped_loop_guard",
	    "UDP datagrams dropped by udp_loop_guard, all rules", false },
	/* The rule rows take their names from loopguard_name(). */
	[CTR_UDP_LOOP_FIRST + 0] = { NULL, "loop guard: not IPv4 or IPv6",
	    false },
	[CTR_UDP_LOOP_FIRST + 1] = { NULL,
	    "loop guard: source 0.0.0.0 or ::", false },
	[CTR_UDP_LOOP_FIRST + 2] = { NULL, "loop guard: source in 0.0.0.0/8",
	    false },
	[CTR_UDP_LOOP_FIRST + 3] = { NULL,
	    "loop guard: source 255.255.255.255", false },
	[CTR_UDP_LOOP_FIRST + 4] = { NULL, "loop guard: multicast source",
	    false },
	[CTR_UDP_LOOP_FIRST + 5] = { NULL,
	    "loop guard: loopback source from another interface", false },
	[CTR_UDP_LOOP_FIRST + 6] = { NULL, "loop guard: source port 0",
	    false },
	[CTR_UDP_LOOP_FIRST + 7] = { NULL,
	    "loop guard: source port below 1024", false },
	[CTR_UDP_LOOP_FIRST + 8] = { NULL, "loop guard: source port 2049 (NFS)",
	    false },
	[CTR_UDP_LOOP_FIRST + 9] = { NULL,
	    "loop guard: source port is one echod serves", false },
	[CTR_UDP_DROPPED_ACL] = { "udp_dropped_acl",
	    "UDP datagrams dropped by allow/deny", false },
	[CTR_UDP_DROPPED_RATE_LIMIT] = { "udp_dropped_rate_limit",
	    "UDP datagrams dropped: udp_rate_per_source exceeded", false },
	[CTR_UDP_SEND_ERRORS] = { "udp_send_errors",
	    "UDP replies that could not be sent", false },
	[CTR_UDP_DROPPED_RCVBUF] = { "udp_dropped_rcvbuf",
	    "UDP datagrams the kernel dropped: a socket's receive buffer was "
	    "full (SO_RXQ_OVFL)", false },
	[CTR_STAMP_PACKETS_IN] = { "stamp_packets_in",
	    "STAMP test packets received (all UDP policy drops are counted "
	    "in the udp_dropped_* rows)", false },
	[CTR_STAMP_REFLECTED] = { "stamp_reflected",
	    "STAMP test packets reflected", false },
	[CTR_STAMP_DROPPED_SHORT] = { "stamp_dropped_short",
	    "STAMP packets dropped unanswered: shorter than 41 octets "
	    "(112 in authenticated mode)", false },
	[CTR_STAMP_DROPPED_AUTH] = { "stamp_dropped_auth",
	    "STAMP packets dropped unanswered: the HMAC did not verify",
	    false },
	[CTR_STAMP_TLV_UNKNOWN] = { "stamp_tlv_unknown",
	    "STAMP TLVs reflected unprocessed with the U flag (not supported)",
	    false },
	[CTR_STAMP_TLV_MALFORMED] = { "stamp_tlv_malformed",
	    "STAMP packets reflected with a malformed TLV (M flag)", false },
	[CTR_STAMP_TLV_INTEGRITY] = { "stamp_tlv_integrity",
	    "STAMP packets reflected with their TLVs unused: HMAC TLV missing "
	    "or wrong (I flag)", false },
	[CTR_STAMP_SESSIONS_EVICTED] = { "stamp_sessions_evicted",
	    "stateful STAMP sessions evicted from the full session table",
	    false },
	[CTR_RELOADS] = { "reloads",
	    "configuration reloads applied", false },
	[CTR_RELOADS_FAILED] = { "reloads_failed",
	    "reloads refused (invalid or unreadable file, bind failure)",
	    false },
};

/*
 * Where the metrics endpoint puts a row, by row; a row not listed here is
 * a family of its own, named after it (see counters_meta()).
 */
struct counter_export {
	const struct counter_family *family;
	const char	*value;		/* family->label's value */
};

#define IN(fam, val)	{ .family = &(fam), .value = (val) }
#define RENAME(fname)	{ .family = AS(fname) }

static const struct counter_export exports[CTR_COUNT] = {
	[CTR_TCP_ACCEPTED] = RENAME("tcp_accepted"),
	[CTR_TCP_BYTES_IN] = RENAME("tcp_bytes_received"),
	[CTR_TCP_BYTES_OUT] = RENAME("tcp_bytes_sent"),
	[CTR_TCP_CLOSED_IDLE] = IN(fam_tcp_closed, "idle"),
	[CTR_TCP_CLOSED_ERROR] = IN(fam_tcp_closed, "error"),
	[CTR_TCP_REFUSED_MAX_CLIENTS] = IN(fam_tcp_refused, "max_clients"),
	[CTR_TCP_REFUSED_THREAD] = IN(fam_tcp_refused, "thread"),
	[CTR_TCP_REFUSED_PER_SOURCE] = IN(fam_tcp_refused, "per_source"),
	[CTR_TCP_REFUSED_CONNECT_RATE] = IN(fam_tcp_refused, "connect_rate"),
	[CTR_TCP_REFUSED_ACL] = IN(fam_tcp_refused, "acl"),
	[CTR_TCP_REFUSED_PROXY_HEADER] = IN(fam_tcp_refused, "proxy_header"),
	[CTR_UDP_DATAGRAMS_IN] = RENAME("udp_datagrams_received"),
	[CTR_UDP_DATAGRAMS_OUT] = RENAME("udp_datagrams_sent"),
	[CTR_UDP_BYTES_IN] = RENAME("udp_bytes_received"),
	[CTR_UDP_BYTES_OUT] = RENAME("udp_bytes_sent"),
	[CTR_UDP_DROPPED_LOOP_GUARD] = IN(fam_udp_dropped, "loop_guard"),
	/* The rule label comes from the row's name, less "udp_loop_". */
	[CTR_UDP_LOOP_FIRST + 0] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 1] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 2] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 3] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 4] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 5] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 6] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 7] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 8] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_LOOP_FIRST + 9] = IN(fam_udp_loop_rule, NULL),
	[CTR_UDP_DROPPED_ACL] = IN(fam_udp_dropped, "acl"),
	[CTR_UDP_DROPPED_RATE_LIMIT] = IN(fam_udp_dropped, "rate_limit"),
	[CTR_UDP_DROPPED_RCVBUF] = IN(fam_udp_dropped, "rcvbuf"),
	[CTR_STAMP_PACKETS_IN] = RENAME("stamp_packets_received"),
	[CTR_STAMP_DROPPED_SHORT] = IN(fam_stamp_dropped, "short"),
	[CTR_STAMP_DROPPED_AUTH] = IN(fam_stamp_dropped, "auth"),
};

int
counters_init(struct counters *c)
{
	int	 rc;
	size_t	 i;

	memset(c, 0, sizeof(*c));
	LIST_INIT(&c->shards);
	for (i = 0; i < CTR_COUNT; i++)
		atomic_init(&c->gauge[i], 0);
	for (i = 0; i < COUNTER_HIST_BUCKETS; i++)
		atomic_init(&c->hist[i], 0);
	atomic_init(&c->hist_sum_ms, 0);
	if ((rc = pthread_mutex_init(&c->lock, NULL)) != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

void
counters_destroy(struct counters *c)
{
	pthread_mutex_destroy(&c->lock);
}

void
counters_attach(struct counters *c, struct counter_shard *shard)
{
	size_t	 i;

	for (i = 0; i < CTR_COUNT; i++)
		atomic_init(&shard->v[i], 0);
	pthread_mutex_lock(&c->lock);
	LIST_INSERT_HEAD(&c->shards, shard, link);
	pthread_mutex_unlock(&c->lock);
}

void
counters_detach(struct counters *c, struct counter_shard *shard)
{
	size_t	 i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < CTR_COUNT; i++)
		c->retired[i] += atomic_load_explicit(&shard->v[i],
		    memory_order_relaxed);
	LIST_REMOVE(shard, link);
	pthread_mutex_unlock(&c->lock);
}

void
counters_set_gauge(struct counters *c, enum counter_id id, uint64_t v)
{
	atomic_store_explicit(&c->gauge[id], v, memory_order_relaxed);
}

void
counters_read(struct counters *c, uint64_t v[CTR_COUNT])
{
	const struct counter_shard *s;
	size_t	 i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < CTR_COUNT; i++)
		v[i] = defs[i].gauge ? atomic_load_explicit(&c->gauge[i],
		    memory_order_relaxed) : c->retired[i];
	LIST_FOREACH(s, &c->shards, link)
		for (i = 0; i < CTR_COUNT; i++)
			if (!defs[i].gauge)
				v[i] += atomic_load_explicit(&s->v[i],
				    memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
}

void
counters_read_hist(struct counters *c, struct counter_hist *h)
{
	size_t	 i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < COUNTER_HIST_BUCKETS; i++) {
		h->bucket[i] = atomic_load_explicit(&c->hist[i],
		    memory_order_relaxed);
		h->count += h->bucket[i];
	}
	h->sum_ms = atomic_load_explicit(&c->hist_sum_ms, memory_order_relaxed);
}

const char *
counters_hist_le(size_t i)
{
	return i < COUNTER_HIST_BUCKETS ? hist_le[i] : "+Inf";
}

void
counters_meta(enum counter_id id, struct counter_meta *m)
{
	static const char rule_prefix[] = "udp_loop_";
	const struct counter_family *f = exports[id].family;
	const char *name = counters_name(id);

	m->type = defs[id].gauge ? COUNTER_TYPE_GAUGE : COUNTER_TYPE_COUNTER;
	if (f == NULL) {
		*m = (struct counter_meta){ .family = name,
		    .help = defs[id].help, .type = m->type };
		return;
	}
	m->family = f->name;
	m->help = f->help != NULL ? f->help : defs[id].help;
	m->label = f->label;
	m->value = exports[id].value;
	/* The loop guard's rules: the label is the name's last part. */
	if (f->label != NULL && m->value == NULL)
		m->value = strncmp(name, rule_prefix, sizeof(rule_prefix) -
		    1) == 0 ? name + sizeof(rule_prefix) - 1 : name;
}

const char *
counters_name(enum counter_id id)
{
	if (id >= CTR_UDP_LOOP_FIRST && id <= CTR_UDP_LOOP_LAST)
		return loopguard_name((enum loopguard_verdict)(id -
		    CTR_UDP_LOOP_FIRST + 1));
	return defs[id].name;
}

const char *
counters_help(enum counter_id id)
{
	return defs[id].help;
}

size_t
counters_format(const uint64_t v[CTR_COUNT], char *buf, size_t size)
{
	size_t	 len = 0, i;
	int	 n;

	if (size > 0)
		buf[0] = '\0';
	for (i = 0; i < CTR_COUNT; i++) {
		n = snprintf(len < size ? buf + len : NULL,
		    len < size ? size - len : 0, "%s%s=%llu", i > 0 ? " " : "",
		    counters_name((enum counter_id)i), (unsigned long long)v[i]);
		if (n > 0)
			len += (size_t)n;
	}
	return len;
}
