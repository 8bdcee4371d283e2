/* SPDX-License-Identifier: MIT */
/*
 * Fault: threads exhausted.  echod runs as an unprivileged user (nobody)
 * whose RLIMIT_NPROC leaves room for a few client threads only.  Clients beyond it must be closed at once and
 * counted, the rate-limited line logged, the kept ones lose nothing, a
 * client from another source connected before is served throughout, and
 * once threads come back new clients are served.  Needs root to switch to
 * a user of its own (RLIMIT_NPROC counts every thread of a user).
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define NOBODY		65534
#define START_THREADS	4	/* at least what echod starts with */
#define SPARE_THREADS	16	/* client threads the limit leaves room for */

/*
 * The pre-exec hook: become nobody under RLIMIT_NPROC *arg, and die with
 * the test still.  Set here, not with prlimit(2) on the running daemon:
 * that needs CAP_SYS_RESOURCE across users, which a container may lack.
 */
static int
as_nobody(void *arg)
{
	const rlim_t *nproc = arg;
	struct rlimit rl = { .rlim_cur = *nproc, .rlim_max = *nproc };

	if (setgroups(0, NULL) == -1 || setresgid(NOBODY, NOBODY, NOBODY) ==
	    -1 || setresuid(NOBODY, NOBODY, NOBODY) == -1 ||
	    setrlimit(RLIMIT_NPROC, &rl) == -1)
		return -1;
	/* A change of credentials clears the parent-death signal. */
	return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Threads of every process whose real uid is uid, as RLIMIT_NPROC counts. */
static int
user_threads(uid_t uid)
{
	char	 path[300], line[256];
	struct dirent *de;
	unsigned ruid;
	DIR	*dir = opendir("/proc");
	FILE	*fp;
	int	 n = 0, t, mine;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;	/* gone meanwhile */
		mine = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "Uid: %u", &ruid) == 1)
				mine = ruid == uid;
			else if (mine && sscanf(line, "Threads: %d", &t) == 1)
				n += t;
		}
		fclose(fp);
	}
	closedir(dir);
	return n;
}

START_TEST(test_threads_exhausted)
{
	struct daemon d = DAEMON_INIT;
	struct probe p;
	struct stat st;
	char	 dir[PATH_MAX];
	rlim_t	 nproc;
	int	 spare;

	/* nobody must reach the config in the harness's directory. */
	harness_tmppath(dir, sizeof(dir), ".");
	ck_assert_int_eq(chmod(dir, 0711), 0);
	/* Other processes of nobody's count too: room above all of them. */
	nproc = (rlim_t)user_threads(NOBODY) + START_THREADS + SPARE_THREADS;
	d.pre_exec = as_nobody;
	d.pre_exec_arg = &nproc;
	start(&d, "max_clients = 1000\n");
	snprintf(dir, sizeof(dir), "/proc/%d", (int)d.pid);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_uid, NOBODY);
	probe_open(&p, &d);
	spare = (int)nproc - user_threads(NOBODY);
	printf("RLIMIT_NPROC %llu: room for %d more threads\n",
	    (unsigned long long)nproc, spare);
	ck_assert_int_ge(spare, 1);
	refusal_ok(&d, &p, "cannot start a client thread");
	fault_end(&d, &p);
}
END_TEST

static Suite *
fault_threads_suite(void)
{
	Suite	*s = suite_create("fault_threads");
	TCase	*tc = tcase_new(s, "nproc", 120);

	tcase_add_test(tc, test_threads_exhausted);
	return s;
}

int
main(void)
{
	/*
	 * A cgroup's pids.max would do as well, but needs a writable cgroup
	 * v2 tree; switching to a user of its own needs root alone.
	 */
	if (geteuid() != 0)
		return fault_skip("check_fault_threads", "needs root to run "
		    "echod as nobody under its own RLIMIT_NPROC");
	return harness_main(fault_threads_suite(), "check_fault_threads");
}
