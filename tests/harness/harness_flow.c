/* SPDX-License-Identifier: MIT */
/*
 * The flow engine behind harness_flow.h: one poll(2) loop over many
 * clients, each sending a seeded pattern and checking it byte for byte as
 * it comes back, and ending (hold, close, reset) where the test said.
 */

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_flow.h"
#include "testrand.h"

#define FLOW_CHUNK	((size_t)64 * 1024)
#define FLOW_WINDOW	((uint64_t)256 * 1024)	/* in flight, reading flows */
#define STALL_MS	300		/* no progress for this long: stuck */

static unsigned char	flow_buf[FLOW_CHUNK];
static unsigned char	flow_want[FLOW_CHUNK];

/* Bytes off..off+len of the stream seed: each 8 from one test_rand(). */
static void
pattern(unsigned char *p, uint64_t seed, uint64_t off, size_t len)
{
	uint64_t st = seed + (off / 8) * 0x9e3779b97f4a7c15ULL;
	uint64_t r = test_rand(&st);
	unsigned sh = (unsigned)(off % 8);
	size_t	 i;

	for (i = 0; i < len; i++) {
		p[i] = (unsigned char)(r >> (8 * sh));
		if (++sh == 8) {
			sh = 0;
			r = test_rand(&st);
		}
	}
}

static void __attribute__((format(printf, 3, 4)))
flow_stop(struct flow *f, enum flow_state st, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	f->state = st;
	close(f->fd);
	f->fd = -1;
}

/* A reset or a broken pipe is the daemon letting go; the rest is a bug. */
static void
flow_error(struct flow *f, const char *what, int err)
{
	flow_stop(f, err == ECONNRESET || err == EPIPE ? FLOW_LOST : FLOW_BAD,
	    "%s after %llu sent, %llu echoed: %s", what,
	    (unsigned long long)f->sent, (unsigned long long)f->rcvd,
	    strerror(err));
}

static bool
flow_at_end(const struct flow *f)
{
	return f->sent >= f->end_sent && f->rcvd >= f->end_rcvd &&
	    (!f->shut_wr || f->eof);
}

static bool
flow_settled(const struct flow *f)
{
	return f->state != FLOW_OPEN || (f->end == FLOW_HOLD && flow_at_end(f));
}

/*
 * What an open flow waits for: POLLOUT, POLLIN, or 0 (idle).  A client
 * that does not read still watches for the daemon's FIN (POLLRDHUP): one
 * whose whole stream fit in the buffers has nothing left to send, so no
 * send of its own would meet the reset.  One that half-closed expects
 * that FIN, and waits for nothing once it has sent all.
 */
static short
flow_events(const struct flow *f)
{
	short	 ev = 0;

	if (f->sent < f->len && (!f->reading || f->sent - f->rcvd <
	    FLOW_WINDOW))
		ev |= POLLOUT;
	if (f->reading)
		ev |= POLLIN;
	else if (!f->shut_wr)
		ev |= POLLRDHUP;
	return ev;
}

static void
flow_apply_end(struct flow *f)
{
	if (f->state != FLOW_OPEN || !flow_at_end(f) || f->end == FLOW_HOLD)
		return;
	if (f->end == FLOW_RESET)
		tcp_reset(f->fd);
	else
		close(f->fd);
	f->fd = -1;
	f->state = FLOW_ENDED;
}

static void
flow_send(struct flow *f)
{
	uint64_t chunk = f->len - f->sent;
	ssize_t	 n;

	if (chunk > FLOW_CHUNK)
		chunk = FLOW_CHUNK;
	if (f->reading && chunk > FLOW_WINDOW - (f->sent - f->rcvd))
		chunk = FLOW_WINDOW - (f->sent - f->rcvd);
	pattern(flow_buf, f->seed, f->sent, (size_t)chunk);
	n = send(f->fd, flow_buf, (size_t)chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			flow_error(f, "send", errno);
		return;
	}
	f->sent += (uint64_t)n;
	if (f->sent == f->len && f->shut_wr && shutdown(f->fd, SHUT_WR) == -1)
		flow_error(f, "shutdown", errno);
}

static void
flow_recv(struct flow *f)
{
	ssize_t	 n = recv(f->fd, flow_buf, sizeof(flow_buf), MSG_DONTWAIT);
	uint64_t at;
	size_t	 i;

	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			flow_error(f, "recv", errno);
		return;
	}
	if (n == 0) {
		if (f->shut_wr && f->sent == f->len && f->rcvd == f->sent &&
		    !f->eof)
			f->eof = true;
		else
			flow_stop(f, FLOW_LOST, "EOF after %llu sent, %llu "
			    "echoed", (unsigned long long)f->sent,
			    (unsigned long long)f->rcvd);
		return;
	}
	at = f->rcvd + (uint64_t)n;
	if (at > f->sent) {
		flow_stop(f, FLOW_BAD, "%llu bytes echoed, %llu sent",
		    (unsigned long long)at, (unsigned long long)f->sent);
		return;
	}
	pattern(flow_want, f->seed, f->rcvd, (size_t)n);
	if (memcmp(flow_want, flow_buf, (size_t)n) != 0) {
		for (i = 0; flow_want[i] == flow_buf[i]; i++)
			;
		at = f->rcvd + i;
		flow_stop(f, FLOW_BAD, "byte %llu differs: sent 0x%02x, got "
		    "0x%02x", (unsigned long long)at, flow_want[i], flow_buf[i]);
		return;
	}
	f->rcvd += (uint64_t)n;
}

