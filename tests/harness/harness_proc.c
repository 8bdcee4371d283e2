/* SPDX-License-Identifier: MIT */
/*
 * The harness's view of /proc: a process's descriptors, threads, memory
 * and CPU time, and the kernel's TCP tables (socket states, the timer of
 * the daemon's end of a connection).  Failures are described through
 * harness_seterr(), as in harness.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <dirent.h>
#include <stdbool.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

int
harness_tcp_state_count(int port, int st)
{
	static const char *const tables[] = { "/proc/net/tcp",
	    "/proc/net/tcp6" };
	char	 line[512], local[64];
	unsigned lport, state;
	size_t	 i;
	FILE	*fp;
	int	 n = 0;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if ((fp = fopen(tables[i], "r")) == NULL)
			continue;
		/* "  sl  local_address rem_address   st ...": hex fields. */
		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, " %*u: %63s %*s %x", local,
			    &state) == 2 && strchr(local, ':') != NULL &&
			    sscanf(strchr(local, ':') + 1, "%x", &lport) == 1 &&
			    (int)lport == port && (int)state == st)
				n++;
		fclose(fp);
	}
	return n;
}

int
harness_tcp_peer_timer(int fd, int server_port, unsigned *timer,
    unsigned long *when)
{
	struct sockaddr_in sin = { .sin_port = 0 };
	socklen_t len = sizeof(sin);
	char	 line[512];
	unsigned lport, rport, tr;
	unsigned long tm;
	FILE	*fp;
	int	 found = -1;

	/* The server's end: local port server_port, remote our port. */
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    (fp = fopen("/proc/net/tcp", "r")) == NULL) {
		harness_seterr("/proc/net/tcp: %s", strerror(errno));
		return -1;
	}
	while (found == -1 && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, " %*u: %*8x:%x %*8x:%x %*x %*x:%*x %x:%lx",
		    &lport, &rport, &tr, &tm) == 4 &&
		    (int)lport == server_port &&
		    rport == ntohs(sin.sin_port)) {
			*timer = tr;
			*when = tm;
			found = 0;
		}
	fclose(fp);
	if (found == -1)
		harness_seterr("no server socket for this client in "
		    "/proc/net/tcp");
	return found;
}

int
proc_fd_count(pid_t pid)
{
	struct dirent *de;
	char	 path[64];
	DIR	*dir;
	int	 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

long long
proc_status(pid_t pid, const char *field)
{
	char	 path[64], line[256];
	size_t	 len = strlen(field);
	long long v = -1;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL) {
		harness_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, field, len) == 0 && line[len] == ':' &&
		    sscanf(line + len + 1, "%lld", &v) == 1)
			break;
	fclose(fp);
	if (v == -1)
		harness_seterr("%s: no %s", path, field);
	return v;
}

int
proc_thread_count(pid_t pid)
{
	return (int)proc_status(pid, "Threads");
}

/* The state letter of task tid of pid ('R', 'S', 'T', ...), or 0. */
static char
task_state(pid_t pid, long tid)
{
	char	 path[96], buf[512], *p;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%d/task/%ld/stat", (int)pid, tid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 0;
	return p[2];
}

int
proc_wait_stopped(pid_t pid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 path[64], st;
	struct dirent *e;
	bool	 all;
	DIR	*d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (;;) {
		if ((d = opendir(path)) == NULL) {
			harness_seterr("%s: %s", path, strerror(errno));
			return -1;
		}
		all = true;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			st = task_state(pid, strtol(e->d_name, NULL, 10));
			if (st != 'T' && st != 't' && st != 0)
				all = false;
		}
		closedir(d);
		if (all)
			return 0;
		if (harness_now_ms() >= deadline) {
			harness_seterr("pid %d not stopped within %d ms",
			    (int)pid, timeout_ms);
			return -1;
		}
		usleep(1000);
	}
}

long long
proc_cpu_ticks(pid_t pid)
{
	char	 path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL) {
		harness_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2, "%*c %*d %*d %*d "
	    "%*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
		harness_seterr("%s: cannot parse '%s'", path, buf);
		return -1;
	}
	return (long long)(ut + st);
}

int
proc_environ(pid_t pid, const char *name, char *buf, size_t size)
{
	char	 path[64], env[65536];
	size_t	 len = strlen(name), n, i;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if ((fp = fopen(path, "r")) == NULL) {
		harness_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(env, 1, sizeof(env) - 1, fp);
	fclose(fp);
	env[n] = '\0';
	for (i = 0; i < n; i += strlen(env + i) + 1)
		if (strncmp(env + i, name, len) == 0 && env[i + len] == '=') {
			snprintf(buf, size, "%s", env + i + len + 1);
			return 0;
		}
	harness_seterr("%s: no %s", path, name);
	return -1;
}

int
proc_anon_rss(pid_t pid, size_t size, unsigned *one_page, unsigned *more)
{
	char	 path[64], line[512];
	unsigned long long lo, hi;
	bool	 in = false;
	long long rss;
	FILE	*fp;

	*one_page = *more = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if ((fp = fopen(path, "r")) == NULL) {
		harness_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char	 perms[8], dev[16];
		unsigned long long off, inode;
		int	 end = 0;

		/* A mapping's first line; anonymous ones have no path. */
		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &lo, &hi,
		    perms, &off, dev, &inode, &end) == 6) {
			in = hi - lo == size && strcmp(perms, "rw-p") == 0 &&
			    inode == 0 && line[end] == '\0';
			continue;
		}
		if (in && sscanf(line, "Rss: %lld kB", &rss) == 1) {
			if (rss == 4)
				(*one_page)++;
			else if (rss > 4)
				(*more)++;
		}
	}
	fclose(fp);
	return 0;
}

int
proc_wait_asleep(pid_t pid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 path[64], buf[512], *p;
	struct dirent *de;
	bool	 all;
	DIR	*dir;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	for (;;) {
		if ((dir = opendir(path)) == NULL) {
			harness_seterr("%s: %s", path, strerror(errno));
			return -1;
		}
		all = true;
		while (all && (de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(buf, sizeof(buf), "%s/%s/stat", path,
			    de->d_name);
			if ((fp = fopen(buf, "re")) == NULL)
				continue;	/* gone meanwhile */
			/* The state follows the last ')' of "(comm)". */
			if (fgets(buf, sizeof(buf), fp) != NULL &&
			    (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
			    p[2] != 'S')
				all = false;
			fclose(fp);
		}
		closedir(dir);
		if (all)
			return 0;
		if (harness_now_ms() >= deadline) {
			harness_seterr("pid %d: a thread still runs after %d ms",
			    (int)pid, timeout_ms);
			return -1;
		}
		usleep(2000);
	}
}

void
coarse_clock_passes(void)
{
	struct timespec res, t0, t;

	(void)clock_getres(CLOCK_MONOTONIC_COARSE, &res);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t0);
	/* Two ticks: whatever the daemon read before now reads older. */
	do {
		usleep(500);
		clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec -
	    t0.tv_nsec) < 2 * (res.tv_sec * 1000000000LL + res.tv_nsec));
}
