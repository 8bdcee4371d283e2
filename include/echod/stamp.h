#ifndef ECHOD_STAMP_H
#define ECHOD_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * STAMP (RFC 8762) test packets and their RFC 8972 TLVs as the
 * Session-Reflector sees them: a request is checked and turned into its
 * reply in place, in the same buffer and at the same length, so no reply
 * is ever longer than its request.  Pure: no I/O, no clock, no logging;
 * the caller supplies the kernel's receive timestamp and, right before the
 * send, the transmit timestamp (stamp_finish()).
 */

/* Octets of the base packets (RFC 8762 §4.2, §4.3) and of TWAMP-Light's. */
#define STAMP_BASE_UNAUTH	44
#define STAMP_BASE_AUTH		112
#define STAMP_TWAMP_MIN		41	/* RFC 5357 reflector: to Sender TTL */
#define STAMP_HMAC_LEN		16	/* HMAC-SHA-256 truncated to 128 bits */
#define STAMP_HMAC_COVERS	96	/* the authenticated base before HMAC */
#define STAMP_KEY_MIN		16
#define STAMP_KEY_MAX		1024

/* Unauthenticated reflector packet (RFC 8762 §4.3.1, RFC 8972 §3). */
#define STAMP_U_SEQ		0
#define STAMP_U_TS		4	/* T3 */
#define STAMP_U_ERR		12
#define STAMP_U_SSID		14
#define STAMP_U_RX_TS		16	/* T2 */
#define STAMP_U_SEND_SEQ	24
#define STAMP_U_SEND_TS		28
#define STAMP_U_SEND_ERR	36
#define STAMP_U_SEND_TTL	40
/* Unauthenticated sender packet (§4.2.1): MBZ from 16 to 43. */
#define STAMP_US_SEQ		0
#define STAMP_US_TS		4
#define STAMP_US_ERR		12
#define STAMP_US_SSID		14

/* Authenticated reflector packet (RFC 8762 §4.3.2). */
#define STAMP_A_SEQ		0
#define STAMP_A_TS		16	/* T3 */
#define STAMP_A_ERR		24
#define STAMP_A_SSID		26
#define STAMP_A_RX_TS		32	/* T2 */
#define STAMP_A_SEND_SEQ	48
#define STAMP_A_SEND_TS		64
#define STAMP_A_SEND_ERR	72
#define STAMP_A_SEND_TTL	80
#define STAMP_A_HMAC		96
/* Authenticated sender packet (§4.2.2): MBZ 4-15, 28-95. */
#define STAMP_AS_SEQ		0
#define STAMP_AS_TS		16
#define STAMP_AS_ERR		24
#define STAMP_AS_SSID		26
#define STAMP_AS_HMAC		96

/* RFC 8972 §4: TLV header, flags and the types echod knows. */
#define STAMP_TLV_HDR		4
#define STAMP_TLV_U		0x80	/* unrecognized */
#define STAMP_TLV_M		0x40	/* malformed */
#define STAMP_TLV_I		0x20	/* integrity (HMAC) failed */
enum stamp_tlv_type {
	STAMP_TLV_PADDING = 1,
	STAMP_TLV_LOCATION = 2,
	STAMP_TLV_TIMESTAMP_INFO = 3,
	STAMP_TLV_COS = 4,
	STAMP_TLV_DIRECT = 5,
	STAMP_TLV_ACCESS_REPORT = 6,
	STAMP_TLV_FOLLOW_UP = 7,
	STAMP_TLV_HMAC = 8,
};
/* Synchronization sources and timestamping methods (RFC 8972 §5.4, §5.5). */
#define STAMP_SYNC_NTP		1
#define STAMP_SYNC_LOCAL	5	/* free-running */
#define STAMP_TSMETHOD_SW	2	/* SW local */

/* The shared HMAC key (stamp_key_file); only stamp.c includes nettle. */
struct stamp_key {
	size_t		 len;		/* 0: unauthenticated mode */
	uint8_t		 bytes[STAMP_KEY_MAX];
};

/* How the reflector answers; copied into the UDP thread. */
struct stamp_params {
	bool		 stateful;	/* own sequence numbers per session */
	struct stamp_key key;		/* len > 0: authenticated mode only */
};

/* What the kernel said about one received datagram. */
struct stamp_rx {
	uint64_t	 t2;		/* NTP 64-bit: SO_TIMESTAMPNS */
	uint16_t	 err;		/* our Error Estimate */
	bool		 synced;	/* the clock is synchronized */
	int		 ttl;		/* TTL or Hop Limit; -1: unknown */
	int		 tos;		/* DSCP and ECN octet; -1: unknown */
};

