/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_RAND_H
#define ECHOD_TEST_RAND_H

/*
 * A seeded generator (splitmix64) for the randomised unit tests and the
 * benchmarks: the same seed gives the same run, so a failure replays.
 */

#include <stdint.h>

#include "echod/cidr.h"

static inline uint64_t
test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * An address from a few clustered ranges, so random entries overlap and
 * nest as real access lists do: v4 10/8 and 192.168/16, v6 2001:db8::/32.
 */
static inline void
test_rand_addr(uint64_t *state, struct ipaddr *ip)
{
	uint64_t r = test_rand(state), s = test_rand(state);
	int i;

	for (i = 0; i < 16; i++)
		ip->bytes[i] = (uint8_t)(i < 8 ? r >> (8 * i) :
		    s >> (8 * (i - 8)));
	if (r & (1ULL << 63)) {
		ip->family = AF_INET;
		ip->bytes[0] = (r & (1ULL << 62)) ? 10 : 192;
		if (ip->bytes[0] == 192)
			ip->bytes[1] = 168;
		for (i = 4; i < 16; i++)
			ip->bytes[i] = 0;
	} else {
		ip->family = AF_INET6;
		ip->bytes[0] = 0x20;
		ip->bytes[1] = 0x01;
		ip->bytes[2] = 0x0d;
		ip->bytes[3] = 0xb8;
	}
}

/* A random entry: an address above masked to a random length. */
static inline void
test_rand_cidr(uint64_t *state, struct cidr *c)
{
	int bits;

	test_rand_addr(state, &c->addr);
	bits = ipaddr_bits(&c->addr);
	/* Mostly long prefixes (hosts, small nets), some short ones. */
	c->prefix = (int)(test_rand(state) % (uint64_t)(bits + 1));
	if (test_rand(state) % 2)
		c->prefix = bits - c->prefix / 4;
	(void)ipaddr_mask(&c->addr, c->prefix);
}

#endif /* ECHOD_TEST_RAND_H */
