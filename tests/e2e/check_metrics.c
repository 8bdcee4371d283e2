/* SPDX-License-Identifier: MIT */
/*
 * The metrics endpoint, end to end: a scrape after traffic of every kind
 * shows every row of the counters table with the value SIGUSR1 shows and
 * passes `promtool check metrics`; OpenMetrics on request; 404 and 405;
 * metrics_allow; reloads that move, stop and fail to bind the endpoint
 * (the old one stays); a port in use at start is exit 71; and abuse of
 * the port (idle connections, garbage, a 1 MiB request line) leaves the
 * echo service, the daemon's descriptors and memory alone.  Without
 * libmicrohttpd: the key is refused at -t and start (exit 78); the
 * endpoint's tests skip, unless the build left it out on purpose
 * (ECHOD_METRICS=OFF), where only the refusal is tested.
 */

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/counters.h"
#include "echod/metrics.h"

#include "harness.h"
#include "harness_check.h"

#define RESP_MAX	((size_t)1024 * 1024)

#ifndef ECHOD_METRICS_OFF

/* Skip (or fail under ECHOD_TEST=require) in a build without the endpoint. */
static bool
have_metrics(void)
{
#ifdef ECHOD_HAVE_METRICS
	return true;
#else
	test_skip("built without libmicrohttpd (ECHOD_METRICS=OFF)");
	return false;
#endif
}

/*
 * Start echod with the endpoint on a free port (*mport) and extra config,
 * and wait until it serves.
 */
static void
start_metrics(struct daemon *d, int *mport, const char *extra)
{
	char	 conf[1024];

	*mport = harness_free_port(false);
	ck_assert_int_gt(*mport, 0);
	snprintf(conf, sizeof(conf), "metrics_listen = \"127.0.0.1:%d\"\n%s",
	    *mport, extra);
	start(d, conf);
	ck_assert_msg(daemon_wait_log(d, "metrics on http://", 1,
	    HARNESS_IO_MS) == 0, "no endpoint: %s", daemon_log_tail(d));
}

/* Read fd until EOF or reset into buf (NUL-ended); bytes, or -1 on timeout. */
static ssize_t
read_to_eof(int fd, char *buf, size_t size, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char	 sink[4096];
	size_t	 n = 0;
	ssize_t	 r;

	for (;;) {
		left = deadline - harness_now_ms();
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
		/* Past size, keep reading to EOF but drop the bytes. */
		r = n + 1 < size ? recv(fd, buf + n, size - 1 - n, 0) :
		    recv(fd, sink, sizeof(sink), 0);
		if (r == 0 || (r == -1 && errno == ECONNRESET))
			break;
		if (r == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (n + 1 < size)
			n += (size_t)r;
	}
	if (size > 0)
		buf[n] = '\0';
	return (ssize_t)n;
}

/*
 * Send req over a new connection to port from src (NULL: 127.0.0.1) and
 * read the answer to EOF into *resp (heap, the caller frees).  The HTTP
 * status, 0 when the connection closed without one, or -1.
 */
static int
http(int port, const char *src, const char *req, char **resp)
{
	char	*buf;
	int	 fd, code = 0;

	*resp = NULL;
	fd = src != NULL ? tcp_connect_src(src, port) :
	    tcp_connect(AF_INET, port);
	if (fd == -1)
		return -1;
	if ((buf = malloc(RESP_MAX)) == NULL ||
	    sock_send_all(fd, req, strlen(req), HARNESS_IO_MS) == -1 ||
	    read_to_eof(fd, buf, RESP_MAX, HARNESS_IO_MS) == -1) {
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d ", &code) != 1)
		code = 0;
	*resp = buf;
	return code;
}

/* GET /metrics (Accept: accept, if not NULL); the body, the status 200. */
static char *
scrape(int port, const char *accept)
{
	char	 req[256], *resp, *body;
	int	 code;

	snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "%s%s%sConnection: close\r\n\r\n", accept != NULL ? "Accept: " :
	    "", accept != NULL ? accept : "", accept != NULL ? "\r\n" : "");
	code = http(port, NULL, req, &resp);
	ck_assert_msg(code == 200, "GET /metrics: %d: %s", code,
	    resp != NULL ? resp : harness_error());
	ck_assert_ptr_nonnull(body = strstr(resp, "\r\n\r\n"));
	memmove(resp, body + 4, strlen(body + 4) + 1);
	return resp;
}

/* The value of the sample line that starts with prefix ("name{..} "). */
static bool
sample(const char *page, const char *prefix, unsigned long long *v)
{
	const char *p = page;
	size_t	 n = strlen(prefix);

	for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 :
	    NULL)
		if (strncmp(p, prefix, n) == 0)
			return sscanf(p + n, "%llu", v) == 1;
	return false;
}

