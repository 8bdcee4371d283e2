/* SPDX-License-Identifier: MIT */
/*
 * check_stamp: the STAMP packet module in process.  Requests are written
 * here from the RFC's figures (RFC 8762 §4.2, §4.3; RFC 8972 §3, §4), by
 * offset, independently of stamp.h's constants, and every octet of the
 * reply is checked; HMAC-SHA-256/128 against RFC 4231's vector and against
 * openssl(1) run at test time; the stateful session table's bounds.
 */

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/stamp.h"
#include "echod/stamp_session.h"
#include "echod/wire.h"
#include "suite.h"

static const struct stamp_rx RX = {
	.t2 = 0x1122334455667788ULL, .err = 0x8123, .synced = true,
	.ttl = 61, .tos = 0xb9,		/* DSCP 46 (EF), ECN 1 */
};
static const struct stamp_session_info STATELESS = { .stateful = false };

/* An unauthenticated Session-Sender packet (RFC 8762 Figure 2 + SSID). */
static void
sender_unauth(uint8_t *p, size_t len)
{
	static const uint8_t ts[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	memset(p, 0xee, len);		/* MBZ not zero: ignored on receipt */
	wire_put32(p, 0xa1b2c3d4);		/* Sequence Number, 0..3 */
	memcpy(p + 4, ts, sizeof(ts));		/* Timestamp, 4..11 */
	p[12] = 0x80;			/* Error Estimate, 12..13 */
	p[13] = 0x01;
	if (len >= 16) {
		p[14] = 0x12;		/* SSID, 14..15 */
		p[15] = 0x34;
	}
}

/* Octets lo..hi (inclusive) are all zero. */
static void
mbz(const uint8_t *p, size_t lo, size_t hi)
{
	size_t	 i;

	for (i = lo; i <= hi; i++)
		ck_assert_msg(p[i] == 0, "MBZ octet %zu is %#x", i, p[i]);
}

START_TEST(test_unauth_base_octets)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[44];

	sender_unauth(p, sizeof(p));
	ck_assert_int_eq(stamp_reflect(&par, p, sizeof(p), &RX, &STATELESS,
	    &res), STAMP_REFLECT);
	ck_assert_uint_eq(res.base, 44);
	stamp_finish(&par, p, sizeof(p), 0x0102030405060708ULL);
	ck_assert_uint_eq(wire_get32(p), 0xa1b2c3d4);		/* copied */
	ck_assert_uint_eq(wire_get64(p + 4), 0x0102030405060708ULL); /* T3 */
	ck_assert_uint_eq(p[12], 0x81);			/* ours */
	ck_assert_uint_eq(p[13], 0x23);
	ck_assert_uint_eq(p[14], 0x12);			/* SSID */
	ck_assert_uint_eq(p[15], 0x34);
	ck_assert_uint_eq(wire_get64(p + 16), RX.t2);		/* T2 */
	ck_assert_uint_eq(wire_get32(p + 24), 0xa1b2c3d4);	/* sender's */
	ck_assert_uint_eq(wire_get64(p + 28), 0x0102030405060708ULL);
	ck_assert_uint_eq(p[36], 0x80);
	ck_assert_uint_eq(p[37], 0x01);
	mbz(p, 38, 39);
	ck_assert_uint_eq(p[40], 61);			/* Ses-Sender TTL */
	mbz(p, 41, 43);
}
END_TEST

/* TWAMP-Light (RFC 5357): 41 to 43 octets answered at their own length. */
START_TEST(test_twamp_light_lengths)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[44];
	size_t	 len = (size_t)_i;

	sender_unauth(p, len);
	ck_assert_int_eq(stamp_reflect(&par, p, len, &RX, &STATELESS, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(res.base, len);
	stamp_finish(&par, p, len, 7);
	ck_assert_uint_eq(wire_get32(p), 0xa1b2c3d4);
	ck_assert_uint_eq(wire_get64(p + 4), 7);
	mbz(p, 14, 15);				/* no SSID in TWAMP */
	ck_assert_uint_eq(wire_get64(p + 16), RX.t2);
	ck_assert_uint_eq(wire_get32(p + 24), 0xa1b2c3d4);
	ck_assert_uint_eq(p[40], 61);
	if (len > 41)
		mbz(p, 41, len - 1);
}
END_TEST

START_TEST(test_short_dropped)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[112];

	memset(p, 1, sizeof(p));
	ck_assert_int_eq(stamp_reflect(&par, p, 0, &RX, &STATELESS, &res),
	    STAMP_DROP_SHORT);
	ck_assert_int_eq(stamp_reflect(&par, p, 40, &RX, &STATELESS, &res),
	    STAMP_DROP_SHORT);
	par.key.len = 16;
	ck_assert_int_eq(stamp_reflect(&par, p, 111, &RX, &STATELESS, &res),
	    STAMP_DROP_SHORT);
}
END_TEST

