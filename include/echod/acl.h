#ifndef ECHOD_ACL_H
#define ECHOD_ACL_H

#include <stddef.h>

#include "echod/cidr.h"
#include "echod/ipaddr.h"

/*
 * An immutable access list built from the allow and deny CIDR lists:
 * the longest matching prefix wins, deny wins on equal length, and with a
 * non-empty allow list a source that matches nothing is refused.  Once
 * built it is only read, so any number of threads may share it.
 */

/* Most entries accepted in each of the two lists. */
#define ACL_MAX_ENTRIES	65536

enum acl_verdict {
	ACL_ALLOW,
	ACL_DENY
};

struct acl;

/* Build the list; NULL with errno E2BIG, EINVAL or ENOMEM (nothing kept). */
struct acl	*acl_build(const struct cidr *allow, size_t nallow,
		    const struct cidr *deny, size_t ndeny);
/* The verdict for ip (already folded by ipaddr_from_sockaddr()). */
enum acl_verdict acl_check(const struct acl *acl, const struct ipaddr *ip);
/*
 * Bytes the built list occupies: at most two trie nodes per entry, fixed
 * at build (the contract check_acl bounds and bench/acl_lookup reports).
 */
size_t		acl_bytes(const struct acl *acl);
/* Release acl; NULL is fine. */
void		acl_free(struct acl *acl);

#endif /* ECHOD_ACL_H */
