#ifndef ECHOD_PROXY_H
#define ECHOD_PROXY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "echod/ipaddr.h"

/*
 * The PROXY protocol header a load balancer puts in front of a TCP
 * connection (HAProxy's proxy-protocol.txt, versions 1 and 2, told apart
 * by the first bytes).  proxy_parse() is pure: it looks at the bytes read
 * so far and says whether they are a whole header, need more, or can never
 * be one.  proxy_read_header() reads exactly the header from a socket.
 */

/* A v1 line, "PROXY ... \r\n" included (the spec's limit). */
#define PROXY_V1_MAX		107
/* The v2 fixed part: 12-byte signature, ver_cmd, fam, 16-bit length. */
#define PROXY_V2_FIXED		16
/*
 * Our limit on the v2 length field (addresses plus TLVs): 2,048 bytes,
 * so at least 1,832 bytes of TLVs beside the largest (AF_UNIX) address
 * block, 2,036 beside an IPv4 one.  Longer is refused as too long.
 */
#define PROXY_V2_MAX_PAYLOAD	2048
/* The longest header we accept, either version: a reader's buffer. */
#define PROXY_MAX_HEADER	(PROXY_V2_FIXED + PROXY_V2_MAX_PAYLOAD)

/* What the bytes so far are; every refusal closes the connection. */
enum proxy_result {
	PROXY_DONE,		/* a whole header: see struct proxy_header */
	PROXY_NEED_MORE,	/* a valid beginning; read more */
	PROXY_MALFORMED,	/* not a header, or broken syntax or lengths */
	PROXY_BAD_VERSION,	/* v2 signature with a version other than 2 */
	PROXY_BAD_COMMAND,	/* v2 command other than LOCAL and PROXY */
	PROXY_BAD_FAMILY,	/* v1 other than TCP4/TCP6/UNKNOWN; v2 > UNIX */
	PROXY_BAD_PROTOCOL,	/* v2 DGRAM (UDP) or an unknown protocol */
	PROXY_TOO_LONG,		/* v1 with no CRLF in 107 bytes; v2 over ours */
	/* proxy_read_header() only: */
	PROXY_TIMEOUT,		/* incomplete when the deadline passed */
	PROXY_CLOSED,		/* the peer closed before the header ended */
	PROXY_IO_ERROR,		/* recv(2) or poll(2) failed; errno says why */
};

enum proxy_command {
	PROXY_CMD_LOCAL,	/* v2 LOCAL: the balancer's own (health check) */
	PROXY_CMD_PROXY,	/* relayed for a client */
};

/* A whole header, as proxy_parse() found it. */
struct proxy_header {
	size_t		 	len;		/* bytes the header took */
	int		 	version;	/* 1 or 2 */
	enum proxy_command	command;
	/*
	 * True when src and dst are the client's and the address it
	 * reached; false for LOCAL, v1 UNKNOWN, v2 UNSPEC and AF_UNIX, where
	 * the connection is served with the balancer's own address.
	 */
	bool		 	known;
	struct ipaddr	 	src;
	struct ipaddr	 	dst;
	uint16_t	 	src_port;
	uint16_t	 	dst_port;
};

/*
 * Look at the first len bytes of a connection.  PROXY_DONE fills h (h->len
 * bytes are the header, the rest is the client's); PROXY_NEED_MORE means
 * every byte so far fits a header; anything else is a refusal.  Never
 * reads past buf[len - 1]; pure.
 */
enum proxy_result proxy_parse(const uint8_t *buf, size_t len,
	    struct proxy_header *h);
/*
 * After PROXY_NEED_MORE: how many more bytes are certainly header (or the
 * connection is refused anyway), so a reader may consume them; 0 when
 * only a v1 line's CRLF can tell (peek, then consume through the LF).
 */
size_t	proxy_more(const uint8_t *buf, size_t len);
/* h's source as a socket address (h->known only); its length. */
socklen_t proxy_source_sockaddr(const struct proxy_header *h,
	    struct sockaddr_storage *ss);
/* A short name for a result ("malformed", "unknown version", ...). */
const char *proxy_result_name(enum proxy_result r);

/*
 * Read the header at the start of connected socket fd, within timeout_ms
 * for all of it (poll(2); EINTR restarts with the time left), consuming
 * only the header's bytes: what follows stays in the socket.  buf must
 * hold PROXY_MAX_HEADER bytes.  PROXY_DONE fills h; otherwise the
 * connection is to be refused (PROXY_IO_ERROR: errno says why).
 */
enum proxy_result proxy_read_header(int fd, int timeout_ms, uint8_t *buf,
	    struct proxy_header *h);

#endif /* ECHOD_PROXY_H */
