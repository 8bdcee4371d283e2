/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_CHECK_H
#define ECHOD_HARNESS_CHECK_H

#include <check.h>

#include "harness.h"

/*
 * The end-to-end suites' shared steps, as Check assertions over harness.c
 * (which itself never calls Check), so tests read as the contract does.
 */

/* Every end-to-end test but the IPv6 ones serves the IPv4 loopback only. */
#define CONF_LOCAL	"listen = {\"127.0.0.1\"}\n"
#define STOP_LIMIT_MS	2000	/* the contract: exit within 2 s */

/* Start echod serving TCP and UDP on 127.0.0.1 with extra config. */
void	start(struct daemon *d, const char *extra);
/* A TCP connection to the daemon's port. */
int	connect_ok(struct daemon *d, int family);
/* Send buf over TCP and get it back whole. */
void	echo_ok(int fd, const void *buf, size_t len);
/* Send buf as one datagram and get it back whole. */
void	udp_echo_ok(int fd, const void *buf, size_t len);
/* Counter name from a fresh stats line. */
unsigned long long counter_ok(struct daemon *d, const char *name);
/*
 * Rewrite the daemon's config as "port = <port>" plus body, SIGHUP, and
 * wait for the reload's verdict line (applied or not).
 */
void	reload(struct daemon *d, const char *verdict, int port,
	    const char *body);
/*
 * Send sig and expect exit 0 within STOP_LIMIT_MS, one "stopping" and one
 * "stopped" line and no client left behind; release d.
 */
void	stop_ok(struct daemon *d, int sig);
/* A TCase in s whose tests end with harness_teardown(), timeout seconds. */
TCase	*tcase_new(Suite *s, const char *name, double timeout);
/* CTest's SKIP_RETURN_CODE. */
#define HARNESS_SKIP	77
/*
 * main()'s status for a suite that cannot run here: HARNESS_SKIP, or a
 * failure when ECHOD_TEST=require (CI), so nothing skips unseen there.
 */
int	harness_skip(const char *prog, const char *why);
/* main() of an end-to-end suite: harness set up around suite_run(). */
int	harness_main(Suite *s, const char *prog);

#endif /* ECHOD_HARNESS_CHECK_H */
