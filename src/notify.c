/* SPDX-License-Identifier: MIT */
/*
 * Talking to the service manager through libsystemd: readiness, reload and
 * stop notifications, STATUS= lines, the watchdog, and the sockets of
 * socket activation.
 * Built without libsystemd (ECHOD_HAVE_SYSTEMD unset), the same calls do
 * nothing, so the daemon runs unchanged where systemd is absent.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef ECHOD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "echod/log.h"
#include "echod/notify.h"

#ifdef ECHOD_HAVE_SYSTEMD

/* Send one notification; a manager that went away costs a debug line. */
static void
send_state(const char *state)
{
	int	 rc = sd_notify(0, state);

	if (rc < 0) {
		errno = -rc;
		log_debug("sd_notify: cannot tell the service manager");
	}
}

bool
notify_enabled(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

int
notify_listen_fds(void)
{
	/* 1: unset LISTEN_* so children (there are none) do not inherit. */
	int	 n = sd_listen_fds(1);

	if (n < 0) {
		errno = -n;
		return -1;
	}
	return n;
}

void
notify_ready(void)
{
	char	 state[64];

	snprintf(state, sizeof(state), "READY=1\nMAINPID=%ld", (long)getpid());
	send_state(state);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char	 state[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(state);
}

void
notify_stopping(void)
{
	send_state("STOPPING=1");
}

long long
notify_watchdog_interval_ms(void)
{
	uint64_t usec = 0;

	/* 0: WATCHDOG_* stay in the environment; the UDP thread reads it. */
	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	/* Below 1 ms cannot be honoured; round up so it is not disabled. */
	return usec < 1000 ? 1 : (long long)(usec / 1000);
}

int
notify_watchdog_init(struct notify_watchdog *w, long long now_ms)
{
	uint64_t usec = 0;
	int	 rc = sd_watchdog_enabled(0, &usec);

	memset(w, 0, sizeof(*w));
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	if (rc > 0) {
		w->interval_ms = notify_watchdog_interval_ms();
		w->next_ms = now_ms;	/* first ping at once */
	}
	return 0;
}

bool
notify_watchdog_kick(struct notify_watchdog *w, long long now_ms,
    unsigned long long heartbeat)
{
	if (w->interval_ms == 0 || now_ms < w->next_ms)
		return false;
	/*
	 * The other thread did not run since the last ping: stay silent (if
	 * it hung, systemd restarts us) and look again an eighth later.
	 */
	if (heartbeat != 0 && heartbeat == w->seen) {
		w->next_ms = now_ms + (w->interval_ms + 7) / 8;
		return false;
	}
	w->seen = heartbeat;
	/* Twice per interval, as sd_watchdog_enabled(3) recommends. */
	w->next_ms = now_ms + w->interval_ms / 2;
	send_state("WATCHDOG=1");
	return true;
}

void
notify_status(const char *fmt, ...)
{
	char	 state[256];
	va_list	 ap;
	int	 n;

	if (!notify_enabled())
		return;
	n = snprintf(state, sizeof(state), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(state + n, sizeof(state) - (size_t)n, fmt, ap);
	va_end(ap);
	send_state(state);
}

#else /* !ECHOD_HAVE_SYSTEMD */

bool
notify_enabled(void)
{
	return false;
}

int
notify_listen_fds(void)
{
	return 0;
}

void
notify_ready(void)
{
}

void
notify_reloading(void)
{
}

void
notify_stopping(void)
{
}

long long
notify_watchdog_interval_ms(void)
{
	return 0;
}

int
notify_watchdog_init(struct notify_watchdog *w, long long now_ms)
{
	(void)now_ms;
	memset(w, 0, sizeof(*w));
	return 0;
}

bool
notify_watchdog_kick(struct notify_watchdog *w, long long now_ms,
    unsigned long long heartbeat)
{
	(void)w;
	(void)now_ms;
	(void)heartbeat;
	return false;
}

void
notify_status(const char *fmt, ...)
{
	(void)fmt;
}

#endif /* ECHOD_HAVE_SYSTEMD */

long long
notify_watchdog_timeout(const struct notify_watchdog *w, long long timeout,
    long long now_ms)
{
	long long left;

	if (w->interval_ms == 0)
		return timeout;
	left = w->next_ms - now_ms;
	if (left < 0)
		left = 0;
	return timeout < 0 || left < timeout ? left : timeout;
}
