/* SPDX-License-Identifier: MIT */
/*
 * The harness's client side: loopback TCP and UDP sockets whose every wait
 * has a deadline, free ports, /proc/net TCP states, and a poll(2) engine
 * that drives many echo clients at once.  Failures are described through
 * harness_seterr(), as in harness.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

#define SOCK_BUF	(4 * 1024 * 1024)
#define SEND_CHUNK	((size_t)256 * 1024)

/* ---- sockets ---- */

static socklen_t
loopback(int family, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
	return sizeof(*sin);
}

static const char *
family_name(int family)
{
	return family == AF_INET6 ? "[::1]" : "127.0.0.1";
}

/* A socket bound to the loopback; port 0 picks one.  fd, or -1. */
static int
bind_loopback(int family, int type, int port, int *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int	 fd;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	if (bound != NULL)
		*bound = ntohs(family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int
harness_free_port(bool v6)
{
	int	 fd[4], port, try, i, n;

	for (try = 0; try < 100; try++) {
		for (i = 0; i < 4; i++)
			fd[i] = -1;
		fd[0] = bind_loopback(AF_INET, SOCK_STREAM, 0, &port);
		n = 1;
		if (fd[0] != -1) {
			fd[n++] = bind_loopback(AF_INET, SOCK_DGRAM, port,
			    NULL);
			if (v6) {
				fd[n++] = bind_loopback(AF_INET6, SOCK_STREAM,
				    port, NULL);
				fd[n++] = bind_loopback(AF_INET6, SOCK_DGRAM,
				    port, NULL);
			}
		}
		for (i = 0; i < n && fd[i] != -1; i++)
			;
		while (n-- > 0)
			if (fd[n] != -1)
				close(fd[n]);
		if (i == (v6 ? 4 : 2))
			return port;
	}
	harness_seterr("no port free for TCP and UDP after 100 tries");
	return -1;
}

bool
harness_have_ipv6(void)
{
	int	 t, u;

	t = bind_loopback(AF_INET6, SOCK_STREAM, 0, NULL);
	u = bind_loopback(AF_INET6, SOCK_DGRAM, 0, NULL);
	if (t != -1)
		close(t);
	if (u != -1)
		close(u);
	return t != -1 && u != -1;
}

int
harness_occupy(int family, int type, int port)
{
	int	 fd;

	if ((fd = bind_loopback(family, type, port, NULL)) == -1) {
		harness_seterr("bind %s %s:%d: %s",
		    type == SOCK_STREAM ? "tcp" : "udp", family_name(family),
		    port, strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 8) == -1) {
		harness_seterr("listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* poll(2) one descriptor until deadline: revents, 0 on timeout, -1. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int	 rc;

	for (;;) {
		left = deadline - harness_now_ms();
		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc;
		return pfd.revents;
	}
}

/* Bind fd to IPv4 address src, port lport (0: any); 0, or -1. */
static int
bind_source(int fd, const char *src, int lport)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)lport) };

	if (inet_pton(AF_INET, src, &sin.sin_addr) != 1) {
		harness_seterr("'%s' is not an IPv4 address", src);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		harness_seterr("bind %s:%d: %s", src, lport, strerror(errno));
		return -1;
	}
	return 0;
}

/* Connect to the loopback of family from src (NULL: any). */
static int
connect_from(int family, const char *src, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss), elen;
	int	 fd, err = 0, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		harness_seterr("socket: %s", strerror(errno));
		return -1;
	}
	if (src != NULL && bind_source(fd, src, 0) == -1) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS)
			err = errno;
		else {
			rc = wait_fd(fd, POLLOUT,
			    harness_now_ms() + HARNESS_IO_MS);
			elen = sizeof(err);
			if (rc == 0)
				err = ETIMEDOUT;
			else if (rc == -1 || getsockopt(fd, SOL_SOCKET,
			    SO_ERROR, &err, &elen) == -1)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		harness_seterr("connect to tcp %s:%d from %s: %s",
		    family_name(family), port, src != NULL ? src : "any",
		    strerror(err));
		return -1;
	}
	return fd;
}

