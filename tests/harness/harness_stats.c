/* SPDX-License-Identifier: MIT */
/*
 * The daemon's counters as the harness reads them: SIGUSR1, the new
 * "stats:" line in its stderr, one "name=value" field of it, and a wait
 * until a counter reaches a value (what the daemon counts, not a sleep).
 */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "harness_int.h"

int
daemon_stats(struct daemon *d, char *buf, size_t size)
{
	const char *tag = "echod: stats:", *line, *p, *end;
	long long deadline;
	int	 n = daemon_log_count(d, tag);

	if (daemon_signal(d, SIGUSR1) == -1 ||
	    daemon_wait_log(d, tag, n + 1, HARNESS_IO_MS) == -1)
		return -1;
	/*
	 * A read can meet the line half written (write(2) to a file is not
	 * atomic for its readers): the counters at its end would be missing.
	 * Only a line with its newline is whole.
	 */
	deadline = harness_now_ms() + HARNESS_IO_MS;
	for (;;) {
		for (line = p = daemon_log(d); (p = strstr(p, tag)) != NULL;
		    p++)
			line = p;
		if ((end = strchr(line, '\n')) != NULL)
			break;
		if (harness_now_ms() >= deadline) {
			harness_seterr("the stats line never ended: %s", line);
			return -1;
		}
		harness_nap(HARNESS_POLL_MS);
	}
	snprintf(buf, size, "%.*s", (int)(end - line), line);
	return 0;
}

/* The value of "name=<n>" in a stats line; 0, or -1 if absent. */
static int
stats_field(const char *line, const char *name, unsigned long long *v)
{
	size_t	 len = strlen(name);
	const char *p;

	for (p = line; (p = strstr(p, name)) != NULL; p += len)
		if ((p == line || p[-1] == ' ') && p[len] == '=' &&
		    sscanf(p + len + 1, "%llu", v) == 1)
			return 0;
	harness_seterr("no %s=<number> in: %s", name, line);
	return -1;
}

int
daemon_counter(struct daemon *d, const char *name, unsigned long long *v)
{
	char	 line[2048];

	if (daemon_stats(d, line, sizeof(line)) == -1)
		return -1;
	return stats_field(line, name, v);
}

int
daemon_wait_counter(struct daemon *d, const char *name,
    unsigned long long want, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 line[2048];
	unsigned long long now;

	for (;;) {
		if (daemon_stats(d, line, sizeof(line)) == -1 ||
		    stats_field(line, name, &now) == -1)
			return -1;
		if (now == want)
			return 0;
		if (harness_now_ms() >= deadline) {
			harness_seterr("expected %s=%llu within %d ms, the "
			    "last stats say: %s", name, want, timeout_ms, line);
			return -1;
		}
		harness_nap(4 * HARNESS_POLL_MS);
	}
}

int
daemon_wait_clients(struct daemon *d, unsigned n, int timeout_ms)
{
	return daemon_wait_counter(d, "tcp_clients", n, timeout_ms);
}
