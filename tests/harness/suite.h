/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_SUITE_H
#define ECHOD_TEST_SUITE_H

#include <check.h>

/*
 * Running a Check suite, and skips that CTest sees.  A test that cannot
 * run here calls test_skip() and returns; the suite's other tests still
 * run, and suite_run() then exits HARNESS_SKIP (CTest's SKIP_RETURN_CODE)
 * unless one failed: a failure outranks a skip, a skip outranks a pass,
 * since the suite was not verified in full.  With ECHOD_TEST=require (CI)
 * a skip is a failure instead, so nothing skips unseen there.
 */

/* CTest's SKIP_RETURN_CODE. */
#define HARNESS_SKIP	77

/* Run s with Check's defaults (CK_FORK, CK_RUN_CASE...); main's status. */
int	suite_run(Suite *s);
/*
 * In a test: it cannot run here, for the reason from fmt.  Records the
 * skip for suite_run() and returns (the caller returns next), or fails
 * the test under ECHOD_TEST=require.
 */
void	test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * main()'s status for a whole suite that cannot run here: HARNESS_SKIP,
 * or a failure under ECHOD_TEST=require.
 */
int	harness_skip(const char *prog, const char *why);

#endif /* ECHOD_TEST_SUITE_H */
