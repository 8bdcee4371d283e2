/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_FAULT_H
#define ECHOD_HARNESS_FAULT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "harness_flow.h"

/*
 * What the fault-injection suites (check_fault_*.c) share, as Check
 * assertions (like harness_check.c): a well-behaved client from another
 * source that probes the daemon throughout a fault, windows that measure
 * the daemon's CPU time and log lines while it should be idle-ish, limits
 * put on the running daemon, crowds of attackers (harness_flow.h), and a
 * connection flood.
 */


#define FAULT_SRC_ATTACK	"127.0.0.1"	/* where the fault comes from */
#define FAULT_SRC_PROBE		"127.0.0.2"	/* the well-behaved source */
#define FAULT_RTT_MS		500	/* a probe's round trip, at most */
#define FAULT_CPU_PCT		20	/* of one core, in an idle-ish window */
#define FAULT_WINDOW_MS		2000	/* the window measured */
#define FAULT_LOG_PERIOD_S	5	/* the daemon's rate limit for a condition */

/* ---- the probe: one connected client from FAULT_SRC_PROBE ---- */

struct probe {
	int		 fd;
	uint64_t	 seed;		/* of the next round's payload */
	unsigned	 rounds;
	long long	 worst_ms;	/* slowest round trip so far */
	int		 fds;		/* the daemon's, the probe connected */
	int		 threads;
};

/*
 * Connect from FAULT_SRC_PROBE, echo once, and note the descriptors and
 * threads d holds then: what it must come back to after the fault.
 */
void	probe_open(struct probe *p, struct daemon *d);
/* Close the probe and stop d with SIGTERM, as stop_ok() asserts. */
void	fault_end(struct daemon *d, struct probe *p);
/* One round: random bytes echoed whole within FAULT_RTT_MS. */
void	probe_ok(struct probe *p);
/* A new connection from FAULT_SRC_PROBE echoed within FAULT_RTT_MS; its fd. */
int	newcomer_ok(int port);

/* ---- windows: probing while measuring the daemon ---- */

/* What a window saw. */
struct window {
	unsigned	 rounds;	/* probe rounds */
	long long	 worst_ms;	/* slowest probe round trip */
	long long	 cpu_ms;	/* the daemon's utime + stime */
	long long	 wall_ms;
	int		 lines;		/* log lines, stats lines aside */
};

/* Called between probe rounds with the ms it may take (the attack). */
typedef void	window_step(void *arg, int ms);

/*
 * For ms: a probe round every 100 ms, step (or a nap) in between; then
 * assert each round's bound and, with cpu, the daemon's CPU bound.
 */
void	window_ok(struct daemon *d, struct probe *p, int ms, bool cpu,
	    window_step *step, void *arg, struct window *w);
/* The daemon's log lines so far, its stats lines (SIGUSR1) not counted. */
int	log_lines(struct daemon *d);
/*
 * At most max log lines (stats aside) since log_lines() said before: a
 * fault logged in bounded lines, not one per event.
 */
void	log_lines_ok(struct daemon *d, int before, int max);
/*
 * At most one line naming a condition per FAULT_LOG_PERIOD_S since
 * since_ms (plus the first): rate-limited, not one per event.
 */
void	log_rate_ok(struct daemon *d, const char *needle, int before,
	    long long since_ms);

/* ---- the daemon's process ---- */

/* utime + stime of pid in ms, from /proc/PID/stat; -1 on error. */
long long proc_cpu_ms(pid_t pid);
/* Set both limits of resource on the running daemon. */
void	daemon_limit(struct daemon *d, int resource, unsigned long long v);
/* Poll the stats until counter name is at least min; step in between. */
unsigned long long counter_wait_ge(struct daemon *d, const char *name,
	    unsigned long long min, int timeout_ms, window_step *step,
	    void *arg);
/*
 * After the fault: tcp_clients back to clients, descriptors and threads
 * back to what they were when the probe connected (clients - 1 more of
 * each), a newcomer from FAULT_SRC_PROBE served within the bound, the
 * probe too, and an idle window within the CPU bound.
 */
void	recovered_ok(struct daemon *d, struct probe *p, unsigned clients);

/* ---- a crowd: attackers from FAULT_SRC_ATTACK that keep coming ---- */

struct crowd {
	struct flow	*f;
	size_t		 n, cap;
	size_t		 per_round;	/* added by each crowd_step() */
	int		 port;
	uint64_t	 len;		/* each sends, then holds */
	uint64_t	 seed;
};

/* Room for cap flows of len bytes each, none connected yet. */
void	crowd_init(struct crowd *c, size_t cap, int port, uint64_t len);
/* Connect k more (as far as cap allows). */
void	crowd_add(struct crowd *c, size_t k);
/* A window_step: per_round more, then pump them all for ms. */
void	crowd_step(void *arg, int ms);
/* Close all and free. */
void	crowd_free(struct crowd *c);

#define REFUSAL_CROWD	150	/* clients at once, fewer than max_clients */
#define REFUSAL_MORE	200	/* more during the window */
/*
 * Out of threads or memory (set up by the caller, max_clients above the
 * crowd): a crowd of REFUSAL_CROWD, and REFUSAL_MORE while the probe is
 * watched; those that got a thread are served whole, the others closed at
 * once and counted in tcp_refused_thread, logged (needle) at the rate
 * limit; then descriptors and threads come back and as many are served
 * again.
 */
void	refusal_ok(struct daemon *d, struct probe *p, const char *needle);

/* ---- a connection flood: processes that connect and reset ---- */

#define FLOOD_MAX	8
struct flood {
	pid_t		 pid[FLOOD_MAX];
	int		 n;
};
/*
 * nproc children connecting to 127.0.0.1:port and resetting, as
 * fast as they can, for ms or until the port refuses; they die with the
 * test.
 */
void	flood_start(struct flood *fl, int port, int nproc, int ms);
/* Kill and reap them. */
void	flood_stop(struct flood *fl);

/*
 * main() of a fault suite; a suite that cannot run here skips, and fails
 * instead when ECHOD_FAULT_TEST=require (or ECHOD_TEST=require).
 */
int	fault_skip(const char *prog, const char *why);

#endif /* ECHOD_HARNESS_FAULT_H */
