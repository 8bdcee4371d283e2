/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proxy.c and proxy_io.c: headers as HAProxy 2.6 sends them
 * (captured from send-proxy, send-proxy-v2 with crc32c and unique-id TLVs,
 * and its LOCAL health check), every malformed form the spec describes,
 * each refusal by name, every prefix of a good header asking for more,
 * and the socket reader consuming exactly the header within one deadline.
 */

#include <sys/socket.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echod/proxy.h"

#include "suite.h"

/* Hex as HAProxy 2.6.12 sent it to a backend, each followed by "hello". */
#define HAP_V2_LOCAL	"0d0a0d0a000d0a515549540a20000000"
#define HAP_V2_TCP4	"0d0a0d0a000d0a515549540a2111000c7f0000017f000001" \
	"84a84268" "68656c6c6f"
#define HAP_V2_TCP4_TLV	"0d0a0d0a000d0a515549540a2111003f7f0000017f000001" \
	"e42c42680300046ee6506005002937463030303030313a453432435f3746303030" \
	"3030313a343236385f36423131453736335f30303031" "68656c6c6f"
#define HAP_V2_TCP6_TLV	"0d0a0d0a000d0a515549540a2121008700000000000000000000" \
	"000000000001000000000000000000000000000000" "01e5644268030004de9bfab9" \
	"05005930303030303030303030303030303030303030303030303030303030303030" \
	"313a453536345f303030303030303030303030303030303030303030303030303030" \
	"30303030313a343236385f36423131453736315f30303030" "68656c6c6f"
#define HAP_V1_TCP4	"50524f58592054435034203132372e302e302e31203132372e" \
	"302e302e312034363933382031373030320d0a" "68656c6c6f"

static size_t
unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t	 n = strlen(hex) / 2, i;
	unsigned v;

	ck_assert_uint_le(n, size);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Copy the characters of s (not its NUL) to dst. */
static void
put(uint8_t *dst, const char *s)
{
	while (*s != '\0')
		*dst++ = (uint8_t)*s++;
}

static const char *
fmt(const struct ipaddr *ip, char *buf)
{
	return ipaddr_format(ip, -1, buf, IPADDR_STRLEN);
}

/* Every proper prefix of buf[0..hlen) asks for more; the whole is DONE. */
static void
prefixes_need_more(const uint8_t *buf, size_t hlen)
{
	struct proxy_header h;
	size_t	 k;

	for (k = 0; k < hlen; k++)
		ck_assert_msg(proxy_parse(buf, k, &h) == PROXY_NEED_MORE,
		    "prefix of %zu bytes (of %zu): %s", k, hlen,
		    proxy_result_name(proxy_parse(buf, k, &h)));
}

START_TEST(test_haproxy_v2_local)
{
	struct proxy_header h;
	uint8_t	 b[64];
	size_t	 n = unhex(HAP_V2_LOCAL, b, sizeof(b));

	prefixes_need_more(b, n);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 16);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.command, PROXY_CMD_LOCAL);
	ck_assert(!h.known);
}
END_TEST

START_TEST(test_haproxy_v2_tcp4)
{
	struct proxy_header h;
	char	 a[IPADDR_STRLEN];
	uint8_t	 b[128];
	size_t	 n = unhex(HAP_V2_TCP4, b, sizeof(b));

	prefixes_need_more(b, 28);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 28);
	ck_assert_mem_eq(b + h.len, "hello", 5);
	ck_assert_int_eq(h.command, PROXY_CMD_PROXY);
	ck_assert(h.known);
	ck_assert_str_eq(fmt(&h.src, a), "127.0.0.1");
	ck_assert_str_eq(fmt(&h.dst, a), "127.0.0.1");
	ck_assert_uint_eq(h.src_port, 0x84a8);
	ck_assert_uint_eq(h.dst_port, 17000);
}
END_TEST

START_TEST(test_haproxy_v2_tlvs)
{
	struct proxy_header h;
	char	 a[IPADDR_STRLEN];
	uint8_t	 b[256];
	size_t	 n = unhex(HAP_V2_TCP4_TLV, b, sizeof(b));

	prefixes_need_more(b, n - 5);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, n - 5);
	ck_assert_str_eq(fmt(&h.src, a), "127.0.0.1");
	ck_assert_uint_eq(h.src_port, 0xe42c);

	n = unhex(HAP_V2_TCP6_TLV, b, sizeof(b));
	prefixes_need_more(b, n - 5);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, n - 5);
	ck_assert_int_eq(h.src.family, AF_INET6);
	ck_assert_str_eq(fmt(&h.src, a), "::1");
	ck_assert_uint_eq(h.src_port, 0xe564);
	ck_assert_uint_eq(h.dst_port, 17000);
}
END_TEST

