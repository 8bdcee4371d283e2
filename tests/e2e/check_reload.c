/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP reload, end to end.  A valid file is applied without dropping
 * clients (limits, timeouts and log level at once, a changed port
 * rebinds, -p still beats the file).  A reload is a transaction: for every
 * key that SIGHUP applies, a file that changes it but is then rejected
 * (invalid, a socket that cannot be bound, unreadable) leaves the old value
 * in force, seen from a client, and the daemon keeps serving.  Also: the
 * reported reason names the right cause, and a fifo at the config path
 * neither blocks the main loop nor delays SIGTERM.  The loop guard's cases
 * need root (a UDP port below 1024): skipped otherwise.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

/* How the new file is rejected. */
enum rejection { REJECT_INVALID, REJECT_BIND, REJECT_UNREADABLE, NREJECT };

static const char *const verdicts[NREJECT] = {
	[REJECT_INVALID] = "is invalid; the running configuration stays",
	[REJECT_BIND] = "reload: the running configuration stays",
	[REJECT_UNREADABLE] = "cannot read",
};

/* A key, the value it starts with, the value the rejected file asks for. */
struct key_case {
	const char	*name;
	const char	*before;
	const char	*after;
	void		(*in_force)(struct daemon *);	/* asserts before */
};

static void
max_clients_1(struct daemon *d)
{
	int	 a = connect_ok(d, AF_INET), b;

	echo_ok(a, "a", 1);
	b = connect_ok(d, AF_INET);
	ck_assert_msg(sock_wait_closed(b, HARNESS_IO_MS) == 0,
	    "a second client was admitted: max_clients is no longer 1");
	close(a);
	close(b);
	clients_ok(d, 0);
}

static void
idle_timeout_1(struct daemon *d)
{
	int	 a = connect_ok(d, AF_INET);

	echo_ok(a, "a", 1);
	ck_assert_msg(sock_wait_closed(a, 5000) == 0,
	    "a silent client was kept: idle_timeout is no longer 1");
	close(a);
}

static void
keepalive_7(struct daemon *d)
{
	unsigned timer;
	unsigned long when;
	int	 a = connect_ok(d, AF_INET);

	echo_ok(a, "a", 1);
	ck_assert_msg(harness_tcp_peer_timer(a, d->port, &timer, &when) == 0,
	    "%s", harness_error());
	/* Timer 2 is keepalive, due within 7 s (700 ticks), not 300 s. */
	ck_assert_msg(timer == 2 && when <= 700UL,
	    "tcp_keepalive = 7 not in force: timer %u in %lu ticks", timer,
	    when);
	close(a);
}

static void
debug_level(struct daemon *d)
{
	int	 n = daemon_log_count(d, ": connected"), a;

	a = connect_ok(d, AF_INET);
	echo_ok(a, "a", 1);
	ck_assert_msg(daemon_wait_log(d, ": connected", n + 1, HARNESS_IO_MS) ==
	    0, "no debug line: log_level is no longer debug");
	close(a);
}

/* A port below 1024 can be bound (root); else the test is skipped. */
static bool
low_port_ok(void)
{
	if (geteuid() == 0)
		return true;
	test_skip("needs root: a UDP port below 1024 for the loop guard");
	return false;
}

static void
loop_guard_on(struct daemon *d)
{
	static unsigned char buf[64];
	unsigned long long before, after;
	int	 low = udp_low_port(d->port), fd;
	ssize_t	 n;

	/* Its tests run as root (low_port_ok() skips them otherwise). */
	ck_assert_msg(low != -1, "%s", harness_error());
	before = counter_ok(d, "udp_dropped_loop_guard");
	fd = udp_connect_ok(d, AF_INET);
	ck_assert_int_eq(send(low, "loop?", 5, 0), 5);
	/* Served in arrival order: once this is back, the other was seen. */
	udp_echo_ok(fd, "normal", 6);
	n = udp_recv(low, buf, sizeof(buf), 100);
	ck_assert_msg(n == -1, "a datagram from a port below 1024 was "
	    "answered: udp_loop_guard is no longer true");
	after = counter_ok(d, "udp_dropped_loop_guard");
	ck_assert_uint_eq(after, before + 1);
	close(low);
	close(fd);
}

