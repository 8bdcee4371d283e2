#ifndef ECHOD_UDP_POLICY_H
#define ECHOD_UDP_POLICY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include "echod/loopguard.h"
#include "echod/stamp.h"

struct acl;
struct ipaddr;
struct counter_shard;
struct ratelimit;

/*
 * Whether a datagram gets an answer: the loop guard, the access list and
 * the response rate limit per source prefix, each O(1) (the ACL is a
 * trie: O(address bits)).  Pure: the caller counts the verdict.
 */
struct udp_policy {
	bool		 loop_guard;
	struct loopguard lg;		/* the UDP ports echod serves */
	const struct acl *acl;		/* NULL: everyone */
	struct ratelimit *rate;		/* NULL: no rate limit */
	uint32_t	 rate_per_s;
	uint32_t	 burst;
	int		 prefix_v4;	/* a rate-limited source is a /N */
	int		 prefix_v6;
	struct stamp_params stamp;	/* how STAMP sockets answer */
};

/* Why a datagram is dropped; UDP_PASS: answer it. */
enum udp_verdict {
	UDP_PASS,
	UDP_DROP_LOOP,			/* *rule says which */
	UDP_DROP_ACL,
	UDP_DROP_RATE,
};

/*
 * The verdict for a datagram from the decoded source src:port (see
 * loopguard_decode()) that arrived on the loopback interface or not, at
 * now_ns.  The rate limit is charged only for datagrams that pass the
 * other checks.
 */
enum udp_verdict udp_policy_decide(const struct udp_policy *p,
	    const struct ipaddr *src, uint16_t port, bool on_loopback,
	    uint64_t now_ns, enum loopguard_verdict *rule);
/*
 * loopguard_decode() and udp_policy_decide() in one, for a source src
 * (len bytes) that arrived on a socket of sock_family: the contract the
 * unit suites and the fuzz target hold the decision to.
 */
enum udp_verdict udp_policy_check(const struct udp_policy *p,
	    const struct sockaddr *src, socklen_t len, int sock_family,
	    bool on_loopback, uint64_t now_ns, enum loopguard_verdict *rule);

/*
 * Count verdict v (with its loop-guard rule) in shard: the drop's own row,
 * and for a loop-guard drop the total and the rule's row.  UDP_PASS counts
 * nothing here: the echo counts what it sends.
 */
void	udp_policy_count(struct counter_shard *shard, enum udp_verdict v,
	    enum loopguard_verdict rule);

#endif /* ECHOD_UDP_POLICY_H */
