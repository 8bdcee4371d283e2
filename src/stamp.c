/* SPDX-License-Identifier: MIT */
/*
 * STAMP base packets (RFC 8762 §4.2, §4.3): a Session-Sender's request
 * becomes the Session-Reflector's reply in the same buffer, field by field
 * at the RFC's octet offsets, never longer than the request.  Also the
 * timestamp format (NTP 64-bit), the Error Estimate, and HMAC-SHA-256
 * truncated to 128 bits from nettle.
 */

#include <string.h>

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include "echod/stamp.h"
#include "echod/wire.h"

/* Seconds from 1900 (NTP's era 0) to 1970 (the Unix epoch). */
#define NTP_UNIX_OFFSET	2208988800ULL

uint64_t
stamp_ntp(const struct timespec *ts)
{
	uint64_t sec = (uint64_t)ts->tv_sec + NTP_UNIX_OFFSET;
	/* The fraction in units of 2^-32 s, rounded down. */
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000ULL;

	return (sec & 0xffffffffULL) << 32 | frac;
}

uint16_t
stamp_error_estimate(bool synced, long esterror_us)
{
	/* The error in units of 2^-32 s, rounded up; at least 1 unit. */
	uint64_t units = esterror_us > 0 ? ((uint64_t)esterror_us *
	    4294967296ULL + 999999) / 1000000 : 1;
	unsigned scale = 0;
	uint64_t mult = units;

	/* Multiplier * 2^Scale >= the error, Multiplier at most 255. */
	while (mult > 255 && scale < 63) {
		scale++;
		mult = (units + ((uint64_t)1 << scale) - 1) >> scale;
	}
	if (mult > 255)
		mult = 255;
	if (mult == 0)
		mult = 1;
	return (uint16_t)((synced ? 0x8000 : 0) | scale << 8 | mult);
}

void
stamp_hmac(const struct stamp_key *k, const uint8_t *data, size_t len,
    uint8_t out[STAMP_HMAC_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, k->len, k->bytes);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, STAMP_HMAC_LEN, out);
}

void
stamp_hmac_tlv(const struct stamp_key *k, const uint8_t seq[4],
    const uint8_t *tlvs, size_t len, uint8_t out[STAMP_HMAC_LEN])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, k->len, k->bytes);
	hmac_sha256_update(&ctx, 4, seq);
	hmac_sha256_update(&ctx, len, tlvs);
	hmac_sha256_digest(&ctx, STAMP_HMAC_LEN, out);
}

bool
stamp_hmac_equal(const uint8_t *a, const uint8_t *b)
{
	return memeql_sec(a, b, STAMP_HMAC_LEN) != 0;
}

int
stamp_peek(const uint8_t *pkt, size_t len, bool auth, struct stamp_request *rq)
{
	if (len < (auth ? STAMP_BASE_AUTH : STAMP_TWAMP_MIN))
		return -1;
	rq->seq = wire_get32(pkt);
	if (auth)
		rq->ssid = (uint16_t)(pkt[STAMP_AS_SSID] << 8 |
		    pkt[STAMP_AS_SSID + 1]);
	else if (len >= STAMP_BASE_UNAUTH)
		rq->ssid = (uint16_t)(pkt[STAMP_US_SSID] << 8 |
		    pkt[STAMP_US_SSID + 1]);
	else
		rq->ssid = 0;		/* TWAMP-Light: padding there */
	return 0;
}

/*
 * The authenticated base (§4.3.2) over the request's (§4.2.2): every MBZ
 * zero, the sender's fields copied, T2 and the TTL from the kernel.
 */
static void
reflect_auth(uint8_t *pkt, const struct stamp_rx *rx,
    const struct stamp_session_info *s)
{
	uint8_t	 rq[STAMP_BASE_AUTH];

	memcpy(rq, pkt, sizeof(rq));
	memset(pkt, 0, STAMP_BASE_AUTH);
	if (s->stateful)
		wire_put32(pkt + STAMP_A_SEQ, s->seq);
	else
		memcpy(pkt + STAMP_A_SEQ, rq + STAMP_AS_SEQ, 4);
	wire_put16(pkt + STAMP_A_ERR, rx->err);
	memcpy(pkt + STAMP_A_SSID, rq + STAMP_AS_SSID, 2);
	wire_put64(pkt + STAMP_A_RX_TS, rx->t2);
	memcpy(pkt + STAMP_A_SEND_SEQ, rq + STAMP_AS_SEQ, 4);
	memcpy(pkt + STAMP_A_SEND_TS, rq + STAMP_AS_TS, 8);
	memcpy(pkt + STAMP_A_SEND_ERR, rq + STAMP_AS_ERR, 2);
	pkt[STAMP_A_SEND_TTL] = rx->ttl >= 0 ? (uint8_t)rx->ttl : 0;
}

