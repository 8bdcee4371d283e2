#ifndef ECHOD_NOTIFY_H
#define ECHOD_NOTIFY_H

#include <stdbool.h>

/*
 * The service manager: readiness and status (sd_notify(3)) and sockets
 * passed by socket activation (sd_listen_fds(3)).  Without libsystemd at
 * build time, or without systemd at run time, every call is inert.
 */

/* True when a service manager listens (NOTIFY_SOCKET is set). */
bool	notify_enabled(void);
/* Sockets passed to this process (from fd 3 on), 0 if none, -1 on error. */
int	notify_listen_fds(void);
/* Every socket listens: READY=1, with the main PID. */
void	notify_ready(void);
/* A reload begins: RELOADING=1 and MONOTONIC_USEC= (systemd 253+). */
void	notify_reloading(void);
/* Shutdown begins: STOPPING=1. */
void	notify_stopping(void);
/*
 * The watchdog (WatchdogSec=): pinged from the accept loop, and only while
 * a second thread (the UDP service) shows it is alive by a heartbeat that
 * advances.  interval_ms 0: systemd asked for no watchdog.
 */
struct notify_watchdog {
	long long		 interval_ms;	/* WATCHDOG_USEC, in ms */
	long long		 next_ms;	/* next ping due, monotonic */
	unsigned long long	 seen;		/* heartbeat at the last ping */
};
/* Read WATCHDOG_USEC (and WATCHDOG_PID); 0, or -1 if they are invalid. */
int	notify_watchdog_init(struct notify_watchdog *w, long long now_ms);
/* The watchdog interval in ms, 0 if there is none (for other threads). */
long long notify_watchdog_interval_ms(void);
/* Shorten a poll timeout (ms, -1 for ever) so the next ping is not late. */
long long notify_watchdog_timeout(const struct notify_watchdog *w,
	    long long timeout, long long now_ms);
/*
 * Send WATCHDOG=1 if one is due and heartbeat advanced since the last ping
 * (heartbeat 0: no other thread to watch).  True if it was sent.
 */
bool	notify_watchdog_kick(struct notify_watchdog *w, long long now_ms,
	    unsigned long long heartbeat);
/* A one-line status for `systemctl status`. */
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* ECHOD_NOTIFY_H */
