/* SPDX-License-Identifier: MIT */
/*
 * Signals: handlers only set flags (as inetd's wantdie), the signals stay
 * blocked everywhere and are let in only inside the main loop's ppoll(2),
 * so a signal can neither be missed nor interrupt a thread mid-echo.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "echod/signals.h"

static volatile sig_atomic_t pending;

static void
on_signal(int signo)
{
	switch (signo) {
	case SIGHUP:
		pending |= SIGNALS_RELOAD;
		break;
	case SIGUSR1:
		pending |= SIGNALS_STATS;
		break;
	default:
		pending |= SIGNALS_STOP;
		break;
	}
}

int
signals_init(sigset_t *waitmask)
{
	static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	struct sigaction sa;
	sigset_t block;
	size_t	 i;
	int	 rc;

	sigemptyset(&block);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaddset(&block, caught[i]);
	if ((rc = pthread_sigmask(SIG_BLOCK, &block, waitmask)) != 0) {
		errno = rc;
		return -1;
	}
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigdelset(waitmask, caught[i]);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		if (sigaction(caught[i], &sa, NULL) == -1)
			return -1;
	/* A peer that vanished must cost a send error, not the process. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int
signals_take(void)
{
	int	 got = pending;

	/* Signals are blocked outside ppoll(), so nothing races this. */
	pending = 0;
	return got;
}