static unsigned long long
sample_ok(const char *page, const char *prefix)
{
	unsigned long long v;

	ck_assert_msg(sample(page, prefix, &v), "no '%s' in:\n%s", prefix,
	    page);
	return v;
}

/* Scrape until sample prefix is want (what the daemon counts later). */
static void
sample_wait(int port, const char *prefix, unsigned long long want)
{
	long long deadline = harness_now_ms() + HARNESS_IO_MS;
	unsigned long long v = 0;
	char	*page;
	bool	 found;

	for (;;) {
		page = scrape(port, NULL);
		found = sample(page, prefix, &v);
		free(page);
		if (found && v == want)
			return;
		ck_assert_msg(harness_now_ms() < deadline, "%s is %llu, "
		    "want %llu", prefix, v, want);
		usleep(20000);
	}
}

/* The sample line prefix of row id ("echod_tcp_refused_total{...} "). */
static void
row_prefix(enum counter_id id, char *buf, size_t size)
{
	struct counter_meta m;
	const char *suffix;

	counters_meta(id, &m);
	suffix = m.type == COUNTER_TYPE_COUNTER ? "_total" : "";
	if (m.label != NULL)
		snprintf(buf, size, "echod_%s%s{%s=\"%s\"} ", m.family, suffix,
		    m.label, m.value);
	else
		snprintf(buf, size, "echod_%s%s ", m.family, suffix);
}

/*
 * `promtool check metrics` on page: 0, -1 with its output in why, or 1
 * when promtool is not installed (skipped).
 */
