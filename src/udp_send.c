/* SPDX-License-Identifier: MIT */
/*
 * Sending one batch's replies (udp.c's echo and udp_stamp.c's reflection):
 * one sendmmsg(2) for the queued messages, never blocking; what fails is
 * counted and logged now and then, and a segmented message the path or
 * device cannot take goes again one datagram at a time.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "echod/counters.h"
#include "echod/log.h"
#include "echod/udp.h"

#include "udp_int.h"

/*
 * A reply message the kernel would not segment (a path MTU below the
 * segment, a device or IPsec that cannot): send its datagrams one by one.
 * Returns how many went.
 */
static unsigned
send_split(struct udp_service *u, int fd, const struct msghdr *o,
    size_t pktinfo_len)
{
	struct msghdr m = *o;
	unsigned sent = 0;
	size_t	 i;

	m.msg_controllen = pktinfo_len;
	m.msg_control = pktinfo_len > 0 ? o->msg_control : NULL;
	m.msg_iovlen = 1;
	for (i = 0; i < o->msg_iovlen; i++) {
		m.msg_iov = &o->msg_iov[i];
		if (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			sent++;
			continue;
		}
		counter_add(&u->ctr, CTR_UDP_SEND_ERRORS, 1);
		udp_log_drop(&u->send_rl, o->msg_name, log_errstr(errno));
	}
	return sent;
}

/* errno of a segmented send that one datagram at a time may not meet. */
static bool
segmentation_failed(int err)
{
	return err == EINVAL || err == EMSGSIZE || err == EIO ||
	    err == ENOPROTOOPT || err == EOPNOTSUPP;
}

/*
 * Send the replies queued in b->out.  sendmmsg(2) stops at the first
 * failure and reports only how many went, so the failed one is retried
 * alone to learn its errno, counted and skipped; a segmented one that
 * failed for its segmentation goes again datagram by datagram.
 */
void
udp_send_batch(struct udp_service *u, size_t sock, int fd, struct udp_batch *b)
{
	uint64_t bytes = 0, datagrams = 0;
	int	 i, off = 0, sent, n = b->nout;

	udp_replies_seal(b);
	while (off < n) {
		sent = sendmmsg(fd, b->out + off, (unsigned)(n - off),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent == -1 && b->rep[off].segs > 1 &&
		    segmentation_failed(errno)) {
			/* The socket or its device cannot: never again here. */
			if (errno != EINVAL && errno != EMSGSIZE)
				u->gso_off[sock] = true;
			datagrams += send_split(u, fd, &b->out[off].msg_hdr,
			    b->rep[off].pktinfo_len);
			off++;
			continue;
		}
		if (sent == -1) {
			counter_add(&u->ctr, CTR_UDP_SEND_ERRORS,
			    b->rep[off].segs);
			udp_log_drop(&u->send_rl, b->out[off].msg_hdr.msg_name,
			    log_errstr(errno));
			off++;
			continue;
		}
		for (i = off; i < off + sent; i++) {
			bytes += b->out[i].msg_len;
			datagrams += b->rep[i].segs;
		}
		off += sent;
	}
	counter_add(&u->ctr, CTR_UDP_DATAGRAMS_OUT, datagrams);
	counter_add(&u->ctr, CTR_UDP_BYTES_OUT, bytes);
	b->nout = 0;
	b->noiov = 0;
}
