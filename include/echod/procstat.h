#ifndef ECHOD_PROCSTAT_H
#define ECHOD_PROCSTAT_H

#include <stdint.h>

/*
 * The standard process_* metrics a Prometheus client library exports on
 * Linux, read from /proc/self and getrlimit(2).
 */
struct procstat {
	uint64_t	start_time_ms;	/* Unix time the process started, ms */
	uint64_t	cpu_ms;		/* user + system CPU time, ms */
	uint64_t	rss_bytes;	/* resident set */
	uint64_t	vsize_bytes;	/* virtual memory */
	uint64_t	open_fds;	/* entries of /proc/self/fd */
	uint64_t	max_fds;	/* RLIMIT_NOFILE soft limit */
};

/*
 * Parse the text of /proc/<pid>/stat (the command name may hold spaces
 * and parentheses: fields are counted after the last ')') into the
 * clock-tick counts: start (since boot), utime + stime, and the vsize and
 * rss (pages) fields.  0, or -1 with errno EINVAL.
 */
int	procstat_parse_stat(const char *text, uint64_t *start_ticks,
	    uint64_t *cpu_ticks, uint64_t *vsize, uint64_t *rss_pages);
/* The btime line of /proc/stat's text (boot time, Unix s); 0, or -1. */
int	procstat_parse_btime(const char *text, uint64_t *btime);
/* Fill p for the calling process.  0, or -1 with errno. */
int	procstat_read(struct procstat *p);

#endif /* ECHOD_PROCSTAT_H */