int
tcp_connect(int family, int port)
{
	return connect_from(family, NULL, port);
}

int
tcp_connect_src(const char *src, int port)
{
	return connect_from(AF_INET, src, port);
}

int
udp_connect_src(const char *src, int lport, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	int	 fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		harness_seterr("socket: %s", strerror(errno));
		return -1;
	}
	if (bind_source(fd, src, lport) == -1)
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

void
tcp_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

bool
harness_can_repair(void)
{
	int	 fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, rc;

	if (fd == -1)
		return false;
	rc = setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on));
	close(fd);
	return rc == 0;
}

int
tcp_vanish(int fd)
{
	int	 on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) == -1) {
		harness_seterr("TCP_REPAIR: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

int
sock_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	const char *p = buf;
	size_t	 left = len;
	ssize_t	 n;

	while (left > 0) {
		n = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			harness_seterr("send after %zu of %zu bytes: %s",
			    len - left, len, strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("send stalled after %zu of %zu bytes "
			    "for %d ms", len - left, len, timeout_ms);
			return -1;
		}
	}
	return 0;
}

int
sock_wait_closed(int fd, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 buf[512];
	ssize_t	 n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return 0;
		if (n > 0) {
			harness_seterr("expected the connection closed, got "
			    "%zd bytes of data (\"%.*s\")", n,
			    (int)(n > 16 ? 16 : n), buf);
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			harness_seterr("recv: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("connection still open after %d ms",
			    timeout_ms);
			return -1;
		}
	}
}

int
tcp_echo(int fd, const void *buf, size_t len)
{
	struct echo_job job = { .fd = fd, .data = buf, .len = len };

	if (echo_run(&job, 1, HARNESS_IO_MS) != 0) {
		harness_seterr("tcp echo of %zu bytes: %s", len, job.why);
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
	len = loopback(family, lport, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		harness_seterr("bind udp %s:%d: %s", family_name(family), lport,
		    strerror(errno));
		goto fail;
	}
	len = loopback(family, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		harness_seterr("connect udp %s:%d: %s", family_name(family),
		    port, strerror(errno));
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
		if (wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			harness_seterr("no datagram within %d ms", timeout_ms);
			return -1;
		}
	}
}

/* Index of the first byte where a and b differ; len if none. */
static size_t
first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t	 i;

	/* memcmp() first: sanitizers check it in bulk, not per byte. */
	if (memcmp(a, b, len) == 0)
		return len;
	for (i = 0; i < len && a[i] == b[i]; i++)
		;
	return i;
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
		if (wait_fd(fd, POLLOUT, deadline) == 0)
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
	if ((at = first_diff(buf, reply, len)) != len) {
		harness_seterr("udp echo of %zu bytes: byte %zu differs "
		    "(sent 0x%02x, got 0x%02x)", len, at,
		    ((const unsigned char *)buf)[at], reply[at]);
		return -1;
	}
	return 0;
}

/* ---- the echo engine ---- */

static void __attribute__((format(printf, 2, 3)))
job_fail(struct echo_job *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->failed = j->done = true;
}

static void
job_send(struct echo_job *j)
{
	size_t	 chunk = j->len - j->sent;
	ssize_t	 n;

	if (chunk > SEND_CHUNK)
		chunk = SEND_CHUNK;
	n = send(j->fd, j->data + j->sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "send after %zu of %zu bytes: %s", j->sent,
			    j->len, strerror(errno));
		return;
	}
	j->sent += (size_t)n;
	if (j->sent == j->len && j->shut_wr && shutdown(j->fd, SHUT_WR) == -1)
		job_fail(j, "shutdown: %s", strerror(errno));
}

