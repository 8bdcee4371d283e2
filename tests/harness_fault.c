/* SPDX-License-Identifier: MIT */
/*
 * The fault-injection suites' shared steps: the probe from another source,
 * windows that measure the daemon's CPU and log lines while probing, limits
 * put on the running daemon, and the flow engine (a poll(2) loop over many
 * clients whose bytes are a seeded pattern, checked as they come back).
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
#include "testrand.h"

#define PROBE_EVERY_MS	100
#define PROBE_MAX	1024		/* bytes per probe round, at most */
#define FLOW_CHUNK	((size_t)64 * 1024)
#define FLOW_WINDOW	((uint64_t)256 * 1024)	/* in flight, reading flows */
#define SETTLE_MS	10000		/* leftovers to drain after a fault */
#define STALL_MS	300		/* no progress for this long: stuck */

static unsigned char	flow_buf[FLOW_CHUNK];
static unsigned char	flow_want[FLOW_CHUNK];

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

/* ---- flows ---- */

/* Bytes off..off+len of the stream seed: each 8 from one test_rand(). */
static void
pattern(unsigned char *p, uint64_t seed, uint64_t off, size_t len)
{
	uint64_t st = seed + (off / 8) * 0x9e3779b97f4a7c15ULL;
	uint64_t r = test_rand(&st);
	unsigned sh = (unsigned)(off % 8);
	size_t	 i;

	for (i = 0; i < len; i++) {
		p[i] = (unsigned char)(r >> (8 * sh));
		if (++sh == 8) {
			sh = 0;
			r = test_rand(&st);
		}
	}
}

static void __attribute__((format(printf, 3, 4)))
flow_stop(struct flow *f, enum flow_state st, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	f->state = st;
	close(f->fd);
	f->fd = -1;
}

/* A reset or a broken pipe is the daemon letting go; the rest is a bug. */
static void
flow_error(struct flow *f, const char *what, int err)
{
	flow_stop(f, err == ECONNRESET || err == EPIPE ? FLOW_LOST : FLOW_BAD,
	    "%s after %llu sent, %llu echoed: %s", what,
	    (unsigned long long)f->sent, (unsigned long long)f->rcvd,
	    strerror(err));
}

static bool
flow_at_end(const struct flow *f)
{
	return f->sent >= f->end_sent && f->rcvd >= f->end_rcvd &&
	    (!f->shut_wr || f->eof);
}

static bool
flow_settled(const struct flow *f)
{
	return f->state != FLOW_OPEN || (f->end == FLOW_HOLD && flow_at_end(f));
}

/* What an open flow waits for: POLLOUT, POLLIN, or 0 (idle). */
static short
flow_events(const struct flow *f)
{
	short	 ev = 0;

	if (f->sent < f->len && (!f->reading || f->sent - f->rcvd <
	    FLOW_WINDOW))
		ev |= POLLOUT;
	if (f->reading)
		ev |= POLLIN;
	return ev;
}

static void
flow_apply_end(struct flow *f)
{
	if (f->state != FLOW_OPEN || !flow_at_end(f) || f->end == FLOW_HOLD)
		return;
	if (f->end == FLOW_RESET)
		tcp_reset(f->fd);
	else
		close(f->fd);
	f->fd = -1;
	f->state = FLOW_ENDED;
}

static void
flow_send(struct flow *f)
{
	uint64_t chunk = f->len - f->sent;
	ssize_t	 n;

	if (chunk > FLOW_CHUNK)
		chunk = FLOW_CHUNK;
	if (f->reading && chunk > FLOW_WINDOW - (f->sent - f->rcvd))
		chunk = FLOW_WINDOW - (f->sent - f->rcvd);
	pattern(flow_buf, f->seed, f->sent, (size_t)chunk);
	n = send(f->fd, flow_buf, (size_t)chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			flow_error(f, "send", errno);
		return;
	}
	f->sent += (uint64_t)n;
	if (f->sent == f->len && f->shut_wr && shutdown(f->fd, SHUT_WR) == -1)
		flow_error(f, "shutdown", errno);
}

static void
flow_recv(struct flow *f)
{
	ssize_t	 n = recv(f->fd, flow_buf, sizeof(flow_buf), MSG_DONTWAIT);
	uint64_t at;
	size_t	 i;

	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			flow_error(f, "recv", errno);
		return;
	}
	if (n == 0) {
		if (f->shut_wr && f->sent == f->len && f->rcvd == f->sent &&
		    !f->eof)
			f->eof = true;
		else
			flow_stop(f, FLOW_LOST, "EOF after %llu sent, %llu "
			    "echoed", (unsigned long long)f->sent,
			    (unsigned long long)f->rcvd);
		return;
	}
	at = f->rcvd + (uint64_t)n;
	if (at > f->sent) {
		flow_stop(f, FLOW_BAD, "%llu bytes echoed, %llu sent",
		    (unsigned long long)at, (unsigned long long)f->sent);
		return;
	}
	pattern(flow_want, f->seed, f->rcvd, (size_t)n);
	if (memcmp(flow_want, flow_buf, (size_t)n) != 0) {
		for (i = 0; flow_want[i] == flow_buf[i]; i++)
			;
		at = f->rcvd + i;
		flow_stop(f, FLOW_BAD, "byte %llu differs: sent 0x%02x, got "
		    "0x%02x", (unsigned long long)at, flow_want[i], flow_buf[i]);
		return;
	}
	f->rcvd += (uint64_t)n;
}

