/* SPDX-License-Identifier: MIT */
/*
 * The CIDR parser of the access lists.  Strict on purpose: an ACL that
 * means something other than what its author read is worse than a config
 * error, so anything ambiguous is refused with a message saying why.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "echod/cidr.h"

static int
fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsize, const char *fmt, ...)
{
	va_list ap;

	if (errsize > 0) {
		va_start(ap, fmt);
		if (vsnprintf(err, errsize, fmt, ap) < 0)
			err[0] = '\0';
		va_end(ap);
	}
	errno = EINVAL;
	return -1;
}

/* Decimal 0..999 without sign, blanks or leading zeros; -1 if not that. */
static int
parse_prefix(const char *s)
{
	size_t n = strlen(s), i;
	int v = 0;

	/* "/024" could be read as octal or a typo: only "0" may start with 0. */
	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
cidr_parse(const char *text, struct cidr *c, char *err, size_t errsize)
{
	char addr[CIDR_MAXLEN + 1], shown[IPADDR_STRLEN];
	uint8_t raw[16];
	const char *slash;
	size_t len;
	int family, bits, prefix, mapped;

	memset(c, 0, sizeof(*c));
	len = strnlen(text, CIDR_MAXLEN + 1);
	if (len > CIDR_MAXLEN)
		return fail(err, errsize, "address longer than %d characters",
		    CIDR_MAXLEN);
	if (len == 0)
		return fail(err, errsize, "empty address");
	slash = strchr(text, '/');
	if (slash != NULL && strchr(slash + 1, '/') != NULL)
		return fail(err, errsize, "%s: more than one '/'", text);
	len = slash != NULL ? (size_t)(slash - text) : len;
	memcpy(addr, text, len);
	addr[len] = '\0';

	/* inet_pton() refuses blanks, zones, octal and short IPv4 forms. */
	if (inet_pton(AF_INET, addr, raw) == 1) {
		family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, addr, raw) == 1) {
		family = AF_INET6;
		bits = 128;
	} else
		return fail(err, errsize, "%s: not an IPv4 or IPv6 address",
		    text);

	prefix = slash != NULL ? parse_prefix(slash + 1) : bits;
	if (prefix == -1)
		return fail(err, errsize, "%s: prefix length '%s' is not a "
		    "decimal number", text, slash + 1);
	if (prefix > bits)
		return fail(err, errsize, "%s: prefix length %d out of range "
		    "0..%d", text, prefix, bits);

	(void)ipaddr_from_bytes(&c->addr, family, raw);
	mapped = family == AF_INET6 && c->addr.family == AF_INET;
	if (mapped) {
		/*
		 * Sources in ::ffff:0:0/96 are looked up as IPv4, so the
		 * entry must be one too; shorter would span non-mapped space.
		 */
		if (prefix < 96)
			return fail(err, errsize, "%s: an IPv4-mapped prefix "
			    "needs a length of 96..128 (write it as IPv4)",
			    text);
		prefix -= 96;
	}
	/*
	 * Host bits are refused, not masked: "10.1.2.3/8" is far more often
	 * a typo for a /32 than a wish to admit all of 10/8, and silently
	 * widening an access list is the failure that matters.
	 */
	if (ipaddr_has_host_bits(&c->addr, prefix)) {
		(void)ipaddr_mask(&c->addr, prefix);
		return fail(err, errsize, "%s: host bits set (the network is "
		    "%s)", text, ipaddr_format(&c->addr, prefix, shown,
		    sizeof(shown)));
	}
	c->prefix = prefix;
	return 0;
}