/*
 * The unauthenticated base (§4.3.1) over the request's (§4.2.1), or for
 * 41 to 43 octets TWAMP-Light's reflector layout (RFC 5357 §4.2.1), which
 * ends at Sender TTL: answered at their own length, so never more octets
 * than came in.  A TWAMP-Light sender has no SSID: its octets stay MBZ.
 */
static void
reflect_unauth(uint8_t *pkt, size_t base, const struct stamp_rx *rx,
    const struct stamp_session_info *s)
{
	uint8_t	 rq[STAMP_BASE_UNAUTH];

	memcpy(rq, pkt, base);
	memset(pkt, 0, base);
	if (s->stateful)
		wire_put32(pkt + STAMP_U_SEQ, s->seq);
	else
		memcpy(pkt + STAMP_U_SEQ, rq + STAMP_US_SEQ, 4);
	wire_put16(pkt + STAMP_U_ERR, rx->err);
	if (base == STAMP_BASE_UNAUTH)
		memcpy(pkt + STAMP_U_SSID, rq + STAMP_US_SSID, 2);
	wire_put64(pkt + STAMP_U_RX_TS, rx->t2);
	memcpy(pkt + STAMP_U_SEND_SEQ, rq + STAMP_US_SEQ, 4);
	memcpy(pkt + STAMP_U_SEND_TS, rq + STAMP_US_TS, 8);
	memcpy(pkt + STAMP_U_SEND_ERR, rq + STAMP_US_ERR, 2);
	pkt[STAMP_U_SEND_TTL] = rx->ttl >= 0 ? (uint8_t)rx->ttl : 0;
}

enum stamp_verdict
stamp_reflect_check(const struct stamp_params *p, const uint8_t *pkt,
    size_t len)
{
	uint8_t	 mac[STAMP_HMAC_LEN];
	bool	 auth = p->key.len > 0;

	if (len < (auth ? STAMP_BASE_AUTH : STAMP_TWAMP_MIN))
		return STAMP_DROP_SHORT;
	if (auth) {
		stamp_hmac(&p->key, pkt, STAMP_HMAC_COVERS, mac);
		if (!stamp_hmac_equal(mac, pkt + STAMP_AS_HMAC))
			return STAMP_DROP_AUTH;
	}
	return STAMP_REFLECT;
}

enum stamp_verdict
stamp_reflect(const struct stamp_params *p, uint8_t *pkt, size_t len,
    const struct stamp_rx *rx, const struct stamp_session_info *s,
    struct stamp_result *res)
{
	enum stamp_verdict v;
	uint8_t	 req_seq[4];

	*res = (struct stamp_result){ .reply_tos = -1 };
	if ((v = stamp_reflect_check(p, pkt, len)) != STAMP_REFLECT)
		return v;
	memcpy(req_seq, pkt, sizeof(req_seq));
	if (p->key.len > 0) {
		res->base = STAMP_BASE_AUTH;
		reflect_auth(pkt, rx, s);
	} else {
		res->base = len < STAMP_BASE_UNAUTH ? len : STAMP_BASE_UNAUTH;
		reflect_unauth(pkt, res->base, rx, s);
	}
	if (len > res->base)
		stamp_tlv_reflect(p, req_seq, pkt, pkt + res->base,
		    len - res->base, rx, s, res);
	return STAMP_REFLECT;
}

void
stamp_finish(const struct stamp_params *p, uint8_t *pkt, size_t len,
    uint64_t t3)
{
	if (p->key.len > 0 && len >= STAMP_BASE_AUTH) {
		wire_put64(pkt + STAMP_A_TS, t3);
		stamp_hmac(&p->key, pkt, STAMP_HMAC_COVERS, pkt + STAMP_A_HMAC);
	} else if (len >= STAMP_U_TS + 8)
		wire_put64(pkt + STAMP_U_TS, t3);
}