/* The session's part in a stateful reply (RFC 8762 §4.3, RFC 8972 §4.5). */
struct stamp_session_info {
	bool		 stateful;
	uint32_t	 seq;		/* the reflector's sequence number */
	uint32_t	 rx;		/* packets received in the session */
	uint32_t	 tx;		/* packets reflected, this one included */
};

/* The outcome of stamp_reflect(). */
enum stamp_verdict {
	STAMP_REFLECT,
	STAMP_DROP_SHORT,		/* below 41 (44+ TLVs: 112 in auth) */
	STAMP_DROP_AUTH,		/* the base packet's HMAC is wrong */
};

/* What stamp_reflect() did to the TLVs, for the counters and the send. */
struct stamp_result {
	size_t		 base;		/* octets of the base reply */
	unsigned	 tlvs;		/* TLVs reflected */
	unsigned	 unknown;	/* answered with U */
	bool		 malformed;	/* one answered with M */
	bool		 integrity;	/* all answered with I */
	int		 reply_tos;	/* DSCP1 asked by CoS; -1: as usual */
};

/* The fields of a request a session is keyed on and counted by. */
struct stamp_request {
	uint32_t	 seq;
	uint16_t	 ssid;
};

/* NTP 64-bit timestamp of a CLOCK_REALTIME time. */
uint64_t stamp_ntp(const struct timespec *ts);
/*
 * The Error Estimate (RFC 4656 §4.1.2: S, Z = 0, Scale, Multiplier) for a
 * clock synchronized or not with an estimated error of esterror_us.
 */
uint16_t stamp_error_estimate(bool synced, long esterror_us);
/*
 * Peek at a request of len octets: its sequence number and SSID (0 for a
 * TWAMP-Light packet).  -1 if it is too short to reflect at all.
 */
int	stamp_peek(const uint8_t *pkt, size_t len, bool auth,
	    struct stamp_request *rq);
/*
 * Whether stamp_reflect() would answer the request: its length, and in
 * authenticated mode its HMAC.  Pure; pkt is not changed.
 */
enum stamp_verdict stamp_reflect_check(const struct stamp_params *p,
	    const uint8_t *pkt, size_t len);
/*
 * Turn the request of len octets in pkt into its reply, in place and at
 * the same length: the base packet of RFC 8762 §4.3 (or TWAMP-Light's, for
 * 41 to 43 octets), the TLVs answered as RFC 8972 says.  The Timestamp and
 * (authenticated) HMAC are left for stamp_finish().  On a drop pkt may be
 * changed.
 */
enum stamp_verdict stamp_reflect(const struct stamp_params *p, uint8_t *pkt,
	    size_t len, const struct stamp_rx *rx,
	    const struct stamp_session_info *s, struct stamp_result *res);
/*
 * Write T3 (NTP format) into a reply stamp_reflect() built and, in
 * authenticated mode, its HMAC over the 96 octets before it.
 */
void	stamp_finish(const struct stamp_params *p, uint8_t *pkt, size_t len,
	    uint64_t t3);
/* HMAC-SHA-256 of data truncated to 128 bits (RFC 8762 §4.4). */
void	stamp_hmac(const struct stamp_key *k, const uint8_t *data, size_t len,
	    uint8_t out[STAMP_HMAC_LEN]);
/*
 * HMAC-SHA-256/128 of the 4 octets at seq followed by len octets at tlvs:
 * the HMAC TLV's text (RFC 8972 §4.8).
 */
void	stamp_hmac_tlv(const struct stamp_key *k, const uint8_t seq[4],
	    const uint8_t *tlvs, size_t len, uint8_t out[STAMP_HMAC_LEN]);
/* True if the 16 octets at a and b are equal, in constant time. */
bool	stamp_hmac_equal(const uint8_t *a, const uint8_t *b);
/*
 * Answer the len octets of TLVs at tlv (the request's, copied into the
 * reply) in place, RFC 8972 §4: flags set, supported values filled in,
 * the HMAC TLV verified (against req_seq and the TLVs as received) and
 * recomputed over rep_seq and the reply's TLVs.  Adds to res.
 */
void	stamp_tlv_reflect(const struct stamp_params *p,
	    const uint8_t req_seq[4], const uint8_t rep_seq[4], uint8_t *tlv,
	    size_t len, const struct stamp_rx *rx,
	    const struct stamp_session_info *s, struct stamp_result *res);

#endif /* ECHOD_STAMP_H */
