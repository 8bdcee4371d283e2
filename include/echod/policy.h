#ifndef ECHOD_POLICY_H
#define ECHOD_POLICY_H

#include <stddef.h>

#include "echod/config.h"
#include "echod/listeners.h"
#include "echod/ipaddr.h"
#include "echod/udp_policy.h"

/*
 * What keeps echod safe to expose, built from the config: the access list
 * and the rate-limit tables, owned here and lent to TCP admission and the UDP
 * thread.  Built in a reload's prepare step (the one that may fail),
 * swapped in at commit; a table whose size did not change is kept with
 * its state, so a reload does not reset anybody's limit.
 */
struct policy {
	struct acl		*acl;		/* NULL: no allow/deny */
	struct ratelimit	*udp_rate;	/* NULL: udp_rate_per_source 0 */
	struct ratelimit	*tcp_rate;	/* NULL: connect rate off */
	struct acl		*proxy_from;	/* NULL: no PROXY headers */
	size_t			 udp_rate_size;
	struct ipaddr_hashkey	 hk;		/* the tables' secret */
};

/* Empty policy state with a fresh random hash key; 0, or -1 (logged). */
int	policy_init(struct policy *g);
/*
 * Build in next what cfg asks for, reusing cur's tables where they fit.
 * cur is not touched.  0, or -1 (logged, nothing kept).
 */
int	policy_prepare(const struct policy *cur, const struct echod_config *cfg,
	    struct policy *next);
/* Make next current, freeing what of cur it does not reuse. */
void	policy_commit(struct policy *cur, const struct policy *next);
/* Forget next, freeing what it does not share with cur. */
void	policy_abort(const struct policy *cur, struct policy *next);
/* Free everything. */
void	policy_free(struct policy *g);
/* The UDP decision for cfg with g's state, serving the sockets of ls. */
void	policy_udp(const struct policy *g, const struct echod_config *cfg,
	    const struct listeners *ls, struct udp_policy *p);

#endif /* ECHOD_POLICY_H */
