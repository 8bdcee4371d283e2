/* SPDX-License-Identifier: MIT */
/*
 * The tests' STAMP Session-Sender: builds test packets at the octet
 * offsets of RFC 8762 Figures 3 and 5 (with RFC 8972's SSID), signs them
 * with libcrypto's HMAC, and checks the reflected packets against
 * Figures 4 and 6.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "echod/wire.h"

#include "harness.h"
#include "harness_int.h"
#include "stamp_sender.h"

static char why[256];

uint64_t
sender_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 2208988800ULL) << 32 |
	    (((uint64_t)ts.tv_nsec << 32) / 1000000000ULL);
}

double
ntp_us(uint64_t later, uint64_t earlier)
{
	return (double)(int64_t)(later - earlier) * 1e6 / 4294967296.0;
}

int
sender_socket(int family, int port, int ttl, int tos)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int	 fd, on = 1, v6 = family == AF_INET6;

	if ((fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ?
	    IPV6_RECVHOPLIMIT : IP_RECVTTL, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ?
	    IPV6_RECVTCLASS : IP_RECVTOS, &on, sizeof(on)) == -1 ||
	    (ttl >= 0 && setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ?
	    IPV6_UNICAST_HOPS : IP_TTL, &ttl, sizeof(ttl)) == -1) ||
	    (tos >= 0 && setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ?
	    IPV6_TCLASS : IP_TOS, &tos, sizeof(tos)) == -1))
		goto fail;
	if (v6) {
		s6.sin6_addr = in6addr_loopback;
		s6.sin6_port = htons((uint16_t)port);
		if (connect(fd, (struct sockaddr *)&s6, sizeof(s6)) == -1)
			goto fail;
	} else {
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4.sin_port = htons((uint16_t)port);
		if (connect(fd, (struct sockaddr *)&s4, sizeof(s4)) == -1)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

void
sender_tlv(struct probe *p, uint8_t type, const void *v, uint16_t len)
{
	uint8_t	*t = p->tlv + p->tlvlen;

	t[0] = 0x80;			/* U: set by every sender */
	t[1] = type;
	t[2] = (uint8_t)(len >> 8);
	t[3] = (uint8_t)len;
	if (v != NULL)
		memcpy(t + 4, v, len);
	else
		memset(t + 4, 0, len);
	p->tlvlen += 4 + (size_t)len;
}

void
sender_hmac(const uint8_t *key, size_t keylen, const uint8_t *d1, size_t n1,
    const uint8_t *d2, size_t n2, uint8_t out[16])
{
	uint8_t	 full[EVP_MAX_MD_SIZE], buf[SENDER_MAX * 2];
	unsigned n = 0;

	memcpy(buf, d1, n1);
	if (n2 > 0)
		memcpy(buf + n1, d2, n2);
	HMAC(EVP_sha256(), key, (int)keylen, buf, n1 + n2, full, &n);
	memcpy(out, full, 16);
}

/* RFC 8762 Figure 3 (unauthenticated) or 5 (authenticated), then TLVs. */
static size_t
build(struct probe *p)
{
	size_t	 base = p->keylen > 0 ? 112 : 44, len = p->len;
	uint8_t	*q = p->req;

	if (len == 0)
		len = base + p->tlvlen;
	memset(q, 0, len);
	wire_put32(q, p->seq);				/* 0..3 */
	if (p->keylen > 0) {
		wire_put64(q + 16, p->t1);		/* Timestamp 16..23 */
		q[24] = 0x00;			/* Error Estimate: S=0 */
		q[25] = 0x01;
		q[26] = (uint8_t)(p->ssid >> 8);	/* SSID 26..27 */
		q[27] = (uint8_t)p->ssid;
	} else {
		wire_put64(q + 4, p->t1);		/* Timestamp 4..11 */
		q[12] = 0x00;
		q[13] = 0x01;
		if (len >= 16) {
			q[14] = (uint8_t)(p->ssid >> 8);
			q[15] = (uint8_t)p->ssid;
		}
	}
	if (len >= base + p->tlvlen && p->tlvlen > 0) {
		memcpy(q + base, p->tlv, p->tlvlen);
		/* An HMAC TLV last: over the Sequence Number and the TLVs. */
		if (p->keylen > 0 && p->tlvlen >= 20 &&
		    q[base + p->tlvlen - 19] == 8)
			sender_hmac(p->key, p->keylen, q, 4, q + base,
			    p->tlvlen - 20, q + base + p->tlvlen - 16);
	}
	if (p->keylen > 0 && len >= 112) {
		sender_hmac(p->key, p->keylen, q, 96, NULL, 0, q + 96);
		if (p->bad_hmac)
			q[100] ^= 0x01;
	}
	return len;
}

