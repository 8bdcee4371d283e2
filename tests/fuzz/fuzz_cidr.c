/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: input lines are CIDR strings for cidr_parse(); the
 * entries that parse (alternately allow and deny) build an ACL, and the
 * trie's verdict for addresses made from the input and from each entry's
 * neighbourhood must equal the linear reference.
 */

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/acl.h"
#include "echod/cidr.h"

#include "../harness/acl_ref.h"

#define MAXENT	32

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
expect(const struct acl *acl, const struct cidr *a, size_t na,
    const struct cidr *d, size_t nd, const struct ipaddr *ip)
{
	if (acl_check(acl, ip) != acl_ref_check(a, na, d, nd, ip))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr allow[MAXENT], deny[MAXENT], c;
	char line[CIDR_MAXLEN + 8], err[CIDR_ERRLEN];
	struct ipaddr ip;
	struct acl *acl;
	size_t na = 0, nd = 0, i, j, n, start = 0;
	int b;

	for (i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		n = i - start;
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, data + start, n);
		line[n] = '\0';
		start = i + 1;
		if (cidr_parse(line, &c, err, sizeof(err)) == -1) {
			if (err[0] == '\0')
				abort();	/* every refusal says why */
			continue;
		}
		if (ipaddr_has_host_bits(&c.addr, c.prefix) ||
		    c.prefix > ipaddr_bits(&c.addr))
			abort();
		if ((na + nd) % 2 == 0 && na < MAXENT)
			allow[na++] = c;
		else if (nd < MAXENT)
			deny[nd++] = c;
	}
	if ((acl = acl_build(allow, na, deny, nd)) == NULL)
		abort();
	/* Raw input bytes as addresses of both families. */
	for (i = 0; i + 16 <= size && i < 512; i += 16) {
		ip.family = AF_INET6;
		memcpy(ip.bytes, data + i, 16);
		expect(acl, allow, na, deny, nd, &ip);
		ip.family = AF_INET;
		memset(ip.bytes + 4, 0, 12);
		expect(acl, allow, na, deny, nd, &ip);
	}
	/* Each entry, and each address one bit away from it. */
	for (j = 0; j < na + nd; j++) {
		ip = j < na ? allow[j].addr : deny[j - na].addr;
		expect(acl, allow, na, deny, nd, &ip);
		for (b = 0; b < ipaddr_bits(&ip); b++) {
			ip.bytes[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
			expect(acl, allow, na, deny, nd, &ip);
			ip.bytes[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		}
	}
	acl_free(acl);
	return 0;
}
