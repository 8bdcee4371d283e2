/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for notify.c's watchdog schedule, in-process: WATCHDOG_USEC
 * read once (ours only, a bad value refused), a ping every half interval
 * and only while the other thread's heartbeat advances, and the poll
 * timeout that wakes the loop in time.  A datagram socket of ours stands
 * in for systemd's; the real daemon's pings are check_notify's.  Built
 * only with libsystemd, where the watchdog exists.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "echod/monotime.h"
#include "echod/notify.h"

#include "harness.h"
#include "suite.h"

/* Failure bound for one notification to arrive. */
#define WAIT_MS		10000

static char	 sockdir[256];
static char	 sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* A datagram socket standing in for systemd's notification socket. */
static int
notify_socket(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(sockdir, sizeof(sockdir), "%s/check_watchdog.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(sockdir));
	ck_assert_int_lt(snprintf(sockpath, sizeof(sockpath), "%s/notify.sock",
	    sockdir), (int)sizeof(sockpath));
	return notify_listen(sockpath);
}

static void
teardown(void)
{
	if (*sockpath != '\0')
		unlink(sockpath);
	if (*sockdir != '\0')
		rmdir(sockdir);
	*sockpath = *sockdir = '\0';
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* Count WATCHDOG=1 datagrams arriving within ms. */
static int
count_pings(int fd, int ms)
{
	char	 msg[512];
	long long end = monotime_ms() + ms;
	int	 n = 0;

	while (notify_await(fd, "WATCHDOG=1", msg, sizeof(msg),
	    (int)(end - monotime_ms())) == 0)
		n++;
	return n;
}

START_TEST(test_watchdog_schedule)
{
	struct notify_watchdog w;
	char	 msg[64];
	int	 nfd = notify_socket();

	/* 400 ms: pings every 200 ms, only if the heartbeat advanced. */
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "400000", 1), 0);
	ck_assert_int_eq(notify_watchdog_init(&w, 1000), 0);
	ck_assert_int_eq(w.interval_ms, 400);
	ck_assert_int_eq(notify_watchdog_interval_ms(), 400);
	ck_assert(notify_watchdog_kick(&w, 1000, 5));
	ck_assert_int_eq(notify_await(nfd, "WATCHDOG=1", msg, sizeof(msg),
	    WAIT_MS), 0);
	ck_assert(!notify_watchdog_kick(&w, 1100, 6));	/* not yet due */
	ck_assert_int_eq(notify_watchdog_timeout(&w, -1, 1100), 100);
	ck_assert_int_eq(notify_watchdog_timeout(&w, 30, 1100), 30);
	ck_assert_int_eq(notify_watchdog_timeout(&w, 500, 1300), 0);
	ck_assert(notify_watchdog_kick(&w, 1200, 6));
	/* The other thread stood still: no ping, a look again soon. */
	ck_assert(!notify_watchdog_kick(&w, 1400, 6));
	ck_assert_int_eq(notify_watchdog_timeout(&w, -1, 1400), 50);
	ck_assert(!notify_watchdog_kick(&w, 1449, 7));
	ck_assert(notify_watchdog_kick(&w, 1450, 7));
	/* No other thread to watch (no UDP sockets): always alive. */
	ck_assert(notify_watchdog_kick(&w, 1650, 0));
	ck_assert(notify_watchdog_kick(&w, 1850, 0));
	ck_assert_int_eq(count_pings(nfd, 200), 4);	/* 1200 to 1850 */
	close(nfd);
}
END_TEST

START_TEST(test_watchdog_off_or_invalid)
{
	struct notify_watchdog w;
	int	 nfd = notify_socket();

	unsetenv("WATCHDOG_USEC");
	ck_assert_int_eq(notify_watchdog_init(&w, 0), 0);
	ck_assert_int_eq(w.interval_ms, 0);
	ck_assert(!notify_watchdog_kick(&w, 0, 1));
	ck_assert_int_eq(notify_watchdog_timeout(&w, -1, 0), -1);
	ck_assert_int_eq(notify_watchdog_timeout(&w, 7, 0), 7);
	/* Another process's watchdog is not ours. */
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "400000", 1), 0);
	ck_assert_int_eq(setenv("WATCHDOG_PID", "1", 1), 0);
	ck_assert_int_eq(notify_watchdog_init(&w, 0), 0);
	ck_assert_int_eq(w.interval_ms, 0);
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "soon", 1), 0);
	ck_assert_int_eq(notify_watchdog_init(&w, 0), -1);
	ck_assert_int_eq(w.interval_ms, 0);
	ck_assert_int_eq(count_pings(nfd, 100), 0);
	unsetenv("WATCHDOG_USEC");
	close(nfd);
}
END_TEST

static Suite *
watchdog_suite(void)
{
	Suite	*s = suite_create("watchdog");
	TCase	*tc = tcase_create("schedule");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_watchdog_schedule);
	tcase_add_test(tc, test_watchdog_off_or_invalid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(watchdog_suite());
}
