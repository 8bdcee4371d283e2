/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the metrics page (exposition.c) and what feeds it: every
 * family of the counters table written once with its HELP and TYPE, the
 * contract's names, escaping of help text and label values, the
 * OpenMetrics variant (no _total in TYPE, # EOF last), the histogram, the
 * Accept negotiation, the table's own consistency, and the /proc parsers.
 */

#include <check.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echod/counters.h"
#include "echod/exposition.h"
#include "echod/procstat.h"

#include "suite.h"

/* A page of known values: row i counts i + 1. */
static char *
render(enum exposition_format f, const char *version)
{
	struct exposition_input in = { .version = version, .reload_ok = true,
	    .max_clients = 1024,
	    .reload_success = 1700000000, .have_proc = true };
	char	*page;
	size_t	 i, len;

	for (i = 0; i < CTR_COUNT; i++)
		in.v[i] = i + 1;
	in.hist.bucket[0] = 2;		/* 2 under 10 ms */
	in.hist.bucket[3] = 1;		/* 1 under 1 s */
	in.hist.bucket[COUNTER_HIST_BUCKETS - 1] = 1;	/* 1 over an hour */
	in.hist.count = 4;
	in.hist.sum_ms = 7200123;
	in.proc = (struct procstat){ .start_time_ms = 1700000000250,
	    .cpu_ms = 1500, .rss_bytes = 4096, .vsize_bytes = 8192,
	    .open_fds = 9, .max_fds = 1024 };
	page = exposition_render(&in, f, &len);
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_eq(len, strlen(page));
	return page;
}

/* Lines of page that start with prefix. */
static int
count_lines(const char *page, const char *prefix)
{
	const char *p;
	size_t	 n = strlen(prefix);
	int	 c = 0;

	for (p = page; p != NULL && *p != '\0'; ) {
		if (strncmp(p, prefix, n) == 0)
			c++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return c;
}

/* The page has exactly this line. */
static void
has_line(const char *page, const char *line)
{
	char	 want[512];

	snprintf(want, sizeof(want), "%s\n", line);
	ck_assert_msg(count_lines(page, want) == 1, "no line '%s' in:\n%s",
	    line, page);
}

START_TEST(test_contract_names)
{
	static const char *const lines[] = {
		"# TYPE echod_tcp_clients gauge",
		"# TYPE echod_tcp_accepted_total counter",
		"# TYPE echod_tcp_bytes_received_total counter",
		"# TYPE echod_tcp_bytes_sent_total counter",
		"# TYPE echod_udp_datagrams_received_total counter",
		"# TYPE echod_udp_datagrams_sent_total counter",
		"# TYPE echod_udp_bytes_received_total counter",
		"# TYPE echod_udp_bytes_sent_total counter",
		"# TYPE echod_reloads_total counter",
		"# TYPE echod_reloads_failed_total counter",
		"# TYPE echod_tcp_refused_total counter",
		"# TYPE echod_udp_dropped_total counter",
		"# TYPE echod_build_info gauge",
		"# TYPE echod_config_last_reload_successful gauge",
		"# TYPE echod_tcp_max_clients gauge",
		"# TYPE echod_config_last_reload_success_timestamp_seconds gauge",
		"# TYPE echod_tcp_connection_duration_seconds histogram",
		"# TYPE process_start_time_seconds gauge",
		"# TYPE process_cpu_seconds_total counter",
		"# TYPE process_resident_memory_bytes gauge",
		"# TYPE process_open_fds gauge",
		"# TYPE process_max_fds gauge",
		"# TYPE process_virtual_memory_bytes gauge",
	};
	char	*page = render(EXPOSITION_TEXT, "1.2.3");
	char	 line[128];
	size_t	 i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		has_line(page, lines[i]);
	snprintf(line, sizeof(line), "echod_tcp_accepted_total %d",
	    CTR_TCP_ACCEPTED + 1);
	has_line(page, line);
	snprintf(line, sizeof(line), "echod_tcp_clients %d",
	    CTR_TCP_CLIENTS + 1);
	has_line(page, line);
	snprintf(line, sizeof(line), "echod_udp_datagrams_received_total %d",
	    CTR_UDP_DATAGRAMS_IN + 1);
	has_line(page, line);
	snprintf(line, sizeof(line),
	    "echod_tcp_refused_total{reason=\"max_clients\"} %d",
	    CTR_TCP_REFUSED_MAX_CLIENTS + 1);
	has_line(page, line);
	static const char *const reasons[] = { "max_clients", "per_source",
	    "connect_rate", "acl", "thread", "proxy_header" };
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		snprintf(line, sizeof(line),
		    "echod_tcp_refused_total{reason=\"%s\"} ", reasons[i]);
		ck_assert_int_eq(count_lines(page, line), 1);
	}
	static const char *const drops[] = { "loop_guard", "acl",
	    "rate_limit" };
	for (i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		snprintf(line, sizeof(line),
		    "echod_udp_dropped_total{reason=\"%s\"} ", drops[i]);
		ck_assert_int_eq(count_lines(page, line), 1);
	}
	ck_assert_int_eq(count_lines(page,
	    "echod_udp_loop_guard_dropped_total{rule=\"port_zero\"} "), 1);
	has_line(page, "echod_build_info{version=\"1.2.3\"} 1");
	has_line(page, "echod_config_last_reload_successful 1");
	has_line(page, "echod_tcp_max_clients 1024");
	has_line(page, "echod_config_last_reload_success_timestamp_seconds "
	    "1700000000");
	has_line(page, "process_cpu_seconds_total 1.500");
	has_line(page, "process_start_time_seconds 1700000000.250");
	has_line(page, "process_open_fds 9");
	ck_assert_int_eq(count_lines(page, "# EOF"), 0);
	free(page);
}
END_TEST

/* Every row of the table is on the page, in the family it names. */
START_TEST(test_every_row_once)
{
	struct counter_meta m;
	char	*page = render(EXPOSITION_TEXT, "1"), line[256];
	size_t	 i;

	for (i = 0; i < CTR_COUNT; i++) {
		counters_meta((enum counter_id)i, &m);
		if (m.label != NULL)
			snprintf(line, sizeof(line), "echod_%s%s{%s=\"%s\"} %zu",
			    m.family, m.type == COUNTER_TYPE_COUNTER ?
			    "_total" : "", m.label, m.value, i + 1);
		else
			snprintf(line, sizeof(line), "echod_%s%s %zu",
			    m.family, m.type == COUNTER_TYPE_COUNTER ?
			    "_total" : "", i + 1);
		has_line(page, line);
	}
	free(page);
}
END_TEST

/* One HELP and one TYPE per family, HELP first, samples after them. */
START_TEST(test_every_family_once)
{
	enum exposition_format f = (enum exposition_format)_i;
	char	*page = render(f, "1"), line[512], name[160], want[200];
	char	 cur[160] = "";
	const char *p, *nl;
	int	 types = 0, helps = 0;

	for (p = page; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (sscanf(line, "# TYPE %159s", name) == 1) {
			types++;
			snprintf(want, sizeof(want), "# TYPE %s ", name);
			ck_assert_msg(count_lines(page, want) == 1,
			    "TYPE %s twice", name);
		} else if (sscanf(line, "# HELP %159s", name) == 1) {
			helps++;
			snprintf(cur, sizeof(cur), "%s", name);
		} else if (line[0] != '#') {
			/* A sample of the family declared last. */
			ck_assert_msg(strncmp(line, cur, strlen(cur)) == 0 &&
			    cur[0] != '\0', "sample '%s' outside its family",
			    line);
		}
	}
	ck_assert_int_eq(types, helps);
	ck_assert_int_gt(types, 20);
	free(page);
}
END_TEST

START_TEST(test_openmetrics)
{
	char	*page = render(EXPOSITION_OPENMETRICS, "1");
	size_t	 len = strlen(page);

	ck_assert_uint_gt(len, 6);
	ck_assert_str_eq(page + len - 6, "# EOF\n");
	ck_assert_int_eq(count_lines(page, "# EOF"), 1);
	/* Counters: the family without _total, the samples with it. */
	has_line(page, "# TYPE echod_tcp_accepted counter");
	ck_assert_int_eq(count_lines(page, "# TYPE echod_tcp_accepted_total"),
	    0);
	ck_assert_int_eq(count_lines(page, "echod_tcp_accepted_total "), 1);
	has_line(page, "# TYPE process_cpu_seconds counter");
	has_line(page, "# UNIT process_cpu_seconds seconds");
	has_line(page, "# UNIT echod_tcp_connection_duration_seconds "
	    "seconds");
	has_line(page, "# TYPE echod_build info");
	has_line(page, "echod_build_info{version=\"1\"} 1");
	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"1.0\"} 3");
	/* HELP escapes the double quote too. */
	ck_assert_ptr_nonnull(strstr(page,
	    "{reason=\\\"loop_guard\\\"})\n"));
	free(page);
}
END_TEST