START_TEST(test_haproxy_v1)
{
	struct proxy_header h;
	char	 a[IPADDR_STRLEN];
	uint8_t	 b[128];
	size_t	 n = unhex(HAP_V1_TCP4, b, sizeof(b));

	prefixes_need_more(b, n - 5);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, n - 5);
	ck_assert_int_eq(h.version, 1);
	ck_assert(h.known);
	ck_assert_str_eq(fmt(&h.src, a), "127.0.0.1");
	ck_assert_uint_eq(h.src_port, 46938);
	ck_assert_uint_eq(h.dst_port, 17002);
}
END_TEST

struct v1_case {
	const char	*line;
	enum proxy_result want;
	const char	*src;		/* DONE: the source, NULL if unknown */
};

static const struct v1_case v1_cases[] = {
	{ "PROXY UNKNOWN\r\n", PROXY_DONE, NULL },
	/* The spec's worst case: 107 bytes, CRLF included. */
	{ "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    PROXY_DONE, NULL },
	{ "PROXY UNKNOWN \x01\xff anything\r\n", PROXY_DONE, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_DONE,
	    "192.0.2.1" },
	{ "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
	    PROXY_DONE, "255.255.255.255" },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 0 0\r\n", PROXY_DONE,
	    "192.0.2.1" },
	{ "PROXY TCP6 2001:db8::1 2001:db8::2 40000 7\r\n", PROXY_DONE,
	    "2001:db8::1" },
	{ "PROXY TCP6 ::ffff:192.0.2.9 ::ffff:192.0.2.1 40000 7\r\n",
	    PROXY_DONE, "192.0.2.9" },
	{ "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
	    PROXY_DONE, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	/* Malformed: case, separators, line ends, fields, numbers. */
	{ "proxy TCP4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY \r\n", PROXY_MALFORMED, NULL },
	{ "PROXYTCP4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY  TCP4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4  192.0.2.1 198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 7 \r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\n", PROXY_MALFORMED, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\r\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1\n198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 7 8\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 65536\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 1 123456\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 -1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 +1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1 198.51.100.2 0x10 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.256 198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2 198.51.100.2 1 7\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY TCP4 2001:db8::1 198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP6 192.0.2.1 2001:db8::2 1 7\r\n", PROXY_MALFORMED, NULL },
	{ "PROXY TCP6 2001:db8::1%eth0 2001:db8::2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	{ "PROXY TCP4 192.0.2.1\t198.51.100.2 1 7\r\n", PROXY_MALFORMED,
	    NULL },
	/* Named refusals. */
	{ "PROXY TCP5 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_BAD_FAMILY,
	    NULL },
	{ "PROXY tcp4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_BAD_FAMILY,
	    NULL },
	{ "PROXY UNKNOWNX\r\n", PROXY_BAD_FAMILY, NULL },
	{ "PROXY UDP4 192.0.2.1 198.51.100.2 1 7\r\n", PROXY_BAD_PROTOCOL,
	    NULL },
	{ "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n",
	    PROXY_TOO_LONG, NULL },
	/* Not a header at all: an echo client's first bytes. */
	{ "GET / HTTP/1.0\r\n\r\n", PROXY_MALFORMED, NULL },
	{ "hello\n", PROXY_MALFORMED, NULL },
};

START_TEST(test_v1_cases)
{
	const struct v1_case *c = &v1_cases[_i];
	struct proxy_header h;
	char	 a[IPADDR_STRLEN];
	size_t	 n = strlen(c->line);
	enum proxy_result r;

	r = proxy_parse((const uint8_t *)c->line, n, &h);
	ck_assert_msg(r == c->want, "case %d \"%.*s\": %s, want %s", _i,
	    (int)n - 2, c->line, proxy_result_name(r),
	    proxy_result_name(c->want));
	if (r != PROXY_DONE)
		return;
	ck_assert_uint_eq(h.len, n);
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.command, PROXY_CMD_PROXY);
	ck_assert_int_eq(h.known, c->src != NULL);
	if (c->src != NULL)
		ck_assert_str_eq(fmt(&h.src, a), c->src);
	prefixes_need_more((const uint8_t *)c->line, n);
}
END_TEST

/* A NUL byte in a TCP4 line (the strings above end at one). */
START_TEST(test_v1_nul)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\0\r\n";
	struct proxy_header h;

	ck_assert_int_eq(proxy_parse((const uint8_t *)line, sizeof(line) - 1,
	    &h), PROXY_MALFORMED);
}
END_TEST

