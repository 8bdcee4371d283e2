/* SPDX-License-Identifier: MIT */
/*
 * The control data of the UDP service's datagrams: what a received one
 * says (its destination and interface, the GRO segment size, the socket's
 * drop count, and on STAMP sockets the receive timestamp, TTL and TOS),
 * and the destination turned into the source of its reply.  Pure: no
 * sockets, no state.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "udp_int.h"

/* True if the datagram was sent to a loopback address (127/8, ::1). */
static bool
to_loopback(bool v6, const struct in6_pktinfo *pi6,
    const struct in_pktinfo *pi)
{
	const struct in6_addr *a = &pi6->ipi6_addr;

	if (v6)
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) &&
		    a->s6_addr[12] == 127);
	return (ntohl(pi->ipi_addr.s_addr) >> 24) == 127;
}

/* An int of control data: IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS. */
static int
cmsg_int(const struct cmsghdr *c)
{
	int	 v;

	if (c->cmsg_len < CMSG_LEN(sizeof(v)))
		return -1;
	memcpy(&v, CMSG_DATA(c), sizeof(v));
	return v >= 0 && v <= 255 ? v : -1;
}

/*
 * What a STAMP socket asked for: the receive timestamp, TTL and TOS (or
 * IPv6's names).  True if c was one of them.
 */
static bool
stamp_cmsg(const struct cmsghdr *c, struct udp_arrival *a)
{
	if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
	    c->cmsg_len >= CMSG_LEN(sizeof(a->ts))) {
		memcpy(&a->ts, CMSG_DATA(c), sizeof(a->ts));
		a->has_ts = true;
	} else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
	    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT))
		a->ttl = cmsg_int(c);
	else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS &&
	    c->cmsg_len >= CMSG_LEN(1))
		a->tos = *CMSG_DATA(c);		/* one octet, not an int */
	else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
		a->tos = cmsg_int(c);
	else
		return false;
	return true;
}

/*
 * Read the destination of a received datagram out of its control data,
 * and whether it came in on the loopback interface lo_index.  The
 * interface is 0 for a datagram queued before the socket asked for it
 * (the one that started a socket-activated echod): then only a loopback
 * destination, which routing reaches through lo alone, says where it came
 * from.
 */
void
udp_arrival_read(const struct msghdr *in, struct udp_arrival *a, unsigned lo_index)
{
	struct cmsghdr *c;
	bool	 v4 = false, v6 = false;

	a->family = AF_UNSPEC;
	a->ifindex = 0;
	a->gro_size = 0;
	a->has_drops = a->has_ts = false;
	a->ttl = a->tos = -1;
	for (c = CMSG_FIRSTHDR(in); c != NULL;
	    c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		if (stamp_cmsg(c, a))
			continue;
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			memcpy(&a->drops, CMSG_DATA(c), sizeof(a->drops));
			a->has_drops = true;
		} else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int	 gro;

			memcpy(&gro, CMSG_DATA(c), sizeof(gro));
			if (gro > 0)
				a->gro_size = (size_t)gro;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(a->pi4))) {
			memcpy(&a->pi4, CMSG_DATA(c), sizeof(a->pi4));
			v4 = true;
			if (a->ifindex == 0)
				a->ifindex = (unsigned)a->pi4.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(a->pi6))) {
			memcpy(&a->pi6, CMSG_DATA(c), sizeof(a->pi6));
			v6 = true;
			if (a->ifindex == 0)
				a->ifindex = a->pi6.ipi6_ifindex;
		}
	}
	/* An IPv6 socket answers with IPV6_PKTINFO, mapped or not. */
	if (v6) {
		a->family = AF_INET6;
		if (a->pi6.ipi6_ifindex == 0)
			a->pi6.ipi6_ifindex = a->ifindex;
	} else if (v4)
		a->family = AF_INET;
	a->on_loopback = (v4 || v6) && (a->ifindex != 0 ?
	    a->ifindex == lo_index : to_loopback(v6, &a->pi6, &a->pi4));
}

/*
 * Turn the destination of the received datagram into the source of the
 * reply.  Returns the control length to send, 0 if there is none.
 */
size_t
udp_reply_pktinfo(const struct udp_arrival *a, struct udp_cmsg *out)
{
	struct cmsghdr *o;
	struct in_pktinfo pi;

	memset(out, 0, sizeof(*out));
	o = (struct cmsghdr *)(void *)out->buf;
	switch (a->family) {
	case AF_INET:
		/* Source address only; let routing pick the link. */
		pi = a->pi4;
		pi.ipi_spec_dst = pi.ipi_addr;
		pi.ipi_ifindex = 0;
		o->cmsg_level = IPPROTO_IP;
		o->cmsg_type = IP_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(o), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	case AF_INET6:
		/* Keep the interface: link-local peers need it. */
		o->cmsg_level = IPPROTO_IPV6;
		o->cmsg_type = IPV6_PKTINFO;
		o->cmsg_len = CMSG_LEN(sizeof(a->pi6));
		memcpy(CMSG_DATA(o), &a->pi6, sizeof(a->pi6));
		return CMSG_SPACE(sizeof(a->pi6));
	default:
		return 0;
	}
}
