/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for tunables_merge(), in-process: echod's glibc tunables go
 * first into GLIBC_TUNABLES, the environment's own choice of one of them
 * stands, the others it names are kept, and a value that does not fit is
 * ENAMETOOLONG.  The daemon running with them is check_tunables'.
 */

#include <errno.h>
#include <string.h>

#include <check.h>

#include "echod/tunables.h"

#include "suite.h"

START_TEST(test_merge)
{
	char	 buf[256];

	ck_assert_int_eq(tunables_merge(NULL, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, TUNABLES_ECHOD);
	ck_assert_int_eq(tunables_merge("", buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, TUNABLES_ECHOD);
	/* Ours first: glibc 2.36 shows only the first after the exec. */
	ck_assert_int_eq(tunables_merge("glibc.malloc.tcache_count=7", buf,
	    sizeof(buf)), 1);
	ck_assert_str_eq(buf, TUNABLES_ECHOD ":glibc.malloc.tcache_count=7");
	/* A name that only starts like one of ours is not ours. */
	ck_assert_int_eq(tunables_merge("glibc.rtld.nnsx=1", buf,
	    sizeof(buf)), 1);
	ck_assert_int_eq(tunables_merge("glibc.rtld.optional_static_tls=512",
	    buf, sizeof(buf)), 0);
	ck_assert_int_eq(tunables_merge("a=1:glibc.rtld.nns=2:b=2", buf,
	    sizeof(buf)), 0);
	errno = 0;
	ck_assert_int_eq(tunables_merge("glibc.malloc.tcache_count=7", buf,
	    sizeof(TUNABLES_ECHOD) + 4), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

static Suite *
tunables_merge_suite(void)
{
	Suite	*s = suite_create("tunables_merge");
	TCase	*tc = tcase_create("merge");

	tcase_add_test(tc, test_merge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(tunables_merge_suite());
}