START_TEST(test_histogram)
{
	char	*page = render(EXPOSITION_TEXT, "1");

	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"0.01\"} 2");
	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"0.5\"} 2");
	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"1\"} 3");
	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"3600\"} 3");
	has_line(page, "echod_tcp_connection_duration_seconds_bucket"
	    "{le=\"+Inf\"} 4");
	has_line(page, "echod_tcp_connection_duration_seconds_count 4");
	has_line(page, "echod_tcp_connection_duration_seconds_sum 7200.123");
	ck_assert_int_eq(count_lines(page,
	    "echod_tcp_connection_duration_seconds_bucket"),
	    COUNTER_HIST_BUCKETS);
	free(page);
}
END_TEST

START_TEST(test_escaping)
{
	char	 buf[64], *page;

	ck_assert_uint_eq(exposition_escape("a\\b\nc\"d", true, buf,
	    sizeof(buf)), 10);
	ck_assert_str_eq(buf, "a\\\\b\\nc\\\"d");
	ck_assert_uint_eq(exposition_escape("a\\b\nc\"d", false, buf,
	    sizeof(buf)), 9);
	ck_assert_str_eq(buf, "a\\\\b\\nc\"d");
	/* A short buffer: cut, ended, and the length it needed. */
	ck_assert_uint_eq(exposition_escape("\\\\\\\\", true, buf, 4), 8);
	ck_assert_str_eq(buf, "\\\\\\");
	ck_assert_uint_eq(exposition_escape("", true, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	/* Label values on the page, in both formats. */
	page = render(EXPOSITION_TEXT, "v\"1\\\n");
	has_line(page, "echod_build_info{version=\"v\\\"1\\\\\\n\"} 1");
	free(page);
	page = render(EXPOSITION_OPENMETRICS, "v\"1\\\n");
	has_line(page, "echod_build_info{version=\"v\\\"1\\\\\\n\"} 1");
	free(page);
	/* The text format's HELP keeps the double quote as it is. */
	page = render(EXPOSITION_TEXT, "1");
	ck_assert_ptr_nonnull(strstr(page, "{reason=\"loop_guard\"})\n"));
	free(page);
}
END_TEST

START_TEST(test_negotiate)
{
	/* What Prometheus 2.x sends. */
	ck_assert_int_eq(exposition_negotiate("application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
	    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
	    EXPOSITION_OPENMETRICS);
	ck_assert_int_eq(exposition_negotiate(NULL), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(""), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate("*/*"), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate("text/plain"), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(
	    "Application/OpenMetrics-Text; version=1.0.0"),
	    EXPOSITION_OPENMETRICS);
	ck_assert_int_eq(exposition_negotiate(
	    "application/openmetrics-text;q=0"), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(
	    "application/openmetrics-text;q=0.000"), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(
	    "application/openmetrics-text;q=0.5, text/plain"),
	    EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(
	    "text/plain;q=0.2, application/openmetrics-text;q=0.5"),
	    EXPOSITION_OPENMETRICS);
	/* Not the type, only a prefix of it. */
	ck_assert_int_eq(exposition_negotiate(
	    "application/openmetrics-textual"), EXPOSITION_TEXT);
	ck_assert_int_eq(exposition_negotiate(",,;q=;,"), EXPOSITION_TEXT);
	ck_assert_str_eq(exposition_content_type(EXPOSITION_TEXT),
	    "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_str_eq(exposition_content_type(EXPOSITION_OPENMETRICS),
	    "application/openmetrics-text; version=1.0.0; charset=utf-8");
}
END_TEST

static bool
valid_name(const char *s, bool label)
{
	if (s == NULL || !(isalpha((unsigned char)*s) || *s == '_' ||
	    (!label && *s == ':')))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' ||
		    (!label && *s == ':')))
			return false;
	return true;
}

/*
 * The table's rows sort into families that agree: one type and one label
 * name per family, a value per labelled row, no value twice, legal names.
 */
START_TEST(test_table_consistent)
{
	struct counter_meta a, b;
	size_t	 i, j;

	for (i = 0; i < CTR_COUNT; i++) {
		counters_meta((enum counter_id)i, &a);
		ck_assert_msg(valid_name(a.family, false), "row %zu: family "
		    "'%s'", i, a.family);
		ck_assert_msg(a.help != NULL && a.help[0] != '\0',
		    "row %zu: no help", i);
		ck_assert_msg(a.label == NULL || (valid_name(a.label, true) &&
		    a.value != NULL && a.value[0] != '\0'), "row %zu: label",
		    i);
		for (j = i + 1; j < CTR_COUNT; j++) {
			counters_meta((enum counter_id)j, &b);
			if (strcmp(a.family, b.family) != 0)
				continue;
			ck_assert_msg(a.type == b.type && a.label != NULL &&
			    b.label != NULL && strcmp(a.label, b.label) == 0,
			    "rows %zu and %zu share %s but not its type and "
			    "label", i, j, a.family);
			ck_assert_msg(strcmp(a.value, b.value) != 0,
			    "rows %zu and %zu: %s{%s=\"%s\"} twice", i, j,
			    a.family, a.label, a.value);
			ck_assert_str_eq(a.help, b.help);
		}
	}
}
END_TEST

START_TEST(test_procstat_parse)
{
	/* A command name with spaces and a ')' of its own. */
	static const char stat[] = "4242 (ech) od x) S 1 4242 4242 0 -1 "
	    "4194560 100 0 0 0 250 50 0 0 20 0 3 0 123456 10485760 300 "
	    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
	uint64_t start = 0, cpu = 0, vsize = 0, rss = 0, btime = 0;

	ck_assert_int_eq(procstat_parse_stat(stat, &start, &cpu, &vsize,
	    &rss), 0);
	ck_assert_uint_eq(start, 123456);
	ck_assert_uint_eq(cpu, 300);
	ck_assert_uint_eq(vsize, 10485760);
	ck_assert_uint_eq(rss, 300);
	ck_assert_int_eq(procstat_parse_stat("4242 (echod) S 1 2", &start,
	    &cpu, &vsize, &rss), -1);
	ck_assert_int_eq(procstat_parse_stat("no parenthesis", &start, &cpu,
	    &vsize, &rss), -1);
	ck_assert_int_eq(procstat_parse_btime("cpu 1 2 3\nintr 5 6\n"
	    "btime 1700000000\nprocesses 9\n", &btime), 0);
	ck_assert_uint_eq(btime, 1700000000);
	ck_assert_int_eq(procstat_parse_btime("cpu 1\nbtime x\n", &btime), -1);
	ck_assert_int_eq(procstat_parse_btime("", &btime), -1);
}
END_TEST

START_TEST(test_procstat_read)
{
	struct procstat p;

	ck_assert_int_eq(procstat_read(&p), 0);
	ck_assert_uint_gt(p.rss_bytes, 0);
	ck_assert_uint_ge(p.vsize_bytes, p.rss_bytes);
	ck_assert_uint_ge(p.open_fds, 3);
	ck_assert_uint_gt(p.max_fds, p.open_fds);
	/* Started after 2020 and not in the future of the clock. */
	ck_assert_uint_gt(p.start_time_ms, 1577836800000ULL);
}
END_TEST

/* A row the export table does not name is a family of its own. */
START_TEST(test_meta_defaults)
{
	struct counter_meta m;

	counters_meta(CTR_TCP_ACCEPT_ERRORS, &m);
	ck_assert_str_eq(m.family, "tcp_accept_errors");
	ck_assert_str_eq(m.help, counters_help(CTR_TCP_ACCEPT_ERRORS));
	ck_assert_ptr_null(m.label);
	ck_assert_int_eq(m.type, COUNTER_TYPE_COUNTER);
	counters_meta(CTR_TCP_CLIENTS_PEAK, &m);
	ck_assert_str_eq(m.family, "tcp_clients_peak");
	ck_assert_int_eq(m.type, COUNTER_TYPE_GAUGE);
	counters_meta(CTR_TCP_THREADS_STARTED, &m);
	ck_assert_int_eq(m.type, COUNTER_TYPE_COUNTER);
	counters_meta(CTR_TCP_REFUSED_PER_SOURCE, &m);
	ck_assert_str_eq(m.family, "tcp_refused");
	ck_assert_str_eq(m.label, "reason");
	ck_assert_str_eq(m.value, "per_source");
	counters_meta(CTR_UDP_LOOP_FIRST, &m);
	ck_assert_str_eq(m.family, "udp_loop_guard_dropped");
	ck_assert_str_eq(m.label, "rule");
	ck_assert_str_eq(m.value, "bad_family");
}
END_TEST

/* Observations from many threads at once: none lost (one shared table). */
#define HIST_THREADS	4
#define HIST_EACH	20000

static void *
observer(void *arg)
{
	struct counters *c = arg;
	int	 i;

	for (i = 0; i < HIST_EACH; i++)
		counter_observe_duration(c, i % 2 == 0 ? 10 : 11);
	return NULL;
}

START_TEST(test_hist_observe)
{
	struct counters c;
	struct counter_hist h;
	pthread_t t[HIST_THREADS];
	int	 i;

	ck_assert_int_eq(counters_init(&c), 0);
	counter_observe_duration(&c, 0);
	counter_observe_duration(&c, 7200000);		/* +Inf */
	for (i = 0; i < HIST_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, observer, &c), 0);
	for (i = 0; i < HIST_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	counters_read_hist(&c, &h);
	/* 10 ms is le 0.01 (inclusive), 11 ms the next bucket. */
	ck_assert_uint_eq(h.bucket[0], 1 + HIST_THREADS * HIST_EACH / 2);
	ck_assert_uint_eq(h.bucket[1], HIST_THREADS * HIST_EACH / 2);
	ck_assert_uint_eq(h.bucket[COUNTER_HIST_BUCKETS - 1], 1);
	ck_assert_uint_eq(h.count, 2 + HIST_THREADS * HIST_EACH);
	ck_assert_uint_eq(h.sum_ms, 7200000 +
	    (uint64_t)HIST_THREADS * HIST_EACH / 2 * 21);
	ck_assert_str_eq(counters_hist_le(0), "0.01");
	ck_assert_str_eq(counters_hist_le(COUNTER_HIST_BUCKETS - 1), "+Inf");
	counters_destroy(&c);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("exposition");
	TCase	*tc = tcase_create("page");

	tcase_add_test(tc, test_contract_names);
	tcase_add_test(tc, test_every_row_once);
	tcase_add_loop_test(tc, test_every_family_once, EXPOSITION_TEXT,
	    EXPOSITION_OPENMETRICS + 1);
	tcase_add_test(tc, test_openmetrics);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_negotiate);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, test_table_consistent);
	tcase_add_test(tc, test_meta_defaults);
	tcase_add_test(tc, test_hist_observe);
	suite_add_tcase(s, tc);
	tc = tcase_create("procstat");
	tcase_add_test(tc, test_procstat_parse);
	tcase_add_test(tc, test_procstat_read);
	suite_add_tcase(s, tc);
	return suite_run(s);
}
