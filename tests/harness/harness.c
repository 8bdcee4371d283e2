/* SPDX-License-Identifier: MIT */
/*
 * The harness behind the end-to-end suites, its common ground: the error
 * string, the clock, the temp directory and the files in it, pseudo-random
 * data.  Test-only code: it keeps the test process single-threaded so
 * fork(2) stays simple.  The daemon process lives in harness_daemon.c, its
 * counters in harness_stats.c, client sockets in harness_net.c (ports),
 * harness_tcp.c, harness_udp.c and harness_crowd.c, /proc readers in
 * harness_proc.c.
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

static char	 errbuf[2048];
static char	 tmpdir[256];		/* short, so paths in it fit */

void
harness_seterr(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	errno = saved;
}

const char *
harness_error(void)
{
	return errbuf;
}

long long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
harness_nap(int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
harness_init(void)
{
	const char *base = getenv("TMPDIR");

	/* Peers that reset must cost a send error, not the test. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Run echod as from a shell, whatever started us: no journal
	 * ("<N>" prefixes), no service manager to notify, no sockets.
	 */
	unsetenv("JOURNAL_STREAM");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_daemon.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		harness_seterr("mkdtemp %s: %s", tmpdir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
remove_tmpfiles(void)
{
	struct dirent *de;
	DIR	*dir;

	if (tmpdir[0] == '\0' || (dir = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(dir), de->d_name, 0);
	closedir(dir);
}

void
harness_fini(void)
{
	remove_tmpfiles();
	if (tmpdir[0] != '\0')
		(void)rmdir(tmpdir);
}

void
harness_teardown(void)
{
	harness_kill_spawned();
	remove_tmpfiles();
}

void
harness_tmppath(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

int
notify_listen_tmp(void)
{
	char	 path[sizeof(tmpdir) + sizeof("/notify.sock")];

	harness_tmppath(path, sizeof(path), "notify.sock");
	return notify_listen(path);
}

int
harness_write_file(const char *path, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "w")) == NULL) {
		harness_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	va_start(ap, fmt);
	rc = vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp) != 0 || rc < 0) {
		harness_seterr("%s: cannot write", path);
		return -1;
	}
	return 0;
}

uint64_t
harness_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void
harness_fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t state = seed != 0 ? seed : 1, r = 0;
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			r = harness_rand(&state);
		p[i] = (unsigned char)r;
		r >>= 8;
	}
}