static int
promtool_check(const char *page, char *why, size_t size)
{
	static char *const argv[] = { "promtool", "check", "metrics", NULL };
	posix_spawn_file_actions_t fa;
	char	 in[4096], out[4096];
	pid_t	 pid;
	int	 rc, st;
	FILE	*fp;
	size_t	 n;

	harness_tmppath(in, sizeof(in), "scrape.prom");
	harness_tmppath(out, sizeof(out), "promtool.out");
	ck_assert_int_eq(harness_write_file(in, "%s", page), 0);
	ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
	ck_assert_int_eq(posix_spawn_file_actions_addopen(&fa, 0, in,
	    O_RDONLY, 0), 0);
	ck_assert_int_eq(posix_spawn_file_actions_addopen(&fa, 1, out,
	    O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
	rc = posix_spawnp(&pid, "promtool", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == ENOENT) {
		test_skip("promtool (Debian package prometheus) not installed");
		return 1;
	}
	ck_assert_msg(rc == 0, "promtool: %s", strerror(rc));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_ptr_nonnull(fp = fopen(out, "re"));
	n = fread(why, 1, size - 1, fp);
	why[n] = '\0';
	fclose(fp);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/*
 * Traffic of every kind: echo over TCP and UDP, a TCP refusal and a UDP
 * drop by the access list, a loop-guard drop where a low port can be had.
 */
static void
traffic(struct daemon *d, bool *low_port)
{
	char	 buf[16];
	int	 fd, u;

	fd = connect_ok(d, AF_INET);
	echo_ok(fd, "hello", 5);
	close(fd);
	u = udp_connect_ok(d, AF_INET);
	udp_echo_ok(u, "datagram", 8);
	close(u);
	ck_assert_int_ne(fd = tcp_connect_src("127.0.0.2", d->port), -1);
	ck_assert_int_eq(sock_wait_closed(fd, HARNESS_IO_MS), 0);
	close(fd);
	ck_assert_int_ne(u = udp_connect_src("127.0.0.2", 0, d->port), -1);
	ck_assert_int_eq(send(u, "x", 1, 0), 1);
	close(u);
	counter_wait_ok(d, "udp_dropped_acl", 1);
	*low_port = (u = udp_low_port(d->port)) != -1;
	if (*low_port) {
		ck_assert_int_eq(send(u, "x", 1, 0), 1);
		counter_wait_ok(d, "udp_dropped_loop_guard", 1);
		ck_assert_msg(udp_recv(u, buf, sizeof(buf), 50) == -1,
		    "a datagram from a low port was answered");
		close(u);
	}
}

START_TEST(test_scrape)
{
	struct daemon d = DAEMON_INIT;
	char	 prefix[160], why[2048], *page;
	unsigned long long v;
	bool	 low, same;
	int	 mport, i, try;

	if (!have_metrics())
		return;
	start_metrics(&d, &mport, "deny = {\"127.0.0.2\"}\n");
	traffic(&d, &low);
	/* The client's thread ends after the client sees the close. */
	sample_wait(mport, "echod_tcp_connection_duration_seconds_count ", 1);
	/* Every row as SIGUSR1 has it (retried while a gauge moves). */
	for (try = 0, same = false; !same && try < 5; try++) {
		page = scrape(mport, NULL);
		for (i = 0, same = true; same && i < CTR_COUNT; i++) {
			row_prefix((enum counter_id)i, prefix, sizeof(prefix));
			same = sample_ok(page, prefix) == counter_ok(&d,
			    counters_name((enum counter_id)i));
		}
		if (!same)
			free(page);
	}
	ck_assert_msg(same, "row %s differs from SIGUSR1", prefix);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_accepted_total "), 1);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_tcp_bytes_received_total "), 5);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_bytes_sent_total "), 5);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_udp_datagrams_received_total "), low ? 3 : 2);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_udp_datagrams_sent_total "), 1);
	ck_assert_uint_eq(sample_ok(page, "echod_udp_bytes_sent_total "), 8);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_tcp_refused_total{reason=\"acl\"} "), 1);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_udp_dropped_total{reason=\"acl\"} "), 1);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_udp_dropped_total{reason=\"loop_guard\"} "), low ? 1 : 0);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_tcp_connection_duration_seconds_bucket{le=\"+Inf\"} "), 1);
	ck_assert_uint_eq(sample_ok(page, "echod_build_info{version=\""
	    ECHOD_VERSION "\"} "), 1);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_config_last_reload_successful "), 1);
	/* What /proc shows, and the connection that scraped. */
	v = sample_ok(page, "process_open_fds ");
	ck_assert_int_eq((int)v, proc_fd_count(d.pid) + 1);
	ck_assert_uint_gt(sample_ok(page, "process_resident_memory_bytes "),
	    0);
	ck_assert_uint_gt(sample_ok(page, "process_start_time_seconds "),
	    1577836800);
	if (promtool_check(page, why, sizeof(why)) == -1)
		ck_abort_msg("promtool check metrics: %s\n%s", why, page);
	free(page);
	if (!low)
		test_skip("no UDP port below 1024 (needs root): the loop "
		    "guard's row stayed 0");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_openmetrics)
{
	struct daemon d = DAEMON_INIT;
	char	*resp, *page;
	size_t	 len;
	int	 mport;

	if (!have_metrics())
		return;
	start_metrics(&d, &mport, "");
	ck_assert_int_eq(http(mport, NULL, "GET /metrics HTTP/1.0\r\nAccept: "
	    "application/openmetrics-text;version=1.0.0,text/plain;"
	    "version=0.0.4;q=0.5\r\n\r\n", &resp), 200);
	ck_assert_msg(strstr(resp, "\r\nContent-Type: application/"
	    "openmetrics-text; version=1.0.0; charset=utf-8\r\n") != NULL,
	    "%s", resp);
	len = strlen(resp);
	ck_assert_str_eq(resp + len - 6, "# EOF\n");
	ck_assert_ptr_nonnull(strstr(resp, "\n# TYPE echod_tcp_accepted "
	    "counter\n"));
	free(resp);
	page = scrape(mport, "text/plain");
	ck_assert_ptr_null(strstr(page, "# EOF"));
	ck_assert_ptr_nonnull(strstr(page, "\n# TYPE echod_tcp_accepted_total "
	    "counter\n"));
	free(page);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_http_errors)
{
	static const char *const not_found[] = { "/", "/metricsx",
	    "/metrics/", "/x/metrics", "/favicon.ico" };
	static const char *const methods[] = { "POST", "PUT", "DELETE",
	    "OPTIONS", "PATCH" };
	struct daemon d = DAEMON_INIT;
	char	 req[256], *resp;
	size_t	 i;
	int	 mport;

	if (!have_metrics())
		return;
	start_metrics(&d, &mport, "");
	for (i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n",
		    not_found[i]);
		ck_assert_int_eq(http(mport, NULL, req, &resp), 404);
		free(resp);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req), "%s /metrics HTTP/1.0\r\n"
		    "Content-Length: 0\r\n\r\n", methods[i]);
		ck_assert_int_eq(http(mport, NULL, req, &resp), 405);
		ck_assert_ptr_nonnull(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
		free(resp);
	}
	/* HEAD: the headers of GET, no body. */
	ck_assert_int_eq(http(mport, NULL, "HEAD /metrics HTTP/1.0\r\n\r\n",
	    &resp), 200);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	ck_assert_str_eq(strstr(resp, "\r\n\r\n"), "\r\n\r\n");
	free(resp);
	/* The query string is not part of the path. */
	ck_assert_int_eq(http(mport, NULL, "GET /metrics?x=1 HTTP/1.0\r\n\r\n",
	    &resp), 200);
	free(resp);
	still_serving(&d, "HTTP errors");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_allow)
{
	struct daemon d = DAEMON_INIT;
	char	*resp;
	int	 mport, fd;

	if (!have_metrics())
		return;
	start_metrics(&d, &mport, "metrics_allow = {\"127.0.0.1\", "
	    "\"127.0.0.4/30\"}\n");
	/* Outside the list: closed before anything is read or sent. */
	ck_assert_int_ne(fd = tcp_connect_src("127.0.0.3", mport), -1);
	ck_assert_int_eq(sock_send_all(fd, "GET /metrics HTTP/1.0\r\n\r\n",
	    25, HARNESS_IO_MS), 0);
	ck_assert_int_eq(sock_wait_closed(fd, HARNESS_IO_MS), 0);
	close(fd);
	ck_assert_int_eq(http(mport, "127.0.0.8", "GET /metrics HTTP/1.0"
	    "\r\n\r\n", &resp), 0);
	free(resp);
	ck_assert_int_eq(http(mport, "127.0.0.5", "GET /metrics HTTP/1.0"
	    "\r\n\r\n", &resp), 200);
	free(resp);
	free(scrape(mport, NULL));
	/* A reload narrows the list at once, on the same socket. */
	reload(&d, "applied", d.port, CONF_LOCAL);
	ck_assert_int_eq(http(mport, NULL, "GET /metrics HTTP/1.0\r\n\r\n",
	    &resp), -1);
	free(resp);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_reload)
{
	struct daemon d = DAEMON_INIT;
	char	 body[512], *page;
	int	 mport = harness_free_port(false), mport2, occ, fd;

	if (!have_metrics())
		return;
	start(&d, "");
	ck_assert_int_eq(tcp_connect(AF_INET, mport), -1);
	/* On by reload. */
	snprintf(body, sizeof(body), CONF_LOCAL "max_clients = 5\n"
	    "metrics_listen = \"127.0.0.1:%d\"\n", mport);
	reload(&d, "applied", d.port, body);
	echo_ok(fd = connect_ok(&d, AF_INET), "a", 1);
	close(fd);
	page = scrape(mport, NULL);
	ck_assert_uint_eq(sample_ok(page, "echod_reloads_total "), 1);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_max_clients "), 5);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_accepted_total "), 1);
	free(page);
	/* A port in use: refused, the endpoint where it was. */
	mport2 = harness_free_port(false);
	ck_assert_int_ne(occ = harness_occupy(AF_INET, SOCK_STREAM, mport2),
	    -1);
	snprintf(body, sizeof(body), CONF_LOCAL "metrics_listen = "
	    "\"127.0.0.1:%d\"\n", mport2);
	reload(&d, "the running configuration stays", d.port, body);
	log_has(&d, "cannot bind metrics 127.0.0.1:%d: Address already in "
	    "use", mport2);
	page = scrape(mport, NULL);
	ck_assert_uint_eq(sample_ok(page, "echod_reloads_failed_total "), 1);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_config_last_reload_successful "), 0);
	/* Counters never go back across reloads. */
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_accepted_total "), 1);
	free(page);
	close(occ);
	/* Moved: the old port closes, the new one serves. */
	reload(&d, "applied", d.port, body);
	ck_assert_int_eq(tcp_connect(AF_INET, mport), -1);
	page = scrape(mport2, NULL);
	ck_assert_uint_eq(sample_ok(page,
	    "echod_config_last_reload_successful "), 1);
	ck_assert_uint_ge(sample_ok(page,
	    "echod_config_last_reload_success_timestamp_seconds "),
	    sample_ok(page, "process_start_time_seconds "));
	ck_assert_uint_eq(sample_ok(page, "echod_reloads_total "), 2);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_max_clients "), 1024);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_accepted_total "), 1);
	free(page);
	/* Off by reload. */
	reload(&d, "applied", d.port, CONF_LOCAL);
	ck_assert_int_eq(tcp_connect(AF_INET, mport2), -1);
	still_serving(&d, "metrics reloads");
	stop_ok(&d, SIGTERM);
}
END_TEST

