/* SPDX-License-Identifier: MIT */
/*
 * The config file as untrusted bytes, end to end on the real binary: only
 * regular files are read (a fifo never blocks), NUL bytes, over-long lists
 * and over-large files are refused with file:line and in bounded time.
 * The command line that reads it (-t, -T, -q) is check_cli's.
 */

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

/* Write len bytes of text to a temp file; its path in path. */
static void
write_bytes(char *path, size_t size, const char *name, const char *text,
    size_t len)
{
	FILE	*fp;

	harness_tmppath(path, size, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* echod -t -c path: the exit code, within HARNESS_IO_MS. */
static int
check_file(struct daemon *d, const char *path)
{
	const char *args[] = { "-t", "-c", path, NULL };
	int	 rc = daemon_run(d, args, HARNESS_IO_MS);

	ck_assert_msg(rc != -1, "echod -t did not finish: %s", harness_error());
	return rc;
}

/* stderr holds "path<suffix>". */
static void
assert_logged(struct daemon *d, const char *path, const char *suffix)
{
	log_has(d, "%s%s", path, suffix);
}

START_TEST(test_fifo_refused_unread)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	long long t0;

	harness_tmppath(path, sizeof(path), "fifo.conf");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	t0 = harness_now_ms();
	/* Nobody writes the fifo: a read would hang for ever. */
	ck_assert_int_eq(check_file(&d, path), 78);
	ck_assert_int_lt(harness_now_ms() - t0, 2000);
	assert_logged(&d, path, ": a fifo, not a regular file");
	assert_logged(&d, path, " could not be read");
	daemon_free(&d);
}
END_TEST

START_TEST(test_nul_outside_string)
{
	static const char text[] = "port = 7\n\n\0bogus\n";
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];

	write_bytes(path, sizeof(path), "nul1.conf", text, sizeof(text) - 1);
	ck_assert_int_eq(check_file(&d, path), 78);
	assert_logged(&d, path, ":3: NUL byte: not a text file");
	assert_logged(&d, path, " is invalid");
	daemon_free(&d);
}
END_TEST

START_TEST(test_nul_inside_string)
{
	static const char text[] =
	    "port = 7\nlisten = {\"127.0.0.1\0garbage\"}\n";
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];

	write_bytes(path, sizeof(path), "nul2.conf", text, sizeof(text) - 1);
	/* It used to be accepted as listen = {"127.0.0.1"}. */
	ck_assert_int_eq(check_file(&d, path), 78);
	assert_logged(&d, path, ":2: NUL byte: not a text file");
	daemon_free(&d);
}
END_TEST

/* 40,000 list entries: refused at the 17th, in well under a second. */
START_TEST(test_long_list_linear)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	size_t	 size = 40000 * 16 + 64, len;
	char	*text = malloc(size);
	long long t0;
	int	 i;

	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, size, "listen = {");
	for (i = 0; i < 40000; i++)
		len += (size_t)snprintf(text + len, size - len,
		    "%s\"10.%d.%d.1\"", i > 0 ? "," : "", i / 256, i % 256);
	len += (size_t)snprintf(text + len, size - len, "}\n");
	write_bytes(path, sizeof(path), "list.conf", text, len);
	free(text);
	t0 = harness_now_ms();
	ck_assert_int_eq(check_file(&d, path), 78);
	ck_assert_int_lt(harness_now_ms() - t0, 1000);
	assert_logged(&d, path, ":1: listen: more than 16 addresses");
	daemon_free(&d);
}
END_TEST

START_TEST(test_too_large)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	FILE	*fp;

	harness_tmppath(path, sizeof(path), "large.conf");
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	/* A sparse 2 MiB file: the cap, not the contents, refuses it. */
	ck_assert_int_eq(ftruncate(fileno(fp), 2 << 20), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(check_file(&d, path), 78);
	assert_logged(&d, path, ": larger than 1048576 bytes");
	daemon_free(&d);
}
END_TEST

static Suite *
conffile_suite(void)
{
	Suite	*s = suite_create("conffile");
	TCase	*tc = tcase_new(s, "untrusted", 60);

	tcase_add_test(tc, test_fifo_refused_unread);
	tcase_add_test(tc, test_nul_outside_string);
	tcase_add_test(tc, test_nul_inside_string);
	tcase_add_test(tc, test_long_list_linear);
	tcase_add_test(tc, test_too_large);
	return s;
}

int
main(void)
{
	return harness_main(conffile_suite(), "check_conffile");
}
