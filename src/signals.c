/* SPDX-License-Identifier: MIT */
/*
 * Signals: handlers only set flags (as inetd's wantdie), the signals stay
 * blocked everywhere and are let in only by the main loop (inside its
 * ppoll(2), and after a wake-up that ppoll did not let them in on), so a
 * signal can neither be missed nor interrupt a thread mid-echo.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "echod/signals.h"

/*
 * One flag per request (inetd's wantdie, wantconfig): a handler only ever
 * stores 1 into its own flag, so no signal can overwrite another's.  Every
 * caught signal is also in every handler's sa_mask, so handlers never nest.
 */
static volatile sig_atomic_t want_stop;
static volatile sig_atomic_t want_reload;
static volatile sig_atomic_t want_stats;
static volatile sig_atomic_t want_interrupt;

static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NCAUGHT	(sizeof(caught) / sizeof(caught[0]))

static void
on_signal(int signo)
{
	switch (signo) {
	case SIGHUP:
		want_reload = 1;
		break;
	case SIGUSR1:
		want_stats = 1;
		break;
	case SIGINT:
		want_interrupt = 1;
		want_stop = 1;
		break;
	default:
		want_stop = 1;
		break;
	}
}

int
signals_init(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;
	size_t	 i;
	int	 rc;

	sigemptyset(&block);
	for (i = 0; i < NCAUGHT; i++)
		sigaddset(&block, caught[i]);
	if ((rc = pthread_sigmask(SIG_BLOCK, &block, waitmask)) != 0) {
		errno = rc;
		return -1;
	}
	for (i = 0; i < NCAUGHT; i++)
		sigdelset(waitmask, caught[i]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_mask = block;
	sa.sa_handler = on_signal;
	for (i = 0; i < NCAUGHT; i++)
		if (sigaction(caught[i], &sa, NULL) == -1)
			return -1;
	/* A peer that vanished must cost a send error, not the process. */
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

void
signals_let_in(const sigset_t *waitmask)
{
	sigset_t pending, old;
	size_t	 i;

	if (sigpending(&pending) == -1)
		return;
	for (i = 0; i < NCAUGHT; i++)
		if (sigismember(&pending, caught[i]) == 1)
			break;
	if (i == NCAUGHT)
		return;
	/* Unblocked, a pending signal is delivered before the call returns. */
	(void)pthread_sigmask(SIG_SETMASK, waitmask, &old);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Read and clear one flag; signals are blocked outside ppoll(). */
static int
take(volatile sig_atomic_t *flag, int bit)
{
	if (*flag == 0)
		return 0;
	*flag = 0;
	return bit;
}

int
signals_take(void)
{
	return take(&want_stop, SIGNALS_STOP) |
	    take(&want_reload, SIGNALS_RELOAD) |
	    take(&want_stats, SIGNALS_STATS) |
	    take(&want_interrupt, SIGNALS_INTERRUPT);
}
