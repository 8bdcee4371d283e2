/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: STAMP requests (RFC 8762 base packets and RFC 8972
 * TLVs) through stamp_reflect() and stamp_finish().  The first octet picks
 * the mode (bit 0 authenticated, bit 1 stateful, bit 2 give the base a
 * valid HMAC, bit 3 give a trailing HMAC TLV a valid one), the next two are
 * the received TTL and TOS, the rest is the datagram, in a buffer of its
 * exact size (ASan sees one octet too many).  What must hold: short is
 * dropped and nothing else is; the sender's fields land at the RFC's
 * offsets; every TLV keeps its type and length; MBZ octets are zero.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/stamp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die_unless(bool ok)
{
	if (!ok)
		abort();
}

/* Fix a trailing 20-octet HMAC TLV up so that it verifies. */
static void
fix_tlv_hmac(const struct stamp_params *p, uint8_t *pkt, size_t len,
    size_t base)
{
	size_t	 h = len - 20;

	if (len < base + 20 || pkt[h + 1] != STAMP_TLV_HMAC ||
	    pkt[h + 2] != 0 || pkt[h + 3] != 16)
		return;
	stamp_hmac_tlv(&p->key, pkt, pkt + base, h - base, pkt + h + 4);
}

/* The TLVs of the request and the reply have the same types and lengths. */
static void
same_tlv_shape(const uint8_t *rq, const uint8_t *rp, size_t off, size_t len)
{
	size_t	 vlen;

	while (len - off >= 4) {
		die_unless(rq[off + 1] == rp[off + 1] &&
		    rq[off + 2] == rp[off + 2] && rq[off + 3] == rp[off + 3]);
		vlen = (size_t)(rq[off + 2] << 8 | rq[off + 3]);
		if (vlen > len - off - 4)
			break;
		off += 4 + vlen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stamp_params par = { .stateful = false };
	struct stamp_session_info s = { .stateful = false };
	struct stamp_rx rx = { .t2 = 0x0102030405060708ULL, .err = 0x8001 };
	struct stamp_result res;
	enum stamp_verdict v;
	uint8_t	*pkt, *rq;
	size_t	 len, base, i;
	bool	 auth;

	if (size < 3)
		return 0;
	auth = data[0] & 1;
	if (auth) {
		par.key.len = 20;
		memset(par.key.bytes, 0x42, par.key.len);
	}
	if (data[0] & 2) {
		par.stateful = s.stateful = true;
		s.seq = 0x01020304;
		s.rx = s.tx = 5;
	}
	rx.ttl = data[1];
	rx.tos = data[2];
	len = size - 3;
	if ((pkt = malloc(len > 0 ? len : 1)) == NULL ||
	    (rq = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(pkt, data + 3, len);
	base = auth ? STAMP_BASE_AUTH : STAMP_BASE_UNAUTH;
	if (auth && len >= STAMP_BASE_AUTH) {
		if (data[0] & 8)
			fix_tlv_hmac(&par, pkt, len, base);
		if (data[0] & 4)
			stamp_hmac(&par.key, pkt, STAMP_HMAC_COVERS,
			    pkt + STAMP_AS_HMAC);
	}
	memcpy(rq, pkt, len);
	v = stamp_reflect(&par, pkt, len, &rx, &s, &res);
	die_unless((v == STAMP_DROP_SHORT) ==
	    (len < (auth ? STAMP_BASE_AUTH : STAMP_TWAMP_MIN)));
	if (v == STAMP_REFLECT) {
		stamp_finish(&par, pkt, len, 0x1111111122222222ULL);
		if (auth) {
			die_unless(memcmp(pkt + STAMP_A_SEND_SEQ, rq, 4) == 0);
			die_unless(memcmp(pkt + STAMP_A_SEND_TS,
			    rq + STAMP_AS_TS, 8) == 0);
			for (i = 81; i < 96; i++)
				die_unless(pkt[i] == 0);
			die_unless(pkt[STAMP_A_SEND_TTL] == data[1]);
		} else {
			die_unless(memcmp(pkt + STAMP_U_SEND_SEQ, rq, 4) == 0);
			die_unless(memcmp(pkt + STAMP_U_SEND_TS,
			    rq + STAMP_US_TS, 8) == 0);
			die_unless(pkt[38] == 0 && pkt[39] == 0);
			die_unless(pkt[STAMP_U_SEND_TTL] == data[1]);
			base = res.base;
		}
		die_unless(res.base == base);
		if (len > base)
			same_tlv_shape(rq, pkt, base, len);
	} else if (v == STAMP_DROP_AUTH)
		die_unless(auth && !(data[0] & 4));
	free(pkt);
	free(rq);
	return 0;
}
