/* SPDX-License-Identifier: MIT */
/*
 * The harness behind check_daemon: echod as a child process (stderr and
 * stdout in temp files, killed with the test), free ports, temp configs,
 * loopback client sockets whose every wait has a deadline, and a poll(2)
 * engine that drives many echo clients at once.  Test-only code: it keeps
 * the test process single-threaded so fork(2) stays simple.
 */

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_ARGS	16
#define MAX_DAEMONS	32
#define POLL_STEP_MS	5	/* between looks at a log or a pid */
#define START_TRIES	8	/* daemon_start() ports to try */
#define TAIL_BYTES	1500
#define SOCK_BUF	(4 * 1024 * 1024)
#define SEND_CHUNK	((size_t)256 * 1024)

static char	 errbuf[2048];
static char	 tmpdir[256];		/* short, so paths in it fit */
static pid_t	 spawned[MAX_DAEMONS];	/* not yet reaped */
static unsigned	 seq;
static char	 tailbuf[TAIL_BYTES + 8];

/* Keeps errno, so callers can still test it after a failure. */
static void __attribute__((format(printf, 1, 2)))
seterr(const char *fmt, ...)
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

static void
nap(int ms)
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
		seterr("mkdtemp %s: %s", tmpdir, strerror(errno));
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

static void
forget(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_DAEMONS; i++)
		if (spawned[i] == pid)
			spawned[i] = 0;
}

void
harness_teardown(void)
{
	size_t	 i;

	/* Only the children this test started, each by its pid. */
	for (i = 0; i < MAX_DAEMONS; i++) {
		if (spawned[i] <= 0)
			continue;
		(void)kill(spawned[i], SIGKILL);
		while (waitpid(spawned[i], NULL, 0) == -1 && errno == EINTR)
			;
		spawned[i] = 0;
	}
	remove_tmpfiles();
}