START_TEST(test_stateful_sequence)
{
	struct stamp_params par = { .stateful = true };
	struct stamp_session_info s = { .stateful = true, .seq = 5 };
	struct stamp_result res;
	uint8_t	 p[44];

	sender_unauth(p, sizeof(p));
	ck_assert_int_eq(stamp_reflect(&par, p, sizeof(p), &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(wire_get32(p), 5);
	ck_assert_uint_eq(wire_get32(p + 24), 0xa1b2c3d4);
}
END_TEST

/* The HMAC vector of RFC 4231 test case 2, truncated to 128 bits. */
START_TEST(test_hmac_rfc4231)
{
	static const uint8_t want[16] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60,
	    0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7 };
	struct stamp_key k = { .len = 4 };
	const char *msg = "what do ya want for nothing?";
	uint8_t	 mac[16];

	memcpy(k.bytes, "Jefe", 4);
	stamp_hmac(&k, (const uint8_t *)msg, strlen(msg), mac);
	ck_assert_mem_eq(mac, want, 16);
	ck_assert(stamp_hmac_equal(mac, want));
	mac[15] ^= 1;
	ck_assert(!stamp_hmac_equal(mac, want));
}
END_TEST

/* openssl dgst over the same key and bytes, at test time. */
static int
openssl_hmac(const uint8_t *key, size_t klen, const uint8_t *data,
    size_t len, uint8_t out[16])
{
	char	 path[] = "/tmp/check_stamp.XXXXXX", cmd[4096], line[512];
	char	*hex;
	size_t	 i, off;
	FILE	*fp;
	int	 fd;

	if ((fd = mkstemp(path)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	off = (size_t)snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -mac "
	    "HMAC -macopt hexkey:");
	for (i = 0; i < klen; i++)
		off += (size_t)snprintf(cmd + off, sizeof(cmd) - off, "%02x",
		    key[i]);
	snprintf(cmd + off, sizeof(cmd) - off, " %s 2>/dev/null", path);
	/* NOLINTNEXTLINE(cert-env33-c): openssl(1) is the reference */
	fp = popen(cmd, "r");
	if (fp == NULL || fgets(line, sizeof(line), fp) == NULL) {
		if (fp != NULL)
			pclose(fp);
		unlink(path);
		return -1;
	}
	pclose(fp);
	unlink(path);
	if ((hex = strstr(line, "= ")) == NULL)
		return -1;
	for (i = 0; i < 16; i++)
		if (sscanf(hex + 2 + 2 * i, "%2hhx", &out[i]) != 1)
			return -1;
	return 0;
}

/*
 * Authenticated mode (RFC 8762 Figures 4 and 6): the base HMAC over
 * octets 0..95 with a 32-octet key, checked by openssl; a wrong one drops.
 */
START_TEST(test_auth_base_octets)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[112], mac[16], ref[16];
	size_t	 i;

	par.key.len = 32;
	for (i = 0; i < 32; i++)
		par.key.bytes[i] = (uint8_t)(i * 7 + 1);
	memset(p, 0, sizeof(p));
	wire_put32(p, 77);				/* Sequence Number 0..3 */
	memset(p + 4, 0xee, 12);		/* MBZ 4..15: ignored */
	memcpy(p + 16, "\x10\x20\x30\x40\x50\x60\x70\x80", 8); /* 16..23 */
	p[24] = 0x00;				/* Error Estimate 24..25 */
	p[25] = 0x02;
	p[26] = 0xab;				/* SSID 26..27 */
	p[27] = 0xcd;
	if (openssl_hmac(par.key.bytes, 32, p, 96, ref) == -1) {
		test_skip("openssl(1) did not run");
		return;
	}
	stamp_hmac(&par.key, p, 96, mac);
	ck_assert_mem_eq(mac, ref, 16);
	memcpy(p + 96, mac, 16);
	p[100] ^= 0x40;
	ck_assert_int_eq(stamp_reflect(&par, p, sizeof(p), &RX, &STATELESS,
	    &res), STAMP_DROP_AUTH);
	p[100] ^= 0x40;
	ck_assert_int_eq(stamp_reflect(&par, p, sizeof(p), &RX, &STATELESS,
	    &res), STAMP_REFLECT);
	stamp_finish(&par, p, sizeof(p), 0xaabbccdd00112233ULL);
	ck_assert_uint_eq(wire_get32(p), 77);
	mbz(p, 4, 15);
	ck_assert_uint_eq(wire_get64(p + 16), 0xaabbccdd00112233ULL); /* T3 */
	ck_assert_uint_eq(p[24], 0x81);
	ck_assert_uint_eq(p[25], 0x23);
	ck_assert_uint_eq(p[26], 0xab);
	ck_assert_uint_eq(p[27], 0xcd);
	mbz(p, 28, 31);
	ck_assert_uint_eq(wire_get64(p + 32), RX.t2);		/* T2 */
	mbz(p, 40, 47);
	ck_assert_uint_eq(wire_get32(p + 48), 77);
	mbz(p, 52, 63);
	ck_assert_uint_eq(wire_get64(p + 64), 0x1020304050607080ULL);
	ck_assert_uint_eq(p[72], 0x00);
	ck_assert_uint_eq(p[73], 0x02);
	mbz(p, 74, 79);
	ck_assert_uint_eq(p[80], 61);
	mbz(p, 81, 95);
	ck_assert_int_eq(openssl_hmac(par.key.bytes, 32, p, 96, ref), 0);
	ck_assert_mem_eq(p + 96, ref, 16);
}
END_TEST

/* Append a TLV (flags U as a sender sets them) at p + *off. */
static void
tlv(uint8_t *p, size_t *off, uint8_t type, const void *v, uint16_t len)
{
	p[*off] = STAMP_TLV_U;
	p[*off + 1] = type;
	p[*off + 2] = (uint8_t)(len >> 8);
	p[*off + 3] = (uint8_t)len;
	if (v != NULL)
		memcpy(p + *off + 4, v, len);
	else
		memset(p + *off + 4, 0, len);
	*off += 4 + (size_t)len;
}

START_TEST(test_tlvs_answered)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[256];
	/* DSCP1 = 10 (AF11), everything else zero (RFC 8972 §4.4). */
	const uint8_t cos[4] = { 10 << 2, 0, 0, 0 };
	size_t	 off = 44, tsi, cs, dm, unk;

	sender_unauth(p, 44);
	tlv(p, &off, STAMP_TLV_PADDING, "padpadpa", 8);
	tsi = off;
	tlv(p, &off, STAMP_TLV_TIMESTAMP_INFO, NULL, 4);
	cs = off;
	tlv(p, &off, STAMP_TLV_COS, cos, 4);
	dm = off;
	tlv(p, &off, STAMP_TLV_DIRECT, "\0\0\0\x09\0\0\0\0\0\0\0\0", 12);
	unk = off;
	tlv(p, &off, 200, "abcd", 4);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &STATELESS, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(res.tlvs, 5);
	ck_assert_uint_eq(res.unknown, 2);	/* Direct (stateless), 200 */
	ck_assert(!res.malformed && !res.integrity);
	ck_assert_uint_eq(p[44], 0);		/* padding: understood */
	ck_assert_mem_eq(p + 48, "padpadpa", 8);
	ck_assert_uint_eq(p[tsi], 0);
	ck_assert_uint_eq(p[tsi + 4], STAMP_SYNC_NTP);	/* Sync Src In */
	ck_assert_uint_eq(p[tsi + 5], STAMP_TSMETHOD_SW);
	ck_assert_uint_eq(p[tsi + 6], STAMP_SYNC_NTP);
	ck_assert_uint_eq(p[tsi + 7], STAMP_TSMETHOD_SW);
	ck_assert_uint_eq(p[cs], 0);
	/* DSCP1 10 | DSCP2 46 | ECN 1 | RP 0 | Reserved. */
	ck_assert_uint_eq(p[cs + 4], (10 << 2) | (46 >> 4));
	ck_assert_uint_eq(p[cs + 5], ((46 & 0xf) << 4) | (1 << 2));
	mbz(p, cs + 6, cs + 7);
	ck_assert_int_eq(res.reply_tos, 10 << 2);
	ck_assert_uint_eq(p[dm], STAMP_TLV_U);	/* stateless: not here */
	ck_assert_uint_eq(wire_get32(p + dm + 4), 9);
	ck_assert_uint_eq(p[unk], STAMP_TLV_U);
	ck_assert_mem_eq(p + unk + 4, "abcd", 4);
}
END_TEST