/* 107 bytes with no CRLF is too long; 106 and a CR still may end well. */
START_TEST(test_v1_limit)
{
	struct proxy_header h;
	uint8_t	 b[200];

	memset(b, 'x', sizeof(b));
	put(b, "PROXY UNKNOWN ");
	ck_assert_int_eq(proxy_parse(b, 106, &h), PROXY_NEED_MORE);
	ck_assert_int_eq(proxy_parse(b, 107, &h), PROXY_TOO_LONG);
	ck_assert_int_eq(proxy_parse(b, 200, &h), PROXY_TOO_LONG);
	b[105] = '\r';
	ck_assert_int_eq(proxy_parse(b, 106, &h), PROXY_NEED_MORE);
	b[106] = '\n';
	ck_assert_int_eq(proxy_parse(b, 200, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 107);
	b[105] = 'x';
	b[106] = '\r';
	b[107] = '\n';
	ck_assert_int_eq(proxy_parse(b, 107, &h), PROXY_TOO_LONG);
	ck_assert_int_eq(proxy_parse(b, 200, &h), PROXY_TOO_LONG);
}
END_TEST

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: signature, ver_cmd, fam, then plen bytes of body. */
static size_t
v2(uint8_t *b, int ver_cmd, int fam, const void *body, size_t plen)
{
	memcpy(b, sig, 12);
	b[12] = (uint8_t)ver_cmd;
	b[13] = (uint8_t)fam;
	b[14] = (uint8_t)(plen >> 8);
	b[15] = (uint8_t)plen;
	if (plen > 0)
		memcpy(b + 16, body, plen);
	return 16 + plen;
}

/* 192.0.2.1:40000 -> 198.51.100.2:7 */
static const uint8_t inet[12] = { 192, 0, 2, 1, 198, 51, 100, 2,
	0x9c, 0x40, 0, 7 };

struct v2_case {
	int		 ver_cmd;
	int		 fam;
	size_t		 plen;		/* body: inet[], then zeros */
	size_t		 declared;	/* length field if != plen, else 0 */
	enum proxy_result want;
	bool		 known;
};

static const struct v2_case v2_cases[] = {
	{ 0x21, 0x11, 12, 0, PROXY_DONE, true },
	{ 0x21, 0x10, 12, 0, PROXY_DONE, false },	/* proto UNSPEC */
	{ 0x21, 0x01, 0, 0, PROXY_DONE, false },	/* family UNSPEC */
	{ 0x21, 0x00, 5, 0, PROXY_DONE, false },	/* UNSPEC, junk */
	{ 0x21, 0x31, 216, 0, PROXY_DONE, false },	/* AF_UNIX */
	{ 0x20, 0x00, 0, 0, PROXY_DONE, false },	/* LOCAL */
	{ 0x20, 0x12, 3, 0, PROXY_DONE, false },	/* LOCAL ignores all */
	{ 0x20, 0xff, 0, 0, PROXY_DONE, false },
	{ 0x11, 0x11, 12, 0, PROXY_BAD_VERSION, false },
	{ 0x31, 0x11, 12, 0, PROXY_BAD_VERSION, false },
	{ 0x01, 0x11, 12, 0, PROXY_BAD_VERSION, false },
	{ 0x22, 0x11, 12, 0, PROXY_BAD_COMMAND, false },
	{ 0x2f, 0x11, 12, 0, PROXY_BAD_COMMAND, false },
	{ 0x21, 0x41, 12, 0, PROXY_BAD_FAMILY, false },
	{ 0x21, 0xf1, 12, 0, PROXY_BAD_FAMILY, false },
	{ 0x21, 0x12, 12, 0, PROXY_BAD_PROTOCOL, false },	/* UDP4 */
	{ 0x21, 0x22, 36, 0, PROXY_BAD_PROTOCOL, false },	/* UDP6 */
	{ 0x21, 0x13, 12, 0, PROXY_BAD_PROTOCOL, false },
	{ 0x21, 0x11, 11, 0, PROXY_MALFORMED, false },	/* short block */
	{ 0x21, 0x21, 12, 0, PROXY_MALFORMED, false },
	{ 0x21, 0x31, 108, 0, PROXY_MALFORMED, false },
	{ 0x21, 0x11, 13, 0, PROXY_MALFORMED, false },	/* TLV header cut */
	{ 0x21, 0x11, 14, 0, PROXY_MALFORMED, false },
	{ 0x21, 0x11, 0, PROXY_V2_MAX_PAYLOAD + 1, PROXY_TOO_LONG, false },
	{ 0x21, 0x11, 0, 65535, PROXY_TOO_LONG, false },
	{ 0x20, 0x00, 0, 65535, PROXY_TOO_LONG, false },
};

START_TEST(test_v2_cases)
{
	const struct v2_case *c = &v2_cases[_i];
	struct proxy_header h;
	uint8_t	 body[PROXY_V2_MAX_PAYLOAD] = { 0 };
	uint8_t	 b[PROXY_MAX_HEADER + 64];
	size_t	 n;
	enum proxy_result r;

	memcpy(body, inet, sizeof(inet));
	n = v2(b, c->ver_cmd, c->fam, body, c->plen);
	if (c->declared > 0) {
		b[14] = (uint8_t)(c->declared >> 8);
		b[15] = (uint8_t)c->declared;
	}
	r = proxy_parse(b, n, &h);
	ck_assert_msg(r == c->want, "case %d (%02x %02x, %zu): %s, want %s",
	    _i, c->ver_cmd, c->fam, c->plen, proxy_result_name(r),
	    proxy_result_name(c->want));
	if (r != PROXY_DONE)
		return;
	prefixes_need_more(b, n);
	ck_assert_uint_eq(h.len, n);
	ck_assert_int_eq(h.known, c->known);
	ck_assert_int_eq(h.command, (c->ver_cmd & 0xf) == 1 ?
	    PROXY_CMD_PROXY : PROXY_CMD_LOCAL);
	if (c->known) {
		ck_assert_uint_eq(h.src_port, 40000);
		ck_assert_uint_eq(h.dst_port, 7);
	}
}
END_TEST

/* TLVs: must fit exactly; 2,000 bytes of them are accepted. */
START_TEST(test_v2_tlvs)
{
	struct proxy_header h;
	uint8_t	 body[PROXY_V2_MAX_PAYLOAD] = { 0 };
	uint8_t	 b[PROXY_MAX_HEADER + 64];
	size_t	 n, plen;

	memcpy(body, inet, sizeof(inet));
	/* One NOOP TLV filling the limit: 12 + 3 + 2033 = 2048. */
	body[12] = 0x04;
	body[13] = (uint8_t)(2033 >> 8);
	body[14] = (uint8_t)(2033 & 0xff);
	n = v2(b, 0x21, 0x11, body, PROXY_V2_MAX_PAYLOAD);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, PROXY_MAX_HEADER);
	ck_assert(h.known);
	/* The same TLV one byte longer than the block. */
	body[14] = (uint8_t)(2034 & 0xff);
	n = v2(b, 0x21, 0x11, body, PROXY_V2_MAX_PAYLOAD);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_MALFORMED);
	/* Two TLVs, then an empty one: exact fit. */
	memset(body + 12, 0, 32);
	body[12] = 0x01; body[14] = 2;			/* ALPN "h2" */
	body[15] = 'h'; body[16] = '2';
	body[17] = 0xe0; body[19] = 0;			/* custom, empty */
	plen = 20;
	n = v2(b, 0x21, 0x11, body, plen);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	/* A trailing byte that cannot be a TLV. */
	n = v2(b, 0x21, 0x11, body, plen + 1);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_MALFORMED);
	/* v2 over IPv6 with an IPv4-mapped source: one IPv4 source. */
	memset(body, 0, 36);
	body[10] = body[11] = 0xff;
	body[12] = 192; body[13] = 0; body[14] = 2; body[15] = 77;
	body[31] = 1;
	n = v2(b, 0x21, 0x21, body, 36);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_int_eq(h.src.family, AF_INET);
	ck_assert_int_eq(h.dst.family, AF_INET6);
}
END_TEST

