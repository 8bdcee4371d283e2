#ifndef ECHOD_LOOPGUARD_H
#define ECHOD_LOOPGUARD_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

struct ipaddr;

/*
 * The UDP loop guard as a pure decision: whether a datagram's source may
 * get an answer at all.  The union of the BSD inetds' rules (dg_badinput,
 * FreeBSD's check_loop), adjusted for Linux.  The port set is built once
 * and then only read, so threads may share it.
 */

/* Why a datagram is not answered; LOOPGUARD_OK means it may be. */
enum loopguard_verdict {
	LOOPGUARD_OK = 0,
	LOOPGUARD_BAD_FAMILY,		/* not IPv4/IPv6, or short, or the
					   wrong family for the socket */
	LOOPGUARD_ADDR_UNSPECIFIED,	/* 0.0.0.0, :: */
	LOOPGUARD_ADDR_THIS_NET,	/* 0.0.0.0/8 */
	LOOPGUARD_ADDR_BROADCAST,	/* 255.255.255.255 */
	LOOPGUARD_ADDR_MULTICAST,	/* 224/4, ff00::/8 */
	LOOPGUARD_ADDR_LOOPBACK,	/* 127/8, ::1 not via loopback */
	LOOPGUARD_PORT_ZERO,
	LOOPGUARD_PORT_PRIVILEGED,	/* 1..1023: other services */
	LOOPGUARD_PORT_NFS,		/* 2049 */
	LOOPGUARD_PORT_SELF,		/* a port echod serves on UDP */
	LOOPGUARD_NVERDICTS
};

/* The UDP ports echod serves: a bitmap, so the check is O(1). */
struct loopguard {
	uint64_t	self[65536 / 64];
};

/* Start with no served ports. */
void	loopguard_init(struct loopguard *lg);
/* Add a port echod serves on UDP (1..65535); EINVAL otherwise. */
int	loopguard_add_port(struct loopguard *lg, int port);
/*
 * A datagram's source as a value, decoded once: ip (IPv4-mapped IPv6
 * folded into IPv4) and port.  -1 if src is not IPv4 or IPv6, is short,
 * or is not of the socket's family sock_family (LOOPGUARD_BAD_FAMILY).
 */
int	loopguard_decode(const struct sockaddr *src, socklen_t len,
	    int sock_family, struct ipaddr *ip, uint16_t *port);
/*
 * The verdict for a datagram from the decoded source ip:port that arrived
 * on the loopback interface or not (from pktinfo).
 */
enum loopguard_verdict loopguard_check_ip(const struct loopguard *lg,
	    const struct ipaddr *src, uint16_t port, bool on_loopback);
/* loopguard_decode() and loopguard_check_ip() in one. */
enum loopguard_verdict loopguard_check(const struct loopguard *lg,
	    const struct sockaddr *src, socklen_t len, int sock_family,
	    bool on_loopback);
/* A stable counter name for v ("udp_loop_port_zero"...); "ok" for OK. */
const char *loopguard_name(enum loopguard_verdict v);

#endif /* ECHOD_LOOPGUARD_H */