START_TEST(test_tlv_direct_stateful)
{
	struct stamp_params par = { .stateful = true };
	struct stamp_session_info s = { .stateful = true, .seq = 2, .rx = 3,
	    .tx = 3 };
	struct stamp_result res;
	uint8_t	 p[64];
	size_t	 off = 44;

	sender_unauth(p, 44);
	tlv(p, &off, STAMP_TLV_DIRECT, "\0\0\0\x07\xff\xff\xff\xff\xff\xff"
	    "\xff\xff", 12);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(p[44], 0);
	ck_assert_uint_eq(wire_get32(p + 48), 7);	/* S_TxC copied */
	ck_assert_uint_eq(wire_get32(p + 52), 3);	/* R_RxC */
	ck_assert_uint_eq(wire_get32(p + 56), 3);	/* R_TxC */
}
END_TEST

/* A wrong length, or one past the end: M there, the rest untouched. */
START_TEST(test_tlv_malformed)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_result res;
	uint8_t	 p[128], want[128];
	size_t	 off = 44, bad;

	sender_unauth(p, 44);
	tlv(p, &off, STAMP_TLV_PADDING, "xx", 2);
	bad = off;
	tlv(p, &off, STAMP_TLV_COS, "12345", 5);	/* must be 4 */
	tlv(p, &off, STAMP_TLV_TIMESTAMP_INFO, NULL, 4);
	memcpy(want, p, off);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &STATELESS, &res),
	    STAMP_REFLECT);
	ck_assert(res.malformed);
	ck_assert_uint_eq(p[44], 0);
	ck_assert_uint_eq(p[bad], STAMP_TLV_M);
	ck_assert_mem_eq(p + bad + 1, want + bad + 1, off - bad - 1);

	/* A length beyond the datagram. */
	off = 44;
	sender_unauth(p, 44);
	tlv(p, &off, STAMP_TLV_PADDING, "xxxx", 4);
	p[47] = 200;
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &STATELESS, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(p[44], STAMP_TLV_M);
	ck_assert_uint_eq(p[47], 200);

	/* Three stray octets: too short for a header. */
	sender_unauth(p, 47);
	p[44] = 0x80;
	ck_assert_int_eq(stamp_reflect(&par, p, 47, &RX, &STATELESS, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(p[44], STAMP_TLV_M);
}
END_TEST

/* Authenticated TLVs: the HMAC TLV verified, recomputed; wrong: I on all. */
START_TEST(test_tlv_hmac)
{
	struct stamp_params par = { .stateful = true };
	struct stamp_session_info s = { .stateful = true, .seq = 9 };
	struct stamp_result res;
	uint8_t	 p[160], mac[16], seq[4];
	size_t	 off = 112, h;

	par.key.len = 16;
	memset(par.key.bytes, 0x5a, 16);
	memset(p, 0, 112);
	wire_put32(p, 1);
	tlv(p, &off, STAMP_TLV_TIMESTAMP_INFO, NULL, 4);
	h = off;
	tlv(p, &off, STAMP_TLV_HMAC, NULL, 16);
	stamp_hmac_tlv(&par.key, p, p + 112, h - 112, mac);
	memcpy(p + h + 4, mac, 16);
	stamp_hmac(&par.key, p, 96, p + 96);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert(!res.integrity);
	ck_assert_uint_eq(p[112], 0);
	ck_assert_uint_eq(p[116], STAMP_SYNC_NTP);
	ck_assert_uint_eq(p[h], 0);
	wire_put32(seq, 9);				/* the reply's own */
	stamp_hmac_tlv(&par.key, seq, p + 112, h - 112, mac);
	ck_assert_mem_eq(p + h + 4, mac, 16);

	/* The same with a wrong TLV HMAC: reflected, every TLV with I. */
	off = 112;
	memset(p, 0, 112);
	wire_put32(p, 1);
	tlv(p, &off, STAMP_TLV_TIMESTAMP_INFO, NULL, 4);
	tlv(p, &off, STAMP_TLV_HMAC, "0123456789abcdef", 16);
	stamp_hmac(&par.key, p, 96, p + 96);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert(res.integrity);
	ck_assert_uint_eq(p[112], STAMP_TLV_I);
	ck_assert_uint_eq(p[116], 0);		/* not used */
	ck_assert_uint_eq(p[h], STAMP_TLV_I);

	/* TLVs without an HMAC TLV (not padding alone): I. */
	off = 112;
	memset(p, 0, 112);
	tlv(p, &off, STAMP_TLV_TIMESTAMP_INFO, NULL, 4);
	stamp_hmac(&par.key, p, 96, p + 96);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(p[112], STAMP_TLV_I);
	/* Extra Padding alone needs none. */
	off = 112;
	memset(p, 0, 112);
	tlv(p, &off, STAMP_TLV_PADDING, NULL, 20);
	stamp_hmac(&par.key, p, 96, p + 96);
	ck_assert_int_eq(stamp_reflect(&par, p, off, &RX, &s, &res),
	    STAMP_REFLECT);
	ck_assert_uint_eq(p[112], 0);
}
END_TEST

START_TEST(test_ntp_and_error_estimate)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 500000000 };

	/* 1970 is 2,208,988,800 s after 1900; half a second is 2^31. */
	ck_assert_uint_eq(stamp_ntp(&ts), (2208988800ULL << 32) | 0x80000000U);
	ts.tv_nsec = 0;
	ts.tv_sec = 1;
	ck_assert_uint_eq(stamp_ntp(&ts) >> 32, 2208988801ULL);
	/* 1 us = 4295 units: scale 5 gives 135 (4320 >= 4295). */
	ck_assert_uint_eq(stamp_error_estimate(true, 1), 0x8000 | 5 << 8 | 135);
	ck_assert_uint_eq(stamp_error_estimate(false, 0), 1);
	/* 16 s: 2^36 units = 128 * 2^29. */
	ck_assert_uint_eq(stamp_error_estimate(false, 16000000),
	    29 << 8 | 128);
}
END_TEST