/* The first bytes decide; a wrong signature byte is refused at once. */
START_TEST(test_signatures)
{
	struct proxy_header h;
	uint8_t	 b[32] = { 0 };
	size_t	 i;

	ck_assert_int_eq(proxy_parse(b, 0, &h), PROXY_NEED_MORE);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"X", 1, &h),
	    PROXY_MALFORMED);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"\0", 1, &h),
	    PROXY_MALFORMED);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"PRO", 3, &h),
	    PROXY_NEED_MORE);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"PROXX", 5, &h),
	    PROXY_MALFORMED);
	for (i = 0; i < 12; i++) {
		(void)v2(b, 0x21, 0x11, inet, 12);
		b[i] ^= 0x20;
		ck_assert_msg(proxy_parse(b, i + 1, &h) == PROXY_MALFORMED,
		    "signature byte %zu", i);
	}
	/* How many bytes a reader may take without passing the header. */
	ck_assert_uint_eq(proxy_more(b, 0), 15);
	ck_assert_uint_eq(proxy_more((const uint8_t *)"PROXY", 5), 10);
	ck_assert_uint_eq(proxy_more((const uint8_t *)"PROXY UNKNOWN\r", 14),
	    1);
	ck_assert_uint_eq(proxy_more((const uint8_t *)"PROXY TCP4 1.2.3", 16),
	    0);
	(void)v2(b, 0x21, 0x11, inet, 12);
	ck_assert_uint_eq(proxy_more(b, 15), 1);
	ck_assert_uint_eq(proxy_more(b, 16), 12);
	ck_assert_uint_eq(proxy_more(b, 27), 1);
	ck_assert_str_eq(proxy_result_name(PROXY_BAD_PROTOCOL),
	    "unsupported protocol");
}
END_TEST

