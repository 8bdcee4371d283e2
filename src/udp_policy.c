/* SPDX-License-Identifier: MIT */
/*
 * The UDP per-datagram decision: never part of a loop (the loop guard),
 * only for allowed sources (allow/deny), never a high-rate reflector (a
 * token bucket per source prefix).  Cheapest and stateless checks first,
 * so a datagram dropped by them costs no rate-limit state.
 */

#include "echod/acl.h"
#include "echod/counters.h"
#include "echod/ratelimit.h"
#include "echod/ipaddr.h"
#include "echod/udp_policy.h"

/* udp_policy_count() maps rule n to row CTR_UDP_LOOP_FIRST + n - 1. */
_Static_assert(CTR_UDP_LOOP_LAST - CTR_UDP_LOOP_FIRST + 2 ==
    LOOPGUARD_NVERDICTS, "a loop-guard rule without its counter");

enum udp_verdict
udp_policy_decide(const struct udp_policy *p, const struct ipaddr *src,
    uint16_t port, bool on_loopback, uint64_t now_ns,
    enum loopguard_verdict *rule)
{
	struct ipaddr prefix;

	*rule = loopguard_check_ip(&p->lg, src, port, on_loopback);
	/* Port 0 cannot be answered at all, guard or not. */
	if (*rule != LOOPGUARD_OK && (p->loop_guard ||
	    *rule == LOOPGUARD_PORT_ZERO || *rule == LOOPGUARD_BAD_FAMILY))
		return UDP_DROP_LOOP;
	*rule = LOOPGUARD_OK;
	if (p->acl != NULL && acl_check(p->acl, src) == ACL_DENY)
		return UDP_DROP_ACL;
	if (p->rate != NULL) {
		prefix = *src;
		(void)ipaddr_source(&prefix, p->prefix_v4, p->prefix_v6);
		if (ratelimit_admit(p->rate, &prefix, now_ns, p->rate_per_s,
		    p->burst) == RATELIMIT_LIMIT)
			return UDP_DROP_RATE;
	}
	return UDP_PASS;
}

enum udp_verdict
udp_policy_check(const struct udp_policy *p, const struct sockaddr *src,
    socklen_t len, int sock_family, bool on_loopback, uint64_t now_ns,
    enum loopguard_verdict *rule)
{
	struct ipaddr addr;
	uint16_t port;

	if (loopguard_decode(src, len, sock_family, &addr, &port) == -1) {
		*rule = LOOPGUARD_BAD_FAMILY;
		return UDP_DROP_LOOP;
	}
	return udp_policy_decide(p, &addr, port, on_loopback, now_ns, rule);
}

void
udp_policy_count(struct counter_shard *shard, enum udp_verdict v,
    enum loopguard_verdict rule)
{
	switch (v) {
	case UDP_PASS:
		break;
	case UDP_DROP_LOOP:
		counter_add(shard, CTR_UDP_DROPPED_LOOP_GUARD, 1);
		/* Rule 1 is the first per-rule row; OK has none. */
		if (rule > LOOPGUARD_OK && rule < LOOPGUARD_NVERDICTS)
			counter_add(shard, (enum counter_id)(CTR_UDP_LOOP_FIRST +
			    rule - 1), 1);
		break;
	case UDP_DROP_ACL:
		counter_add(shard, CTR_UDP_DROPPED_ACL, 1);
		break;
	case UDP_DROP_RATE:
		counter_add(shard, CTR_UDP_DROPPED_RATE_LIMIT, 1);
		break;
	}
}