START_TEST(test_sessions_bounded)
{
	struct stamp_sessions t;
	struct stamp_session_key k;
	struct stamp_session_info info;
	uint8_t	 secret[16] = { 1, 2, 3 };
	unsigned evicted = 0, i;

	ck_assert_int_eq(stamp_sessions_init(&t, secret), 0);
	memset(&k, 0, sizeof(k));
	(void)ipaddr_from_bytes(&k.src, AF_INET, "\xc6\x12\0\x01");
	(void)ipaddr_from_bytes(&k.dst, AF_INET, "\xc6\x12\0\x02");
	k.sport = 5000;
	k.dport = 862;
	for (i = 0; i < 3; i++) {
		ck_assert(!stamp_sessions_next(&t, &k, 1000 + i, &info));
		ck_assert_uint_eq(info.seq, i);
		ck_assert_uint_eq(info.rx, i + 1);
	}
	k.ssid = 1;				/* another session */
	(void)stamp_sessions_next(&t, &k, 2000, &info);
	ck_assert_uint_eq(info.seq, 0);
	/* A flood of sources fills the table and no more. */
	for (i = 0; i < 100000; i++) {
		k.sport = (uint16_t)i;
		k.src.bytes[3] = (uint8_t)(i >> 16);
		evicted += stamp_sessions_next(&t, &k, 3000 + i, &info);
	}
	ck_assert_uint_ge(evicted, 100000 - STAMP_SESSION_BUCKETS *
	    STAMP_SESSION_WAYS);
	/* Idle sessions expire: the first one starts again at 0. */
	k.sport = 1;
	k.src.bytes[3] = 0;
	(void)stamp_sessions_next(&t, &k, 3000 + 1 + STAMP_SESSION_IDLE_NS,
	    &info);
	ck_assert_uint_eq(info.seq, 0);
	stamp_sessions_free(&t);
}
END_TEST

static Suite *
stamp_suite(void)
{
	Suite	*s = suite_create("stamp");
	TCase	*tc = tcase_create("packets");

	tcase_add_test(tc, test_unauth_base_octets);
	tcase_add_loop_test(tc, test_twamp_light_lengths, 41, 44);
	tcase_add_test(tc, test_short_dropped);
	tcase_add_test(tc, test_stateful_sequence);
	tcase_add_test(tc, test_auth_base_octets);
	tcase_add_test(tc, test_ntp_and_error_estimate);
	suite_add_tcase(s, tc);
	tc = tcase_create("tlv");
	tcase_add_test(tc, test_tlvs_answered);
	tcase_add_test(tc, test_tlv_direct_stateful);
	tcase_add_test(tc, test_tlv_malformed);
	tcase_add_test(tc, test_tlv_hmac);
	suite_add_tcase(s, tc);
	tc = tcase_create("hmac");
	tcase_add_test(tc, test_hmac_rfc4231);
	suite_add_tcase(s, tc);
	tc = tcase_create("sessions");
	tcase_add_test(tc, test_sessions_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(stamp_suite());
}
