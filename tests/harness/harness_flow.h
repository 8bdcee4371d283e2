/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_FLOW_H
#define ECHOD_HARNESS_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Flows: many TCP clients on one poll(2) loop, as Check assertions.  Every
 * byte a flow sends is a seeded pattern, checked as it comes back, so a
 * stream of any length (32 MiB, or for ever) is verified without keeping
 * what was sent; a flow may stop reading, half-close, close or reset at a
 * chosen point.  echo_run() in harness_crowd.c is the small, buffer-backed
 * kind.
 */

enum flow_end {
	FLOW_HOLD,		/* stay connected */
	FLOW_CLOSE,		/* close(2) */
	FLOW_RESET		/* abortive close: the daemon sees a reset */
};

enum flow_state {
	FLOW_OPEN,		/* connected (at its end, when holding) */
	FLOW_ENDED,		/* closed or reset as planned */
	FLOW_LOST,		/* the daemon closed or reset it first */
	FLOW_BAD		/* a wrong byte, or an unexpected error */
};

/*
 * One client: sends len bytes of pattern(seed), checks every byte echoed,
 * and once sent >= end_sent and rcvd >= end_rcvd (and, with shut_wr, EOF
 * was seen) does what end says.  A client that is not reading never reads
 * (until the caller sets reading).  The caller may change len, end and
 * reading between pumps; state, sent, rcvd and why are the engine's.
 */
struct flow {
	int		 fd;		/* -1 once closed */
	uint64_t	 seed;
	uint64_t	 len;
	uint64_t	 end_sent;
	uint64_t	 end_rcvd;
	enum flow_end	 end;
	bool		 reading;
	bool		 shut_wr;	/* half-close once len is sent */
	bool		 eof;		/* the daemon's EOF, after all came back */
	enum flow_state	 state;
	uint64_t	 sent;
	uint64_t	 rcvd;
	char		 why[120];	/* for LOST and BAD */
};

/* A length for streams that never end on their own. */
#define FLOW_FOREVER	(UINT64_MAX / 2)

/* Connect n flows from src, each reading and holding after len bytes. */
void	flows_open(struct flow *f, size_t n, const char *src, int port,
	    uint64_t seed, uint64_t len);
/*
 * Move data for up to ms, or until no flow has anything left to do; the
 * number of flows still on their way (open, neither at their end nor idle).
 */
size_t	flows_pump(struct flow *f, size_t n, int ms);
/*
 * Move data for ms even when every flow is settled: a holding flow sees
 * the daemon close it only while it is polled.
 */
void	flows_watch(struct flow *f, size_t n, int ms);
/* Pump until no flow is on its way; fails the test after timeout_ms. */
void	flows_settle(struct flow *f, size_t n, int timeout_ms);
/* Stop sending: each open flow holds once what it sent came back. */
void	flows_finish(struct flow *f, size_t n);
/* Flows in state st. */
size_t	flows_count(const struct flow *f, size_t n, enum flow_state st);
/* Open flows that reached their end (and hold). */
size_t	flows_done(const struct flow *f, size_t n);
/* Pump until no byte moves any more (non-readers stuck); bounded. */
void	flows_stall(struct flow *f, size_t n, int timeout_ms);
/* Fail the test if any flow is BAD, naming the first. */
void	flows_none_bad(const struct flow *f, size_t n);
/* Close every open flow (as planned: ENDED). */
void	flows_close(struct flow *f, size_t n);

#endif /* ECHOD_HARNESS_FLOW_H */
