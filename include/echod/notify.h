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
/* A one-line status for `systemctl status`. */
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* ECHOD_NOTIFY_H */
