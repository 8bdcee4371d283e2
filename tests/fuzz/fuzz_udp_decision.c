/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the UDP admission path as the daemon will run it.
 * Each 24-byte record is a synthetic datagram (family, address, port,
 * arrival-on-loopback flag, clock step) put through loopguard, ACL and
 * rate limit; the invariants: verdicts in range, loop-guard rules that
 * must hold, folded sources, and no prefix admitted beyond its budget.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/acl.h"
#include "echod/cidr.h"
#include "echod/loopguard.h"
#include "echod/ratelimit.h"
#include "echod/ipaddr.h"
#include "echod/udp_policy.h"

#include "../harness/acl_ref.h"

#define RATE	5
#define BURST	3
#define REC	24
#define MAXKEYS	64

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	struct ipaddr	key;
	uint64_t	first_ns;
	uint64_t	admitted;
};

static void
make_sockaddr(const uint8_t *r, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t port = (uint16_t)(r[17] << 8 | r[18]);

	memset(ss, 0, sizeof(*ss));
	if (r[0] & 1) {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, r + 1, 16);
		if (r[0] & 2) {		/* make it v4-mapped */
			memset(&sin6->sin6_addr, 0, 10);
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
		}
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, r + 1, 4);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const deny_text[] = { "192.0.2.0/24",
	    "2001:db8::/32", "10.0.0.0/8" };
	struct cidr deny[3];
	struct sockaddr_storage ss;
	struct ipaddr_hashkey hk = { 0x0123456789abcdefULL, 42 };
	struct seen seen[MAXKEYS];
	struct loopguard lg;
	struct ratelimit *rl;
	struct acl *acl;
	struct ipaddr ip;
	enum loopguard_verdict lv, rule;
	struct udp_policy pol;
	enum udp_verdict v;
	char err[CIDR_ERRLEN];
	uint64_t now = 1000000000ULL;
	size_t i, k, nseen = 0;
	socklen_t len;
	uint16_t port;
	bool lo;

	for (i = 0; i < 3; i++)
		if (cidr_parse(deny_text[i], &deny[i], err, sizeof(err)) == -1)
			abort();
	loopguard_init(&lg);
	(void)loopguard_add_port(&lg, 7);
	(void)loopguard_add_port(&lg, 7777);
	acl = acl_build(NULL, 0, deny, 3);
	rl = ratelimit_new((size_t)RATELIMIT_WAYS * 2, &hk);	/* tiny: collisions */
	if (acl == NULL || rl == NULL)
		abort();
	/* The daemon's own decision, composed as udp.c calls it. */
	pol = (struct udp_policy){ .loop_guard = true, .lg = lg, .acl = acl,
	    .rate = rl, .rate_per_s = RATE, .burst = BURST, .prefix_v4 = 24,
	    .prefix_v6 = 56 };
	for (i = 0; i + REC <= size; i += REC) {
		const uint8_t *r = data + i;

		make_sockaddr(r, &ss, &len);
		lo = r[19] & 1;
		/* Up to ~16 ms per step: bursts and refills both happen. */
		now += (uint64_t)(r[20] << 16 | r[21] << 8 | r[22]);
		port = (uint16_t)(r[17] << 8 | r[18]);
		lv = loopguard_check(&lg, (struct sockaddr *)&ss, len,
		    ss.ss_family, lo);
		if ((unsigned)lv >= LOOPGUARD_NVERDICTS ||
		    loopguard_name(lv) == NULL)
			abort();
		if (lv == LOOPGUARD_OK && (port < 1024 || port == 2049 ||
		    port == 7777))
			abort();
		if (ipaddr_from_sockaddr(&ip, (struct sockaddr *)&ss, len))
			abort();
		if (lv == LOOPGUARD_OK && ip.family == AF_INET &&
		    (ip.bytes[0] == 0 || (ip.bytes[0] & 0xf0) == 224 ||
		    (ip.bytes[0] == 127 && !lo) || (ip.bytes[0] == 255 &&
		    ip.bytes[1] == 255 && ip.bytes[2] == 255 &&
		    ip.bytes[3] == 255)))
			abort();
		if ((r[0] & 3) == 3 && ip.family != AF_INET)
			abort();	/* mapped must fold */
		v = udp_policy_check(&pol, (struct sockaddr *)&ss, len,
		    ss.ss_family, lo, now, &rule);
		if ((v == UDP_DROP_LOOP) != (lv != LOOPGUARD_OK) ||
		    (v == UDP_DROP_LOOP && rule != lv))
			abort();
		if (lv != LOOPGUARD_OK)
			continue;
		for (k = 0; k < 3 && !acl_ref_contains(&deny[k], &ip); k++)
			;
		if ((acl_check(acl, &ip) == ACL_DENY) != (k < 3) ||
		    (v == UDP_DROP_ACL) != (k < 3))
			abort();
		if (k < 3)
			continue;
		if (ipaddr_source(&ip, 24, 56) == -1)
			abort();
		for (k = 0; k < nseen; k++)
			if (ipaddr_equal(&seen[k].key, &ip))
				break;
		if (k == nseen && nseen < MAXKEYS) {
			seen[nseen].key = ip;
			seen[nseen].first_ns = now;
			seen[nseen].admitted = 0;
			nseen++;
		}
		if (v != UDP_PASS || k >= MAXKEYS)
			continue;
		/*
		 * A prefix never gets more than its own bucket plus the
		 * overflow buckets of the sets could give it: here two sets,
		 * so at most three buckets' worth, plus a fresh burst each
		 * time an idle bucket is replaced (which needs a full refill
		 * of burst / rate seconds first).
		 */
		seen[k].admitted++;
		if (seen[k].admitted > 3 * (BURST + (now - seen[k].first_ns) *
		    RATE / 1000000000ULL) + 3ULL * BURST)
			abort();
	}
	acl_free(acl);
	ratelimit_free(rl);
	return 0;
}
