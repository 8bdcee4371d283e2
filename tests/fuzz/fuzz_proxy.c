/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the input is the start of a TCP connection, given to
 * proxy_parse() whole and in prefixes.  A header never claims more bytes
 * than it was given or than the limit; a prefix of a header asks for
 * more; a refusal in a prefix is the refusal of the whole input; and
 * proxy_more() never lets a reader consume past the header's end.
 */

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What parsing k bytes may say, given what all size bytes said. */
static void
check_prefix(const uint8_t *data, size_t k, enum proxy_result whole,
    const struct proxy_header *h)
{
	struct proxy_header hk;
	enum proxy_result r = proxy_parse(data, k, &hk);
	size_t	 more;

	if (whole == PROXY_DONE) {
		if (k < h->len && r != PROXY_NEED_MORE)
			abort();
		if (k >= h->len && (r != PROXY_DONE || hk.len != h->len ||
		    memcmp(&hk.src, &h->src, sizeof(hk.src)) != 0 ||
		    hk.known != h->known || hk.command != h->command))
			abort();
	} else if (r != PROXY_NEED_MORE && r != whole)
		abort();
	if (r != PROXY_NEED_MORE)
		return;
	more = proxy_more(data, k);
	/* A reader taking more bytes stays inside the header. */
	if (whole == PROXY_DONE && k + more > h->len)
		abort();
	if (more == 0 && (k < 15 || data[0] != 'P' || k >= PROXY_V1_MAX))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	enum proxy_result r;
	size_t	 k;

	memset(&h, 0, sizeof(h));
	r = proxy_parse(data, size, &h);
	if (r > PROXY_TOO_LONG)
		abort();			/* reader-only results */
	if (r == PROXY_DONE) {
		if (h.len > size || h.len > PROXY_MAX_HEADER || h.len < 15 ||
		    (h.version == 1 && h.len > PROXY_V1_MAX) ||
		    (h.version != 1 && h.version != 2))
			abort();
		if (h.known && (h.src.family != AF_INET &&
		    h.src.family != AF_INET6))
			abort();
		if (!h.known && (h.src.family != 0 || h.src_port != 0))
			abort();
	}
	if (proxy_result_name(r) == NULL)
		abort();
	/* Every prefix up to 128 bytes, then a sample and the edges. */
	for (k = 0; k < size; k += k < 128 ? 1 : 61)
		check_prefix(data, k, r, &h);
	if (r == PROXY_DONE) {
		check_prefix(data, h.len - 1, r, &h);
		check_prefix(data, h.len, r, &h);
	}
	return 0;
}
