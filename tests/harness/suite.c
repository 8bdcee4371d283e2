/* SPDX-License-Identifier: MIT */
/*
 * The runner every suite shares: Check with its defaults, plus skips that
 * survive CK_FORK.  A forked test cannot tell its parent anything but
 * pass or fail, so test_skip() appends a line to a memfd that the parent
 * opened before the tests forked (O_APPEND: one write is one line), and
 * suite_run() reads it back once every test has run.
 */

#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "suite.h"

static int	 skip_fd = -1;

static int
required(void)
{
	const char *req = getenv("ECHOD_TEST");

	return req != NULL && strcmp(req, "require") == 0;
}

void
test_skip(const char *fmt, ...)
{
	char	 why[512], line[600];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (required())
		ck_abort_msg("ECHOD_TEST=require, but cannot run here: %s",
		    why);
	n = snprintf(line, sizeof(line), "  %s: %s\n", tcase_name(), why);
	printf("SKIPPED in %s", line + 2);
	/* Without the memfd the skip would pass unseen: fail instead. */
	ck_assert_msg(skip_fd != -1 && n > 0 &&
	    write(skip_fd, line, strlen(line)) == (ssize_t)strlen(line),
	    "cannot record the skip (%s): %s", why, strerror(errno));
}

int
harness_skip(const char *prog, const char *why)
{
	if (required()) {
		printf("%s: FAIL: ECHOD_TEST=require, but cannot run here: "
		    "%s\n", prog, why);
		return EXIT_FAILURE;
	}
	printf("%s: SKIPPED: %s\n", prog, why);
	return HARNESS_SKIP;
}

/* What the tests recorded through test_skip(); "" if nothing. */
static void
read_skips(char *buf, size_t size)
{
	ssize_t	 n;

	n = pread(skip_fd, buf, size - 1, 0);
	buf[n > 0 ? (size_t)n : 0] = '\0';
}

int
suite_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	char	 skips[8192], why[8300];
	const char *p;
	int	 failed, ran, nskip = 0;

	skip_fd = memfd_create("echod-test-skips", MFD_CLOEXEC);
	if (skip_fd == -1 || fcntl(skip_fd, F_SETFL, O_APPEND) == -1) {
		fprintf(stderr, "%s: memfd for skips: %s\n",
		    program_invocation_short_name, strerror(errno));
		srunner_free(sr);
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	read_skips(skips, sizeof(skips));
	close(skip_fd);
	skip_fd = -1;
	if (failed > 0)
		return EXIT_FAILURE;
	if (skips[0] == '\0')
		return EXIT_SUCCESS;
	for (p = skips; (p = strchr(p, '\n')) != NULL; p++)
		nskip++;
	/* The rest passed, but the suite as a whole was not verified. */
	snprintf(why, sizeof(why), "%d of %d tests could not run (the other "
	    "%d passed):\n%s", nskip, ran, ran - nskip, skips);
	return harness_skip(program_invocation_short_name, why);
}
