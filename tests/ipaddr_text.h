/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_IPADDR_TEXT_H
#define ECHOD_TEST_IPADDR_TEXT_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <check.h>

#include "echod/source.h"

/*
 * The struct ipaddr of an address literal, made the way the daemon makes
 * it: through a struct sockaddr and ipaddr_from_sockaddr().
 */
static inline struct ipaddr
from_text(const char *text)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct ipaddr ip;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		ck_assert_int_eq(ipaddr_from_sockaddr(&ip,
		    (struct sockaddr *)&sin, sizeof(sin)), 0);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6.sin6_addr),
		    1);
		sin6.sin6_family = AF_INET6;
		ck_assert_int_eq(ipaddr_from_sockaddr(&ip,
		    (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	}
	return ip;
}

#endif /* ECHOD_TEST_IPADDR_TEXT_H */
