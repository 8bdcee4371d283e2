/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for signals.c: every handler runs with every caught signal
 * masked (so no handler interrupts another), each request has its own
 * flag (a SIGTERM that arrives with a SIGHUP is never lost), and signals
 * wait, blocked, until the main loop lets them in.
 */

#include <check.h>
#include <signal.h>
#include <string.h>

#include "echod/signals.h"

#include "suite.h"

static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NCAUGHT	(sizeof(caught) / sizeof(caught[0]))

START_TEST(test_handlers_mask_every_caught_signal)
{
	struct sigaction sa;
	sigset_t waitmask;
	size_t	 i, j;

	ck_assert_int_eq(signals_init(&waitmask), 0);
	for (i = 0; i < NCAUGHT; i++) {
		ck_assert_int_eq(sigaction(caught[i], NULL, &sa), 0);
		ck_assert(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
		for (j = 0; j < NCAUGHT; j++)
			ck_assert_msg(sigismember(&sa.sa_mask, caught[j]) == 1,
			    "the %s handler can be interrupted by %s",
			    strsignal(caught[i]), strsignal(caught[j]));
		/* ...and ppoll's mask lets each of them in. */
		ck_assert_int_eq(sigismember(&waitmask, caught[i]), 0);
	}
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert(sa.sa_handler == SIG_IGN);
}
END_TEST

/* Let pending signals in, as ppoll() does, then block them again. */
static void
deliver(const sigset_t *waitmask)
{
	sigset_t old;

	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, waitmask, &old), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

START_TEST(test_requests_are_not_merged)
{
	sigset_t waitmask;

	ck_assert_int_eq(signals_init(&waitmask), 0);
	ck_assert_int_eq(signals_take(), 0);
	/* Blocked: nothing is seen until the loop lets them in. */
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_int_eq(raise(SIGTERM), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(signals_take(), 0);
	deliver(&waitmask);
	ck_assert_int_eq(signals_take(),
	    SIGNALS_STOP | SIGNALS_RELOAD | SIGNALS_STATS);
	/* Taken once: cleared. */
	ck_assert_int_eq(signals_take(), 0);
	ck_assert_int_eq(raise(SIGINT), 0);
	deliver(&waitmask);
	ck_assert_int_eq(signals_take(), SIGNALS_STOP | SIGNALS_INTERRUPT);
	ck_assert_int_eq(raise(SIGHUP), 0);
	deliver(&waitmask);
	ck_assert_int_eq(signals_take(), SIGNALS_RELOAD);
}
END_TEST

/* What ppoll leaves pending when a descriptor is ready, let_in delivers. */
START_TEST(test_let_in_delivers_pending)
{
	sigset_t waitmask;

	ck_assert_int_eq(signals_init(&waitmask), 0);
	signals_let_in(&waitmask);
	ck_assert_int_eq(signals_take(), 0);
	ck_assert_int_eq(raise(SIGTERM), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(signals_take(), 0);
	signals_let_in(&waitmask);
	ck_assert_int_eq(signals_take(), SIGNALS_STOP | SIGNALS_STATS);
	/* ...and blocks them again: the next one waits. */
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_int_eq(signals_take(), 0);
	signals_let_in(&waitmask);
	ck_assert_int_eq(signals_take(), SIGNALS_RELOAD);
}
END_TEST

static Suite *
signals_suite(void)
{
	Suite	*s = suite_create("signals");
	TCase	*tc = tcase_create("flags");

	tcase_add_test(tc, test_handlers_mask_every_caught_signal);
	tcase_add_test(tc, test_requests_are_not_merged);
	tcase_add_test(tc, test_let_in_delivers_pending);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(signals_suite());
}