static void
job_recv(struct echo_job *j, unsigned char *buf, size_t size)
{
	ssize_t	 n;
	size_t	 at;

	n = recv(j->fd, buf, size, MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "recv after %zu of %zu bytes: %s", j->rcvd,
			    j->len, strerror(errno));
		return;
	}
	if (n == 0) {
		if (j->shut_wr && j->rcvd == j->len)
			j->done = true;
		else
			job_fail(j, "EOF after %zu of %zu bytes", j->rcvd,
			    j->len);
		return;
	}
	if ((size_t)n > j->len - j->rcvd) {
		job_fail(j, "%zu bytes echoed, only %zu sent",
		    j->rcvd + (size_t)n, j->len);
		return;
	}
	if ((at = first_diff(j->data + j->rcvd, buf, (size_t)n)) !=
	    (size_t)n) {
		job_fail(j, "byte %zu differs: sent 0x%02x, got 0x%02x",
		    j->rcvd + at, j->data[j->rcvd + at], buf[at]);
		return;
	}
	j->rcvd += (size_t)n;
	if (j->reset_at > 0 && j->rcvd >= j->reset_at) {
		tcp_reset(j->fd);
		j->fd = -1;
		j->done = true;
	} else if (j->rcvd == j->len && !j->shut_wr)
		j->done = true;
}

size_t
echo_run(struct echo_job *jobs, size_t n, int timeout_ms)
{
	static unsigned char buf[64 * 1024];
	long long deadline = harness_now_ms() + timeout_ms, left;
	struct pollfd *pfd;
	size_t	*idx, i, k, active, failed = 0;
	int	 rc;

	for (i = 0; i < n; i++) {
		jobs[i].sent = jobs[i].rcvd = 0;
		jobs[i].done = jobs[i].failed = false;
		jobs[i].why[0] = '\0';
	}
	if (n == 0)
		return 0;
	pfd = calloc(n, sizeof(*pfd));
	idx = calloc(n, sizeof(*idx));
	if (pfd == NULL || idx == NULL) {
		for (i = 0; i < n; i++)
			job_fail(&jobs[i], "out of memory");
		free(pfd);
		free(idx);
		return n;
	}
	for (i = 0; i < n; i++) {
		struct echo_job *j = &jobs[i];

		if (j->len == 0 && j->shut_wr &&
		    shutdown(j->fd, SHUT_WR) == -1)
			job_fail(j, "shutdown: %s", strerror(errno));
		else if (j->len == 0 && !j->shut_wr)
			j->done = true;
	}
	for (;;) {
		active = 0;
		for (i = 0; i < n; i++) {
			if (jobs[i].done)
				continue;
			pfd[active].fd = jobs[i].fd;
			pfd[active].events = POLLIN |
			    (jobs[i].sent < jobs[i].len ? POLLOUT : 0);
			idx[active++] = i;
		}
		if (active == 0)
			break;
		if ((left = deadline - harness_now_ms()) <= 0) {
			for (k = 0; k < active; k++) {
				struct echo_job *j = &jobs[idx[k]];

				job_fail(j, "timed out after %d ms: %zu of %zu "
				    "bytes sent, %zu echoed", timeout_ms,
				    j->sent, j->len, j->rcvd);
			}
			break;
		}
		rc = poll(pfd, active, (int)left);
		if (rc == -1 && errno != EINTR) {
			for (k = 0; k < active; k++)
				job_fail(&jobs[idx[k]], "poll: %s",
				    strerror(errno));
			break;
		}
		for (k = 0; rc > 0 && k < active; k++) {
			struct echo_job *j = &jobs[idx[k]];

			if (pfd[k].revents & POLLOUT)
				job_send(j);
			if (!j->done &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				job_recv(j, buf, sizeof(buf));
		}
	}
	for (i = 0; i < n; i++)
		if (jobs[i].failed)
			failed++;
	free(pfd);
	free(idx);
	return failed;
}
