/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_CHECK_H
#define ECHOD_HARNESS_CHECK_H

#include <sys/resource.h>

#include <check.h>

#include "harness.h"
#include "suite.h"

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
/* A UDP socket connected to the daemon's port. */
int	udp_connect_ok(struct daemon *d, int family);
/* Send buf over TCP and get it back whole. */
void	echo_ok(int fd, const void *buf, size_t len);
/* Send buf as one datagram and get it back whole. */
void	udp_echo_ok(int fd, const void *buf, size_t len);
/* Wait (HARNESS_IO_MS at most) until n TCP clients are connected. */
void	clients_ok(struct daemon *d, unsigned n);
/* Counter name from a fresh stats line. */
unsigned long long counter_ok(struct daemon *d, const char *name);
/*
 * Wait (HARNESS_IO_MS at most) until counter name is want: what another
 * thread counts, or counts after the client saw its effect.
 */
void	counter_wait_ok(struct daemon *d, const char *name,
	    unsigned long long want);
/* The daemon's stderr holds the text made from fmt (a line, or part). */
void	log_has(struct daemon *d, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * The daemon is alive and echoes a new TCP connection and a datagram
 * (resent, for a socket that may still be full) from local address src;
 * after says what it survived, for the failure message.
 */
void	serving_from(struct daemon *d, const char *src, const char *after);
/* serving_from() 127.0.0.1. */
void	still_serving(struct daemon *d, const char *after);
/* len pseudo-random bytes from seed, on the heap; the caller frees. */
unsigned char *random_buf(size_t len, uint64_t seed);
/* Run echo jobs; on failure name the first that failed and why. */
void	echo_jobs_ok(struct echo_job *jobs, size_t n, int timeout_ms);
/* Set pid's soft limit of resource; RLIM_INFINITY: up to the hard one. */
void	limit_ok(pid_t pid, int resource, rlim_t soft);
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
/* main() of an end-to-end suite: harness set up around suite_run(). */
int	harness_main(Suite *s, const char *prog);

#endif /* ECHOD_HARNESS_CHECK_H */
