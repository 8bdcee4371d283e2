/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection suites' shared steps: the probe from another source,
 * windows that measure the daemon's CPU and log lines while probing, limits
 * put on the running daemon, crowds of attackers, the shape of a refusal
 * for want of threads or memory, and a connection flood.
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "harness_fault.h"

#define PROBE_EVERY_MS	100
#define PROBE_MAX	1024		/* bytes per probe round, at most */
#define SETTLE_MS	10000		/* leftovers to drain after a fault */

/* Sleep ms, through EINTR: a probe interval, not a condition. */
static void
nap(int ms)
{
	(void)poll(NULL, 0, ms);
}

/* ---- the probe ---- */

static long long
probe_round(int fd, uint64_t seed)
{
	unsigned char buf[PROBE_MAX];
	size_t	 len = 1 + (size_t)(seed % PROBE_MAX);
	long long t0 = harness_now_ms();

	harness_fill(buf, len, seed);
	ck_assert_msg(tcp_echo(fd, buf, len) == 0, "the probe from %s: %s",
	    FAULT_SRC_PROBE, harness_error());
	return harness_now_ms() - t0;
}

void
probe_open(struct probe *p, struct daemon *d)
{
	*p = (struct probe){ .seed = 0x5eed };
	p->fd = tcp_connect_src(FAULT_SRC_PROBE, d->port);
	ck_assert_msg(p->fd != -1, "%s", harness_error());
	probe_ok(p);
	p->fds = proc_fd_count(d->pid);
	p->threads = proc_thread_count(d->pid);
	ck_assert_msg(p->fds > 0 && p->threads > 0, "/proc/%d: %s",
	    (int)d->pid, strerror(errno));
}

void
fault_end(struct daemon *d, struct probe *p)
{
	close(p->fd);
	p->fd = -1;
	stop_ok(d, SIGTERM);
}

void
probe_ok(struct probe *p)
{
	long long took = probe_round(p->fd, p->seed++);

	p->rounds++;
	if (took > p->worst_ms)
		p->worst_ms = took;
	ck_assert_msg(took <= FAULT_RTT_MS, "probe round %u from %s took "
	    "%lld ms, bound %d ms", p->rounds, FAULT_SRC_PROBE, took,
	    FAULT_RTT_MS);
}