/* A client that does not read learns of a reset from poll only. */
static void
flow_hangup(struct flow *f)
{
	socklen_t len = sizeof(int);
	int	 err = 0;

	if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	flow_error(f, "hangup", err != 0 ? err : ECONNRESET);
}

void
flows_open(struct flow *f, size_t n, const char *src, int port,
    uint64_t seed, uint64_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		f[i] = (struct flow){ .seed = seed + i, .len = len,
		    .end_sent = len, .end_rcvd = len, .reading = true };
		f[i].fd = tcp_connect_src(src, port);
		ck_assert_msg(f[i].fd != -1, "flow %zu of %zu: %s", i, n,
		    harness_error());
	}
}

size_t
flows_pump(struct flow *f, size_t n, int ms)
{
	long long deadline = harness_now_ms() + ms, left;
	struct pollfd *pfd = calloc(n > 0 ? n : 1, sizeof(*pfd));
	size_t	*idx = calloc(n > 0 ? n : 1, sizeof(*idx));
	size_t	 i, k, np, busy;
	int	 rc;

	ck_assert(pfd != NULL && idx != NULL);
	for (;;) {
		np = busy = 0;
		for (i = 0; i < n; i++) {
			flow_apply_end(&f[i]);
			if (f[i].state != FLOW_OPEN ||
			    (pfd[np].events = flow_events(&f[i])) == 0)
				continue;	/* a hangup would spin poll */
			pfd[np].fd = f[i].fd;
			idx[np++] = i;
			if (!flow_settled(&f[i]))
				busy++;
		}
		if (busy == 0 || (left = deadline - harness_now_ms()) <= 0)
			break;
		if ((rc = poll(pfd, np, (int)left)) == -1) {
			ck_assert_msg(errno == EINTR, "poll: %s",
			    strerror(errno));
			continue;
		}
		for (k = 0; rc > 0 && k < np; k++) {
			struct flow *fl = &f[idx[k]];
			short	 re = pfd[k].revents;

			if (re & POLLOUT)
				flow_send(fl);
			if (fl->state != FLOW_OPEN)
				continue;
			if (fl->reading && (re & (POLLIN | POLLHUP | POLLERR)))
				flow_recv(fl);
			else if (!fl->reading && (re & (POLLHUP | POLLERR)))
				flow_hangup(fl);
		}
	}
	free(pfd);
	free(idx);
	return busy;
}

void
flows_settle(struct flow *f, size_t n, int timeout_ms)
{
	size_t	 busy = flows_pump(f, n, timeout_ms), i;

	for (i = 0; i < n && flow_settled(&f[i]); i++)
		;
	ck_assert_msg(busy == 0, "%zu of %zu flows still busy after %d ms, "
	    "e.g. flow %zu: %llu sent, %llu echoed", busy, n, timeout_ms, i,
	    i < n ? (unsigned long long)f[i].sent : 0ULL,
	    i < n ? (unsigned long long)f[i].rcvd : 0ULL);
}

void
flows_finish(struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN) {
			f[i].len = f[i].end_sent = f[i].end_rcvd = f[i].sent;
			f[i].end = FLOW_HOLD;
			f[i].reading = true;
		}
}

size_t
flows_count(const struct flow *f, size_t n, enum flow_state st)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (f[i].state == st)
			c++;
	return c;
}

size_t
flows_done(const struct flow *f, size_t n)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN && flow_settled(&f[i]))
			c++;
	return c;
}

void
flows_stall(struct flow *f, size_t n, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	uint64_t before, now = 0;
	size_t	 i;

	do {
		ck_assert_msg(harness_now_ms() < deadline, "the flows still "
		    "move after %d ms", timeout_ms);
		before = now;
		(void)flows_pump(f, n, STALL_MS);
		for (now = 0, i = 0; i < n; i++)
			now += f[i].sent + f[i].rcvd;
	} while (now != before);
}

void
flows_none_bad(const struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		ck_assert_msg(f[i].state != FLOW_BAD, "flow %zu of %zu: %s",
		    i, n, f[i].why);
}

void
flows_close(struct flow *f, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (f[i].state == FLOW_OPEN) {
			close(f[i].fd);
			f[i].fd = -1;
			f[i].state = FLOW_ENDED;
		}
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
