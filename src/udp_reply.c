/* SPDX-License-Identifier: MIT */
/*
 * The UDP replies of one batch laid out as few messages as they fit:
 * consecutive replies to one peer from one address, of one size (the last
 * may be shorter), become one message with a UDP_SEGMENT size, which the
 * kernel cuts back into the same datagrams (udp(7)).  Pure: the batch's
 * vectors in, messages out; udp_send.c sends them.  Also the receive
 * slots' reset before each recvmmsg(2).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "udp_int.h"

/* Same peer, same arrival address: replies to both may share a message. */
static bool
same_flow(const struct udp_batch *b, int i, int j)
{
	const struct msghdr *x = &b->in[i].msg_hdr, *y = &b->in[j].msg_hdr;
	const struct udp_arrival *p = &b->arr[i], *q = &b->arr[j];

	if (i == j)
		return true;
	if (x->msg_namelen != y->msg_namelen || memcmp(x->msg_name,
	    y->msg_name, x->msg_namelen) != 0 || p->family != q->family)
		return false;
	if (p->family == AF_INET)
		return p->pi4.ipi_addr.s_addr == q->pi4.ipi_addr.s_addr;
	if (p->family == AF_INET6)
		return p->pi6.ipi6_ifindex == q->pi6.ipi6_ifindex &&
		    memcmp(&p->pi6.ipi6_addr, &q->pi6.ipi6_addr,
		    sizeof(p->pi6.ipi6_addr)) == 0;
	return true;
}

void
udp_replies_seal(struct udp_batch *b)
{
	struct cmsghdr *c;
	struct msghdr *o;
	uint16_t seg;
	int	 k;

	for (k = 0; k < b->nout; k++) {
		o = &b->out[k].msg_hdr;
		o->msg_controllen = b->rep[k].pktinfo_len;
		if (b->rep[k].segs > 1) {
			c = (struct cmsghdr *)(void *)(b->cout[k].buf +
			    b->rep[k].pktinfo_len);
			c->cmsg_level = IPPROTO_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			seg = (uint16_t)b->rep[k].seg;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			o->msg_controllen += CMSG_SPACE(sizeof(seg));
		}
		o->msg_control = o->msg_controllen > 0 ? b->cout[k].buf : NULL;
	}
}

int
udp_reply_add(struct udp_batch *b, int i, char *p, size_t len, bool gso)
{
	struct udp_reply *r = b->nout > 0 ? &b->rep[b->nout - 1] : NULL;
	const struct udp_arrival *a = &b->arr[i];
	struct msghdr *o;
	size_t	 wire;

	if (r != NULL && r->open && len > 0 && len <= r->seg &&
	    r->segs < UDP_GSO_SEGS && r->bytes + len <= UDP_GSO_BYTES &&
	    same_flow(b, r->from, i)) {
		b->oiov[b->noiov++] = (struct iovec){ p, len };
		b->out[b->nout - 1].msg_hdr.msg_iovlen++;
		r->bytes += len;
		r->segs++;
		r->open = len == r->seg;
		return 0;
	}
	if (b->nout == UDP_BATCH || b->noiov == UDP_DATAGRAMS)
		return -1;
	wire = a->family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(
	    &a->pi6.ipi6_addr) ? UDP_GSO_WIRE_V6 : UDP_GSO_WIRE_V4;
	r = &b->rep[b->nout];
	*r = (struct udp_reply){
		.from = i, .seg = len, .bytes = len, .segs = 1,
		.pktinfo_len = udp_reply_pktinfo(a, &b->cout[b->nout]),
		.open = len > 0 && gso && (a->on_loopback || len <= wire),
	};
	b->oiov[b->noiov] = (struct iovec){ p, len };
	o = &b->out[b->nout].msg_hdr;
	*o = (struct msghdr){
		.msg_name = b->in[i].msg_hdr.msg_name,
		.msg_namelen = b->in[i].msg_hdr.msg_namelen,
		.msg_iov = &b->oiov[b->noiov], .msg_iovlen = 1,
	};
	b->out[b->nout].msg_len = 0;
	b->noiov++;
	b->nout++;
	return 0;
}

/* Point every receive slot at its buffer, address and control space. */
void
udp_batch_reset(struct udp_batch *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		b->iov[i] = (struct iovec){
			.iov_base = b->buf + i * UDP_BUFSIZE,
			.iov_len = UDP_BUFSIZE,
		};
		b->in[i].msg_hdr = (struct msghdr){
			.msg_name = &b->peer[i],
			.msg_namelen = sizeof(b->peer[i]),
			.msg_iov = &b->iov[i], .msg_iovlen = 1,
			.msg_control = b->cin[i].buf,
			.msg_controllen = sizeof(b->cin[i].buf),
		};
		b->in[i].msg_len = 0;
	}
}