int
newcomer_ok(int port)
{
	long long t0 = harness_now_ms(), took;
	int	 fd = tcp_connect_src(FAULT_SRC_PROBE, port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	(void)probe_round(fd, (uint64_t)t0 | 1);
	took = harness_now_ms() - t0;
	ck_assert_msg(took <= FAULT_RTT_MS, "a newcomer from %s waited %lld "
	    "ms to be echoed, bound %d ms", FAULT_SRC_PROBE, took,
	    FAULT_RTT_MS);
	return fd;
}

/* ---- windows ---- */

int
log_lines(struct daemon *d)
{
	return daemon_log_count(d, "\n") - daemon_log_count(d, "echod: stats:");
}

void
window_ok(struct daemon *d, struct probe *p, int ms, bool cpu,
    window_step *step, void *arg, struct window *w)
{
	long long t0 = harness_now_ms(), c0 = proc_cpu_ms(d->pid), r, left;
	long long worst0 = p->worst_ms;
	unsigned rounds0 = p->rounds;
	int	 l0 = log_lines(d), gap;

	ck_assert_msg(c0 != -1, "/proc/%d/stat: %s", (int)d->pid,
	    strerror(errno));
	p->worst_ms = 0;
	while ((left = t0 + ms - harness_now_ms()) > 0) {
		r = harness_now_ms();
		probe_ok(p);
		gap = (int)(PROBE_EVERY_MS - (harness_now_ms() - r));
		if (gap > left)
			gap = (int)left;
		if (gap > 0 && step != NULL)
			step(arg, gap);
		if ((gap = (int)(r + PROBE_EVERY_MS - harness_now_ms())) > 0)
			nap(gap);
	}
	*w = (struct window){
		.rounds = p->rounds - rounds0,
		.worst_ms = p->worst_ms,
		.cpu_ms = proc_cpu_ms(d->pid) - c0,
		.wall_ms = harness_now_ms() - t0,
		.lines = log_lines(d) - l0,
	};
	if (worst0 > p->worst_ms)
		p->worst_ms = worst0;
	printf("window %lld ms: %u probe rounds, worst %lld ms, daemon cpu "
	    "%lld ms (%lld%%), %d log lines\n", w->wall_ms, w->rounds,
	    w->worst_ms, w->cpu_ms, w->cpu_ms * 100 / w->wall_ms, w->lines);
	if (cpu)
		ck_assert_msg(w->cpu_ms * 100 <= FAULT_CPU_PCT * w->wall_ms,
		    "the daemon used %lld ms of CPU in %lld ms (bound %d%% "
		    "of one core): it spins", w->cpu_ms, w->wall_ms,
		    FAULT_CPU_PCT);
}

void
log_lines_ok(struct daemon *d, int before, int max)
{
	int	 n = log_lines(d) - before;

	ck_assert_msg(n <= max, "%d log lines for the fault, at most %d:\n%s",
	    n, max, daemon_log_tail(d));
}

void
log_rate_ok(struct daemon *d, const char *needle, int before,
    long long since_ms)
{
	long long secs = (harness_now_ms() - since_ms) / 1000;
	/* The limiter counts whole seconds: a period may be one short. */
	int	 n = daemon_log_count(d, needle) - before,
	    max = 2 + (int)(secs / (FAULT_LOG_PERIOD_S - 1));

	ck_assert_msg(n >= 1, "the fault was never logged ('%s'):\n%s",
	    needle, daemon_log_tail(d));
	ck_assert_msg(n <= max, "'%s' logged %d times in %lld s: not "
	    "rate-limited (at most %d):\n%s", needle, n, secs, max,
	    daemon_log_tail(d));
}

/* ---- the daemon's process ---- */

long long
proc_cpu_ms(pid_t pid)
{
	char	 path[64], buf[1024], *p;
	unsigned long ut, st;
	long	 hz = sysconf(_SC_CLK_TCK);
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -1;
	buf[n] = '\0';
	/* Fields 14 and 15 (proc(5)), counted after the command's ')'. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 1,
	    " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
	    &st) != 2)
		return -1;
	return (long long)(ut + st) * 1000 / hz;
}

void
daemon_limit(struct daemon *d, int resource, unsigned long long v)
{
	struct rlimit rl = { .rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)v };

	ck_assert_msg(prlimit(d->pid, resource, &rl, NULL) == 0, "prlimit %d on pid %d: %s", resource, (int)d->pid,
	    strerror(errno));
}

unsigned long long
counter_wait_ge(struct daemon *d, const char *name, unsigned long long min,
    int timeout_ms, window_step *step, void *arg)
{
	long long deadline = harness_now_ms() + timeout_ms;
	unsigned long long v;

	for (;;) {
		if ((v = counter_ok(d, name)) >= min)
			return v;
		ck_assert_msg(harness_now_ms() < deadline, "%s is %llu after "
		    "%d ms, expected at least %llu", name, v, timeout_ms, min);
		if (step != NULL)
			step(arg, 20);
		else
			nap(20);
	}
}

void
recovered_ok(struct daemon *d, struct probe *p, unsigned clients)
{
	long long deadline = harness_now_ms() + SETTLE_MS;
	struct window w;
	int	 fds = p->fds + (int)clients - 1;
	int	 threads = p->threads + (int)clients - 1;
	int	 nfd, nthr, nc;

	ck_assert_msg(daemon_wait_clients(d, clients, SETTLE_MS) == 0, "%s",
	    harness_error());
	/* Threads exit after they unregister: poll for the last ones. */
	for (;;) {
		nfd = proc_fd_count(d->pid);
		nthr = proc_thread_count(d->pid);
		if (nfd == fds && nthr == threads)
			break;
		ck_assert_msg(harness_now_ms() < deadline, "after the fault "
		    "the daemon holds %d descriptors and %d threads, before "
		    "%d and %d: a leak", nfd, nthr, fds, threads);
		nap(10);
	}
	probe_ok(p);
	nc = newcomer_ok(d->port);
	close(nc);
	ck_assert_msg(daemon_wait_clients(d, clients, SETTLE_MS) == 0, "%s",
	    harness_error());
	window_ok(d, p, FAULT_WINDOW_MS, true, NULL, NULL, &w);
	ck_assert_msg(w.lines <= 1, "%d log lines once the fault was over:\n%s",
	    w.lines, daemon_log_tail(d));
}

/* ---- a crowd: attackers that keep coming ---- */

void
crowd_init(struct crowd *c, size_t cap, int port, uint64_t len)
{
	*c = (struct crowd){ .cap = cap, .port = port, .len = len,
	    .seed = 0xc0ffee };
	c->f = calloc(cap, sizeof(*c->f));
	ck_assert_ptr_nonnull(c->f);
}

void
crowd_add(struct crowd *c, size_t k)
{
	if (k > c->cap - c->n)
		k = c->cap - c->n;
	flows_open(c->f + c->n, k, FAULT_SRC_ATTACK, c->port,
	    c->seed + c->n * 0x10001, c->len);
	c->n += k;
}

void
crowd_step(void *arg, int ms)
{
	struct crowd *c = arg;

	crowd_add(c, c->per_round);
	(void)flows_pump(c->f, c->n, ms);
}

void
crowd_free(struct crowd *c)
{
	flows_close(c->f, c->n);
	free(c->f);
	c->f = NULL;
}

/*
 * The shape of "out of threads" and "out of memory": of a crowd, those
 * the daemon could start a thread for are served whole, the rest closed at
 * once; the count of refusals matches, nothing else is refused; once the
 * served leave, as many newcomers are served again.
 */
void
refusal_ok(struct daemon *d, struct probe *p, const char *needle)
{
	struct crowd c;
	struct window w;
	long long t0 = harness_now_ms();
	int	 before = daemon_log_count(d, needle);
	size_t	 served, lost, i;

	crowd_init(&c, REFUSAL_CROWD + REFUSAL_MORE, d->port, 2048);
	crowd_add(&c, REFUSAL_CROWD);
	flows_settle(c.f, c.n, SETTLE_MS);
	/* The attack goes on while the probe is watched. */
	c.per_round = REFUSAL_MORE * PROBE_EVERY_MS / FAULT_WINDOW_MS;
	window_ok(d, p, FAULT_WINDOW_MS, true, crowd_step, &c, &w);
	flows_settle(c.f, c.n, SETTLE_MS);
	flows_none_bad(c.f, c.n);
	served = flows_count(c.f, c.n, FLOW_OPEN);
	lost = flows_count(c.f, c.n, FLOW_LOST);
	printf("%s: %zu of %zu served, %zu refused\n", needle, served, c.n,
	    lost);
	ck_assert_uint_eq(served + lost, c.n);
	ck_assert_msg(served >= 1 && lost >= 1, "the limit did not bite: "
	    "%zu served, %zu refused", served, lost);
	for (i = 0; i < c.n; i++)
		ck_assert_msg(c.f[i].state != FLOW_LOST || c.f[i].rcvd == 0,
		    "flow %zu was dropped half-served: %s", i, c.f[i].why);
	ck_assert_uint_eq(counter_ok(d, "tcp_refused_thread"), lost);
	ck_assert_uint_eq(counter_ok(d, "tcp_refused_max_clients"), 0);
	ck_assert_uint_eq(counter_ok(d, "tcp_clients"), served + 1);
	log_rate_ok(d, needle, before, t0);
	/* Threads come back with the clients that leave. */
	crowd_free(&c);
	recovered_ok(d, p, 1);
	crowd_init(&c, served, d->port, 2048);
	crowd_add(&c, served);
	flows_settle(c.f, c.n, SETTLE_MS);
	ck_assert_msg(flows_count(c.f, c.n, FLOW_OPEN) == served, "after the "
	    "fault, %zu of %zu newcomers served",
	    flows_count(c.f, c.n, FLOW_OPEN), served);
	crowd_free(&c);
}

/* ---- a connection flood ---- */

/* A child's loop: connect and reset, until ms pass or the daemon is gone. */
static void __attribute__((noreturn))
flood_child(int port, int ms)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	long long deadline = harness_now_ms() + ms;
	int	 fd;

	while (harness_now_ms() < deadline) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) ==
		    -1)
			_exit(1);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
		    errno == ECONNREFUSED)
			_exit(0);
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	_exit(0);
}

void
flood_start(struct flood *fl, int port, int nproc, int ms)
{
	pid_t	 parent = getpid();

	ck_assert_int_le(nproc, FLOOD_MAX);
	for (fl->n = 0; fl->n < nproc; fl->n++) {
		ck_assert_msg((fl->pid[fl->n] = fork()) != -1, "fork: %s",
		    strerror(errno));
		if (fl->pid[fl->n] == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
			    getppid() != parent)
				_exit(1);
			flood_child(port, ms);
		}
	}
}

void
flood_stop(struct flood *fl)
{
	while (fl->n > 0) {
		pid_t	 pid = fl->pid[--fl->n];

		(void)kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
}

int
fault_skip(const char *prog, const char *why)
{
	const char *req = getenv("ECHOD_FAULT_TEST");

	if (req != NULL && strcmp(req, "require") == 0) {
		printf("%s: FAIL: ECHOD_FAULT_TEST=require but cannot run: "
		    "%s\n", prog, why);
		return EXIT_FAILURE;
	}
	return harness_skip(prog, why);
}
