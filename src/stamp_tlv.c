/* SPDX-License-Identifier: MIT */
/*
 * RFC 8972 TLVs in a STAMP reply: every length checked against what is
 * left and against its type's fixed size before a value is read; the ones
 * echod supports answered (Extra Padding, Timestamp Information, Class of
 * Service, Direct Measurement when stateful, HMAC when authenticated), the
 * others reflected unchanged with U, the first malformed one with M and
 * nothing after it touched, all with I when the HMAC TLV does not verify.
 */

#include <string.h>

#include "echod/stamp.h"
#include "echod/wire.h"

/* The HMAC TLV's place in the list, as RFC 8972 §4.8 wants it. */
enum hmac_state {
	HMAC_NONE,		/* not present */
	HMAC_OK,		/* present, last but for Extra Padding */
	HMAC_MISPLACED,		/* twice, or a TLV other than padding after */
};

/* A type's fixed value length, or -1 when it has none or echod does not know. */
static int
fixed_length(uint8_t type)
{
	switch (type) {
	case STAMP_TLV_TIMESTAMP_INFO:
	case STAMP_TLV_COS:
		return 4;
	case STAMP_TLV_DIRECT:
		return 12;
	case STAMP_TLV_HMAC:
		return STAMP_HMAC_LEN;
	default:
		return -1;
	}
}

/*
 * The octets of well-formed TLVs from the start: len, or where the first
 * malformed one begins (too short for its header, a length past the end,
 * or not its type's fixed size).  Counts the well-formed ones in *n.
 */
static size_t
scan(const uint8_t *tlv, size_t len, unsigned *n)
{
	size_t	 off = 0, vlen;
	int	 want;

	*n = 0;
	while (off < len) {
		if (len - off < STAMP_TLV_HDR)
			break;
		vlen = wire_get16(tlv + off + 2);
		if (vlen > len - off - STAMP_TLV_HDR)
			break;
		want = fixed_length(tlv[off + 1]);
		if (want >= 0 && vlen != (size_t)want)
			break;
		off += STAMP_TLV_HDR + vlen;
		(*n)++;
	}
	return off;
}

/* Where the HMAC TLV is among the well-formed TLVs in tlv[0, good). */
static enum hmac_state
find_hmac(const uint8_t *tlv, size_t good, size_t *at)
{
	enum hmac_state st = HMAC_NONE;
	size_t	 off;

	for (off = 0; off < good; off += STAMP_TLV_HDR + wire_get16(tlv + off + 2)) {
		if (tlv[off + 1] == STAMP_TLV_HMAC) {
			if (st != HMAC_NONE)
				return HMAC_MISPLACED;
			st = HMAC_OK;
			*at = off;
		} else if (st == HMAC_OK && tlv[off + 1] != STAMP_TLV_PADDING)
			return HMAC_MISPLACED;
	}
	return st;
}

/*
 * Authenticated mode: whether the TLVs may be used.  They must end in an
 * HMAC TLV that verifies over the request's Sequence Number and the TLVs
 * before it, unless the only TLV is Extra Padding.
 */
static bool
integrity(const struct stamp_params *p, const uint8_t req_seq[4],
    const uint8_t *tlv, size_t good, size_t len, unsigned n, size_t *at)
{
	uint8_t	 mac[STAMP_HMAC_LEN];

	if (good < len)
		return false;		/* cannot tell what is covered */
	switch (find_hmac(tlv, good, at)) {
	case HMAC_NONE:
		return n == 1 && tlv[1] == STAMP_TLV_PADDING;
	case HMAC_MISPLACED:
		return false;
	case HMAC_OK:
		break;
	}
	stamp_hmac_tlv(&p->key, req_seq, tlv, *at, mac);
	return stamp_hmac_equal(mac, tlv + *at + STAMP_TLV_HDR);
}

/* Class of Service (§4.4): DSCP2 and ECN as received, DSCP1 applied. */
static void
answer_cos(uint8_t *v, const struct stamp_rx *rx, struct stamp_result *res)
{
	unsigned dscp1 = v[0] >> 2;
	unsigned tos = rx->tos >= 0 ? (unsigned)rx->tos : 0;
	unsigned dscp2 = tos >> 2, ecn = tos & 3;

	/* Every DSCP is permitted here, so RP stays 0. */
	v[0] = (uint8_t)(dscp1 << 2 | dscp2 >> 4);
	v[1] = (uint8_t)((dscp2 & 0xf) << 4 | ecn << 2);
	v[2] = v[3] = 0;
	if (res->reply_tos < 0)
		res->reply_tos = (int)(dscp1 << 2);
}

/* One well-formed TLV: its flags and, when supported, its value. */
static void
answer(const struct stamp_params *p, uint8_t *t, bool use,
    const struct stamp_rx *rx, const struct stamp_session_info *s,
    struct stamp_result *res)
{
	uint8_t	*v = t + STAMP_TLV_HDR, sync;
	bool	 known = true;

	switch (t[1]) {
	case STAMP_TLV_PADDING:
		break;
	case STAMP_TLV_TIMESTAMP_INFO:
		sync = rx->synced ? STAMP_SYNC_NTP : STAMP_SYNC_LOCAL;
		if (use) {
			v[0] = v[2] = sync;
			v[1] = v[3] = STAMP_TSMETHOD_SW;
		}
		break;
	case STAMP_TLV_COS:
		if (use)
			answer_cos(v, rx, res);
		break;
	case STAMP_TLV_DIRECT:
		/* Counters exist only per session: stateful mode. */
		known = s->stateful;
		if (use && known) {
			wire_put32(v + 4, s->rx);
			wire_put32(v + 8, s->tx);
		}
		break;
	case STAMP_TLV_HMAC:
		known = p->key.len > 0;
		break;
	default:
		known = false;
		break;
	}
	/* Reserved flag bits are zero on transmit (§4). */
	t[0] = (uint8_t)((known ? 0 : STAMP_TLV_U) | (use ? 0 : STAMP_TLV_I));
	if (!known)
		res->unknown++;
}

void
stamp_tlv_reflect(const struct stamp_params *p, const uint8_t req_seq[4],
    const uint8_t rep_seq[4], uint8_t *tlv, size_t len,
    const struct stamp_rx *rx, const struct stamp_session_info *s,
    struct stamp_result *res)
{
	size_t	 good, off, at = 0;
	unsigned n;
	bool	 auth = p->key.len > 0, use = true;

	good = scan(tlv, len, &n);
	if (auth)
		use = integrity(p, req_seq, tlv, good, len, n, &at);
	res->integrity = !use;
	for (off = 0; off < good; off += STAMP_TLV_HDR + wire_get16(tlv + off + 2))
		answer(p, tlv + off, use, rx, s, res);
	res->tlvs += n;
	if (good < len) {
		/* §4: flag the malformed one, copy the rest untouched. */
		tlv[good] = STAMP_TLV_M;
		res->malformed = true;
		res->tlvs++;
	}
	/* The reply's own HMAC TLV covers the reply's Sequence Number. */
	if (auth && find_hmac(tlv, good, &at) == HMAC_OK)
		stamp_hmac_tlv(&p->key, rep_seq, tlv, at,
		    tlv + at + STAMP_TLV_HDR);
}
