/* SPDX-License-Identifier: MIT */
/*
 * Fault: memory pressure.  RLIMIT_AS on the running daemon, its current
 * size plus room for a few client stacks and sessions, stops thread
 * creation (or the session's allocation) long before max_clients.  The
 * same contract as running out of threads: the others are closed at once
 * and counted, the line is rate-limited, the kept clients lose nothing, a
 * client from another source is served throughout, and once the served
 * leave, new clients are served again.
 */

#include <sys/resource.h>

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

/* VmSize of pid in bytes, from /proc/PID/status; 0 on error. */
static unsigned long long
vm_size(pid_t pid)
{
	char	 path[64], line[256];
	unsigned long long kb = 0;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	fclose(fp);
	return kb * 1024;
}

START_TEST(test_memory_exhausted)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	unsigned long long vm;

	start(&d, "max_clients = 1000\n");
	probe_open(&p, &d);
	ck_assert_uint_gt(vm = vm_size(d.pid), 0);
	daemon_limit(&d, RLIMIT_AS, vm + SPARE_CLIENTS * CLIENT_BYTES);
	printf("VmSize %llu KiB, RLIMIT_AS %llu KiB\n", vm / 1024,
	    (vm + SPARE_CLIENTS * CLIENT_BYTES) / 1024);
	refusal_ok(&d, &p, "cannot start a client thread");
	fault_end(&d, &p);
}
END_TEST

static Suite *
fault_memory_suite(void)
{
	Suite	*s = suite_create("fault_memory");
	TCase	*tc = tcase_new(s, "address_space", 120);

	tcase_add_test(tc, test_memory_exhausted);
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
