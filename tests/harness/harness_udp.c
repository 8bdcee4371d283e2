/* SPDX-License-Identifier: MIT */
/*
 * The harness's UDP clients: connected sockets from a chosen address and
 * port (one below 1024 for the loop guard), datagrams with a forged source
 * through a raw socket, receives with a deadline, and echoes checked whole
 * and byte for byte.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* Socket buffers of a UDP client; the kernel caps them at [rw]mem_max. */
#define SOCK_BUF	(4 * 1024 * 1024)

int
udp_connect_src(const char *src, int lport, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = harness_loopback(AF_INET, port, &ss);
	int	 fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		harness_seterr("socket: %s", strerror(errno));
		return -1;
	}
	if (harness_bind_source(fd, src, lport) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		harness_seterr("connect udp to port %d: %s", port,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
udp_low_port(int port)
{
	int	 lport, fd;

	for (lport = 1023; lport >= 900; lport--)
		if ((fd = udp_connect_from(AF_INET, lport, port)) != -1)
			return fd;
	harness_seterr("cannot bind a UDP port in 900..1023: %s",
	    strerror(errno));
	return -1;
}

/* The Internet checksum of len bytes (RFC 1071). */
static uint16_t
inet_sum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len == 1)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int
udp_spoof(const char *src, int sport, const char *dst, int dport,
    const void *payload, size_t len)
{
	struct {
		struct iphdr	ip;
		struct udphdr	udp;
		uint8_t		data[512];
	} pkt;
	struct sockaddr_in to = { .sin_family = AF_INET };
	size_t	 total = sizeof(pkt.ip) + sizeof(pkt.udp) + len;
	int	 fd, one = 1;
	ssize_t	 n;

	if (len > sizeof(pkt.data)) {
		harness_seterr("udp_spoof: payload too long");
		return -1;
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.ip.version = 4;
	pkt.ip.ihl = 5;
	pkt.ip.ttl = 64;
	pkt.ip.protocol = IPPROTO_UDP;
	pkt.ip.tot_len = htons((uint16_t)total);
	if (inet_pton(AF_INET, src, &pkt.ip.saddr) != 1 ||
	    inet_pton(AF_INET, dst, &pkt.ip.daddr) != 1) {
		harness_seterr("udp_spoof: bad address");
		return -1;
	}
	pkt.ip.check = inet_sum(&pkt.ip, sizeof(pkt.ip));
	pkt.udp.source = htons((uint16_t)sport);
	pkt.udp.dest = htons((uint16_t)dport);
	pkt.udp.len = htons((uint16_t)(sizeof(pkt.udp) + len));
	pkt.udp.check = 0;	/* optional over IPv4 */
	memcpy(pkt.data, payload, len);
	to.sin_addr.s_addr = pkt.ip.daddr;
	if ((fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)) == -1 ||
	    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) == -1) {
		harness_seterr("raw socket: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	n = sendto(fd, &pkt, total, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	if (n != (ssize_t)total) {
		harness_seterr("raw sendto: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
udp_connect_from(int family, int lport, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	 fd, size = SOCK_BUF;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		harness_seterr("socket: %s", strerror(errno));
		return -1;
	}
	/* Capped at net.core.[rw]mem_max; stop-and-wait needs only 64 KiB. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	len = harness_loopback(family, lport, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		harness_seterr("bind udp %s:%d: %s",
		    harness_family_name(family), lport, strerror(errno));
		goto fail;
	}
	len = harness_loopback(family, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		harness_seterr("connect udp %s:%d: %s",
		    harness_family_name(family), port, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	size = errno;
	close(fd);
	errno = size;
	return -1;
}

int
udp_connect(int family, int port)
{
	return udp_connect_from(family, 0, port);
}

ssize_t
udp_recv(int fd, void *buf, size_t size, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	ssize_t	 n;

	for (;;) {
		/* MSG_TRUNC: the datagram's real length, even if cut. */
		n = recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR) {
			harness_seterr("udp recv: %s", strerror(errno));
			return -1;
		}
		if (harness_wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("no datagram within %d ms", timeout_ms);
			return -1;
		}
	}
}

int
udp_echo(int fd, const void *buf, size_t len)
{
	return udp_echo_wait(fd, buf, len, HARNESS_IO_MS);
}

int
udp_echo_retry(int fd, const void *buf, size_t len, int tries)
{
	while (tries-- > 0)
		if (udp_echo_wait(fd, buf, len, 500) == 0)
			return 0;
	return -1;
}

int
udp_echo_wait(int fd, const void *buf, size_t len, int timeout_ms)
{
	static unsigned char reply[65536];
	long long deadline = harness_now_ms() + timeout_ms;
	ssize_t	 n;
	size_t	 at;

	while ((n = send(fd, buf, len, MSG_DONTWAIT)) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		if (harness_wait_fd(fd, POLLOUT, deadline) == 0)
			break;
	if (n != (ssize_t)len) {
		harness_seterr("udp send of %zu bytes: %s", len, n == -1 ?
		    strerror(errno) : "short");
		return -1;
	}
	if ((n = udp_recv(fd, reply, sizeof(reply), timeout_ms)) == -1) {
		harness_seterr("udp echo of %zu bytes: %s", len,
		    strerror(errno));
		return -1;
	}
	if ((size_t)n != len) {
		harness_seterr("udp echo: sent %zu bytes, got a %zd-byte "
		    "reply", len, n);
		return -1;
	}
	if ((at = harness_first_diff(buf, reply, len)) != len) {
		harness_seterr("udp echo of %zu bytes: byte %zu differs "
		    "(sent 0x%02x, got 0x%02x)", len, at,
		    ((const unsigned char *)buf)[at], reply[at]);
		return -1;
	}
	return 0;
}
