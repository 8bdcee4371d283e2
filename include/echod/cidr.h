#ifndef ECHOD_CIDR_H
#define ECHOD_CIDR_H

#include <stddef.h>
#include <stdint.h>

#include "echod/ipaddr.h"

/*
 * CIDR strings of the allow and deny lists: "192.0.2.0/24",
 * "2001:db8::/32", a bare address (/32 or /128).  Pure: the caller (the
 * config validator) prints the message after "file:line: ".
 */

/* Longer input is refused before it is looked at. */
#define CIDR_MAXLEN	64
/* Room for any message cidr_parse() writes. */
#define CIDR_ERRLEN	(CIDR_MAXLEN + 96)

struct cidr {
	struct ipaddr	addr;		/* host bits are zero */
	int		prefix;		/* 0..32 or 0..128 */
};

/* Parse text into c; -1 with errno EINVAL and a message in err. */
int	cidr_parse(const char *text, struct cidr *c, char *err,
	    size_t errsize);

#endif /* ECHOD_CIDR_H */