/* A client that does not read learns of a reset or a FIN from poll only. */
static void
flow_hangup(struct flow *f)
{
	socklen_t len = sizeof(int);
	int	 err = 0;

	if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		flow_error(f, "hangup", err);
	else
		flow_stop(f, FLOW_LOST, "closed by the daemon after %llu "
		    "sent, none read", (unsigned long long)f->sent);
}

void
flows_open(struct flow *f, size_t n, const char *src, int port,
    uint64_t seed, uint64_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		f[i] = (struct flow){ .seed = seed + i, .len = len,
		    .end_sent = len, .end_rcvd = len, .reading = true };
		f[i].fd = tcp_connect_src(src, port);
		ck_assert_msg(f[i].fd != -1, "flow %zu of %zu: %s", i, n,
		    harness_error());
	}
}

/* Move data for ms; until then, or (settle) until no flow is on its way. */
static size_t
pump(struct flow *f, size_t n, int ms, bool settle)
{
	long long deadline = harness_now_ms() + ms, left;
	struct pollfd *pfd = calloc(n > 0 ? n : 1, sizeof(*pfd));
	size_t	*idx = calloc(n > 0 ? n : 1, sizeof(*idx));
	size_t	 i, k, np, busy;
	int	 rc;

	ck_assert(pfd != NULL && idx != NULL);
	for (;;) {
		np = busy = 0;
		for (i = 0; i < n; i++) {
			flow_apply_end(&f[i]);
			if (f[i].state != FLOW_OPEN ||
			    (pfd[np].events = flow_events(&f[i])) == 0)
				continue;	/* a hangup would spin poll */
			pfd[np].fd = f[i].fd;
			idx[np++] = i;
			if (!flow_settled(&f[i]))
				busy++;
		}
		if ((settle && busy == 0) ||
		    (left = deadline - harness_now_ms()) <= 0)
			break;
		if ((rc = poll(pfd, np, (int)left)) == -1) {
			ck_assert_msg(errno == EINTR, "poll: %s",
			    strerror(errno));
			continue;
		}
		for (k = 0; rc > 0 && k < np; k++) {
			struct flow *fl = &f[idx[k]];
			short	 re = pfd[k].revents;

			if (re & POLLOUT)
				flow_send(fl);
			if (fl->state != FLOW_OPEN)
				continue;
			if (fl->reading && (re & (POLLIN | POLLHUP | POLLERR)))
				flow_recv(fl);
			else if (!fl->reading &&
			    (re & (POLLHUP | POLLERR | POLLRDHUP)))
				flow_hangup(fl);
		}
	}
	free(pfd);
	free(idx);
	return busy;
}

size_t
flows_pump(struct flow *f, size_t n, int ms)
{
	return pump(f, n, ms, true);
}

void
flows_watch(struct flow *f, size_t n, int ms)
{
	(void)pump(f, n, ms, false);
}

void
flows_settle(struct flow *f, size_t n, int timeout_ms)
{
	size_t	 busy = flows_pump(f, n, timeout_ms), i;

	for (i = 0; i < n && flow_settled(&f[i]); i++)
		;
	ck_assert_msg(busy == 0, "%zu of %zu flows still busy after %d ms, "
	    "e.g. flow %zu: %llu sent, %llu echoed", busy, n, timeout_ms, i,
	    i < n ? (unsigned long long)f[i].sent : 0ULL,
	    i < n ? (unsigned long long)f[i].rcvd : 0ULL);
}

void
flows_finish(struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN) {
			f[i].len = f[i].end_sent = f[i].end_rcvd = f[i].sent;
			f[i].end = FLOW_HOLD;
			f[i].reading = true;
		}
}

size_t
flows_count(const struct flow *f, size_t n, enum flow_state st)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (f[i].state == st)
			c++;
	return c;
}

size_t
flows_done(const struct flow *f, size_t n)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN && flow_settled(&f[i]))
			c++;
	return c;
}

void
flows_stall(struct flow *f, size_t n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	uint64_t before, now = 0;
	size_t	 i;

	do {
		ck_assert_msg(harness_now_ms() < deadline, "the flows still "
		    "move after %d ms", timeout_ms);
		before = now;
		(void)flows_pump(f, n, STALL_MS);
		for (now = 0, i = 0; i < n; i++)
			now += f[i].sent + f[i].rcvd;
	} while (now != before);
}

void
flows_none_bad(const struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(f[i].state != FLOW_BAD, "flow %zu of %zu: %s",
		    i, n, f[i].why);
}

void
flows_close(struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN) {
			close(f[i].fd);
			f[i].fd = -1;
			f[i].state = FLOW_ENDED;
		}
}
