#ifndef ECHOD_ADMISSION_H
#define ECHOD_ADMISSION_H

#include <stdint.h>

#include "echod/clients.h"
#include "echod/counters.h"
#include "echod/ipaddr.h"

struct acl;
struct ratelimit;

/*
 * TCP admission, the twin of udp_policy: may this client be served, and
 * if not, why.  The access list, the connect rate per source, max_clients,
 * the per-source cap and fair share, in that order, in one place.  It takes
 * the client's address as an argument, so it runs at accept time or later
 * from a worker with an address learned another way.  Safe from any
 * thread.
 */

struct admission;

/* The admission limits, from the config. */
struct admission_limits {
	struct client_limits	 clients;	/* max_clients, per source */
	int			 prefix_v4;	/* a source is a /N */
	int			 prefix_v6;
	uint32_t		 connect_rate;	/* per source/s, 0 off */
	uint32_t		 connect_burst;
};

/* The verdict on one client; each names its counter row and log line. */
enum admission_verdict {
	ADMIT,
	ADMIT_EVICTED,		/* fair share closed another client */
	REFUSE_ACL,
	REFUSE_CONNECT_RATE,
	REFUSE_PER_SOURCE,
	REFUSE_MAX_CLIENTS,
	REFUSE_THREAD,		/* no memory, or no thread for it */
	REFUSE_STOPPING,
	ADMISSION_NVERDICTS
};

/* An admission that refuses everyone until admission_set(); NULL, errno. */
struct admission *admission_new(void);
void	admission_free(struct admission *a);
/*
 * Admit under l from now on, checking acl (NULL: everyone) and charging
 * connect rates to rate (NULL: off); both stay the caller's.
 */
void	admission_set(struct admission *a, const struct admission_limits *l,
	    const struct acl *acl, struct ratelimit *rate);
/*
 * The verdict on client c (filled by client_init) whose address is addr;
 * on ADMIT or ADMIT_EVICTED, c is registered in r under its source.
 * Counts and logs nothing: admission_report() does.
 */
enum admission_verdict admission_check(struct admission *a, struct clients *r,
	    struct client *c, const struct ipaddr *addr);
/*
 * Register c without a source yet (a PROXY header will tell its address):
 * it holds a place against max_clients only, and admission_check() with
 * the real address later charges its source.  ADMIT, REFUSE_MAX_CLIENTS
 * or REFUSE_STOPPING.
 */
enum admission_verdict admission_hold(struct admission *a, struct clients *r,
	    struct client *c);
/*
 * Count verdict v for the client at addr in shard (the caller thread's)
 * and log it: a refusal a source can repeat at most once per 5 s, a burst
 * at max_clients once with its end.
 */
void	admission_report(struct admission *a, enum admission_verdict v,
	    const struct ipaddr *addr, struct counter_shard *shard);
/* The stable name of v ("max_clients", "per_source" ...), for logs. */
const char *admission_name(enum admission_verdict v);

#endif /* ECHOD_ADMISSION_H */
