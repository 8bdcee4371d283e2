/* SPDX-License-Identifier: MIT */
/*
 * Which datagram sources echod never answers.  Address rules catch sources
 * that cannot be a real client (spoofed, or a broadcast that would make
 * every echo on a LAN answer); port rules catch the services an echo
 * could play ping-pong with.  The rate limit catches the rest.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "echod/ipaddr.h"
#include "echod/loopguard.h"

#define NFS_PORT	2049

static const char *const names[LOOPGUARD_NVERDICTS] = {
	[LOOPGUARD_OK] = "ok",
	[LOOPGUARD_BAD_FAMILY] = "udp_loop_bad_family",
	[LOOPGUARD_ADDR_UNSPECIFIED] = "udp_loop_addr_unspecified",
	[LOOPGUARD_ADDR_THIS_NET] = "udp_loop_addr_this_net",
	[LOOPGUARD_ADDR_BROADCAST] = "udp_loop_addr_broadcast",
	[LOOPGUARD_ADDR_MULTICAST] = "udp_loop_addr_multicast",
	[LOOPGUARD_ADDR_LOOPBACK] = "udp_loop_addr_loopback",
	[LOOPGUARD_PORT_ZERO] = "udp_loop_port_zero",
	[LOOPGUARD_PORT_PRIVILEGED] = "udp_loop_port_privileged",
	[LOOPGUARD_PORT_NFS] = "udp_loop_port_nfs",
	[LOOPGUARD_PORT_SELF] = "udp_loop_port_self",
};

void
loopguard_init(struct loopguard *lg)
{
	memset(lg, 0, sizeof(*lg));
}

int
loopguard_add_port(struct loopguard *lg, int port)
{
	if (port < 1 || port > 65535) {
		errno = EINVAL;
		return -1;
	}
	lg->self[port / 64] |= (uint64_t)1 << (port % 64);
	return 0;
}

/* a is in network order, as in sin_addr. */
static enum loopguard_verdict
check_v4(const uint8_t a[4], bool on_loopback)
{
	if (a[0] == 0)
		return (a[1] | a[2] | a[3]) == 0 ?
		    LOOPGUARD_ADDR_UNSPECIFIED : LOOPGUARD_ADDR_THIS_NET;
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
		return LOOPGUARD_ADDR_BROADCAST;
	if ((a[0] & 0xf0) == 224)
		return LOOPGUARD_ADDR_MULTICAST;
	/* A 127/8 source from the wire is spoofed; local nc -u is not. */
	if (a[0] == 127 && !on_loopback)
		return LOOPGUARD_ADDR_LOOPBACK;
	return LOOPGUARD_OK;
}

static enum loopguard_verdict
check_v6(const struct in6_addr *a, bool on_loopback)
{
	if (IN6_IS_ADDR_V4MAPPED(a))
		return check_v4(&a->s6_addr[12], on_loopback);
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return LOOPGUARD_ADDR_UNSPECIFIED;
	if (IN6_IS_ADDR_MULTICAST(a))
		return LOOPGUARD_ADDR_MULTICAST;
	if (IN6_IS_ADDR_LOOPBACK(a) && !on_loopback)
		return LOOPGUARD_ADDR_LOOPBACK;
	return LOOPGUARD_OK;
}

static enum loopguard_verdict
check_port(const struct loopguard *lg, uint16_t port)
{
	if (port == 0)
		return LOOPGUARD_PORT_ZERO;
	if (port < 1024)
		return LOOPGUARD_PORT_PRIVILEGED;
	if (port == NFS_PORT)
		return LOOPGUARD_PORT_NFS;
	/* Another echod (or this one) on a served port: FreeBSD check_loop. */
	if (lg->self[port / 64] & ((uint64_t)1 << (port % 64)))
		return LOOPGUARD_PORT_SELF;
	return LOOPGUARD_OK;
}

enum loopguard_verdict
loopguard_check_ip(const struct loopguard *lg, const struct ipaddr *src,
    uint16_t port, bool on_loopback)
{
	struct in6_addr a6;
	enum loopguard_verdict v;

	if (src->family == AF_INET)
		v = check_v4(src->bytes, on_loopback);
	else if (src->family == AF_INET6) {
		memcpy(&a6, src->bytes, sizeof(a6));
		v = check_v6(&a6, on_loopback);
	} else
		return LOOPGUARD_BAD_FAMILY;
	return v != LOOPGUARD_OK ? v : check_port(lg, port);
}

enum loopguard_verdict
loopguard_check(const struct loopguard *lg, const struct sockaddr *src,
    socklen_t len, int sock_family, bool on_loopback)
{
	struct ipaddr ip;
	uint16_t port;

	if (loopguard_decode(src, len, sock_family, &ip, &port) == -1)
		return LOOPGUARD_BAD_FAMILY;
	return loopguard_check_ip(lg, &ip, port, on_loopback);
}

int
loopguard_decode(const struct sockaddr *src, socklen_t len, int sock_family,
    struct ipaddr *ip, uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)src;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)src;

	if (len < (socklen_t)sizeof(sa_family_t) ||
	    src->sa_family != sock_family ||
	    ipaddr_from_sockaddr(ip, src, len) == -1)
		return -1;
	*port = ntohs(src->sa_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
	return 0;
}

const char *
loopguard_name(enum loopguard_verdict v)
{
	if ((int)v < 0 || v >= LOOPGUARD_NVERDICTS)
		return "udp_loop_unknown";
	return names[v];
}
