#ifndef ECHOD_IPADDR_H
#define ECHOD_IPADDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A client address as a plain value: what limits, access lists and logs
 * key on.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as the
 * IPv4 address, so one host is one source whichever socket it came in on.
 * Pure: no logging, no globals, no allocation.
 */

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" plus NUL. */
#define IPADDR_STRLEN	(46 + 4)

struct ipaddr {
	sa_family_t	family;		/* AF_INET or AF_INET6 */
	uint8_t		bytes[16];	/* network order; IPv4 uses 0..3 */
};

/* The secret of the keyed source hash (SipHash-2-4 keys). */
struct ipaddr_hashkey {
	uint64_t	k0;
	uint64_t	k1;
};

/* Fill ip from sa (mapped IPv6 becomes IPv4); EAFNOSUPPORT, EINVAL. */
int	ipaddr_from_sockaddr(struct ipaddr *ip, const struct sockaddr *sa,
	    socklen_t len);
/* Fill ip from a raw 4- or 16-byte address (mapped IPv6 becomes IPv4). */
int	ipaddr_from_bytes(struct ipaddr *ip, int family, const void *addr);
/* Address width in bits: 32 or 128 (0 for an unknown family). */
int	ipaddr_bits(const struct ipaddr *ip);
/* Clear every bit after the first prefix bits; EINVAL if out of range. */
int	ipaddr_mask(struct ipaddr *ip, int prefix);
/* 1 if a bit after the first prefix bits is set (host bits), else 0. */
int	ipaddr_has_host_bits(const struct ipaddr *ip, int prefix);
/* Mask ip to its source prefix: v4prefix for IPv4, v6prefix for IPv6. */
int	ipaddr_source(struct ipaddr *ip, int v4prefix, int v6prefix);
/* True if a and b are the same family and address. */
bool	ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* "192.0.2.0/24" (prefix >= 0) or "192.0.2.7" (prefix < 0); returns buf. */
char	*ipaddr_format(const struct ipaddr *ip, int prefix, char *buf,
	    size_t size);

/* Derive the hash keys from 16 secret bytes (getrandom() at startup). */
void	ipaddr_hash_init(struct ipaddr_hashkey *hk, const uint8_t secret[16]);
/* Keyed 64-bit hash of ip (family and all 16 bytes; mask it first). */
uint64_t ipaddr_hash(const struct ipaddr_hashkey *hk, const struct ipaddr *ip);

#endif /* ECHOD_IPADDR_H */
