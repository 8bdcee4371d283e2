/* SPDX-License-Identifier: MIT */
/*
 * Socket helpers shared by the TCP and UDP sides: address parsing and
 * formatting, opening listeners, the full-write loop.  Pure: nothing here
 * logs, so callers that know the context report failures (as redis anet.c).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "echod/net.h"

int
net_parse_addr(const char *text, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (port < 0 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	errno = EINVAL;
	return -1;
}

int
net_parse_hostport(const char *text, int defport, struct sockaddr_storage *ss,
    socklen_t *len)
{
	char	 host[INET6_ADDRSTRLEN];
	const char *colon, *p, *end;
	size_t	 n;
	long	 port = defport;

	/* IPv4 alone; IPv6 always in brackets ("::1:9107" is ambiguous). */
	if (strchr(text, ':') == NULL) {
		if (net_parse_addr(text, defport, ss, len) == 0)
			return 0;
		goto bad;
	}
	if (text[0] == '[') {
		if ((end = strchr(text, ']')) == NULL)
			goto bad;
		p = text + 1;
		n = (size_t)(end - p);
		colon = end[1] == '\0' ? NULL : end + 1;
		if (colon != NULL && *colon != ':')
			goto bad;
	} else {
		/* IPv4 and a port; IPv6 with a port needs the brackets. */
		if ((colon = strrchr(text, ':')) == NULL)
			goto bad;
		p = text;
		n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, p, n);
	host[n] = '\0';
	if (colon != NULL) {
		/* Decimal digits only, 1..65535. */
		port = 0;
		for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; p++)
			port = port * 10 + (*p - '0');
		if (p == colon + 1 || *p != '\0' || port < 1 || port > 65535)
			goto bad;
	}
	/* Brackets hold IPv6 only; a bare IPv4 never has them. */
	if (net_parse_addr(host, (int)port, ss, len) == -1 ||
	    (ss->ss_family == AF_INET6) != (text[0] == '['))
		goto bad;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
net_addr_bindable(const struct sockaddr_storage *ss, char *why, size_t size)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct in_addr v4;
	char	 host[INET_ADDRSTRLEN];

	if (ss->ss_family != AF_INET6)
		return 0;
	/* echod's IPv6 sockets are IPV6_V6ONLY: bind() says EADDRNOTAVAIL. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
		inet_ntop(AF_INET, &v4, host, sizeof(host));
		snprintf(why, size, "an IPv4-mapped IPv6 address, and IPv6 "
		    "sockets are IPv6 only: write \"%s\"", host);
		errno = EADDRNOTAVAIL;
		return -1;
	}
	/* A literal has no "%eth0" here, and bind() needs the interface. */
	if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) &&
	    sin6->sin6_scope_id == 0) {
		snprintf(why, size, "a link-local address needs an interface "
		    "(scope), which a listen address cannot name");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

char *
net_format_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	char	 host[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, size, "(family %d)", sa->sa_family);
		break;
	}
	return buf;
}

int
net_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

static int
set_int_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* A close() that keeps the errno of the failure being reported. */
static int
close_fail(int fd)
{
	int	 saved = errno;

	close(fd);
	errno = saved;
	return -1;
}

/* A CLOEXEC, non-blocking socket for sa; v6 sockets carry v6 only. */
static int
open_socket(const struct sockaddr *sa, int type)
{
	int	 fd;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* So that "0.0.0.0" and "::" can both be bound on one port. */
	if (sa->sa_family == AF_INET6 &&
	    set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) == -1)
		return close_fail(fd);
	return fd;
}

int
net_tcp_listen(const struct sockaddr *sa, socklen_t len, int backlog,
    bool reuseaddr, bool freebind, bool reuseport)
{
	int	 fd;

	if ((fd = open_socket(sa, SOCK_STREAM)) == -1)
		return -1;
	if (reuseaddr && set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) == -1)
		return close_fail(fd);
	if (reuseport && set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) == -1)
		return close_fail(fd);
	/* Linux honours IP_FREEBIND on IPv6 sockets as well. */
	if (freebind && set_int_opt(fd, IPPROTO_IP, IP_FREEBIND, 1) == -1)
		return close_fail(fd);
	/*
	 * Linux copies TCP_NODELAY to every accepted socket, so clients
	 * need no setsockopt of their own.
	 */
	if (set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1 ||
	    bind(fd, sa, len) == -1 || listen(fd, backlog) == -1)
		return close_fail(fd);
	return fd;
}

