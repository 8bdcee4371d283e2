/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the address parsers.  The first input line is a
 * "listen" entry for net_parse_addr(), the rest a port as -p gives it to
 * config_parse_port().  The invariants: the port parser takes exactly the
 * decimals 1..65535; an address that parses formats and parses back to
 * itself, becomes a source (ipaddr) that the CIDR parser reads back, and
 * the CIDR parser accepts a bare address exactly when the listen parser
 * does, as the same address.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "echod/cidr.h"
#include "echod/config.h"
#include "echod/net.h"
#include "echod/ipaddr.h"

#include "../harness/acl_ref.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: decimal digits only, 1..65535, leading zeros allowed. */
static bool
port_ref(const char *s, long *v)
{
	*v = 0;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (*v <= 65535)
			*v = *v * 10 + (*s - '0');
	}
	return *v >= 1 && *v <= 65535;
}

static void
check_port(const char *text, int *port)
{
	long	 ref;
	bool	 ok = port_ref(text, &ref);

	*port = 7;
	if ((config_parse_port(text, port) == 0) != ok || *port != (ok ?
	    ref : 7))
		abort();
}

/* sa printed as net_format_addr() does, then its host part parsed back. */
static void
check_format(const struct sockaddr_storage *ss, int port)
{
	struct sockaddr_storage back;
	char	 buf[NET_ADDRSTRLEN], *host, *colon;
	socklen_t len;

	net_format_addr((const struct sockaddr *)ss, buf, sizeof(buf));
	if ((colon = strrchr(buf, ':')) == NULL || atoi(colon + 1) != port)
		abort();
	*colon = '\0';
	host = buf;
	if (ss->ss_family == AF_INET6) {
		if (host[0] != '[' || colon[-1] != ']')
			abort();
		colon[-1] = '\0';
		host++;
	}
	if (net_parse_addr(host, port, &back, &len) == -1 ||
	    !net_same_addr(ss, &back) || net_addr_port(
	    (const struct sockaddr *)&back) != port)
		abort();
}

/* The source ip, formatted with and without a prefix, read by cidr_parse. */
static void
check_source(const struct ipaddr *ip, int prefix)
{
	char	 buf[IPADDR_STRLEN], err[CIDR_ERRLEN];
	struct ipaddr m = *ip;
	struct cidr c;

	if (cidr_parse(ipaddr_format(ip, -1, buf, sizeof(buf)), &c, err,
	    sizeof(err)) == -1 || !ipaddr_equal(&c.addr, ip) ||
	    c.prefix != ipaddr_bits(ip))
		abort();
	if (ipaddr_mask(&m, prefix) == -1 ||
	    cidr_parse(ipaddr_format(&m, prefix, buf, sizeof(buf)), &c, err,
	    sizeof(err)) == -1 || !ipaddr_equal(&c.addr, &m) ||
	    c.prefix != prefix || !acl_ref_contains(&c, ip))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	char	*addr, *nl, err[CIDR_ERRLEN];
	const char *port_text = "7";
	struct ipaddr ip;
	struct cidr c;
	socklen_t len, l;
	int	 port, parsed, bare;

	/* An exact-size copy, so ASan sees any read past the end. */
	if ((addr = malloc(size + 1)) == NULL)
		return 0;
	memcpy(addr, data, size);
	addr[size] = '\0';
	if ((nl = strchr(addr, '\n')) != NULL) {
		*nl = '\0';
		port_text = nl + 1;
	}
	check_port(port_text, &port);
	if (net_parse_addr(addr, -1, &ss, &len) != -1 || errno != EINVAL ||
	    net_parse_addr(addr, 65536, &ss, &len) != -1 || errno != EINVAL)
		abort();

	parsed = net_parse_addr(addr, port, &ss, &len) == 0;
	bare = cidr_parse(addr, &c, err, sizeof(err)) == 0 &&
	    strchr(addr, '/') == NULL;
	if (!parsed) {
		if (errno != EINVAL || bare)
			abort();
		goto out;
	}
	if (len != (ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6)))
		abort();
	check_format(&ss, port);
	/* recvfrom() may say less than the family needs: never accepted. */
	for (l = 0; l < len; l++)
		if (ipaddr_from_sockaddr(&ip, (struct sockaddr *)&ss, l) != -1)
			abort();
	if (ipaddr_from_sockaddr(&ip, (struct sockaddr *)&ss, len) == -1)
		abort();
	check_source(&ip, port % (ipaddr_bits(&ip) + 1));
	/* A listen entry longer than CIDR_MAXLEN is no ACL entry. */
	if (strlen(addr) <= CIDR_MAXLEN && (!bare ||
	    !ipaddr_equal(&c.addr, &ip) || c.prefix != ipaddr_bits(&ip)))
		abort();
out:
	free(addr);
	return 0;
}