static void
tcp_served(struct daemon *d)
{
	int	 a = connect_ok(d, AF_INET);

	echo_ok(a, "tcp", 3);
	close(a);
}

static void
udp_served(struct daemon *d)
{
	int	 u = udp_connect_ok(d, AF_INET);
	udp_echo_ok(u, "udp", 3);
	close(u);
}

/* The old port answers both protocols. */
static void
port_kept(struct daemon *d)
{
	still_serving(d, "a rejected port change");
}

/* A fresh source each call, so state from an earlier probe never counts. */
static const char *
fresh_source(void)
{
	static char buf[32];
	static int n;

	snprintf(buf, sizeof(buf), "127.0.%d.%d", 1 + n / 250, 1 + n % 250);
	n++;
	return buf;
}

/* A second connection from a fresh source is closed at once. */
static void
second_refused(struct daemon *d, const char *what)
{
	const char *src = fresh_source();
	int	 a = tcp_connect_src(src, d->port), b;

	ck_assert_msg(a != -1, "%s", harness_error());
	echo_ok(a, "a", 1);
	b = tcp_connect_src(src, d->port);
	ck_assert_msg(b != -1 && sock_wait_closed(b, HARNESS_IO_MS) == 0,
	    "%s", what);
	close(a);
	close(b);
}

static void
per_source_1(struct daemon *d)
{
	second_refused(d, "max_clients_per_source is no longer 1");
}

static void
connect_rate_1(struct daemon *d)
{
	second_refused(d, "connect_rate_per_source is no longer 1, burst 1");
}

static void
udp_rate_1(struct daemon *d)
{
	char	 buf[16];
	int	 u = udp_connect_src(fresh_source(), 0, d->port);

	ck_assert_msg(u != -1, "%s", harness_error());
	udp_echo_ok(u, "one", 3);
	ck_assert_int_eq(send(u, "two", 3, 0), 3);
	ck_assert_msg(udp_recv(u, buf, sizeof(buf), 200) == -1,
	    "udp_rate_per_source is no longer 1, burst 1");
	close(u);
}

static void
deny_9(struct daemon *d)
{
	int	 a = tcp_connect_src("127.0.0.9", d->port);

	ck_assert_msg(a != -1 && sock_wait_closed(a, HARNESS_IO_MS) == 0,
	    "127.0.0.9 is no longer denied");
	close(a);
}