/* ---- proxy_read_header() over a socket pair ---- */

struct dribble {
	int		 fd;
	const uint8_t	*data;
	size_t		 len;
	int		 gap_ms;	/* between bytes */
	bool		 close_after;
};

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The stimulus: a slow sender, one byte per gap. */
static void *
dribble_thread(void *arg)
{
	struct dribble *d = arg;
	size_t	 i;

	for (i = 0; i < d->len; i++) {
		if (send(d->fd, d->data + i, 1, MSG_NOSIGNAL) != 1)
			break;
		sleep_ms(d->gap_ms);
	}
	if (d->close_after)
		(void)shutdown(d->fd, SHUT_WR);
	return NULL;
}

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* What is left in fd after the header: exactly want. */
static void
rest_is(int fd, const char *want)
{
	char	 buf[64];
	ssize_t	 n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_mem_eq(buf, want, strlen(want));
}

START_TEST(test_read_leaves_payload)
{
	static const char *const hex[] = { HAP_V1_TCP4, HAP_V2_TCP4,
	    HAP_V2_TCP4_TLV, HAP_V2_TCP6_TLV };
	struct proxy_header h;
	uint8_t	 in[512], buf[PROXY_MAX_HEADER];
	size_t	 n, i;
	int	 sv[2];

	for (i = 0; i < sizeof(hex) / sizeof(hex[0]); i++) {
		pair(sv);
		n = unhex(hex[i], in, sizeof(in));
		ck_assert_int_eq(send(sv[0], in, n, 0), (ssize_t)n);
		ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h),
		    PROXY_DONE);
		ck_assert_uint_eq(h.len, n - 5);
		rest_is(sv[1], "hello");
		close(sv[0]);
		close(sv[1]);
	}
	/* The shortest header, and nothing after it. */
	pair(sv);
	ck_assert_int_eq(send(sv[0], "PROXY UNKNOWN\r\nab", 17, 0), 17);
	ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h), PROXY_DONE);
	ck_assert(!h.known);
	rest_is(sv[1], "ab");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* A header one byte at a time (every read boundary) still parses whole. */