/* "[::1]:port": served over IPv6, ::1 allowed by default. */
START_TEST(test_ipv6)
{
	struct daemon d = DAEMON_INIT;
	char	 conf[256], buf[256];
	int	 mport = harness_free_port(true), fd;
	ssize_t	 n;

	if (!have_metrics())
		return;
	if (!harness_have_ipv6()) {
		test_skip("no IPv6 loopback");
		return;
	}
	snprintf(conf, sizeof(conf), "metrics_listen = \"[::1]:%d\"\n", mport);
	start(&d, conf);
	log_has(&d, "metrics on http://[::1]:%d/metrics", mport);
	ck_assert_int_ne(fd = tcp_connect(AF_INET6, mport), -1);
	ck_assert_int_eq(sock_send_all(fd, "GET /metrics HTTP/1.0\r\n\r\n",
	    25, HARNESS_IO_MS), 0);
	ck_assert_int_gt(n = read_to_eof(fd, buf, sizeof(buf), HARNESS_IO_MS),
	    0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	close(fd);
	ck_assert_int_eq(tcp_connect(AF_INET, mport), -1);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * At debug level libmicrohttpd's own messages reach the log ("metrics: ..."):
 * a clean start and scrape has none (its logger must be its first option).
 */
START_TEST(test_debug_quiet)
{
	struct daemon d = DAEMON_INIT;
	int	 mport;

	if (!have_metrics())
		return;
	start_metrics(&d, &mport, "log_level = \"debug\"\n");
	free(scrape(mport, NULL));
	ck_assert_msg(daemon_log_count(&d, "metrics: ") == 0,
	    "libmicrohttpd spoke: %s", daemon_log_tail(&d));
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A metrics port in use at start: exit 71, naming it. */
START_TEST(test_bind_in_use)
{
	struct daemon d = DAEMON_INIT;
	char	 path[4096];
	int	 mport = harness_free_port(false), port, occ;

	if (!have_metrics())
		return;
	ck_assert_int_ne(occ = harness_occupy(AF_INET, SOCK_STREAM, mport),
	    -1);
	port = harness_free_port(false);
	harness_tmppath(path, sizeof(path), "inuse.conf");
	ck_assert_int_eq(harness_write_file(path, "port = %d\n" CONF_LOCAL
	    "metrics_listen = \"127.0.0.1:%d\"\n", port, mport), 0);
	ck_assert_int_eq(daemon_run(&d, (const char *const[]){ "-c", path,
	    NULL }, HARNESS_IO_MS), 71);
	log_has(&d, "cannot bind metrics 127.0.0.1:%d: Address already in "
	    "use", mport);
	close(occ);
	daemon_free(&d);
}
END_TEST


/* One echo round trip; its time in ms. */
static long long
echo_ms(int fd, const char *what)
{
	long long t0 = harness_now_ms();

	ck_assert_msg(tcp_echo(fd, what, strlen(what)) == 0, "echo during "
	    "%s: %s", what, harness_error());
	return harness_now_ms() - t0;
}

/*
 * A connection from src to 127.0.0.1:port that is never waited for: a
 * SYN that the kernel completes, queues or drops, as a flood's would be.
 */
static int
connect_nowait(const char *src, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) }, from = sin;
	int	 fd;

	from.sin_port = 0;
	ck_assert_int_eq(inet_pton(AF_INET, src, &from.sin_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd != -1, "socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0,
	    "bind %s: %s", src, strerror(errno));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

/* Connect, send len bytes of buf, half-close, read until closed. */
static void
garbage(int mport, const char *src, const void *buf, size_t len)
{
	char	 sink[512];
	int	 fd = tcp_connect_src(src, mport);

	ck_assert_msg(fd != -1, "%s", harness_error());
	/* The server may answer and close before all is sent: fine. */
	(void)sock_send_all(fd, buf, len, HARNESS_IO_MS);
	(void)shutdown(fd, SHUT_WR);
	ck_assert_msg(read_to_eof(fd, sink, sizeof(sink), HARNESS_IO_MS) != -1,
	    "the endpoint kept a garbage connection open");
	close(fd);
}

#define IDLE_CONNS	5000
#define GARBAGE_REQS	10000
#define ABUSE_SOURCES	64		/* 127.0.1.1 ... */

START_TEST(test_abuse)
{
	static const char blank[4] = { '\r', '\n', '\r', '\n' };
	static const char version[13] = { ' ', 'H', 'T', 'T', 'P', '/', '1',
	    '.', '1', '\r', '\n', '\r', '\n' };
	struct daemon d = DAEMON_INIT;
	static int idle[IDLE_CONNS];
	unsigned char *rnd, *line;
	char	 src[32], req[512], *resp, *page;
	long long worst = 0, t, rss0, rss1, limit_ms;
	int	 mport, echo_fd, fd0, fd1, i;
	size_t	 len;

	if (!have_metrics())
		return;
	limit_ms = HARNESS_SANITIZED ? 1000 : 200;
	start_metrics(&d, &mport, "metrics_allow = {\"127.0.0.1\", "
	    "\"127.0.1.0/24\"}\n");
	limit_ok(getpid(), RLIMIT_NOFILE, IDLE_CONNS + 1024);
	echo_fd = connect_ok(&d, AF_INET);
	(void)echo_ms(echo_fd, "warm-up");
	free(scrape(mport, NULL));
	fd0 = proc_fd_count(d.pid);
	rss0 = proc_status(d.pid, "VmRSS");

	/* Connections that never send, from many sources. */
	for (i = 0; i < IDLE_CONNS; i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i % ABUSE_SOURCES);
		idle[i] = connect_nowait(src, mport);
		if (i % 500 == 0 && (t = echo_ms(echo_fd, "idle")) > worst)
			worst = t;
	}
	fd1 = proc_fd_count(d.pid);
	ck_assert_msg(fd1 <= fd0 + METRICS_MAX_CONNECTIONS + 2, "%d "
	    "descriptors with %d idle connections, %d before", fd1,
	    IDLE_CONNS, fd0);
	/* An allowed source not among them still has the echo service. */
	still_serving(&d, "5,000 idle metrics connections");
	for (i = 0; i < IDLE_CONNS; i++)
		close(idle[i]);

	/* Garbage: random bytes, then a blank line and EOF. */
	rnd = random_buf(600, 19);
	for (i = 0; i < GARBAGE_REQS; i++) {
		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i % ABUSE_SOURCES);
		len = 1 + (size_t)i * 7919 % 500;
		memcpy(req, rnd + i % 64, len);
		memcpy(req + len, blank, sizeof(blank));
		garbage(mport, src, req, len + sizeof(blank));
		if (i % 1000 == 0 && (t = echo_ms(echo_fd, "garbage")) > worst)
			worst = t;
	}
	free(rnd);

	/* A 1 MiB request line: refused, the connection closed. */
	ck_assert_ptr_nonnull(line = malloc(RESP_MAX + 32));
	memcpy(line, "GET /", 5);
	memset(line + 5, 'a', RESP_MAX);
	memcpy(line + 5 + RESP_MAX, version, sizeof(version));
	garbage(mport, "127.0.1.1", line, 5 + RESP_MAX + sizeof(version));
	free(line);
	if ((t = echo_ms(echo_fd, "1 MiB line")) > worst)
		worst = t;

	/* Bounded, and the endpoint answers again. */
	ck_assert_msg(worst <= limit_ms, "echo took %lld ms during the abuse "
	    "(limit %lld)", worst, limit_ms);
	ck_assert_int_eq(http(mport, NULL, "GET /metrics HTTP/1.0\r\n\r\n",
	    &resp), 200);
	free(resp);
	/* ASan's quarantine keeps the 1 MiB request's memory: plain only. */
	rss1 = proc_status(d.pid, "VmRSS");
	ck_assert_msg(HARNESS_SANITIZED || rss1 - rss0 <= 8192,
	    "VmRSS grew from %lld to %lld kB", rss0, rss1);
	ck_assert_msg(proc_fd_count(d.pid) <= fd0 + 4, "descriptors: %d, "
	    "%d before", proc_fd_count(d.pid), fd0);
	page = scrape(mport, NULL);
	ck_assert_uint_eq(sample_ok(page, "echod_tcp_clients "), 1);
	free(page);
	echo_ok(echo_fd, "after", 5);
	close(echo_fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

#endif /* !ECHOD_METRICS_OFF */

#ifndef ECHOD_HAVE_METRICS
/* Without libmicrohttpd the key is an error with file:line (exit 78). */
START_TEST(test_refused_without_library)
{
	struct daemon d = DAEMON_INIT;
	char	 path[4096];

	harness_tmppath(path, sizeof(path), "off.conf");
	ck_assert_int_eq(harness_write_file(path, "port = 7777\n\n"
	    "metrics_listen = \"127.0.0.1:9107\"\n"), 0);
	ck_assert_int_eq(daemon_run(&d, (const char *const[]){ "-t", "-c",
	    path, NULL }, HARNESS_IO_MS), 78);
	log_has(&d, "%s:3: metrics_listen: this echod was built without the "
	    "metrics endpoint", path);
	daemon_free(&d);
	ck_assert_int_eq(daemon_run(&d, (const char *const[]){ "-c", path,
	    NULL }, HARNESS_IO_MS), 78);
	daemon_free(&d);
}
END_TEST
#endif

int
main(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_new(s, "endpoint", 60);
#ifndef ECHOD_METRICS_OFF
	tcase_add_test(tc, test_scrape);
	tcase_add_test(tc, test_openmetrics);
	tcase_add_test(tc, test_http_errors);
	tcase_add_test(tc, test_allow);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_bind_in_use);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_debug_quiet);
#endif
#ifndef ECHOD_HAVE_METRICS
	tcase_add_test(tc, test_refused_without_library);
#endif
#ifndef ECHOD_METRICS_OFF
	tc = tcase_new(s, "abuse", 240);
	tcase_add_test(tc, test_abuse);
#endif
	return harness_main(s, "check_metrics");
}
