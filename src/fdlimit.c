/* SPDX-License-Identifier: MIT */
/*
 * The open-file limit: each client costs a descriptor, so at start the
 * soft limit goes up to the hard one, and with CAP_SYS_RESOURCE the hard
 * one up to what max_clients needs (at most fs.nr_open).
 */

#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "echod/config.h"
#include "echod/fdlimit.h"
#include "echod/log.h"

#define FD_RESERVE		32	/* stdio, log, eventfd, slack */

/* The kernel's ceiling for RLIMIT_NOFILE (fs.nr_open), or 0. */
static rlim_t
nr_open(void)
{
	unsigned long long v;
	char	 line[32], *end;
	FILE	*fp;

	if ((fp = fopen("/proc/sys/fs/nr_open", "re")) == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	errno = 0;
	v = strtoull(line, &end, 10);
	if (errno != 0 || end == line || (*end != '\n' && *end != '\0'))
		return 0;
	return (rlim_t)v;
}

/*
 * Each client costs a descriptor: raise the soft limit to the hard one,
 * and with CAP_SYS_RESOURCE (root) the hard one too, up to fs.nr_open,
 * when max_clients needs more than it allows.
 */
void
fdlimit_raise(const struct echod_config *cfg)
{
	struct rlimit rl, want;
	rlim_t	 need = (rlim_t)cfg->max_clients + 2 * cfg->nlisten +
	    FD_RESERVE, ceiling;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		ceiling = nr_open();
		want.rlim_max = ceiling > 0 && ceiling < need ? ceiling : need;
		want.rlim_cur = want.rlim_max;
		/* EPERM without the capability: the old hard limit stays. */
		if (want.rlim_max > rl.rlim_max &&
		    setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise the open file limit to %llu",
			    (unsigned long long)rl.rlim_max);
		else
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("max_clients %d needs about %llu open files but the "
		    "limit is %llu: raise it (ulimit -Hn, LimitNOFILE=, "
		    "fs.nr_open)", cfg->max_clients, (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
}