START_TEST(test_read_dribbled)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\r\nxyz";
	struct dribble d = { .data = (const uint8_t *)line,
	    .len = sizeof(line) - 1, .gap_ms = 1 };
	struct proxy_header h;
	uint8_t	 buf[PROXY_MAX_HEADER], in[64];
	pthread_t t;
	int	 sv[2];

	pair(sv);
	d.fd = sv[0];
	ck_assert_int_eq(pthread_create(&t, NULL, dribble_thread, &d), 0);
	ck_assert_int_eq(proxy_read_header(sv[1], 5000, buf, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, sizeof(line) - 4);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	rest_is(sv[1], "xyz");
	close(sv[0]);
	close(sv[1]);

	pair(sv);
	d.fd = sv[0];
	d.len = v2(in, 0x21, 0x11, inet, 12);
	put(in + d.len, "xyz");
	d.len += 3;
	d.data = in;
	ck_assert_int_eq(pthread_create(&t, NULL, dribble_thread, &d), 0);
	ck_assert_int_eq(proxy_read_header(sv[1], 5000, buf, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 28);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	rest_is(sv[1], "xyz");
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* One deadline for the whole header: a byte every 50 ms does not reset it. */
START_TEST(test_read_deadline)
{
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 1 7\r\n";
	struct dribble d = { .data = (const uint8_t *)line,
	    .len = sizeof(line) - 1, .gap_ms = 50 };
	struct proxy_header h;
	uint8_t	 buf[PROXY_MAX_HEADER];
	long long t0, took;
	pthread_t t;
	int	 sv[2];

	pair(sv);
	d.fd = sv[0];
	ck_assert_int_eq(pthread_create(&t, NULL, dribble_thread, &d), 0);
	t0 = mono_ms();
	ck_assert_int_eq(proxy_read_header(sv[1], 300, buf, &h),
	    PROXY_TIMEOUT);
	took = mono_ms() - t0;
	ck_assert_msg(took >= 290 && took < 1500, "took %lld ms", took);
	close(sv[1]);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	close(sv[0]);
}
END_TEST

START_TEST(test_read_refusals)
{
	struct proxy_header h;
	uint8_t	 buf[PROXY_MAX_HEADER], in[64];
	size_t	 n;
	int	 sv[2];

	/* Closed half-way. */
	pair(sv);
	ck_assert_int_eq(send(sv[0], "PROXY TCP4 1", 12, 0), 12);
	ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
	ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h),
	    PROXY_CLOSED);
	close(sv[0]);
	close(sv[1]);
	/* Not a header: refused from the first byte, nothing more read. */
	pair(sv);
	ck_assert_int_eq(send(sv[0], "hello, echo\r\n", 13, 0), 13);
	ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h),
	    PROXY_MALFORMED);
	close(sv[0]);
	close(sv[1]);
	/* v2 DGRAM: refused once the family byte is in. */
	pair(sv);
	n = v2(in, 0x21, 0x12, inet, 12);
	ck_assert_int_eq(send(sv[0], in, n, 0), (ssize_t)n);
	ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h),
	    PROXY_BAD_PROTOCOL);
	close(sv[0]);
	close(sv[1]);
	/* A v1 line that never ends: too long, after 107 bytes. */
	pair(sv);
	memset(in, 'a', sizeof(in));
	put(in, "PROXY ");
	ck_assert_int_eq(send(sv[0], in, 64, 0), 64);
	ck_assert_int_eq(send(sv[0], in + 6, 58, 0), 58);
	ck_assert_int_eq(proxy_read_header(sv[1], 1000, buf, &h),
	    PROXY_TOO_LONG);
	close(sv[0]);
	close(sv[1]);
	/* Nothing at all within the timeout. */
	pair(sv);
	ck_assert_int_eq(proxy_read_header(sv[1], 100, buf, &h),
	    PROXY_TIMEOUT);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite	*s = suite_create("proxy");
	TCase	*tc;

	tc = tcase_create("haproxy");
	tcase_add_test(tc, test_haproxy_v2_local);
	tcase_add_test(tc, test_haproxy_v2_tcp4);
	tcase_add_test(tc, test_haproxy_v2_tlvs);
	tcase_add_test(tc, test_haproxy_v1);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_v1_cases, 0,
	    (int)(sizeof(v1_cases) / sizeof(v1_cases[0])));
	tcase_add_test(tc, test_v1_nul);
	tcase_add_test(tc, test_v1_limit);
	tcase_add_loop_test(tc, test_v2_cases, 0,
	    (int)(sizeof(v2_cases) / sizeof(v2_cases[0])));
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_signatures);
	suite_add_tcase(s, tc);

	tc = tcase_create("read");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_read_leaves_payload);
	tcase_add_test(tc, test_read_dribbled);
	tcase_add_test(tc, test_read_deadline);
	tcase_add_test(tc, test_read_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(proxy_suite());
}