static void
fair_share_on(struct daemon *d)
{
	int	 hog = tcp_connect_src("127.0.0.1", d->port), nc;

	ck_assert_msg(hog != -1, "%s", harness_error());
	echo_ok(hog, "h", 1);
	/*
	 * Idle: its thread is back in recv() (fair share takes only such a
	 * client), which the echo arriving here does not yet prove.
	 */
	ck_assert_msg(proc_wait_asleep(d->pid, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	nc = tcp_connect_src(fresh_source(), d->port);
	ck_assert_msg(nc != -1, "%s", harness_error());
	echo_ok(nc, "n", 1);
	ck_assert_msg(sock_wait_closed(hog, HARNESS_IO_MS) == 0,
	    "fair_share is no longer on");
	close(hog);
	close(nc);
	clients_ok(d, 0);
}

static const struct key_case keys[] = {
	{ "max_clients", "max_clients = 1\n", "max_clients = 5\n",
	    max_clients_1 },
	{ "idle_timeout", "idle_timeout = 1\n", "idle_timeout = 0\n",
	    idle_timeout_1 },
	{ "tcp_keepalive", "tcp_keepalive = 7\n", "tcp_keepalive = 0\n",
	    keepalive_7 },
	{ "log_level", "log_level = \"debug\"\n", "log_level = \"error\"\n",
	    debug_level },
	{ "udp_loop_guard", "udp_loop_guard = true\n",
	    "udp_loop_guard = false\n", loop_guard_on },
	{ "tcp", "tcp = true\n", "tcp = false\n", tcp_served },
	{ "udp", "udp = true\n", "udp = false\n", udp_served },
	{ "port", "", NULL, port_kept },	/* after: another port */
	{ "max_clients_per_source", "max_clients_per_source = 1\n",
	    "max_clients_per_source = 0\n", per_source_1 },
	{ "connect_rate_per_source", "connect_rate_per_source = 1\n"
	    "connect_burst = 1\n", "connect_rate_per_source = 0\n",
	    connect_rate_1 },
	{ "udp_rate_per_source", "udp_rate_per_source = 1\n"
	    "udp_rate_burst = 1\nudp_prefix_v4 = 32\n",
	    "udp_rate_per_source = 0\n", udp_rate_1 },
	{ "deny", "deny = {\"127.0.0.9\"}\n", "deny = {}\n", deny_9 },
	{ "fair_share", "max_clients = 1\nfair_share = true\n",
	    "max_clients = 1\nfair_share = false\n", fair_share_on },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/* Replace the config with a fifo: a read would block for ever. */
static void
make_unreadable(struct daemon *d)
{
	ck_assert_int_eq(unlink(d->conf), 0);
	ck_assert_int_eq(mkfifo(d->conf, 0600), 0);
}

/* _i runs over keys x rejections. */
START_TEST(test_rejected_reload_keeps_value)
{
	const struct key_case *k = &keys[_i / NREJECT];
	enum rejection how = (enum rejection)(_i % NREJECT);
	struct daemon d = DAEMON_INIT;
	char	 body[512], other[64];
	int	 newport = harness_free_port(false), n;

	if (k->in_force == loop_guard_on && !low_port_ok())
		return;
	ck_assert_msg(newport > 0, "%s", harness_error());
	start(&d, k->before);
	k->in_force(&d);
	snprintf(other, sizeof(other), "port = %d\n", newport);
	snprintf(body, sizeof(body), "%s%s%s", k->after != NULL ? k->after :
	    other, how == REJECT_BIND ? "listen = {\"127.0.0.1\", "
	    "\"192.0.2.1\"}\n" : CONF_LOCAL, how == REJECT_INVALID ?
	    "bogus_key = 1\n" : "");
	/* "port = <old>" first; the case's own port line, if any, wins. */
	n = daemon_log_count(&d, verdicts[how]);
	ck_assert_int_eq(harness_write_file(d.conf, "port = %d\n%s", d.port,
	    body), 0);
	if (how == REJECT_UNREADABLE)
		make_unreadable(&d);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_msg(daemon_wait_log(&d, verdicts[how], n + 1,
	    HARNESS_IO_MS) == 0, "%s, rejected by %d: no '%s': %s", k->name,
	    how, verdicts[how], daemon_log_tail(&d));
	ck_assert_msg(strstr(daemon_log(&d), "applied") == NULL,
	    "a rejected file was applied: %s", daemon_log_tail(&d));
	k->in_force(&d);
	if (k->after == NULL)
		ck_assert_msg(tcp_connect(AF_INET, newport) == -1 &&
		    errno == ECONNREFUSED,
		    "the new port of a rejected file is served: %s",
		    harness_error());
	ck_assert_uint_eq(counter_ok(&d, "reloads_failed"), 1);
	ck_assert_uint_eq(counter_ok(&d, "reloads"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * The defect that started it: a bind failure used to restart UDP with the
 * new file's loop guard while saying the old configuration stays.
 */
START_TEST(test_bind_failure_keeps_loop_guard)
{
	struct daemon d = DAEMON_INIT;

	if (!low_port_ok())
		return;
	start(&d, "udp_loop_guard = true\n");
	loop_guard_on(&d);
	reload(&d, "reload: the running configuration stays", d.port,
	    "listen = {\"127.0.0.1\", \"192.0.2.1\"}\n"
	    "udp_loop_guard = false\n");
	ck_assert_msg(strstr(daemon_log(&d), "cannot bind") != NULL, "%s",
	    daemon_log_tail(&d));
	loop_guard_on(&d);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Out of descriptors is "cannot read", not "invalid": the file is fine. */
START_TEST(test_emfile_is_not_invalid)
{
	struct daemon d = DAEMON_INIT;
	int	 fds;

	start(&d, "");
	fds = proc_fd_count(d.pid);
	ck_assert_int_gt(fds, 0);
	/* Every descriptor it may have is in use: open(2) fails. */
	limit_ok(d.pid, RLIMIT_NOFILE, (rlim_t)fds);
	reload(&d, "reload: cannot read", d.port, CONF_LOCAL
	    "max_clients = 7\n");
	ck_assert_msg(strstr(daemon_log(&d), "Too many open files") != NULL &&
	    strstr(daemon_log(&d), "is invalid") == NULL, "%s",
	    daemon_log_tail(&d));
	limit_ok(d.pid, RLIMIT_NOFILE, RLIM_INFINITY);
	/* With descriptors back, the same file applies. */
	reload(&d, "applied (max_clients 7", d.port, CONF_LOCAL
	    "max_clients = 7\n");
	tcp_served(&d);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A fifo at the config path: refused at once, and SIGTERM still works. */
START_TEST(test_fifo_does_not_block)
{
	struct daemon d = DAEMON_INIT;
	long long t0;

	start(&d, "");
	make_unreadable(&d);
	t0 = harness_now_ms();
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	ck_assert_msg(daemon_wait_log(&d, "a fifo, not a regular file", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	ck_assert_msg(harness_now_ms() - t0 < 1000, "the fifo took %lld ms",
	    harness_now_ms() - t0);
	/* The accept loop runs: a new client is served. */
	tcp_served(&d);
	ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* 1,000 SIGHUPs then one SIGTERM: the stop request is never lost. */
START_TEST(test_sigterm_among_sighups)
{
	struct daemon d = DAEMON_INIT;
	int	 i;

	start(&d, "");
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(daemon_signal(&d, SIGHUP), 0);
	tcp_served(&d);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(daemon_signal(&d, i % 2 ? SIGHUP : SIGUSR1),
		    0);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A client of port, echoed once. */
static int
client(int port)
{
	int	 fd = tcp_connect(AF_INET, port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	echo_ok(fd, "hello", 5);
	return fd;
}

START_TEST(test_reload_max_clients_keeps_clients)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, c;

	start(&d, "max_clients = 5\n");
	a = client(d.port);
	b = client(d.port);
	reload(&d, "applied (max_clients 2", d.port, CONF_LOCAL
	    "max_clients = 2\n");
	/* Both survive the reload; a third is now over the limit. */
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);
	c = tcp_connect(AF_INET, d.port);
	ck_assert_msg(c != -1, "%s", harness_error());
	ck_assert_msg(sock_wait_closed(c, HARNESS_IO_MS) == 0,
	    "a client over the new max_clients was served");
	close(a);
	close(b);
	close(c);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_invalid_keeps_config)
{
	struct daemon d = DAEMON_INIT;
	char	 want[4200];
	int	 a;

	start(&d, "max_clients = 1\n");
	a = client(d.port);
	reload(&d, "the running configuration stays", d.port,
	    "\nmax_clients = 0\n");
	snprintf(want, sizeof(want), "%s:3: max_clients 0 out of range",
	    d.conf);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL, "no '%s' in %s",
	    want, daemon_log_tail(&d));
	ck_assert(daemon_alive(&d));
	echo_ok(a, "still", 5);
	close(a);
	clients_ok(&d, 0);
	/* The old max_clients (1) still holds: one client, served. */
	a = client(d.port);
	close(a);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_rebinds_port)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, newport = harness_free_port(false), u;

	ck_assert_int_gt(newport, 0);
	start(&d, "");
	a = client(d.port);
	reload(&d, "applied", newport, CONF_LOCAL);
	ck_assert_int_eq(daemon_log_count(&d, "closing tcp 127.0.0.1:"), 1);
	/* The connected client stays; new ones go to the new port. */
	echo_ok(a, "kept", 4);
	b = client(newport);
	u = udp_connect(AF_INET, newport);
	ck_assert_msg(u != -1, "%s", harness_error());
	udp_echo_ok(u, "dgram", 5);
	/* Refused, not timed out or failed for some other reason. */
	ck_assert_msg(tcp_connect(AF_INET, d.port) == -1 &&
	    errno == ECONNREFUSED, "the old port is still served: %s",
	    harness_error());
	close(a);
	close(b);
	close(u);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_bind_failure_keeps_sockets)
{
	struct daemon d = DAEMON_INIT;
	int	 busy = harness_free_port(false), hold, a;

	ck_assert_int_gt(busy, 0);
	hold = harness_occupy(AF_INET, SOCK_STREAM, busy);
	ck_assert_msg(hold != -1, "%s", harness_error());
	start(&d, "");
	reload(&d, "the running configuration stays", busy, CONF_LOCAL);
	ck_assert_msg(strstr(daemon_log(&d), "cannot bind tcp 127.0.0.1:") !=
	    NULL, "%s", daemon_log_tail(&d));
	a = client(d.port);
	close(a);
	close(hold);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_idle_timeout_and_log_level)
{
	struct daemon d = DAEMON_INIT;
	int	 idle;

	start(&d, "");
	idle = client(d.port);
	ck_assert_int_eq(daemon_log_count(&d, ": connected"), 0);
	reload(&d, "applied (max_clients 1024, idle_timeout 1, log_level "
	    "debug)", d.port, CONF_LOCAL "idle_timeout = 1\n"
	    "log_level = \"debug\"\n");
	/* The new timeout reaches the client connected before it. */
	ck_assert_msg(sock_wait_closed(idle, HARNESS_IO_MS) == 0,
	    "idle client not dropped after reload");
	ck_assert_msg(daemon_wait_log(&d, "idle timeout", 1, HARNESS_IO_MS) ==
	    0, "%s", daemon_log_tail(&d));
	close(idle);
	idle = client(d.port);
	ck_assert_msg(daemon_wait_log(&d, ": connected", 1, HARNESS_IO_MS) ==
	    0, "debug level not applied: %s", daemon_log_tail(&d));
	close(idle);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload_keeps_port_option)
{
	struct daemon d = DAEMON_INIT;
	const char *args[] = { "-c", NULL, "-p", NULL, NULL };
	char	 conf[4096], port[16];
	int	 p = harness_free_port(false), a;

	ck_assert_int_gt(p, 0);
	harness_tmppath(conf, sizeof(conf), "port-option.conf");
	ck_assert_int_eq(harness_write_file(conf, "port = 1\n" CONF_LOCAL),
	    0);
	snprintf(port, sizeof(port), "%d", p);
	args[1] = conf;
	args[3] = port;
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(&d, "listening on", 2, HARNESS_IO_MS) ==
	    0, "%s", daemon_log_tail(&d));
	snprintf(d.conf, sizeof(d.conf), "%s", conf);
	/* -p beats the file on reload too. */
	reload(&d, "applied (max_clients 3", 2, CONF_LOCAL
	    "max_clients = 3\n");
	a = client(p);
	close(a);
	ck_assert_int_eq(daemon_log_count(&d, "closing"), 0);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite	*s = suite_create("reload");
	TCase	*tc = tcase_new(s, "transaction", 120);

	tcase_add_loop_test(tc, test_rejected_reload_keeps_value, 0,
	    (int)(NKEYS * NREJECT));
	tcase_add_test(tc, test_bind_failure_keeps_loop_guard);
	tc = tcase_new(s, "applied", 60);
	tcase_add_test(tc, test_reload_max_clients_keeps_clients);
	tcase_add_test(tc, test_reload_invalid_keeps_config);
	tcase_add_test(tc, test_reload_rebinds_port);
	tcase_add_test(tc, test_reload_bind_failure_keeps_sockets);
	tcase_add_test(tc, test_reload_idle_timeout_and_log_level);
	tcase_add_test(tc, test_reload_keeps_port_option);
	tc = tcase_new(s, "reading", 60);
	tcase_add_test(tc, test_emfile_is_not_invalid);
	tcase_add_test(tc, test_fifo_does_not_block);
	tcase_add_test(tc, test_sigterm_among_sighups);
	return s;
}

int
main(void)
{
	return harness_main(reload_suite(), "check_reload");
}
