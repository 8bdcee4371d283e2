/* SPDX-License-Identifier: MIT */
/*
 * The exposition writer: the counters table as Prometheus text 0.0.4 or
 * OpenMetrics 1.0.0.  Each family is written once, with its HELP and
 * TYPE, gathering the table's rows that share it wherever they stand, so
 * a row added at the end of the table joins its family.  Also the Accept
 * header's negotiation.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "echod/exposition.h"

#define PREFIX		"echod_"
#define OM_TYPE		"application/openmetrics-text"

/* A growing page; a failed append marks it failed and stops writing. */
struct page {
	char	*p;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
	enum exposition_format f;
};

static void __attribute__((format(printf, 2, 3)))
put(struct page *pg, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 want;
	char	*np;
	int	 n;

	if (pg->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(pg->p + pg->len, pg->cap - pg->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		pg->failed = true;
		return;
	}
	if ((size_t)n < pg->cap - pg->len) {
		pg->len += (size_t)n;
		return;
	}
	want = pg->cap * 2 > pg->len + (size_t)n + 1 ? pg->cap * 2 :
	    pg->len + (size_t)n + 1;
	if ((np = realloc(pg->p, want)) == NULL) {
		pg->failed = true;
		return;
	}
	pg->p = np;
	pg->cap = want;
	va_start(ap, fmt);
	(void)vsnprintf(pg->p + pg->len, pg->cap - pg->len, fmt, ap);
	va_end(ap);
	pg->len += (size_t)n;
}

size_t
exposition_escape(const char *s, bool quote, char *buf, size_t size)
{
	size_t	 n = 0;
	char	 c, esc;

	for (; (c = *s) != '\0'; s++) {
		switch (c) {
		case '\\':
			esc = '\\';
			break;
		case '\n':
			esc = 'n';
			break;
		case '"':
			esc = quote ? '"' : '\0';
			break;
		default:
			esc = '\0';
			break;
		}
		if (esc != '\0') {
			if (n + 1 < size)
				buf[n] = '\\';
			n++;
			c = esc;
		}
		if (n + 1 < size)
			buf[n] = c;
		n++;
	}
	if (size > 0)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

/* s escaped into the page (exposition_escape()). */
static void
put_escaped(struct page *pg, const char *s, bool quote)
{
	char	 small[256], *big;
	size_t	 n = exposition_escape(s, quote, small, sizeof(small));

	if (n < sizeof(small)) {
		put(pg, "%s", small);
		return;
	}
	if ((big = malloc(n + 1)) == NULL) {
		pg->failed = true;
		return;
	}
	(void)exposition_escape(s, quote, big, n + 1);
	put(pg, "%s", big);
	free(big);
}

static const char *
type_name(enum counter_type t)
{
	return t == COUNTER_TYPE_GAUGE ? "gauge" : "counter";
}

/*
 * A family's metadata lines.  name is the full family name: in the text
 * format the sample name (with _total for a counter), in OpenMetrics
 * without it.  unit may be NULL.
 */
static void
put_meta(struct page *pg, const char *name, const char *type,
    const char *help, const char *unit)
{
	put(pg, "# HELP %s ", name);
	put_escaped(pg, help, pg->f == EXPOSITION_OPENMETRICS);
	put(pg, "\n# TYPE %s %s\n", name, type);
	if (unit != NULL && pg->f == EXPOSITION_OPENMETRICS)
		put(pg, "# UNIT %s %s\n", name, unit);
}

/* The family's name as its metadata lines give it. */
static void
family_name(const struct page *pg, const struct counter_meta *m, char *buf,
    size_t size)
{
	snprintf(buf, size, PREFIX "%s%s", m->family,
	    m->type == COUNTER_TYPE_COUNTER && pg->f == EXPOSITION_TEXT ?
	    "_total" : "");
}

/* Every row of family m (starting at row first), then the family is done. */
static void
put_family(struct page *pg, const struct exposition_input *in,
    const struct counter_meta *m, size_t first)
{
	struct counter_meta r;
	char	 name[128];
	size_t	 i;

	family_name(pg, m, name, sizeof(name));
	put_meta(pg, name, type_name(m->type), m->help, NULL);
	for (i = first; i < CTR_COUNT; i++) {
		counters_meta((enum counter_id)i, &r);
		if (strcmp(r.family, m->family) != 0)
			continue;
		put(pg, PREFIX "%s%s", r.family, r.type ==
		    COUNTER_TYPE_COUNTER ? "_total" : "");
		if (r.label != NULL && r.value != NULL) {
			put(pg, "{%s=\"", r.label);
			put_escaped(pg, r.value, true);
			put(pg, "\"}");
		}
		put(pg, " %llu\n", (unsigned long long)in->v[i]);
	}
}

/* True if a row before i already wrote family m. */
static bool
family_written(const struct counter_meta *m, size_t i)
{
	struct counter_meta r;
	size_t	 j;

	for (j = 0; j < i; j++) {
		counters_meta((enum counter_id)j, &r);
		if (strcmp(r.family, m->family) == 0)
			return true;
	}
	return false;
}

static void
put_table(struct page *pg, const struct exposition_input *in)
{
	struct counter_meta m;
	size_t	 i;

	for (i = 0; i < CTR_COUNT; i++) {
		counters_meta((enum counter_id)i, &m);
		if (!family_written(&m, i))
			put_family(pg, in, &m, i);
	}
}

/* ms as seconds with three decimals, exactly (no float rounding). */
static void
put_seconds(struct page *pg, uint64_t ms)
{
	put(pg, "%llu.%03llu", (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000));
}

/* A bucket bound: "1" in the text format, "1.0" in OpenMetrics. */
static void
put_le(struct page *pg, size_t i)
{
	const char *le = counters_hist_le(i);

	put(pg, "%s%s", le, pg->f == EXPOSITION_OPENMETRICS &&
	    strchr(le, '.') == NULL && strcmp(le, "+Inf") != 0 ? ".0" : "");
}

static void
put_histogram(struct page *pg, const struct counter_hist *h)
{
	static const char name[] = PREFIX "tcp_connection_duration_seconds";
	uint64_t cum = 0;
	size_t	 i;

	put_meta(pg, name, "histogram", "how long TCP clients stayed "
	    "connected, counted when they leave", "seconds");
	for (i = 0; i < COUNTER_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		put(pg, "%s_bucket{le=\"", name);
		put_le(pg, i);
		put(pg, "\"} %llu\n", (unsigned long long)cum);
	}
	put(pg, "%s_sum ", name);
	put_seconds(pg, h->sum_ms);
	put(pg, "\n%s_count %llu\n", name, (unsigned long long)h->count);
}

static void
put_state(struct page *pg, const struct exposition_input *in)
{
	bool	 om = pg->f == EXPOSITION_OPENMETRICS;

	/* OpenMetrics has a type for it; the text format calls it a gauge. */
	put_meta(pg, om ? PREFIX "build" : PREFIX "build_info", om ? "info" :
	    "gauge", "the running echod's version", NULL);
	put(pg, PREFIX "build_info{version=\"");
	put_escaped(pg, in->version, true);
	put(pg, "\"} 1\n");
	put_meta(pg, PREFIX "tcp_max_clients", "gauge", "max_clients in "
	    "force: TCP clients served at once", NULL);
	put(pg, PREFIX "tcp_max_clients %llu\n",
	    (unsigned long long)in->max_clients);
	put_meta(pg, PREFIX "config_last_reload_successful", "gauge",
	    "whether the last configuration reload applied (1) or was "
	    "refused (0)", NULL);
	put(pg, PREFIX "config_last_reload_successful %d\n",
	    in->reload_ok ? 1 : 0);
	put_meta(pg, PREFIX "config_last_reload_success_timestamp_seconds",
	    "gauge", "when the configuration was last loaded or reloaded, "
	    "Unix time", "seconds");
	put(pg, PREFIX "config_last_reload_success_timestamp_seconds %llu\n",
	    (unsigned long long)in->reload_success);
}

static void
put_process(struct page *pg, const struct procstat *p)
{
	bool	 om = pg->f == EXPOSITION_OPENMETRICS;

	put_meta(pg, om ? "process_cpu_seconds" : "process_cpu_seconds_total",
	    "counter", "total user and system CPU time spent in seconds",
	    "seconds");
	put(pg, "process_cpu_seconds_total ");
	put_seconds(pg, p->cpu_ms);
	put(pg, "\n");
	put_meta(pg, "process_open_fds", "gauge",
	    "number of open file descriptors", NULL);
	put(pg, "process_open_fds %llu\n", (unsigned long long)p->open_fds);
	put_meta(pg, "process_max_fds", "gauge",
	    "maximum number of open file descriptors", NULL);
	put(pg, "process_max_fds %llu\n", (unsigned long long)p->max_fds);
	put_meta(pg, "process_virtual_memory_bytes", "gauge",
	    "virtual memory size in bytes", "bytes");
	put(pg, "process_virtual_memory_bytes %llu\n",
	    (unsigned long long)p->vsize_bytes);
	put_meta(pg, "process_resident_memory_bytes", "gauge",
	    "resident memory size in bytes", "bytes");
	put(pg, "process_resident_memory_bytes %llu\n",
	    (unsigned long long)p->rss_bytes);
	put_meta(pg, "process_start_time_seconds", "gauge",
	    "start time of the process since unix epoch in seconds",
	    "seconds");
	put(pg, "process_start_time_seconds ");
	put_seconds(pg, p->start_time_ms);
	put(pg, "\n");
}

char *
exposition_render(const struct exposition_input *in,
    enum exposition_format f, size_t *len)
{
	struct page pg = { .cap = 8192, .f = f };

	if ((pg.p = malloc(pg.cap)) == NULL)
		return NULL;
	pg.p[0] = '\0';
	put_table(&pg, in);
	put_histogram(&pg, &in->hist);
	put_state(&pg, in);
	if (in->have_proc)
		put_process(&pg, &in->proc);
	if (f == EXPOSITION_OPENMETRICS)
		put(&pg, "# EOF\n");
	if (pg.failed) {
		free(pg.p);
		errno = ENOMEM;
		return NULL;
	}
	*len = pg.len;
	return pg.p;
}

const char *
exposition_content_type(enum exposition_format f)
{
	return f == EXPOSITION_OPENMETRICS ?
	    OM_TYPE "; version=1.0.0; charset=utf-8" :
	    "text/plain; version=0.0.4; charset=utf-8";
}

/* A q parameter's value in thousandths (RFC 9110 qvalue); 1000 if bad. */
static int
qvalue(const char *p, const char *end)
{
	int	 q, scale = 100;

	if (p >= end || (*p != '0' && *p != '1'))
		return 1000;
	q = (*p++ - '0') * 1000;
	if (p < end && *p == '.')
		for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0;
		    p++, scale /= 10)
			q += (*p - '0') * scale;
	return q > 1000 ? 1000 : q;
}

/* The q of the media range [p, end): its ";q=" parameter, else 1000. */
static int
range_q(const char *p, const char *end)
{
	const char *semi;
	size_t	 skip;

	while ((semi = memchr(p, ';', (size_t)(end - p))) != NULL) {
		/* The range is a prefix of a NUL-ended string: span stops. */
		skip = strspn(semi + 1, " \t");
		p = semi + 1 + skip;
		if (p + 1 < end && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
			return qvalue(p + 2, end);
	}
	return 1000;
}

/* True if the media range [p, end) is of type t (up to ';' or space). */
static bool
range_is(const char *p, const char *end, const char *t)
{
	size_t	 n = strlen(t);

	return (size_t)(end - p) >= n && strncasecmp(p, t, n) == 0 &&
	    (p + n == end || p[n] == ';' || p[n] == ' ' || p[n] == '\t');
}

enum exposition_format
exposition_negotiate(const char *accept)
{
	const char *p = accept, *end;
	int	 q, om = 0, text = 0;

	if (accept == NULL)
		return EXPOSITION_TEXT;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		q = range_q(p, end);
		if (range_is(p, end, OM_TYPE)) {
			if (q > om)
				om = q;
		} else if (range_is(p, end, "text/plain") ||
		    range_is(p, end, "text/*") || range_is(p, end, "*/*")) {
			if (q > text)
				text = q;
		}
		p = end;
	}
	return om > 0 && om >= text ? EXPOSITION_OPENMETRICS : EXPOSITION_TEXT;
}
