/* SPDX-License-Identifier: MIT */
/*
 * The harness's sockets, common ground: loopback addresses, free ports,
 * an occupied port, poll(2) with a deadline, a chosen source address, and
 * where two buffers differ.  The TCP clients are in harness_tcp.c, the
 * UDP ones in harness_udp.c, many echo clients at once in
 * harness_crowd.c.  Failures are described through harness_seterr(), as
 * in harness.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

/* The loopback of family (127.0.0.1 or ::1) at port; the length. */
socklen_t
harness_loopback(int family, int port, struct sockaddr_storage *ss)
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

/* The loopback of family as messages print it. */
const char *
harness_family_name(int family)
{
	return family == AF_INET6 ? "[::1]" : "127.0.0.1";
}

/* A socket bound to the loopback; port 0 picks one.  fd, or -1. */
static int
bind_loopback(int family, int type, int port, int *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = harness_loopback(family, port, &ss);
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
		    type == SOCK_STREAM ? "tcp" : "udp",
		    harness_family_name(family), port, strerror(errno));
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
int
harness_wait_fd(int fd, short events, long long deadline)
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
int
harness_bind_source(int fd, const char *src, int lport)
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

/* Index of the first byte where a and b differ; len if none. */
size_t
harness_first_diff(const unsigned char *a, const unsigned char *b,
    size_t len)
{
	size_t	 i;

	/* memcmp() first: sanitizers check it in bulk, not per byte. */
	if (memcmp(a, b, len) == 0)
		return len;
	for (i = 0; i < len && a[i] == b[i]; i++)
		;
	return i;
}