int
net_udp_pktinfo(int fd, int family)
{
	/* Learn each datagram's destination so replies leave from it. */
	if (family == AF_INET6) {
		/*
		 * On a dual-stack socket Linux fills in the arrival interface
		 * of an IPv4 datagram only when IP_PKTINFO is on as well; the
		 * loop guard needs it to tell lo from the rest.
		 */
		if (set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1) == -1 ||
		    set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == -1)
			return -1;
	} else if (set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1) == -1)
		return -1;
	/*
	 * Take a run of datagrams of one flow as one buffer when the kernel
	 * has coalesced them (UDP_GRO, Linux 5.0); udp.c echoes it back as
	 * the same datagrams.  An older kernel just delivers them one by one.
	 */
	(void)set_int_opt(fd, IPPROTO_UDP, UDP_GRO, 1);
	/* Each datagram says how many the full receive buffer cost. */
	return set_int_opt(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
}

int
net_udp_stamp(int fd, int family)
{
	int	 off = 0;

	/*
	 * Each datagram's kernel receive time (T2), TTL or Hop Limit, and
	 * TOS or Traffic Class; replies leave with TTL 255 (RFC 8762 §4.2,
	 * as TWAMP's RFC 5357).  One datagram per receive: no UDP_GRO, or
	 * coalesced datagrams would share a timestamp.
	 */
	if (set_int_opt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_UDP, UDP_GRO, &off, sizeof(off));
	if (family == AF_INET6) {
		/* A dual-stack socket (systemd's [::]) also gets IPv4. */
		(void)set_int_opt(fd, IPPROTO_IP, IP_RECVTTL, 1);
		(void)set_int_opt(fd, IPPROTO_IP, IP_RECVTOS, 1);
		(void)set_int_opt(fd, IPPROTO_IP, IP_TTL, 255);
		return set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1) == -1 ||
		    set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, 1) == -1 ||
		    set_int_opt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) == -1 ?
		    -1 : 0;
	}
	return set_int_opt(fd, IPPROTO_IP, IP_RECVTTL, 1) == -1 ||
	    set_int_opt(fd, IPPROTO_IP, IP_RECVTOS, 1) == -1 ||
	    set_int_opt(fd, IPPROTO_IP, IP_TTL, 255) == -1 ? -1 : 0;
}

int
net_udp_bind(const struct sockaddr *sa, socklen_t len, bool freebind,
    bool reuseport)
{
	int	 fd;

	if ((fd = open_socket(sa, SOCK_DGRAM)) == -1)
		return -1;
	if (reuseport && set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) == -1)
		return close_fail(fd);
	if (freebind && set_int_opt(fd, IPPROTO_IP, IP_FREEBIND, 1) == -1)
		return close_fail(fd);
	if (net_udp_pktinfo(fd, sa->sa_family) == -1 || bind(fd, sa, len) == -1)
		return close_fail(fd);
	return fd;
}

int
net_set_reuseport(int fd, bool on)
{
	return set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0);
}

int
net_set_nonblock(int fd)
{
	int	 flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int
net_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	return 0;
}

int
net_local_addr(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = sizeof(*ss);
	return getsockname(fd, (struct sockaddr *)ss, len);
}

int
net_set_timeouts(int fd, int recv_s, int send_s)
{
	struct timeval rtv = { .tv_sec = recv_s }, stv = { .tv_sec = send_s };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof(rtv)) == -1)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stv, sizeof(stv));
}

int
net_set_nodelay(int fd)
{
	return set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

int
net_set_keepalive(int fd, int seconds)
{
	int	 intvl = seconds / 3 > 0 ? seconds / 3 : 1;

	if (seconds <= 0)
		return set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
	/*
	 * Probes after seconds of silence, then every seconds/3; three
	 * unanswered probes drop the peer.  TCP_USER_TIMEOUT bounds the same
	 * wait when echoed data sits unacknowledged (keepalive does not probe
	 * then), so a vanished peer costs at most about 2 x seconds.
	 */
	if (set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, seconds) == -1 ||
	    set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl) == -1 ||
	    set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, 3) == -1 ||
	    set_int_opt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
	    (seconds + 3 * intvl) * 1000) == -1)
		return -1;
	return set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
}
