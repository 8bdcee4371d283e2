/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_IPADDR_TEXT_H
#define ECHOD_TEST_IPADDR_TEXT_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <check.h>

#include "echod/ipaddr.h"

/* The struct sockaddr of an address literal and port; its length. */
static inline socklen_t
sockaddr_from_text(const char *text, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	ck_assert_msg(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1,
	    "'%s' is not an address", text);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	return sizeof(*sin6);
}

/*
 * The struct ipaddr of an address literal, made the way the daemon makes
 * it: through a struct sockaddr and ipaddr_from_sockaddr().
 */
static inline struct ipaddr
from_text(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_text(text, 0, &ss);
	struct ipaddr ip;

	ck_assert_int_eq(ipaddr_from_sockaddr(&ip, (struct sockaddr *)&ss,
	    len), 0);
	return ip;
}

#endif /* ECHOD_TEST_IPADDR_TEXT_H */