int
probe_send(int fd, struct probe *p)
{
	size_t	 len;

	p->rlen = -1;
	p->rep_ttl = p->rep_tos = -1;
	p->t1 = sender_now();
	len = build(p);
	p->sent = len;
	if (send(fd, p->req, len, 0) != (ssize_t)len) {
		harness_seterr("stamp send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
probe_recv(int fd, struct probe *p, int timeout_ms)
{
	_Alignas(struct cmsghdr) char cbuf[256];
	struct iovec iov = { p->rep, sizeof(p->rep) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct cmsghdr *c;
	int	 v;

	for (;;) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		p->rlen = recvmsg(fd, &m, MSG_DONTWAIT);
		if (p->rlen >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			harness_seterr("stamp recv: %s", strerror(errno));
			return -1;
		}
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			harness_seterr("no STAMP reply within %d ms",
			    timeout_ms);
			return -1;
		}
	}
	p->t4 = sender_now();
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
		    (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_HOPLIMIT)) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			p->rep_ttl = v;
		} else if (c->cmsg_level == IPPROTO_IP &&
		    c->cmsg_type == IP_TOS)
			p->rep_tos = *CMSG_DATA(c);
		else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_TCLASS) {
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			p->rep_tos = v;
		}
	}
	return 0;
}

int
probe_run(int fd, struct probe *p, int timeout_ms)
{
	return probe_send(fd, p) == -1 ? -1 : probe_recv(fd, p, timeout_ms);
}

uint64_t
probe_t2(const struct probe *p)
{
	return wire_get64(p->rep + (p->keylen > 0 ? 32 : 16));
}

uint64_t
probe_t3(const struct probe *p)
{
	return wire_get64(p->rep + (p->keylen > 0 ? 16 : 4));
}

/* Octets lo..hi of the reply are zero. */
static bool
zero(const struct probe *p, size_t lo, size_t hi)
{
	size_t	 i;

	for (i = lo; i <= hi && i < (size_t)p->rlen; i++)
		if (p->rep[i] != 0) {
			snprintf(why, sizeof(why), "MBZ octet %zu is %#x", i,
			    p->rep[i]);
			return false;
		}
	return true;
}

#define FAIL(...)	do {						\
	snprintf(why, sizeof(why), __VA_ARGS__);			\
	return why;							\
} while (0)

const char *
probe_check(const struct probe *p, int sent_ttl, long long want_seq)
{
	const uint8_t *r = p->rep, *q = p->req;
	uint8_t	 mac[16];
	uint64_t t2 = probe_t2(p), t3 = probe_t3(p);
	uint32_t seq = want_seq >= 0 ? (uint32_t)want_seq : wire_get32(q);

	if (p->rlen != (ssize_t)p->sent)
		FAIL("reply of %zd octets to %zu", p->rlen, p->sent);
	if (wire_get32(r) != seq)
		FAIL("sequence number %u, want %u", wire_get32(r), seq);
	if (!(p->t1 <= t2 && t2 <= t3 && t3 <= p->t4))
		FAIL("not T1 <= T2 <= T3 <= T4: %.1f %.1f %.1f us from T1",
		    ntp_us(t2, p->t1), ntp_us(t3, p->t1), ntp_us(p->t4, p->t1));
	if (p->rep_ttl != 255)
		FAIL("reply TTL %d, want 255", p->rep_ttl);
	if (p->keylen > 0) {
		/* RFC 8762 Figure 6. */
		if (!zero(p, 4, 15) || !zero(p, 28, 31) || !zero(p, 40, 47) ||
		    !zero(p, 52, 63) || !zero(p, 74, 79) || !zero(p, 81, 95))
			return why;
		if (memcmp(r + 26, q + 26, 2) != 0)
			FAIL("SSID not copied");
		if (memcmp(r + 48, q, 4) != 0 || memcmp(r + 64, q + 16, 8) != 0 ||
		    memcmp(r + 72, q + 24, 2) != 0)
			FAIL("sender's fields not copied");
		if (r[80] != sent_ttl)
			FAIL("Ses-Sender TTL %u, want %d", r[80], sent_ttl);
		sender_hmac(p->key, p->keylen, r, 96, NULL, 0, mac);
		if (memcmp(mac, r + 96, 16) != 0)
			FAIL("the reply's HMAC does not verify");
		return NULL;
	}
	/* RFC 8762 Figure 4, or TWAMP-Light's reflector packet. */
	if (p->sent >= 44 && memcmp(r + 14, q + 14, 2) != 0)
		FAIL("SSID not copied");
	if (memcmp(r + 24, q, 4) != 0 || memcmp(r + 28, q + 4, 8) != 0 ||
	    memcmp(r + 36, q + 12, 2) != 0)
		FAIL("sender's fields not copied");
	if (!zero(p, 38, 39) || !zero(p, 41, 43 < p->sent ? 43 : p->sent - 1))
		return why;
	if (p->sent < 44 && !zero(p, 14, 15))
		return why;
	if (r[40] != sent_ttl)
		FAIL("Ses-Sender TTL %u, want %d", r[40], sent_ttl);
	return NULL;
}
