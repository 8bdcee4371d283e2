/* SPDX-License-Identifier: MIT */
/*
 * A client thread that cannot be created (RLIMIT_AS lowered under the
 * running daemon) costs that client only: it is closed, the failure is
 * logged, and once room is back the daemon serves as before.  Plain build
 * only: sanitizers reserve terabytes of address space up front, so CMake
 * disables this suite in a sanitizer build.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

START_TEST(test_limits_thread_failure)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* CMake disables this suite there; run by hand, it says why. */
	test_skip("sanitizers reserve terabytes of address space: RLIMIT_AS "
	    "cannot stop a single thread");
#else
	struct daemon d = DAEMON_INIT;
	long long vm_kb;
	int	 fd[12], i, closed = 0;

	start(&d, "");
	vm_kb = proc_status(d.pid, "VmSize");
	ck_assert_msg(vm_kb > 0, "%s", harness_error());
	/* Address space for a thread or two: pthread_create fails after. */
	limit_ok(d.pid, RLIMIT_AS, (rlim_t)(vm_kb + 256) * 1024);
	for (i = 0; i < 12; i++)
		fd[i] = connect_ok(&d, AF_INET);
	for (i = 0; i < 12; i++)
		if (sock_wait_closed(fd[i], 300) == 0)
			closed++;
	ck_assert_msg(closed > 0, "every client got a thread");
	ck_assert_msg(daemon_wait_log(&d, "cannot start a client thread", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	for (i = 0; i < 12; i++)
		close(fd[i]);
	/* Room again: the daemon serves as before. */
	limit_ok(d.pid, RLIMIT_AS, RLIM_INFINITY);
	fd[0] = connect_ok(&d, AF_INET);
	echo_ok(fd[0], "back", 4);
	close(fd[0]);
	stop_ok(&d, SIGTERM);
#endif
}
END_TEST

static Suite *
thread_limit_suite(void)
{
	Suite	*s = suite_create("thread_limit");
	TCase	*tc = tcase_new(s, "limits", 60);

	tcase_add_test(tc, test_limits_thread_failure);
	return s;
}

int
main(void)
{
	return harness_main(thread_limit_suite(), "check_thread_limit");
}
