/* SPDX-License-Identifier: MIT */
/*
 * Fault: memory pressure.  RLIMIT_AS on the running daemon, its current
 * size plus room for a few client stacks and sessions, stops thread
 * creation (or the session's allocation) long before max_clients.  The
 * same contract as running out of threads: the others are closed at once
 * and counted, the line is rate-limited, the kept clients lose nothing, a
 * client from another source is served throughout, and once the served
 * leave, new clients are served again.  With room for only a thread or
 * two, a client whose thread cannot be created costs that client only,
 * and once the limit is lifted the daemon serves as before.  Plain build
 * only: a sanitizer's shadow memory cannot live under RLIMIT_AS.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define SPARE_CLIENTS	16
/* A client's address space: its 64 KiB stack and guard, its session. */
#define CLIENT_BYTES	((unsigned long long)96 * 1024)

START_TEST(test_memory_exhausted)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	unsigned long long vm;
	long long vm_kb;

	start(&d, "max_clients = 1000\n");
	probe_open(&p, &d);
	vm_kb = proc_status(d.pid, "VmSize");
	ck_assert_msg(vm_kb > 0, "%s", harness_error());
	vm = (unsigned long long)vm_kb * 1024;
	daemon_limit(&d, RLIMIT_AS, vm + SPARE_CLIENTS * CLIENT_BYTES);
	printf("VmSize %llu KiB, RLIMIT_AS %llu KiB\n", vm / 1024,
	    (vm + SPARE_CLIENTS * CLIENT_BYTES) / 1024);
	refusal_ok(&d, &p, "cannot start a client thread");
	fault_end(&d, &p);
}
END_TEST

/*
 * Room for a thread or two: some of 12 clients are closed, the failure is
 * logged, and once the limit is lifted the daemon serves as before.
 */
START_TEST(test_limits_thread_failure)
{
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
}
END_TEST

static Suite *
fault_memory_suite(void)
{
	Suite	*s = suite_create("fault_memory");
	TCase	*tc = tcase_new(s, "address_space", 120);

	tcase_add_test(tc, test_memory_exhausted);
	tc = tcase_new(s, "thread", 60);
	tcase_add_test(tc, test_limits_thread_failure);
	return s;
}

int
main(void)
{
	if (HARNESS_SANITIZED)
		return fault_skip("check_fault_memory", "a sanitizer's shadow "
		    "memory cannot live under RLIMIT_AS");
	return harness_main(fault_memory_suite(), "check_fault_memory");
}
