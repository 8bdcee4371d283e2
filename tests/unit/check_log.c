/* SPDX-License-Identifier: MIT */
/*
 * log.c: the lifecycle events' MESSAGE_ID table (well formed, distinct,
 * each explained by systemd/echod.catalog and nothing else in it) and
 * log_event() on a plain stream; the rate limiter; the "<N>" priority
 * prefix when stderr is the journal's stream (JOURNAL_STREAM) and only
 * then; a line too long is cut but stays one line.  Lines under contention
 * are check_log_lines; the journal itself runs in the system test.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "echod/log.h"

#include "logcap.h"
#include "suite.h"

START_TEST(test_event_ids_well_formed)
{
	const char *id, *other;
	int	 ev, j;

	for (ev = 0; ev < LOG_EVENT_COUNT; ev++) {
		id = log_event_id((enum log_event)ev);
		ck_assert_ptr_nonnull(id);
		ck_assert_uint_eq(strlen(id), 32);
		for (j = 0; j < 32; j++)
			ck_assert_msg(isxdigit((unsigned char)id[j]) &&
			    !isupper((unsigned char)id[j]), "event %d: %s",
			    ev, id);
		for (j = 0; j < ev; j++) {
			other = log_event_id((enum log_event)j);
			ck_assert_msg(strcmp(id, other) != 0,
			    "events %d and %d share %s", j, ev, id);
		}
	}
	ck_assert_ptr_null(log_event_id(LOG_EVENT_COUNT));
	ck_assert_ptr_null(log_event_id((enum log_event)-1));
}
END_TEST

START_TEST(test_catalog_matches_table)
{
	const char *src = getenv("ECHOD_SOURCE_DIR");
	char	 path[4096], line[256];
	int	 ev, found[LOG_EVENT_COUNT] = { 0 }, entries = 0;
	FILE	*fp;

	ck_assert_msg(src != NULL, "ECHOD_SOURCE_DIR not set (CTest sets it)");
	snprintf(path, sizeof(path), "%s/systemd/echod.catalog", src);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "-- ", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		entries++;
		for (ev = 0; ev < LOG_EVENT_COUNT; ev++)
			if (strcmp(line + 3, log_event_id((enum log_event)ev))
			    == 0)
				found[ev]++;
	}
	fclose(fp);
	for (ev = 0; ev < LOG_EVENT_COUNT; ev++)
		ck_assert_msg(found[ev] == 1, "%s: %d entries for %s", path,
		    found[ev], log_event_id((enum log_event)ev));
	ck_assert_msg(entries == LOG_EVENT_COUNT, "%s: %d entries, %d events",
	    path, entries, LOG_EVENT_COUNT);
}
END_TEST

START_TEST(test_event_on_stream)
{
	log_event(LOG_EVENT_START, LOG_LEVEL_INFO, "started (echod %s)", "x");
	log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR, "reload: %s", "no");
	ck_assert_str_eq(logcap_text(), "echod: started (echod x)\n"
	    "echod: reload: no\n");
}
END_TEST

START_TEST(test_event_threshold)
{
	log_set_level(LOG_LEVEL_WARNING);
	log_event(LOG_EVENT_STOP, LOG_LEVEL_INFO, "stopped");
	ck_assert_str_eq(logcap_text(), "");
	log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR, "kept");
	ck_assert_str_eq(logcap_text(), "echod: kept\n");
}
END_TEST

START_TEST(test_event_control_bytes)
{
	/* A hostile path in a message cannot forge a second line. */
	log_event(LOG_EVENT_RELOAD, LOG_LEVEL_NOTICE, "reload: %s applied",
	    "a\nb\x1b");
	ck_assert_str_eq(logcap_text(), "echod: reload: a?b? applied\n");
}
END_TEST

/* Deterministic: the window is rl->next, which the test moves. */
START_TEST(test_ratelimit_counts)
{
	struct log_ratelimit rl = { 0, 0 };
	struct timespec t0, t1;
	unsigned long sup = 99;
	int	 i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert(log_ratelimit_pass(&rl, 1000, &sup));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(sup, 0);
	ck_assert(rl.next >= t0.tv_sec + 1000 && rl.next <= t1.tv_sec + 1000);
	for (i = 0; i < 5; i++)
		ck_assert(!log_ratelimit_pass(&rl, 1000, &sup));
	ck_assert_uint_eq(sup, 0);	/* untouched while refused */
	ck_assert_uint_eq(rl.suppressed, 5);
	rl.next = 0;			/* the window is over */
	ck_assert(log_ratelimit_pass(&rl, 1000, &sup));
	ck_assert_uint_eq(sup, 5);
	ck_assert_uint_eq(rl.suppressed, 0);
}
END_TEST

