/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_STAMP_SENDER_H
#define ECHOD_STAMP_SENDER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A STAMP Session-Sender for the tests and the bench, written from the
 * RFC's figures (RFC 8762 §4.2, RFC 8972 §3-4) with its own offsets, not
 * stamp.h's, and its HMAC from OpenSSL's libcrypto, not nettle: what it
 * checks, it checks independently of the reflector's code.
 */

#define SENDER_MAX	2048

/* One test packet and its reply. */
struct probe {
	/* in */
	size_t		 len;		/* datagram octets; 0: base + TLVs */
	uint32_t	 seq;
	uint16_t	 ssid;
	const uint8_t	*key;		/* authenticated mode when keylen > 0 */
	size_t		 keylen;
	bool		 bad_hmac;	/* send a wrong base HMAC */
	uint8_t		 tlv[SENDER_MAX]; /* TLVs after the base packet */
	size_t		 tlvlen;
	/* out */
	size_t		 sent;		/* octets sent */
	uint8_t		 req[SENDER_MAX];
	uint8_t		 rep[SENDER_MAX];
	ssize_t		 rlen;
	uint64_t	 t1;		/* NTP: right before the send */
	uint64_t	 t4;		/* NTP: right after the receive */
	int		 rep_ttl;	/* of the reply's IP header; -1 */
	int		 rep_tos;
};

/* A UDP socket connected to [::1] or 127.0.0.1 port, sending with ttl and
 * tos (-1: the default), receiving TTL and TOS.  -1 on failure. */
int	sender_socket(int family, int port, int ttl, int tos);
/* Now, in NTP 64-bit format (CLOCK_REALTIME). */
uint64_t sender_now(void);
/* Append a TLV (U flag set, as a sender must) to p->tlv. */
void	sender_tlv(struct probe *p, uint8_t type, const void *v, uint16_t len);
/* HMAC-SHA-256/128 (libcrypto). */
void	sender_hmac(const uint8_t *key, size_t keylen, const uint8_t *d1,
	    size_t n1, const uint8_t *d2, size_t n2, uint8_t out[16]);
/* Fill p->req from p, send it; 0, or -1 (harness_error() says why). */
int	probe_send(int fd, struct probe *p);
/* Wait for the reply to p; 0, or -1 on timeout. */
int	probe_recv(int fd, struct probe *p, int timeout_ms);
/* probe_send() and probe_recv(). */
int	probe_run(int fd, struct probe *p, int timeout_ms);
/*
 * Check the reply's base fields octet by octet against the request
 * (RFC 8762 §4.3.1/§4.3.2): sender fields copied, SSID, MBZ zero, TTL
 * sent_ttl copied, T1 <= T2 <= T3 <= T4, reflector sequence number want_seq
 * (-1: the sender's).  NULL, or what is wrong.
 */
const char *probe_check(const struct probe *p, int sent_ttl, long long want_seq);
/* The reply's T2 and T3 (NTP). */
uint64_t probe_t2(const struct probe *p);
uint64_t probe_t3(const struct probe *p);
/* NTP difference in microseconds. */
double	ntp_us(uint64_t later, uint64_t earlier);

#endif /* ECHOD_STAMP_SENDER_H */
