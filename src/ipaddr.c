/* SPDX-License-Identifier: MIT */
/*
 * Source addresses as values: built from a sockaddr with IPv4-mapped IPv6
 * folded into IPv4, masked to a prefix, formatted for logs, and hashed
 * with a per-process secret for the rate-limit table.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "echod/ipaddr.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
ipaddr_from_bytes(struct ipaddr *ip, int family, const void *addr)
{
	memset(ip, 0, sizeof(*ip));
	if (family == AF_INET) {
		ip->family = AF_INET;
		memcpy(ip->bytes, addr, 4);
		return 0;
	}
	if (family == AF_INET6) {
		if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
			ip->family = AF_INET;
			memcpy(ip->bytes, (const uint8_t *)addr + 12, 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->bytes, addr, 16);
		}
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

int
ipaddr_from_sockaddr(struct ipaddr *ip, const struct sockaddr *sa,
    socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	/* The length comes from recvfrom(): never read past what it wrote. */
	if (len < (socklen_t)sizeof(sa_family_t)) {
		errno = EINVAL;
		return -1;
	}
	if (sa->sa_family == AF_INET) {
		if (len < (socklen_t)sizeof(*sin)) {
			errno = EINVAL;
			return -1;
		}
		return ipaddr_from_bytes(ip, AF_INET, &sin->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		if (len < (socklen_t)sizeof(*sin6)) {
			errno = EINVAL;
			return -1;
		}
		return ipaddr_from_bytes(ip, AF_INET6, &sin6->sin6_addr);
	}
	errno = EAFNOSUPPORT;
	return -1;
}

int
ipaddr_bits(const struct ipaddr *ip)
{
	if (ip->family == AF_INET)
		return 32;
	if (ip->family == AF_INET6)
		return 128;
	return 0;
}

int
ipaddr_has_host_bits(const struct ipaddr *ip, int prefix)
{
	int bits = ipaddr_bits(ip), i;

	if (prefix < 0 || prefix >= bits)
		return 0;
	if (prefix % 8 != 0 && (ip->bytes[prefix / 8] & (0xff >> (prefix % 8))))
		return 1;
	for (i = (prefix + 7) / 8; i < bits / 8; i++)
		if (ip->bytes[i] != 0)
			return 1;
	return 0;
}

int
ipaddr_mask(struct ipaddr *ip, int prefix)
{
	int bits = ipaddr_bits(ip), i;

	if (bits == 0 || prefix < 0 || prefix > bits) {
		errno = EINVAL;
		return -1;
	}
	if (prefix % 8 != 0)
		ip->bytes[prefix / 8] &= (uint8_t)(0xff00 >> (prefix % 8));
	/* Bytes past the address width stay zero, so keys compare whole. */
	for (i = (prefix + 7) / 8; i < 16; i++)
		ip->bytes[i] = 0;
	return 0;
}

int
ipaddr_source(struct ipaddr *ip, int v4prefix, int v6prefix)
{
	return ipaddr_mask(ip, ip->family == AF_INET ? v4prefix : v6prefix);
}

bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->family == b->family &&
	    memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

char *
ipaddr_format(const struct ipaddr *ip, int prefix, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (size == 0)
		return buf;
	if (inet_ntop(ip->family, ip->bytes, addr, sizeof(addr)) == NULL)
		(void)snprintf(addr, sizeof(addr), "?");
	if (prefix >= 0)
		n = snprintf(buf, size, "%s/%d", addr, prefix);
	else
		n = snprintf(buf, size, "%s", addr);
	if (n < 0)
		buf[0] = '\0';
	return buf;
}

/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed PRF built for exactly this,
 * short inputs chosen by an attacker who wants them in one bucket.  With a
 * per-process secret nobody can compute which addresses share a set, not
 * even by watching which ones get limited: multiply-shift hashing is only
 * universal, and an adaptive attacker can learn its key from collisions.
 * The message is the 16 address bytes then the family byte (17 bytes).
 */
#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {					\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
ipaddr_hash_init(struct ipaddr_hashkey *hk, const uint8_t secret[16])
{
	hk->k0 = load_le64(secret);
	hk->k1 = load_le64(secret + 8);
}

uint64_t
ipaddr_hash(const struct ipaddr_hashkey *hk, const struct ipaddr *ip)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ hk->k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ hk->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ hk->k0;
	uint64_t v3 = 0x7465646279746573ULL ^ hk->k1;
	uint64_t m[3];
	int i;

	m[0] = load_le64(ip->bytes);
	m[1] = load_le64(ip->bytes + 8);
	m[2] = ((uint64_t)17 << 56) | (uint8_t)ip->family;
	for (i = 0; i < 3; i++) {
		v3 ^= m[i];
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}
