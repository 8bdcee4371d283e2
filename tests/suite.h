/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_SUITE_H
#define ECHOD_TEST_SUITE_H

#include <stdlib.h>

#include <check.h>

/* Run s with Check's defaults (CK_FORK, CK_RUN_CASE...); main's status. */
static inline int
suite_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* ECHOD_TEST_SUITE_H */
