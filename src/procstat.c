/* SPDX-License-Identifier: MIT */
/*
 * The process_* metrics: CPU time, memory, start time from /proc/self/stat
 * and /proc/stat's btime, open descriptors from /proc/self/fd, the
 * descriptor limit from getrlimit(2).  The parsers are pure, so the unit
 * suite feeds them odd command names.
 */

#include <sys/resource.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/procstat.h"

/* Field numbers of proc(5)'s /proc/pid/stat, counting pid as 1. */
#define STAT_UTIME	14
#define STAT_STIME	15
#define STAT_START	22
#define STAT_VSIZE	23
#define STAT_RSS	24

/* A decimal field at *p, moving *p past it and one space. */
static int
field(const char **p, uint64_t *v)
{
	char	*end;
	unsigned long long n;

	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	n = strtoull(*p, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -1;
	*v = n;
	*p = *end == ' ' ? end + 1 : end;
	return 0;
}

/* Skip a field that need not be a number ("S", "-1"). */
static int
skip(const char **p)
{
	const char *sp = strchr(*p, ' ');

	if (sp == NULL)
		return -1;
	*p = sp + 1;
	return 0;
}

int
procstat_parse_stat(const char *text, uint64_t *start_ticks,
    uint64_t *cpu_ticks, uint64_t *vsize, uint64_t *rss_pages)
{
	const char *p = strrchr(text, ')');
	uint64_t utime = 0, stime = 0, v;
	int	 i;

	/* The command name is field 2, "(...)": field 3 follows ") ". */
	if (p == NULL || p[1] != ' ')
		goto bad;
	p += 2;
	for (i = 3; i <= STAT_RSS; i++) {
		if (i == STAT_UTIME || i == STAT_STIME || i >= STAT_START) {
			if (field(&p, &v) == -1)
				goto bad;
			if (i == STAT_UTIME)
				utime = v;
			else if (i == STAT_STIME)
				stime = v;
			else if (i == STAT_START)
				*start_ticks = v;
			else if (i == STAT_VSIZE)
				*vsize = v;
			else
				*rss_pages = v;
		} else if (skip(&p) == -1)
			goto bad;
	}
	*cpu_ticks = utime + stime;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int
procstat_parse_btime(const char *text, uint64_t *btime)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "btime ", 6) == 0) {
			p += 6;
			if (field(&p, btime) == 0)
				return 0;
			break;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	errno = EINVAL;
	return -1;
}

/* All of a small /proc file into buf; 0, or -1. */
static int
slurp(const char *path, char *buf, size_t size)
{
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (n + 1 < size) {
		r = read(fd, buf + n, size - 1 - n);
		if (r == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	return 0;
}

/* /proc/stat's btime; its cpu and intr lines come first and may be long. */
static int
boot_time(uint64_t *btime)
{
	char	*line = NULL;
	size_t	 cap = 0;
	FILE	*fp;
	int	 rc = -1;

	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return -1;
	errno = EINVAL;
	while (getline(&line, &cap, fp) != -1)
		if (strncmp(line, "btime ", 6) == 0) {
			rc = procstat_parse_btime(line, btime);
			break;
		}
	free(line);
	fclose(fp);
	return rc;
}

/* Descriptors open now, not counting the one that reads the directory. */
static int
count_fds(uint64_t *n)
{
	struct dirent *e;
	DIR	*d;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	*n = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(*n)++;
	closedir(d);
	if (*n > 0)
		(*n)--;
	return 0;
}

int
procstat_read(struct procstat *p)
{
	struct rlimit rl;
	char	 stat[1024];
	uint64_t start, cpu, vsize, rss, btime;
	long	 tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

	if (tck <= 0 || page <= 0) {
		errno = EINVAL;
		return -1;
	}
	if (slurp("/proc/self/stat", stat, sizeof(stat)) == -1 ||
	    procstat_parse_stat(stat, &start, &cpu, &vsize, &rss) == -1 ||
	    boot_time(&btime) == -1 || count_fds(&p->open_fds) == -1 ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	p->start_time_ms = btime * 1000 + start * 1000 / (uint64_t)tck;
	p->cpu_ms = cpu * 1000 / (uint64_t)tck;
	p->vsize_bytes = vsize;
	p->rss_bytes = rss * (uint64_t)page;
	p->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX :
	    (uint64_t)rl.rlim_cur;
	return 0;
}
