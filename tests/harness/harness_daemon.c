/* SPDX-License-Identifier: MIT */
/*
 * The harness's daemon side: echod as a child process (stderr and stdout
 * in temp files, killed with the test, sockets passed as systemd passes
 * them), its exit, its signals, and waits on what it logs.  Every child is
 * remembered until reaped, so harness_teardown() can end the ones a failed
 * test left behind, by pid.
 */

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_int.h"

#define MAX_ARGS	16
#define MAX_DAEMONS	32
#define START_TRIES	8	/* daemon_start() ports to try */
#define TAIL_BYTES	1500

static pid_t	 spawned[MAX_DAEMONS];	/* not yet reaped */
static unsigned	 seq;
static char	 tailbuf[TAIL_BYTES + 8];

static void
forget(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_DAEMONS; i++)
		if (spawned[i] == pid)
			spawned[i] = 0;
}

void
harness_kill_spawned(void)
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
}

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
		if ((high[i] = fcntl(d->pass_fds[i], F_DUPFD_CLOEXEC,
		    100)) == -1)
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
	char	 name[32];
	pid_t	 parent = getpid(), pid;
	size_t	 i, slot;
	int	 errfd, outfd, nullfd;

	free(d->log);
	free(d->out);
	d->log = d->out = NULL;
	d->pid = -1;
	d->status = 0;
	if (bin == NULL) {
		harness_seterr("ECHOD_BIN is not set (run through ctest)");
		return -1;
	}
	for (slot = 0; slot < MAX_DAEMONS && spawned[slot] != 0; slot++)
		;
	if (slot == MAX_DAEMONS) {
		harness_seterr("more than %d daemons in one test", MAX_DAEMONS);
		return -1;
	}
	argv[0] = bin;
	for (i = 0; i < MAX_ARGS && args[i] != NULL; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;

	seq++;
	snprintf(name, sizeof(name), "echod-%u.err", seq);
	harness_tmppath(d->errpath, sizeof(d->errpath), name);
	snprintf(name, sizeof(name), "echod-%u.out", seq);
	harness_tmppath(d->outpath, sizeof(d->outpath), name);
	errfd = open(d->errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	outfd = open(d->outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (errfd == -1 || outfd == -1 || nullfd == -1) {
		harness_seterr("cannot create %s: %s", d->errpath,
		    strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		harness_seterr("fork: %s", strerror(errno));
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
		if (d->pre_exec != NULL && d->pre_exec(d->pre_exec_arg) == -1) {
			dprintf(2, "harness: pre-exec: %s\n", strerror(errno));
			_exit(127);
		}
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
			harness_seterr("echod (pid %d) still running after "
			    "%d ms", (int)d->pid, timeout_ms);
			return -1;
		}
		harness_nap(HARNESS_POLL_MS);
	}
	return 0;
}

int
daemon_signal(struct daemon *d, int sig)
{
	if (!daemon_alive(d)) {
		harness_seterr("echod already exited with code %d",
		    daemon_exit_code(d));
		return -1;
	}
	if (kill(d->pid, sig) == -1) {
		harness_seterr("kill %d: %s", (int)d->pid, strerror(errno));
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
			harness_seterr("echod exited with code %d before "
			    "logging '%s' x%d; its stderr:\n%s",
			    daemon_exit_code(d), needle, count,
			    daemon_log_tail(d));
			return -1;
		}
		if (harness_now_ms() >= deadline) {
			harness_seterr("no '%s' x%d in echod's stderr within "
			    "%d ms; it holds:\n%s", needle, count, timeout_ms,
			    daemon_log_tail(d));
			return -1;
		}
		harness_nap(HARNESS_POLL_MS);
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
	char	 name[32];

	d->port = port;
	snprintf(name, sizeof(name), "echod-%u.conf", seq + 1);
	harness_tmppath(d->conf, sizeof(d->conf), name);
	if (harness_write_file(d->conf, "port = %d\n%s", port, body) == -1 ||
	    daemon_spawn(d, args) == -1)
		return -1;
	/*
	 * "started" comes once every socket, the UDP thread and its buffers
	 * exist: tests that count descriptors or address space need all.
	 */
	if (daemon_wait_log(d, "listening on", nsock, HARNESS_IO_MS) == -1)
		return -1;
	return daemon_wait_log(d, "echod: started (", 1, HARNESS_IO_MS);
}

int
daemon_start(struct daemon *d, int nsock, const char *fmt, ...)
{
	char	*body;
	va_list	 ap;
	int	 port, try, rc = -1;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) == -1) {
		va_end(ap);
		harness_seterr("vasprintf: out of memory");
		return -1;
	}
	va_end(ap);
	for (try = 0; try < START_TRIES; try++) {
		if ((port = harness_free_port(strstr(body, "::1") != NULL)) ==
		    -1)
			goto out;
		if (daemon_start_on(d, port, nsock, body) == 0) {
			rc = 0;
			goto out;
		}
		/* Someone took the port after we looked: pick another. */
		if (d->pid != -1 || daemon_exit_code(d) != 71 ||
		    strstr(daemon_log(d), "Address already in use") == NULL)
			goto out;
	}
	harness_seterr("no free port after %d tries", START_TRIES);
out:
	free(body);
	return rc;
}