/* On the clock: one pass a second, the refusals in between reported. */
START_TEST(test_ratelimit_interval)
{
	struct timespec nap = { 0, 5 * 1000000L }, t0, t1;
	struct log_ratelimit rl = { 0, 0 };
	unsigned long sup = 0, refused = 0;
	long long ms;

	ck_assert(log_ratelimit_pass(&rl, 1, &sup));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000LL +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		ck_assert_msg(ms < 3000, "no pass within 3 s");
		if (log_ratelimit_pass(&rl, 1, &sup))
			break;
		refused++;
		(void)nanosleep(&nap, NULL);
	} while (1);
	/* next is whole seconds: the window ends within one. */
	ck_assert_msg(ms <= 1100, "passed again after %lld ms", ms);
	ck_assert_uint_eq(sup, refused);
}
END_TEST

/* fp is the journal's stream: JOURNAL_STREAM names its device:inode. */
static void
journal_is(FILE *fp)
{
	struct stat st;
	char	 env[64];

	ck_assert_int_eq(fstat(fileno(fp), &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	ck_assert_int_eq(setenv("JOURNAL_STREAM", env, 1), 0);
}

/* What fp holds. */
static const char *
contents(FILE *fp)
{
	static char buf[4096];
	size_t	 n;

	fflush(fp);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_journal_prefix)
{
	static const char *const not_journal[] = { "", "1", "1:", ":1",
	    "x:1", "1:2x", "99999999999999999999999:1" };
	FILE	*fp = tmpfile(), *other = tmpfile();
	size_t	 i;

	ck_assert(fp != NULL && other != NULL);
	journal_is(fp);
	log_init(fp, LOG_LEVEL_DEBUG);
	log_errx("e");
	log_warnx("w");
	log_notice("n");
	log_info("i");
	log_debug("d");
	errno = ENOENT;
	log_warn("x");
	ck_assert_str_eq(contents(fp), "<3>e\n<4>w\n<5>n\n<6>i\n<7>d\n"
	    "<4>x: No such file or directory\n");
	/* Another file under the same variable is not the journal. */
	log_init(other, LOG_LEVEL_INFO);
	log_info("plain");
	ck_assert_str_eq(contents(other), "echod: plain\n");
	for (i = 0; i < sizeof(not_journal) / sizeof(not_journal[0]); i++) {
		ck_assert_int_eq(setenv("JOURNAL_STREAM", not_journal[i], 1),
		    0);
		ck_assert(ftruncate(fileno(fp), 0) == 0 &&
		    lseek(fileno(fp), 0, SEEK_SET) == 0);
		log_init(fp, LOG_LEVEL_INFO);
		log_info("p");
		ck_assert_msg(strcmp(contents(fp), "echod: p\n") == 0,
		    "JOURNAL_STREAM='%s': '%s'", not_journal[i], contents(fp));
	}
	unsetenv("JOURNAL_STREAM");
	log_init(stderr, LOG_LEVEL_INFO);
	fclose(fp);
	fclose(other);
}
END_TEST

/* Longer than LOG_LINE_MAX (2048): cut, but still one line. */
START_TEST(test_long_line_truncated)
{
	static char big[5000], want[2048];

	memset(big, 'x', sizeof(big) - 1);
	log_info("%s", big);
	/* 2,046 bytes of text and the newline. */
	snprintf(want, sizeof(want), "echod: %.*s\n", 2046 - 7, big);
	ck_assert_str_eq(logcap_text(), want);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("events");

	tcase_add_checked_fixture(tc, logcap_start, logcap_stop);
	tcase_add_test(tc, test_event_ids_well_formed);
	tcase_add_test(tc, test_catalog_matches_table);
	tcase_add_test(tc, test_event_on_stream);
	tcase_add_test(tc, test_event_threshold);
	tcase_add_test(tc, test_event_control_bytes);
	tcase_add_test(tc, test_ratelimit_counts);
	tcase_add_test(tc, test_ratelimit_interval);
	tcase_add_test(tc, test_journal_prefix);
	tcase_add_test(tc, test_long_line_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(log_suite());
}
