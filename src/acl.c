/* SPDX-License-Identifier: MIT */
/*
 * Access lists as one path-compressed binary trie per family (PATRICIA):
 * a lookup walks at most one node per address bit whatever the number of
 * entries, and the trie has at most two nodes per entry, so its size is
 * known before the first insert and the build allocates exactly once.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/acl.h"

#define NIL		UINT32_MAX
#define MARK_ALLOW	0x01
#define MARK_DENY	0x02

/* Addresses as two host-order words; IPv4 sits in the top of key[0]. */
struct node {
	uint64_t	key[2];
	uint32_t	child[2];
	uint8_t		plen;
	uint8_t		marks;
};

struct acl {
	uint32_t	root[2];	/* IPv4, IPv6 */
	int		have_allow;
	size_t		nnodes;
	size_t		cap;
	struct node	nodes[];
};

static void
to_key(const struct ipaddr *ip, uint64_t key[2])
{
	int i;

	key[0] = key[1] = 0;
	for (i = 0; i < 8; i++) {
		key[0] = (key[0] << 8) | ip->bytes[i];
		key[1] = (key[1] << 8) | ip->bytes[i + 8];
	}
}

static int
bit_at(const uint64_t key[2], int i)
{
	return (int)((key[i / 64] >> (63 - i % 64)) & 1);
}

static uint64_t
word_mask(int plen)
{
	if (plen <= 0)
		return 0;
	if (plen >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - plen);
}

/* True if a and b agree on their first plen bits. */
static int
same_prefix(const uint64_t a[2], const uint64_t b[2], int plen)
{
	return ((a[0] ^ b[0]) & word_mask(plen)) == 0 &&
	    ((a[1] ^ b[1]) & word_mask(plen - 64)) == 0;
}

/* Number of leading bits a and b share, at most limit. */
static int
common_bits(const uint64_t a[2], const uint64_t b[2], int limit)
{
	uint64_t x;
	int n;

	x = a[0] ^ b[0];
	if (x != 0)
		n = __builtin_clzll(x);
	else if ((x = a[1] ^ b[1]) != 0)
		n = 64 + __builtin_clzll(x);
	else
		n = 128;
	return n < limit ? n : limit;
}

static uint32_t
new_node(struct acl *acl, const uint64_t key[2], int plen, uint8_t marks)
{
	struct node *n = &acl->nodes[acl->nnodes];

	n->key[0] = key[0] & word_mask(plen);
	n->key[1] = key[1] & word_mask(plen - 64);
	n->plen = (uint8_t)plen;
	n->marks = marks;
	n->child[0] = n->child[1] = NIL;
	return (uint32_t)acl->nnodes++;
}

/* Each call adds at most two nodes: the entry and one branch point. */
static void
insert(struct acl *acl, uint32_t *link, const uint64_t key[2], int plen,
    uint8_t mark)
{
	struct node *n;
	uint32_t old, glue, leaf;
	int common;

	while (*link != NIL) {
		n = &acl->nodes[*link];
		common = common_bits(n->key, key,
		    n->plen < plen ? n->plen : plen);
		if (common == n->plen) {
			if (n->plen == plen) {
				n->marks |= mark;	/* duplicate */
				return;
			}
			link = &n->child[bit_at(key, n->plen)];
			continue;
		}
		old = *link;
		if (common == plen) {
			/* The new entry is a prefix of n: it becomes n's parent. */
			leaf = new_node(acl, key, plen, mark);
			acl->nodes[leaf].child[bit_at(acl->nodes[old].key,
			    plen)] = old;
			*link = leaf;
			return;
		}
		glue = new_node(acl, key, common, 0);
		leaf = new_node(acl, key, plen, mark);
		acl->nodes[glue].child[bit_at(key, common)] = leaf;
		acl->nodes[glue].child[bit_at(acl->nodes[old].key, common)] =
		    old;
		*link = glue;
		return;
	}
	*link = new_node(acl, key, plen, mark);
}

static int
valid(const struct cidr *c, size_t n)
{
	size_t i;
	int bits;

	for (i = 0; i < n; i++) {
		bits = ipaddr_bits(&c[i].addr);
		if (bits == 0 || c[i].prefix < 0 || c[i].prefix > bits ||
		    ipaddr_has_host_bits(&c[i].addr, c[i].prefix))
			return 0;
	}
	return 1;
}

static void
insert_list(struct acl *acl, const struct cidr *c, size_t n, uint8_t mark)
{
	uint64_t key[2];
	size_t i;

	for (i = 0; i < n; i++) {
		to_key(&c[i].addr, key);
		insert(acl, &acl->root[c[i].addr.family == AF_INET ? 0 : 1],
		    key, c[i].prefix, mark);
	}
}

struct acl *
acl_build(const struct cidr *allow, size_t nallow, const struct cidr *deny,
    size_t ndeny)
{
	struct acl *acl;
	size_t cap;

	if (nallow > ACL_MAX_ENTRIES || ndeny > ACL_MAX_ENTRIES) {
		errno = E2BIG;
		return NULL;
	}
	/* Checked before anything is allocated: all or nothing. */
	if (!valid(allow, nallow) || !valid(deny, ndeny)) {
		errno = EINVAL;
		return NULL;
	}
	cap = 2 * (nallow + ndeny);
	acl = calloc(1, sizeof(*acl) + cap * sizeof(struct node));
	if (acl == NULL)
		return NULL;
	acl->root[0] = acl->root[1] = NIL;
	acl->cap = cap;
	acl->have_allow = nallow > 0;
	insert_list(acl, allow, nallow, MARK_ALLOW);
	insert_list(acl, deny, ndeny, MARK_DENY);
	return acl;
}

enum acl_verdict
acl_check(const struct acl *acl, const struct ipaddr *ip)
{
	const struct node *n;
	uint64_t key[2];
	uint32_t i;
	uint8_t best = 0;
	int bits;

	if ((bits = ipaddr_bits(ip)) == 0)
		return ACL_DENY;
	to_key(ip, key);
	/* Deeper marks overwrite shallower ones: the longest match wins. */
	for (i = acl->root[bits == 32 ? 0 : 1]; i != NIL; ) {
		n = &acl->nodes[i];
		if (!same_prefix(n->key, key, n->plen))
			break;
		if (n->marks != 0)
			best = n->marks;
		if (n->plen >= bits)
			break;
		i = n->child[bit_at(key, n->plen)];
	}
	if (best & MARK_DENY)
		return ACL_DENY;
	if (best & MARK_ALLOW)
		return ACL_ALLOW;
	return acl->have_allow ? ACL_DENY : ACL_ALLOW;
}

size_t
acl_bytes(const struct acl *acl)
{
	return sizeof(*acl) + acl->cap * sizeof(struct node);
}

void
acl_free(struct acl *acl)
{
	free(acl);
}