void
harness_tmppath(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

int
harness_write_file(const char *path, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "w")) == NULL) {
		seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	va_start(ap, fmt);
	rc = vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp) != 0 || rc < 0) {
		seterr("%s: cannot write", path);
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

/* ---- processes ---- */

/* The whole file as a NUL-terminated string; "" when missing. */
static char *
slurp(const char *path)
{
	struct stat st;
	char	*buf;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		return strdup("");
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return buf;
}

/*
 * In the child: move d->pass_fds to 3, 4, ... and set LISTEN_FDS and
 * LISTEN_PID as systemd does (sd_listen_fds(3)).  0, or -1.
 */
static int
pass_listen_fds(const struct daemon *d)
{
	int	 high[HARNESS_MAX_PASS];
	char	 buf[32];
	int	 i;

	if (d->npass <= 0)
		return 0;
	/* Out of the way first: a source may sit where a target goes. */
	for (i = 0; i < d->npass; i++)
		if ((high[i] = fcntl(d->pass_fds[i], F_DUPFD_CLOEXEC, 100)) == -1)
			return -1;
	for (i = 0; i < d->npass; i++)
		if (dup2(high[i], 3 + i) == -1)	/* clears CLOEXEC */
			return -1;
	snprintf(buf, sizeof(buf), "%d", d->npass);
	if (setenv("LISTEN_FDS", buf, 1) == -1)
		return -1;
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	return setenv("LISTEN_PID", buf, 1);
}

int
daemon_spawn(struct daemon *d, const char *const args[])
{
	const char *bin = getenv("ECHOD_BIN");
	const char *argv[MAX_ARGS + 2];
	pid_t	 parent = getpid(), pid;
	size_t	 i, slot;
	int	 errfd, outfd, nullfd;

	free(d->log);
	free(d->out);
	d->log = d->out = NULL;
	d->pid = -1;
	d->status = 0;
	if (bin == NULL) {
		seterr("ECHOD_BIN is not set (run through ctest)");
		return -1;
	}
	for (slot = 0; slot < MAX_DAEMONS && spawned[slot] != 0; slot++)
		;
	if (slot == MAX_DAEMONS) {
		seterr("more than %d daemons in one test", MAX_DAEMONS);
		return -1;
	}
	argv[0] = bin;
	for (i = 0; i < MAX_ARGS && args[i] != NULL; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;

	seq++;
	snprintf(d->errpath, sizeof(d->errpath), "%s/echod-%u.err", tmpdir,
	    seq);
	snprintf(d->outpath, sizeof(d->outpath), "%s/echod-%u.out", tmpdir,
	    seq);
	errfd = open(d->errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	outfd = open(d->outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (errfd == -1 || outfd == -1 || nullfd == -1) {
		seterr("cannot create %s: %s", d->errpath, strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		seterr("fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		sigset_t none;

		/* Die with the test even when it _exit()s on a failure. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(127);
		if (dup2(nullfd, 0) == -1 || dup2(outfd, 1) == -1 ||
		    dup2(errfd, 2) == -1)
			_exit(127);
		if (pass_listen_fds(d) == -1)
			_exit(127);
		(void)close_range(3 + (unsigned)d->npass, ~0U, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(bin, (char *const *)argv);
		dprintf(2, "harness: exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(errfd);
	close(outfd);
	close(nullfd);
	d->pid = pid;
	spawned[slot] = pid;
	return 0;
fail:
	if (errfd != -1)
		close(errfd);
	if (outfd != -1)
		close(outfd);
	if (nullfd != -1)
		close(nullfd);
	return -1;
}

/* Reap without waiting; true once the daemon has exited. */
static bool
reap(struct daemon *d)
{
	pid_t	 pid;

	if (d->pid == -1)
		return true;
	while ((pid = waitpid(d->pid, &d->status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (pid == 0)
		return false;
	forget(d->pid);
	d->pid = -1;
	return true;
}

bool
daemon_alive(struct daemon *d)
{
	return !reap(d);
}

int
daemon_exit_code(const struct daemon *d)
{
	if (d->pid != -1)
		return -1;
	if (WIFEXITED(d->status))
		return WEXITSTATUS(d->status);
	if (WIFSIGNALED(d->status))
		return 128 + WTERMSIG(d->status);
	return -1;
}

int
daemon_wait_exit(struct daemon *d, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;

	while (!reap(d)) {
		if (harness_now_ms() >= deadline) {
			seterr("echod (pid %d) still running after %d ms",
			    (int)d->pid, timeout_ms);
			return -1;
		}
		nap(POLL_STEP_MS);
	}
	return 0;
}

int
daemon_signal(struct daemon *d, int sig)
{
	if (!daemon_alive(d)) {
		seterr("echod already exited with code %d",
		    daemon_exit_code(d));
		return -1;
	}
	if (kill(d->pid, sig) == -1) {
		seterr("kill %d: %s", (int)d->pid, strerror(errno));
		return -1;
	}
	return 0;
}

void
daemon_free(struct daemon *d)
{
	if (d->pid > 0) {
		(void)kill(d->pid, SIGKILL);
		while (waitpid(d->pid, &d->status, 0) == -1 && errno == EINTR)
			;
		forget(d->pid);
		d->pid = -1;
	}
	free(d->log);
	free(d->out);
	d->log = d->out = NULL;
}

const char *
daemon_log(struct daemon *d)
{
	free(d->log);
	d->log = slurp(d->errpath);
	return d->log != NULL ? d->log : "";
}

const char *
daemon_stdout(struct daemon *d)
{
	free(d->out);
	d->out = slurp(d->outpath);
	return d->out != NULL ? d->out : "";
}

const char *
daemon_log_tail(struct daemon *d)
{
	const char *log = daemon_log(d);
	size_t	 len = strlen(log);

	snprintf(tailbuf, sizeof(tailbuf), "%s%s", len > TAIL_BYTES ?
	    "..." : "", len > TAIL_BYTES ? log + len - TAIL_BYTES : log);
	return tailbuf;
}

static int
count_in(const char *hay, const char *needle)
{
	size_t	 step = strlen(needle);
	int	 n = 0;

	if (step == 0)
		return 0;
	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += step;
	}
	return n;
}

int
daemon_log_count(struct daemon *d, const char *needle)
{
	return count_in(daemon_log(d), needle);
}

int
daemon_wait_log(struct daemon *d, const char *needle, int count,
    int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	bool	 exited;

	for (;;) {
		/* Look after reaping: lines written just before exit count. */
		exited = !daemon_alive(d);
		if (daemon_log_count(d, needle) >= count)
			return 0;
		if (exited) {
			seterr("echod exited with code %d before logging "
			    "'%s' x%d; its stderr:\n%s", daemon_exit_code(d),
			    needle, count, daemon_log_tail(d));
			return -1;
		}
		if (harness_now_ms() >= deadline) {
			seterr("no '%s' x%d in echod's stderr within %d ms; "
			    "it holds:\n%s", needle, count, timeout_ms,
			    daemon_log_tail(d));
			return -1;
		}
		nap(POLL_STEP_MS);
	}
}

int
daemon_run(struct daemon *d, const char *const args[], int timeout_ms)
{
	if (daemon_spawn(d, args) == -1 ||
	    daemon_wait_exit(d, timeout_ms) == -1)
		return -1;
	return daemon_exit_code(d);
}

int
daemon_start_on(struct daemon *d, int port, int nsock, const char *body)
{
	const char *args[] = { "-c", d->conf, NULL };

	d->port = port;
	snprintf(d->conf, sizeof(d->conf), "%s/echod-%u.conf", tmpdir,
	    seq + 1);
	if (harness_write_file(d->conf, "port = %d\n%s", port, body) == -1 ||
	    daemon_spawn(d, args) == -1)
		return -1;
	return daemon_wait_log(d, "listening on", nsock, HARNESS_IO_MS);
}

int
daemon_start(struct daemon *d, int nsock, const char *fmt, ...)
{
	char	 body[4096];
	va_list	 ap;
	int	 port, try;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	for (try = 0; try < START_TRIES; try++) {
		if ((port = harness_free_port(strstr(body, "::1") != NULL)) ==
		    -1)
			return -1;
		if (daemon_start_on(d, port, nsock, body) == 0)
			return 0;
		/* Someone took the port after we looked: pick another. */
		if (d->pid != -1 || daemon_exit_code(d) != 71 ||
		    strstr(daemon_log(d), "Address already in use") == NULL)
			return -1;
	}
	seterr("no free port after %d tries", START_TRIES);
	return -1;
}

int
daemon_stats(struct daemon *d, char *buf, size_t size)
{
	const char *tag = "echod: stats:", *line, *p, *end;
	int	 n = daemon_log_count(d, tag);

	if (daemon_signal(d, SIGUSR1) == -1 ||
	    daemon_wait_log(d, tag, n + 1, HARNESS_IO_MS) == -1)
		return -1;
	for (line = p = d->log; (p = strstr(p, tag)) != NULL; p++)
		line = p;
	if ((end = strchr(line, '\n')) == NULL)
		end = line + strlen(line);
	snprintf(buf, size, "%.*s", (int)(end - line), line);
	return 0;
}

int
daemon_wait_clients(struct daemon *d, unsigned n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 line[1024];
	const char *p;
	unsigned now;

	for (;;) {
		if (daemon_stats(d, line, sizeof(line)) == -1)
			return -1;
		if ((p = strstr(line, "tcp clients ")) == NULL ||
		    sscanf(p, "tcp clients %u now", &now) != 1) {
			seterr("cannot parse the stats line: %s", line);
			return -1;
		}
		if (now == n)
			return 0;
		if (harness_now_ms() >= deadline) {
			seterr("expected %u tcp clients within %d ms, "
			    "the last stats say: %s", n, timeout_ms, line);
			return -1;
		}
		nap(4 * POLL_STEP_MS);
	}
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

int
proc_thread_count(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*fp;
	int	 n = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	return n;
}

/* ---- sockets ---- */

static socklen_t
loopback(int family, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons((uint16_t)port);
	return sizeof(*sin);
}

static const char *
family_name(int family)
{
	return family == AF_INET6 ? "[::1]" : "127.0.0.1";
}

/* A socket bound to the loopback; port 0 picks one.  fd, or -1. */
static int
bind_loopback(int family, int type, int port, int *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int	 fd;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	if (bound != NULL)
		*bound = ntohs(family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int
harness_free_port(bool v6)
{
	int	 fd[4], port, try, i, n;

	for (try = 0; try < 100; try++) {
		for (i = 0; i < 4; i++)
			fd[i] = -1;
		fd[0] = bind_loopback(AF_INET, SOCK_STREAM, 0, &port);
		n = 1;
		if (fd[0] != -1) {
			fd[n++] = bind_loopback(AF_INET, SOCK_DGRAM, port,
			    NULL);
			if (v6) {
				fd[n++] = bind_loopback(AF_INET6, SOCK_STREAM,
				    port, NULL);
				fd[n++] = bind_loopback(AF_INET6, SOCK_DGRAM,
				    port, NULL);
			}
		}
		for (i = 0; i < n && fd[i] != -1; i++)
			;
		while (n-- > 0)
			if (fd[n] != -1)
				close(fd[n]);
		if (i == (v6 ? 4 : 2))
			return port;
	}
	seterr("no port free for TCP and UDP after 100 tries");
	return -1;
}

bool
harness_have_ipv6(void)
{
	int	 t, u;

	t = bind_loopback(AF_INET6, SOCK_STREAM, 0, NULL);
	u = bind_loopback(AF_INET6, SOCK_DGRAM, 0, NULL);
	if (t != -1)
		close(t);
	if (u != -1)
		close(u);
	return t != -1 && u != -1;
}

int
harness_occupy(int family, int type, int port)
{
	int	 fd;

	if ((fd = bind_loopback(family, type, port, NULL)) == -1) {
		seterr("bind %s %s:%d: %s", type == SOCK_STREAM ? "tcp" : "udp",
		    family_name(family), port, strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 8) == -1) {
		seterr("listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

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

/* poll(2) one descriptor until deadline: revents, 0 on timeout, -1. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int	 rc;

	for (;;) {
		left = deadline - harness_now_ms();
		if (left < 0)
			left = 0;
		rc = poll(&pfd, 1, (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc;
		return pfd.revents;
	}
}

int
tcp_connect(int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss), elen;
	int	 fd, err = 0, rc;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		seterr("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS)
			err = errno;
		else {
			rc = wait_fd(fd, POLLOUT,
			    harness_now_ms() + HARNESS_IO_MS);
			elen = sizeof(err);
			if (rc == 0)
				err = ETIMEDOUT;
			else if (rc == -1 || getsockopt(fd, SOL_SOCKET,
			    SO_ERROR, &err, &elen) == -1)
				err = errno;
		}
	}
	if (err != 0) {
		close(fd);
		errno = err;
		seterr("connect to tcp %s:%d: %s", family_name(family), port,
		    strerror(err));
		return -1;
	}
	return fd;
}

void
tcp_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int
sock_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	const char *p = buf;
	size_t	 left = len;
	ssize_t	 n;

	while (left > 0) {
		n = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			seterr("send after %zu of %zu bytes: %s", len - left,
			    len, strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) == 0) {
			errno = ETIMEDOUT;
			seterr("send stalled after %zu of %zu bytes for %d ms",
			    len - left, len, timeout_ms);
			return -1;
		}
	}
	return 0;
}

int
sock_wait_closed(int fd, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	char	 buf[512];
	ssize_t	 n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return 0;
		if (n > 0) {
			seterr("expected the connection closed, got %zd "
			    "bytes of data (\"%.*s\")", n,
			    (int)(n > 16 ? 16 : n), buf);
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			seterr("recv: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			seterr("connection still open after %d ms", timeout_ms);
			return -1;
		}
	}
}

int
tcp_echo(int fd, const void *buf, size_t len)
{
	struct echo_job job = { .fd = fd, .data = buf, .len = len };

	if (echo_run(&job, 1, HARNESS_IO_MS) != 0) {
		seterr("tcp echo of %zu bytes: %s", len, job.why);
		return -1;
	}
	return 0;
}

int
udp_connect_from(int family, int lport, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int	 fd, size = SOCK_BUF;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		seterr("socket: %s", strerror(errno));
		return -1;
	}
	/* Capped at net.core.[rw]mem_max; stop-and-wait needs only 64 KiB. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	len = loopback(family, lport, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		seterr("bind udp %s:%d: %s", family_name(family), lport,
		    strerror(errno));
		goto fail;
	}
	len = loopback(family, port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		seterr("connect udp %s:%d: %s", family_name(family), port,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	size = errno;
	close(fd);
	errno = size;
	return -1;
}

int
udp_connect(int family, int port)
{
	return udp_connect_from(family, 0, port);
}

ssize_t
udp_recv(int fd, void *buf, size_t size, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	ssize_t	 n;

	for (;;) {
		/* MSG_TRUNC: the datagram's real length, even if cut. */
		n = recv(fd, buf, size, MSG_DONTWAIT | MSG_TRUNC);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR) {
			seterr("udp recv: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline) == 0) {
			errno = ETIMEDOUT;
			seterr("no datagram within %d ms", timeout_ms);
			return -1;
		}
	}
}

/* Index of the first byte where a and b differ; len if none. */
static size_t
first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t	 i;

	/* memcmp() first: sanitizers check it in bulk, not per byte. */
	if (memcmp(a, b, len) == 0)
		return len;
	for (i = 0; i < len && a[i] == b[i]; i++)
		;
	return i;
}

int
udp_echo(int fd, const void *buf, size_t len)
{
	return udp_echo_wait(fd, buf, len, HARNESS_IO_MS);
}

int
udp_echo_retry(int fd, const void *buf, size_t len, int tries)
{
	while (tries-- > 0)
		if (udp_echo_wait(fd, buf, len, 500) == 0)
			return 0;
	return -1;
}

int
udp_echo_wait(int fd, const void *buf, size_t len, int timeout_ms)
{
	static unsigned char reply[65536];
	long long deadline = harness_now_ms() + timeout_ms;
	ssize_t	 n;
	size_t	 at;

	while ((n = send(fd, buf, len, MSG_DONTWAIT)) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		if (wait_fd(fd, POLLOUT, deadline) == 0)
			break;
	if (n != (ssize_t)len) {
		seterr("udp send of %zu bytes: %s", len, n == -1 ?
		    strerror(errno) : "short");
		return -1;
	}
	if ((n = udp_recv(fd, reply, sizeof(reply), timeout_ms)) == -1) {
		seterr("udp echo of %zu bytes: %s", len, strerror(errno));
		return -1;
	}
	if ((size_t)n != len) {
		seterr("udp echo: sent %zu bytes, got a %zd-byte reply", len,
		    n);
		return -1;
	}
	if ((at = first_diff(buf, reply, len)) != len) {
		seterr("udp echo of %zu bytes: byte %zu differs (sent 0x%02x, "
		    "got 0x%02x)", len, at, ((const unsigned char *)buf)[at],
		    reply[at]);
		return -1;
	}
	return 0;
}

/* ---- the echo engine ---- */

static void __attribute__((format(printf, 2, 3)))
job_fail(struct echo_job *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	j->failed = j->done = true;
}

static void
job_send(struct echo_job *j)
{
	size_t	 chunk = j->len - j->sent;
	ssize_t	 n;

	if (chunk > SEND_CHUNK)
		chunk = SEND_CHUNK;
	n = send(j->fd, j->data + j->sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "send after %zu of %zu bytes: %s", j->sent,
			    j->len, strerror(errno));
		return;
	}
	j->sent += (size_t)n;
	if (j->sent == j->len && j->shut_wr && shutdown(j->fd, SHUT_WR) == -1)
		job_fail(j, "shutdown: %s", strerror(errno));
}

static void
job_recv(struct echo_job *j, unsigned char *buf, size_t size)
{
	ssize_t	 n;
	size_t	 at;

	n = recv(j->fd, buf, size, MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			job_fail(j, "recv after %zu of %zu bytes: %s", j->rcvd,
			    j->len, strerror(errno));
		return;
	}
	if (n == 0) {
		if (j->shut_wr && j->rcvd == j->len)
			j->done = true;
		else
			job_fail(j, "EOF after %zu of %zu bytes", j->rcvd,
			    j->len);
		return;
	}
	if ((size_t)n > j->len - j->rcvd) {
		job_fail(j, "%zu bytes echoed, only %zu sent",
		    j->rcvd + (size_t)n, j->len);
		return;
	}
	if ((at = first_diff(j->data + j->rcvd, buf, (size_t)n)) !=
	    (size_t)n) {
		job_fail(j, "byte %zu differs: sent 0x%02x, got 0x%02x",
		    j->rcvd + at, j->data[j->rcvd + at], buf[at]);
		return;
	}
	j->rcvd += (size_t)n;
	if (j->reset_at > 0 && j->rcvd >= j->reset_at) {
		tcp_reset(j->fd);
		j->fd = -1;
		j->done = true;
	} else if (j->rcvd == j->len && !j->shut_wr)
		j->done = true;
}

size_t
echo_run(struct echo_job *jobs, size_t n, int timeout_ms)
{
	static unsigned char buf[64 * 1024];
	long long deadline = harness_now_ms() + timeout_ms, left;
	struct pollfd *pfd;
	size_t	*idx, i, k, active, failed = 0;
	int	 rc;

	for (i = 0; i < n; i++) {
		jobs[i].sent = jobs[i].rcvd = 0;
		jobs[i].done = jobs[i].failed = false;
		jobs[i].why[0] = '\0';
	}
	if (n == 0)
		return 0;
	pfd = calloc(n, sizeof(*pfd));
	idx = calloc(n, sizeof(*idx));
	if (pfd == NULL || idx == NULL) {
		for (i = 0; i < n; i++)
			job_fail(&jobs[i], "out of memory");
		free(pfd);
		free(idx);
		return n;
	}
	for (i = 0; i < n; i++) {
		struct echo_job *j = &jobs[i];

		if (j->len == 0 && j->shut_wr &&
		    shutdown(j->fd, SHUT_WR) == -1)
			job_fail(j, "shutdown: %s", strerror(errno));
		else if (j->len == 0 && !j->shut_wr)
			j->done = true;
	}
	for (;;) {
		active = 0;
		for (i = 0; i < n; i++) {
			if (jobs[i].done)
				continue;
			pfd[active].fd = jobs[i].fd;
			pfd[active].events = POLLIN |
			    (jobs[i].sent < jobs[i].len ? POLLOUT : 0);
			idx[active++] = i;
		}
		if (active == 0)
			break;
		if ((left = deadline - harness_now_ms()) <= 0) {
			for (k = 0; k < active; k++) {
				struct echo_job *j = &jobs[idx[k]];

				job_fail(j, "timed out after %d ms: %zu of %zu "
				    "bytes sent, %zu echoed", timeout_ms,
				    j->sent, j->len, j->rcvd);
			}
			break;
		}
		rc = poll(pfd, active, (int)left);
		if (rc == -1 && errno != EINTR) {
			for (k = 0; k < active; k++)
				job_fail(&jobs[idx[k]], "poll: %s",
				    strerror(errno));
			break;
		}
		for (k = 0; rc > 0 && k < active; k++) {
			struct echo_job *j = &jobs[idx[k]];

			if (pfd[k].revents & POLLOUT)
				job_send(j);
			if (!j->done &&
			    (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				job_recv(j, buf, sizeof(buf));
		}
	}
	for (i = 0; i < n; i++)
		if (jobs[i].failed)
			failed++;
	free(pfd);
	free(idx);
	return failed;
}
