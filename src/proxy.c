/* SPDX-License-Identifier: MIT */
/*
 * The PROXY protocol header parser (HAProxy's proxy-protocol.txt), versions
 * 1 (a text line) and 2 (binary), told apart by the first byte as HAProxy's
 * accept-proxy does.  Pure: it never reads past the bytes it is given, and
 * a refusal found in a prefix is the refusal of every longer input, so a
 * reader may call it after each read.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "echod/proxy.h"

#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
/* "PROXY UNKNOWN\r\n": no valid header of either version is shorter. */
#define PROXY_MIN_HEADER	15
#define V1_FIELD_MAX	45		/* the longest IPv6 literal */

/* ver_cmd and fam nibbles (section 2.2 of the spec). */
#define V2_VERSION	0x2
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_AF_UNSPEC	0x0
#define V2_AF_INET	0x1
#define V2_AF_INET6	0x2
#define V2_AF_UNIX	0x3
#define V2_PROTO_UNSPEC	0x0
#define V2_PROTO_STREAM	0x1
#define V2_PROTO_DGRAM	0x2
#define V2_TLV_HEADER	3		/* type, 16-bit length */

static const uint8_t v2_signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* Address block length per v2 family: UNSPEC, INET, INET6, UNIX. */
static const size_t v2_addr_len[4] = { 0, 12, 36, 216 };

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * The next space-separated field of a v1 line from *p (before end), into
 * out as a string.  Fields are separated by exactly one space; an empty or
 * over-long field is malformed.  0, or -1.
 */
static int
v1_field(const uint8_t **p, const uint8_t *end, char *out, size_t size,
    bool last)
{
	const uint8_t *sp = memchr(*p, ' ', (size_t)(end - *p));
	size_t	 n, i;

	if (last) {
		if (sp != NULL)
			return -1;		/* a field too many */
		sp = end;
	} else if (sp == NULL)
		return -1;			/* a field too few */
	n = (size_t)(sp - *p);
	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++)
		if ((*p)[i] <= ' ' || (*p)[i] > '~')
			return -1;		/* US-ASCII, no controls */
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = sp == end ? end : sp + 1;
	return 0;
}

/* A decimal port, 0..65535, one to five digits.  0, or -1. */
static int
v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
v1_addr(const char *s, int family, struct ipaddr *ip)
{
	uint8_t	 raw[16];

	if (inet_pton(family, s, raw) != 1)
		return -1;
	return ipaddr_from_bytes(ip, family, raw);
}

/* The fields of a whole line, "PROXY " and CRLF excluded. */
static enum proxy_result
v1_line(const uint8_t *p, const uint8_t *end, struct proxy_header *h)
{
	char	 src[V1_FIELD_MAX + 1], dst[V1_FIELD_MAX + 1];
	char	 sport[8], dport[8];
	const uint8_t *sp = memchr(p, ' ', (size_t)(end - p));
	size_t	 n = (size_t)((sp != NULL ? sp : end) - p);
	int	 family;

	/* UNKNOWN: whatever follows it up to the CRLF is ignored. */
	if (n == 7 && memcmp(p, "UNKNOWN", 7) == 0) {
		h->known = false;
		return PROXY_DONE;
	}
	if (n == 4 && memcmp(p, "TCP4", 4) == 0)
		family = AF_INET;
	else if (n == 4 && memcmp(p, "TCP6", 4) == 0)
		family = AF_INET6;
	else if (n == 0)
		return PROXY_MALFORMED;
	else if (n >= 3 && memcmp(p, "UDP", 3) == 0)
		return PROXY_BAD_PROTOCOL;
	else
		return PROXY_BAD_FAMILY;
	if (sp == NULL)
		return PROXY_MALFORMED;
	p = sp + 1;
	if (v1_field(&p, end, src, sizeof(src), false) == -1 ||
	    v1_field(&p, end, dst, sizeof(dst), false) == -1 ||
	    v1_field(&p, end, sport, sizeof(sport), false) == -1 ||
	    v1_field(&p, end, dport, sizeof(dport), true) == -1 ||
	    v1_addr(src, family, &h->src) == -1 ||
	    v1_addr(dst, family, &h->dst) == -1 ||
	    v1_port(sport, &h->src_port) == -1 ||
	    v1_port(dport, &h->dst_port) == -1)
		return PROXY_MALFORMED;
	h->known = true;
	return PROXY_DONE;
}

/*
 * Version 1: "PROXY " then fields up to a CRLF within 107 bytes.  The
 * fields are looked at only once the CRLF is there (the spec says wait
 * for it); a bare LF, or a CR before anything but LF, is malformed.
 */
static enum proxy_result
parse_v1(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	size_t	 i, n = min_size(len, PROXY_V1_MAX);

	if (memcmp(buf, V1_PREFIX, min_size(len, V1_PREFIX_LEN)) != 0)
		return PROXY_MALFORMED;
	for (i = V1_PREFIX_LEN; i < n; i++) {
		if (buf[i] == '\n')
			return PROXY_MALFORMED;
		if (buf[i] != '\r')
			continue;
		if (i + 1 >= PROXY_V1_MAX)
			return PROXY_TOO_LONG;	/* the LF would be the 108th */
		if (i + 1 == len)
			return PROXY_NEED_MORE;
		if (buf[i + 1] != '\n')
			return PROXY_MALFORMED;
		memset(h, 0, sizeof(*h));
		h->len = i + 2;
		h->version = 1;
		h->command = PROXY_CMD_PROXY;
		return v1_line(buf + V1_PREFIX_LEN, buf + i, h);
	}
	return len >= PROXY_V1_MAX ? PROXY_TOO_LONG : PROXY_NEED_MORE;
}

