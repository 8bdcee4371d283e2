/* SPDX-License-Identifier: MIT */
/*
 * Talking to the service manager through libsystemd: readiness, reload and
 * stop notifications, STATUS= lines, and the sockets of socket activation.
 * Built without libsystemd (ECHOD_HAVE_SYSTEMD unset), the same calls do
 * nothing, so the daemon runs unchanged where systemd is absent.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

void
notify_status(const char *fmt, ...)
{
	(void)fmt;
}

#endif /* ECHOD_HAVE_SYSTEMD */
