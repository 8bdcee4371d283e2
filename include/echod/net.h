#ifndef ECHOD_NET_H
#define ECHOD_NET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

/* "[ffff:...:ffff]:65535" plus NUL. */
#define NET_ADDRSTRLEN	(46 + 8)

/* A socket the daemon serves: a TCP listener or a UDP socket. */
struct listener {
	int			 fd;
	int			 type;		/* SOCK_STREAM, SOCK_DGRAM */
	struct sockaddr_storage	 addr;		/* as bound */
	char			 name[NET_ADDRSTRLEN + 10]; /* "tcp [::]:7" */
	bool			 stamp;		/* a STAMP reflector (UDP) */
};

/*
 * Pure socket helpers: no logging, no global state.  Every function returns
 * 0 (or a descriptor) on success and -1 with errno set on failure.
 */

/* Parse an IPv4 or IPv6 literal and port into ss; EINVAL if not a literal. */
int	net_parse_addr(const char *text, int port, struct sockaddr_storage *ss,
	    socklen_t *len);
/*
 * Parse "1.2.3.4:9107", "[::1]:9107", or an address alone ("1.2.3.4",
 * "[::1]": port defport) into ss; EINVAL if it is none of those (IPv6
 * without brackets included) or the port is not 1..65535.
 */
int	net_parse_hostport(const char *text, int defport,
	    struct sockaddr_storage *ss, socklen_t *len);
/*
 * Whether echod can ever bind the parsed address ss: 0, or -1 with why
 * (size bytes) saying why not (an IPv4-mapped IPv6 address on an IPv6-only
 * socket, a link-local address without a scope).
 */
int	net_addr_bindable(const struct sockaddr_storage *ss, char *why,
	    size_t size);
/* Format sa as "1.2.3.4:7" or "[::1]:7" into buf; returns buf. */
char	*net_format_addr(const struct sockaddr *sa, char *buf, size_t size);
/* The port of sa in host order, or -1 for an unknown family. */
int	net_addr_port(const struct sockaddr *sa);
/*
 * Non-blocking TCP listener (IPV6_V6ONLY on v6); with reuseport, other
 * sockets with SO_REUSEPORT (a sibling instance) may share its port and
 * the kernel spreads connections over them.  The descriptor or -1.
 */
int	net_tcp_listen(const struct sockaddr *sa, socklen_t len, int backlog,
	    bool reuseaddr, bool freebind, bool reuseport);
/* Non-blocking UDP socket receiving the destination address (PKTINFO). */
int	net_udp_bind(const struct sockaddr *sa, socklen_t len, bool freebind,
	    bool reuseport);
/*
 * Turn SO_REUSEPORT on or off on a bound socket: on, a sibling may bind
 * its port from then on; off does not part siblings already sharing it.
 */
int	net_set_reuseport(int fd, bool on);
/* Ask for each datagram's destination (IP_PKTINFO, IPV6_RECVPKTINFO). */
int	net_udp_pktinfo(int fd, int family);
/*
 * Make a UDP socket a STAMP reflector's: receive timestamps, TTL and TOS
 * of each datagram; send with TTL 255.
 */
int	net_udp_stamp(int fd, int family);
/* Set O_NONBLOCK (sockets from systemd arrive blocking). */
int	net_set_nonblock(int fd);
/* 1 if a and b are the same family, address and port; else 0. */
int	net_same_addr(const struct sockaddr_storage *a,
	    const struct sockaddr_storage *b);
/* The local address fd is bound to. */
int	net_local_addr(int fd, struct sockaddr_storage *ss, socklen_t *len);
/*
 * Receive and send timeouts in seconds (0 = none) on a connected socket:
 * a send times out when the peer took no byte for send_s.
 */
int	net_set_timeouts(int fd, int recv_s, int send_s);
/*
 * TCP keepalive after seconds of silence (0 = off), so a peer that vanished
 * (power off, NAT timeout) does not hold its thread for ever.
 */
int	net_set_keepalive(int fd, int seconds);
/* Disable Nagle: an echo must leave as soon as it is read. */
int	net_set_nodelay(int fd);

#endif /* ECHOD_NET_H */