/* v2 TLVs from off to total: each header and value must fit. */
static enum proxy_result
v2_tlvs(const uint8_t *buf, size_t off, size_t total)
{
	size_t	 tlen;

	while (off < total) {
		if (total - off < V2_TLV_HEADER)
			return PROXY_MALFORMED;
		tlen = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (total - off - V2_TLV_HEADER < tlen)
			return PROXY_MALFORMED;
		off += V2_TLV_HEADER + tlen;
	}
	return PROXY_DONE;
}

/* The address block of a PROXY command over INET or INET6 into h. */
static void
v2_addresses(const uint8_t *a, int fam, struct proxy_header *h)
{
	int	 family = fam == V2_AF_INET ? AF_INET : AF_INET6;
	size_t	 alen = fam == V2_AF_INET ? 4 : 16;

	(void)ipaddr_from_bytes(&h->src, family, a);
	(void)ipaddr_from_bytes(&h->dst, family, a + alen);
	h->src_port = (uint16_t)(a[2 * alen] << 8 | a[2 * alen + 1]);
	h->dst_port = (uint16_t)(a[2 * alen + 2] << 8 | a[2 * alen + 3]);
	h->known = true;
}

/*
 * Version 2: the signature, then version and command, family and protocol,
 * and the length, each checked as soon as its byte is there.  LOCAL
 * ignores the whole block (family included), as the spec says; PROXY over
 * UNSPEC or AF_UNIX is served with the balancer's address, over DGRAM it
 * is refused (this is TCP).
 */
static enum proxy_result
parse_v2(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	size_t	 plen, total;
	int	 cmd, fam = 0, proto;

	if (memcmp(buf, v2_signature, min_size(len, sizeof(v2_signature))) != 0)
		return PROXY_MALFORMED;
	if (len <= 12)
		return PROXY_NEED_MORE;
	cmd = buf[12] & 0x0f;
	if (buf[12] >> 4 != V2_VERSION)
		return PROXY_BAD_VERSION;
	if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
		return PROXY_BAD_COMMAND;
	if (len <= 13)
		return PROXY_NEED_MORE;
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	if (cmd == V2_CMD_PROXY) {
		if (fam > V2_AF_UNIX)
			return PROXY_BAD_FAMILY;
		if (proto != V2_PROTO_UNSPEC && proto != V2_PROTO_STREAM)
			return PROXY_BAD_PROTOCOL;
	}
	if (len < PROXY_V2_FIXED)
		return PROXY_NEED_MORE;
	plen = (size_t)buf[14] << 8 | buf[15];
	if (plen > PROXY_V2_MAX_PAYLOAD)
		return PROXY_TOO_LONG;
	total = PROXY_V2_FIXED + plen;
	if (len < total)
		return PROXY_NEED_MORE;
	memset(h, 0, sizeof(*h));
	h->len = total;
	h->version = 2;
	h->command = cmd == V2_CMD_PROXY ? PROXY_CMD_PROXY : PROXY_CMD_LOCAL;
	if (cmd == V2_CMD_LOCAL || fam == V2_AF_UNSPEC)
		return PROXY_DONE;		/* the block is not ours to read */
	if (plen < v2_addr_len[fam])
		return PROXY_MALFORMED;
	if (v2_tlvs(buf, PROXY_V2_FIXED + v2_addr_len[fam], total) != PROXY_DONE)
		return PROXY_MALFORMED;
	if (proto == V2_PROTO_STREAM && fam != V2_AF_UNIX)
		v2_addresses(buf + PROXY_V2_FIXED, fam, h);
	return PROXY_DONE;
}

enum proxy_result
proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	if (len == 0)
		return PROXY_NEED_MORE;
	if (buf[0] == 'P')
		return parse_v1(buf, len, h);
	if (buf[0] == v2_signature[0])
		return parse_v2(buf, len, h);
	return PROXY_MALFORMED;
}

size_t
proxy_more(const uint8_t *buf, size_t len)
{
	size_t	 total;

	if (len < PROXY_MIN_HEADER)
		return PROXY_MIN_HEADER - len;
	if (buf[0] == 'P')
		return 0;
	if (len < PROXY_V2_FIXED)
		return PROXY_V2_FIXED - len;
	total = PROXY_V2_FIXED + ((size_t)buf[14] << 8 | buf[15]);
	return total > len ? total - len : 0;
}

socklen_t
proxy_source_sockaddr(const struct proxy_header *h,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (h->src.family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(h->src_port);
		memcpy(&sin->sin_addr, h->src.bytes, 4);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(h->src_port);
	memcpy(&sin6->sin6_addr, h->src.bytes, 16);
	return sizeof(*sin6);
}

const char *
proxy_result_name(enum proxy_result r)
{
	static const char *const names[] = {
		[PROXY_DONE] = "done",
		[PROXY_NEED_MORE] = "incomplete",
		[PROXY_MALFORMED] = "malformed",
		[PROXY_BAD_VERSION] = "unknown version",
		[PROXY_BAD_COMMAND] = "unknown command",
		[PROXY_BAD_FAMILY] = "unknown address family",
		[PROXY_BAD_PROTOCOL] = "unsupported protocol",
		[PROXY_TOO_LONG] = "too long",
		[PROXY_TIMEOUT] = "timed out",
		[PROXY_CLOSED] = "closed before its end",
		[PROXY_IO_ERROR] = "read error",
	};

	if ((size_t)r >= sizeof(names) / sizeof(names[0]) || names[r] == NULL)
		return "unknown";
	return names[r];
}
