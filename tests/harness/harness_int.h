/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_INT_H
#define ECHOD_HARNESS_INT_H

#include <sys/socket.h>

#include <stddef.h>

/*
 * Internal to the harness (harness*.c), not for the suites: what its
 * files share beyond the public API in harness.h.
 */

/* Between two looks at a log, a pid or the counters, in ms. */
#define HARNESS_POLL_MS	5

/*
 * Set the message harness_error() returns, from a format; keeps errno, so
 * callers can still test it after a failure.
 */
void	harness_seterr(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Sleep ms milliseconds, resumed across signals. */
void	harness_nap(int ms);
/* SIGKILL and reap every daemon still running (harness_daemon.c). */
void	harness_kill_spawned(void);

/* ---- harness_net.c: what the client sockets share ---- */

/* The loopback of family (127.0.0.1 or ::1) at port; the length. */
socklen_t harness_loopback(int family, int port, struct sockaddr_storage *ss);
/* The loopback of family as messages print it. */
const char *harness_family_name(int family);
/* poll(2) one descriptor until deadline: revents, 0 on timeout, -1. */
int	harness_wait_fd(int fd, short events, long long deadline);
/* Bind fd to IPv4 address src, port lport (0: any); 0, or -1. */
int	harness_bind_source(int fd, const char *src, int lport);
/* Index of the first byte where a and b differ; len if none. */
size_t	harness_first_diff(const unsigned char *a, const unsigned char *b,
	    size_t len);

#endif /* ECHOD_HARNESS_INT_H */
