/* SPDX-License-Identifier: MIT */
/*
 * log.c's lifecycle events: the MESSAGE_ID table (well formed, distinct,
 * each explained by systemd/echod.catalog and nothing else in it), and
 * log_event() on a plain stream (the threshold applies, the line is the
 * usual "echod: ..." one).  The journal side runs in the system test.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "echod/log.h"

#include "suite.h"

static FILE	*sink;

static void
capture_log(void)
{
	/* Not the journal, even if ctest runs under one. */
	unsetenv("JOURNAL_STREAM");
	sink = tmpfile();
	ck_assert_ptr_nonnull(sink);
	log_init(sink, LOG_LEVEL_INFO);
}

static void
release_log(void)
{
	log_init(stderr, LOG_LEVEL_INFO);
	fclose(sink);
}

/* What the sink holds. */
static const char *
logged(void)
{
	static char buf[4096];
	size_t	 n;

	fflush(sink);
	rewind(sink);
	n = fread(buf, 1, sizeof(buf) - 1, sink);
	buf[n] = '\0';
	return buf;
}

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
	ck_assert_str_eq(logged(), "echod: started (echod x)\n"
	    "echod: reload: no\n");
}
END_TEST

START_TEST(test_event_threshold)
{
	log_set_level(LOG_LEVEL_WARNING);
	log_event(LOG_EVENT_STOP, LOG_LEVEL_INFO, "stopped");
	ck_assert_str_eq(logged(), "");
	log_event(LOG_EVENT_RELOAD_FAILED, LOG_LEVEL_ERROR, "kept");
	ck_assert_str_eq(logged(), "echod: kept\n");
}
END_TEST

START_TEST(test_event_control_bytes)
{
	/* A hostile path in a message cannot forge a second line. */
	log_event(LOG_EVENT_RELOAD, LOG_LEVEL_NOTICE, "reload: %s applied",
	    "a\nb\x1b");
	ck_assert_str_eq(logged(), "echod: reload: a?b? applied\n");
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("events");

	tcase_add_checked_fixture(tc, capture_log, release_log);
	tcase_add_test(tc, test_event_ids_well_formed);
	tcase_add_test(tc, test_catalog_matches_table);
	tcase_add_test(tc, test_event_on_stream);
	tcase_add_test(tc, test_event_threshold);
	tcase_add_test(tc, test_event_control_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(log_suite());
}
