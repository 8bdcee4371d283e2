/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_ACL_REF_H
#define ECHOD_TEST_ACL_REF_H

/*
 * The access-list rules as a plain linear scan: the reference the trie of
 * acl.c is checked against (unit suite, fuzz target) and timed against
 * (bench/acl_lookup.c).  Obviously right, deliberately slow.
 */

#include <stddef.h>

#include "echod/acl.h"
#include "echod/cidr.h"
#include "echod/ipaddr.h"

/* 1 if ip (same family) lies inside c, else 0: what a CIDR means. */
static inline int
acl_ref_contains(const struct cidr *c, const struct ipaddr *ip)
{
	struct ipaddr m = *ip;

	if (ip->family != c->addr.family || ipaddr_mask(&m, c->prefix) == -1)
		return 0;
	return ipaddr_equal(&m, &c->addr);
}

static inline enum acl_verdict
acl_ref_check(const struct cidr *allow, size_t nallow,
    const struct cidr *deny, size_t ndeny, const struct ipaddr *ip)
{
	int best_allow = -1, best_deny = -1;
	size_t i;

	for (i = 0; i < nallow; i++)
		if (allow[i].prefix > best_allow &&
		    acl_ref_contains(&allow[i], ip))
			best_allow = allow[i].prefix;
	for (i = 0; i < ndeny; i++)
		if (deny[i].prefix > best_deny && acl_ref_contains(&deny[i], ip))
			best_deny = deny[i].prefix;
	if (best_deny >= 0 && best_deny >= best_allow)
		return ACL_DENY;
	if (best_allow >= 0)
		return ACL_ALLOW;
	return nallow > 0 ? ACL_DENY : ACL_ALLOW;
}

#endif /* ECHOD_TEST_ACL_REF_H */
