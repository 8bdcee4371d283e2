/* SPDX-License-Identifier: MIT */
/*
 * End to end: runs the real build/echod (ECHOD_BIN) on a free loopback port
 * with a temp config and checks the contract over real sockets: TCP and UDP
 * echo, the command line and its exit codes, limits, timeouts, signals,
 * bind errors and descriptor or thread leaks.  One daemon per test, as
 * memcached's t/ scripts; harness.c does the process and socket plumbing.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define MIB		((size_t)1024 * 1024)

/* ---- helpers: each asserts, so tests read as the contract does ---- */

/* The daemon still echoes on a new TCP connection and over UDP. */
static void
still_serving(struct daemon *d, const char *after)
{
	int	 fd;

	ck_assert_msg(daemon_alive(d), "echod died after %s (exit %d):\n%s",
	    after, daemon_exit_code(d), daemon_log_tail(d));
	fd = tcp_connect(AF_INET, d->port);
	ck_assert_msg(fd != -1, "after %s: %s", after, harness_error());
	ck_assert_msg(tcp_echo(fd, "still here\n", 11) == 0, "after %s: %s",
	    after, harness_error());
	close(fd);
	fd = udp_connect(AF_INET, d->port);
	ck_assert_msg(fd != -1, "after %s: %s", after, harness_error());
	/* After a flood the socket may still be full: UDP may drop. */
	ck_assert_msg(udp_echo_retry(fd, "ping", 4, 20) == 0, "after %s: "
	    "udp: %s", after, harness_error());
	close(fd);
}

/* The whole buffer as random bytes; the caller frees it. */
static unsigned char *
random_buf(size_t len, uint64_t seed)
{
	unsigned char *buf = malloc(len);

	ck_assert_msg(buf != NULL, "malloc %zu", len);
	harness_fill(buf, len, seed);
	return buf;
}

/* Run the jobs; on failure name the first one that failed and why. */
static void
echo_jobs_ok(struct echo_job *jobs, size_t n, int timeout_ms)
{
	size_t	 failed, i;

	failed = echo_run(jobs, n, timeout_ms);
	for (i = 0; failed > 0 && !jobs[i].failed; i++)
		;
	ck_assert_msg(failed == 0, "%zu of %zu clients failed; client %zu "
	    "(%zu bytes): %s", failed, n, i, failed > 0 ? jobs[i].len : 0,
	    failed > 0 ? jobs[i].why : "");
}

/* A counter from the SIGUSR1 stats line. */
static unsigned long long
stats_value(struct daemon *d, const char *name)
{
	unsigned long long v;

	ck_assert_msg(daemon_counter(d, name, &v) == 0, "%s",
	    harness_error());
	return v;
}

/* ---- command line ---- */

START_TEST(test_cli_help_version)
{
	struct daemon d = DAEMON_INIT;
	const char *help[] = { "-h", NULL }, *version[] = { "-V", NULL };
	int	 rc;

	rc = daemon_run(&d, help, HARNESS_IO_MS);
	ck_assert_msg(rc == 0, "-h: expected exit 0, got %d", rc);
	ck_assert_msg(strstr(daemon_stdout(&d), "usage: echod") != NULL,
	    "-h: no usage on stdout: '%s'", daemon_stdout(&d));
	rc = daemon_run(&d, version, HARNESS_IO_MS);
	ck_assert_msg(rc == 0, "-V: expected exit 0, got %d", rc);
	ck_assert_str_eq(daemon_stdout(&d), "echod " ECHOD_VERSION "\n");
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_bad_usage)
{
	static const char *const cases[][3] = {
		{ "-p", "0", NULL }, { "-p", "65536", NULL },
		{ "-p", "-1", NULL }, { "-p", "7x", NULL },
		{ "-p", "", NULL }, { "-p", "99999999999999999999", NULL },
		{ "-x", NULL, NULL }, { "stray", NULL, NULL },
	};
	struct daemon d = DAEMON_INIT;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = daemon_run(&d, cases[i], HARNESS_IO_MS);
		ck_assert_msg(rc == 64, "echod %s %s: expected exit 64, got %d",
		    cases[i][0], cases[i][1] ? cases[i][1] : "", rc);
		ck_assert_msg(strstr(daemon_log(&d), "usage: echod") != NULL,
		    "echod %s %s: no usage on stderr: '%s'", cases[i][0],
		    cases[i][1] ? cases[i][1] : "", daemon_log(&d));
	}
	daemon_free(&d);
}
END_TEST

/* Write config text to a temp file and run echod -t on it. */
static int
check_config(struct daemon *d, char *path, size_t size, const char *text)
{
	const char *args[] = { "-t", "-c", path, NULL };

	harness_tmppath(path, size, "check.conf");
	ck_assert_msg(harness_write_file(path, "%s", text) == 0, "%s",
	    harness_error());
	return daemon_run(d, args, HARNESS_IO_MS);
}

START_TEST(test_cli_check_good)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], want[PATH_MAX + 64];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    "# every key\nport = 7777\nbacklog = 16\nreuseaddr = false\n"
	    "listen = {\"127.0.0.1\", \"::1\"}\ntcp = true\nudp = true\n"
	    "max_clients = 10\nidle_timeout = 30\nlog_level = \"debug\"\n"
	    "udp_loop_guard = false\n");
	ck_assert_msg(rc == 0, "-t on a good file: expected 0, got %d:\n%s",
	    rc, daemon_log(&d));
	/* The verdict goes through the logger, like every message. */
	snprintf(want, sizeof(want), "echod: configuration %s is valid\n",
	    path);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	ck_assert_str_eq(daemon_stdout(&d), "");
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_check_bad)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], want[PATH_MAX + 64];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    CONF_LOCAL "\nport = 0\n");
	ck_assert_msg(rc == 78, "-t on port = 0: expected 78, got %d", rc);
	snprintf(want, sizeof(want), "echod: %s:3: port 0 out of range "
	    "1..65535\n", path);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	snprintf(want, sizeof(want), "echod: configuration %s is invalid\n",
	    path);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	ck_assert_str_eq(daemon_stdout(&d), "");
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_unknown_key)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], want[PATH_MAX + 64];
	int	 rc;

	rc = check_config(&d, path, sizeof(path), CONF_LOCAL "bogus = 1\n");
	ck_assert_msg(rc == 78, "unknown key: expected 78, got %d", rc);
	snprintf(want, sizeof(want), "%s:2:", path);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL &&
	    strstr(daemon_log(&d), "bogus") != NULL,
	    "expected '%s' and the key name in stderr:\n%s", want,
	    daemon_log(&d));
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_missing_file)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], want[PATH_MAX + 64];
	const char *check[] = { "-t", "-c", path, NULL };
	const char *run[] = { "-c", path, NULL };
	int	 rc;

	harness_tmppath(path, sizeof(path), "no-such.conf");
	snprintf(want, sizeof(want), "echod: cannot read %s: No such file or "
	    "directory\n", path);
	rc = daemon_run(&d, check, HARNESS_IO_MS);
	ck_assert_msg(rc == 78, "-t on a missing file: expected 78, got %d",
	    rc);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	/* Not "invalid": the file's contents are not to blame. */
	ck_assert_msg(strstr(daemon_log(&d), "could not be read") != NULL &&
	    strstr(daemon_log(&d), "is invalid") == NULL,
	    "wrong verdict:\n%s", daemon_log(&d));
	rc = daemon_run(&d, run, HARNESS_IO_MS);
	ck_assert_msg(rc == 78, "missing file: expected 78, got %d", rc);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	daemon_free(&d);
}
END_TEST

/* A bad file stops the daemon itself too, before it binds anything. */
START_TEST(test_cli_bad_config_run)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	const char *args[] = { "-c", path, NULL };
	int	 rc;

	harness_tmppath(path, sizeof(path), "bad.conf");
	ck_assert(harness_write_file(path, CONF_LOCAL "max_clients = 0\n") ==
	    0);
	rc = daemon_run(&d, args, HARNESS_IO_MS);
	ck_assert_msg(rc == 78, "bad config: expected 78, got %d:\n%s", rc,
	    daemon_log(&d));
	ck_assert_msg(strstr(daemon_log(&d), "listening on") == NULL,
	    "bound sockets despite a bad config:\n%s", daemon_log(&d));
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_port_override)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], port[16], want[64];
	const char *args[] = { "-c", path, "-p", port, NULL };
	int	 file_port, fd;

	file_port = harness_free_port(false);
	do
		d.port = harness_free_port(false);
	while (d.port == file_port);
	ck_assert_msg(file_port > 0 && d.port > 0, "%s", harness_error());
	harness_tmppath(path, sizeof(path), "override.conf");
	ck_assert(harness_write_file(path, "port = %d\n" CONF_LOCAL,
	    file_port) == 0);
	snprintf(port, sizeof(port), "%d", d.port);
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(&d, "listening on", 2, HARNESS_IO_MS) ==
	    0, "%s", harness_error());
	snprintf(want, sizeof(want), "listening on tcp 127.0.0.1:%d\n", d.port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "-p %d: expected '%s' in stderr:\n%s", d.port, want,
	    daemon_log(&d));
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "override\n", 9);
	close(fd);
	fd = tcp_connect(AF_INET, file_port);
	ck_assert_msg(fd == -1 && errno == ECONNREFUSED,
	    "the file's port %d is served although -p %d was given",
	    file_port, d.port);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- TCP ---- */

START_TEST(test_tcp_line)
{
	struct daemon d = DAEMON_INIT;
	char	 want[64];
	int	 fd;

	start(&d, "");
	snprintf(want, sizeof(want), "echod: listening on tcp 127.0.0.1:%d\n",
	    d.port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	snprintf(want, sizeof(want), "echod: listening on udp 127.0.0.1:%d\n",
	    d.port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "hello, echo\r\n", 13);
	echo_ok(fd, "\xff\xf4\xff\xfd\x06", 5);	/* telnet IAC as is */
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* 8 MiB with NULs, written while the echo is read and compared. */
START_TEST(test_tcp_8mib)
{
	struct daemon d = DAEMON_INIT;
	struct echo_job job = { .len = 8 * MIB };
	unsigned char *data = random_buf(job.len, 8);
	long long t0;

	ck_assert_msg(memchr(data, 0, job.len) != NULL, "no NUL in the data");
	start(&d, "");
	job.data = data;
	job.fd = connect_ok(&d, AF_INET);
	t0 = harness_now_ms();
	echo_jobs_ok(&job, 1, 60000);
	printf("daemon: 8 MiB echoed in %lld ms\n", harness_now_ms() - t0);
	close(job.fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_tcp_half_close)
{
	struct daemon d = DAEMON_INIT;
	struct echo_job jobs[2] = {
		{ .len = 300000, .shut_wr = true },
		{ .len = 0, .shut_wr = true },	/* EOF at once */
	};
	unsigned char *data = random_buf(jobs[0].len, 2);

	start(&d, "");
	jobs[0].data = jobs[1].data = data;
	jobs[0].fd = connect_ok(&d, AF_INET);
	jobs[1].fd = connect_ok(&d, AF_INET);
	echo_jobs_ok(jobs, 2, 30000);
	close(jobs[0].fd);
	close(jobs[1].fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_tcp_200_clients)
{
	enum { N = 200, MAXLEN = 256 * 1024 };
	struct daemon d = DAEMON_INIT;
	struct echo_job *jobs = calloc(N, sizeof(*jobs));
	unsigned char *data = random_buf((size_t)2 * MAXLEN, 200);
	uint64_t rng = 200;
	size_t	 i;

	ck_assert(jobs != NULL);
	start(&d, "");
	for (i = 0; i < N; i++) {
		/* Different sizes and offsets, so no two streams match. */
		jobs[i].len = 1 + harness_rand(&rng) % MAXLEN;
		jobs[i].data = data + harness_rand(&rng) % MAXLEN;
		jobs[i].shut_wr = i % 2 == 0;
		jobs[i].fd = connect_ok(&d, AF_INET);
	}
	echo_jobs_ok(jobs, N, 60000);
	for (i = 0; i < N; i++)
		close(jobs[i].fd);
	ck_assert_msg(daemon_wait_clients(&d, 0, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	free(jobs);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Clients that reset mid-stream cost only themselves. */
START_TEST(test_tcp_reset_mid_stream)
{
	enum { N = 16 };
	struct daemon d = DAEMON_INIT;
	struct echo_job jobs[N];
	unsigned char *data = random_buf(4 * MIB, 16);
	size_t	 i;

	start(&d, "");
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < N; i++) {
		jobs[i].fd = connect_ok(&d, AF_INET);
		jobs[i].data = data + i * 1000;
		jobs[i].len = 2 * MIB;
		/* Every other client vanishes while data flows both ways. */
		if (i % 2 == 1)
			jobs[i].reset_at = (size_t)64 * 1024 + i * 4096;
	}
	echo_jobs_ok(jobs, N, 60000);
	for (i = 0; i < N; i++)
		if (jobs[i].fd != -1)
			close(jobs[i].fd);
	ck_assert_msg(daemon_wait_clients(&d, 0, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	still_serving(&d, "resets");
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Fill the pipe without reading, as far as it goes without blocking. */
static size_t
flood(int fd, const unsigned char *buf, size_t len)
{
	size_t	 sent = 0;
	ssize_t	 n;

	while (sent < len && (n = send(fd, buf + sent, len - sent,
	    MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
		sent += (size_t)n;
	return sent;
}

START_TEST(test_tcp_bad_inputs)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *junk = random_buf(16 * MIB, 666);
	uint64_t rng = 666;
	size_t	 i, sent;
	int	 fd, idle;

	start(&d, "");
	idle = connect_ok(&d, AF_INET);	/* never says a word */
	for (i = 0; i < 20; i++)
		close(connect_ok(&d, AF_INET));
	still_serving(&d, "20 connect-and-close");
	for (i = 0; i < 20; i++)
		tcp_reset(connect_ok(&d, AF_INET));
	still_serving(&d, "20 connect-and-reset");

	/* A burst it cannot echo back (we never read), then gone. */
	fd = connect_ok(&d, AF_INET);
	sent = flood(fd, junk, 16 * MIB);
	ck_assert_msg(sent > 0, "could not send any junk");
	close(fd);
	fd = connect_ok(&d, AF_INET);
	(void)flood(fd, junk, 16 * MIB);
	tcp_reset(fd);
	still_serving(&d, "junk bursts never read");

	fd = connect_ok(&d, AF_INET);
	ck_assert(sock_send_all(fd, junk, 1000, HARNESS_IO_MS) == 0);
	shutdown(fd, SHUT_WR);
	close(fd);
	still_serving(&d, "send, half-close, vanish");

	/* UDP: a flood of odd sizes nobody reads, then a vanished sender. */
	fd = udp_connect(AF_INET, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	for (i = 0; i < 3000; i++)
		(void)send(fd, junk, harness_rand(&rng) % 9000, MSG_DONTWAIT);
	close(fd);
	still_serving(&d, "a udp flood");

	close(idle);
	ck_assert_msg(daemon_wait_clients(&d, 0, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	free(junk);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* SIGUSR1 logs counters that match the traffic. */
START_TEST(test_tcp_stats)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "12345", 5);
	ck_assert_uint_eq(stats_value(&d, "tcp_clients"), 1);
	ck_assert_uint_eq(stats_value(&d, "tcp_accepted"), 1);
	/* Once its thread is gone, every byte it moved is counted. */
	close(fd);
	ck_assert_msg(daemon_wait_clients(&d, 0, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	ck_assert_uint_eq(stats_value(&d, "tcp_bytes_in"), 5);
	ck_assert_uint_eq(stats_value(&d, "tcp_bytes_out"), 5);
	still_serving(&d, "SIGUSR1");
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- UDP ---- */

START_TEST(test_udp_sizes)
{
	static const size_t sizes[] = { 1, 2, 3, 512, 1471, 1472, 1473,
	    4096, 8192, 8193, 65506, HARNESS_UDP_MAX4 };
	static unsigned char reply[65536];
	struct daemon d = DAEMON_INIT;
	unsigned char *data = random_buf(HARNESS_UDP_MAX4, 65507);
	uint64_t rng = 1;
	ssize_t	 n;
	size_t	 i;
	int	 fd;

	start(&d, "");
	fd = udp_connect(AF_INET, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());

	/* An empty datagram is echoed empty, and the next one still flows. */
	ck_assert_int_eq(send(fd, "", 0, 0), 0);
	ck_assert_int_eq(send(fd, "x", 1, 0), 1);
	n = udp_recv(fd, reply, sizeof(reply), HARNESS_IO_MS);
	ck_assert_msg(n == 0, "empty datagram: expected an empty reply, got "
	    "%zd (%s)", n, n == -1 ? harness_error() : "bytes");
	n = udp_recv(fd, reply, sizeof(reply), HARNESS_IO_MS);
	ck_assert_msg(n == 1 && reply[0] == 'x', "after the empty datagram: "
	    "expected \"x\", got %zd bytes (%s)", n, harness_error());

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		udp_echo_ok(fd, data, sizes[i]);
	for (i = 0; i < 300; i++)
		udp_echo_ok(fd, data,
		    1 + harness_rand(&rng) % HARNESS_UDP_MAX4);
	close(fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Every size from 1 to 65507, each compared byte for byte. */
START_TEST(test_udp_sweep)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *data = random_buf(HARNESS_UDP_MAX4, 1);
	long long t0;
	size_t	 len;
	int	 fd;

	start(&d, "");
	fd = udp_connect(AF_INET, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	t0 = harness_now_ms();
	for (len = 1; len <= HARNESS_UDP_MAX4; len++)
		udp_echo_ok(fd, data, len);
	printf("daemon: udp sizes 1..%d echoed in %lld ms\n",
	    HARNESS_UDP_MAX4, harness_now_ms() - t0);
	close(fd);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * On a wildcard socket, the reply must leave from the address the datagram
 * was sent to: a client connected to 127.0.0.2 accepts datagrams from
 * 127.0.0.2 only, so a reply from the default source (127.0.0.1) would be
 * dropped by its kernel and the test would time out.
 */
START_TEST(test_udp_reply_source)
{
	struct daemon d = DAEMON_INIT;
	struct sockaddr_in to = { .sin_family = AF_INET };
	char	 buf[64];
	int	 fd;

	ck_assert_msg(daemon_start(&d, 2, "listen = {\"0.0.0.0\"}\n") == 0,
	    "%s", harness_error());
	to.sin_port = htons((uint16_t)d.port);
	to.sin_addr.s_addr = htonl(0x7f000002);	/* 127.0.0.2 */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_int_eq(send(fd, "second address", 14, 0), 14);
	ck_assert_msg(udp_recv(fd, buf, sizeof(buf), HARNESS_IO_MS) == 14,
	    "no reply from 127.0.0.2: %s", harness_error());
	ck_assert_int_eq(memcmp(buf, "second address", 14), 0);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* Two senders interleaved: each gets its own datagrams back, in order. */
START_TEST(test_udp_two_sockets)
{
	enum { ROUNDS = 300, BURST = 3, MAXLEN = 3000 };
	static unsigned char out[2][BURST][MAXLEN], in[65536];
	struct daemon d = DAEMON_INIT;
	size_t	 len[2][BURST];
	uint64_t rng = 2;
	ssize_t	 n;
	int	 fd[2], r, s, k;

	start(&d, "");
	for (s = 0; s < 2; s++) {
		fd[s] = udp_connect(AF_INET, d.port);
		ck_assert_msg(fd[s] != -1, "%s", harness_error());
	}
	for (r = 0; r < ROUNDS; r++) {
		for (k = 0; k < BURST; k++) {
			for (s = 0; s < 2; s++) {
				len[s][k] = 16 + harness_rand(&rng) %
				    (MAXLEN - 16);
				harness_fill(out[s][k], len[s][k],
				    harness_rand(&rng));
				snprintf((char *)out[s][k], 16, "%c:%d:%d",
				    'A' + s, r, k);
				ck_assert_int_eq(send(fd[s], out[s][k],
				    len[s][k], 0), (ssize_t)len[s][k]);
			}
		}
		for (s = 0; s < 2; s++) {
			for (k = 0; k < BURST; k++) {
				n = udp_recv(fd[s], in, sizeof(in),
				    HARNESS_IO_MS);
				ck_assert_msg(n == (ssize_t)len[s][k] &&
				    memcmp(in, out[s][k], len[s][k]) == 0,
				    "socket %c round %d: expected its "
				    "datagram '%s' (%zu bytes), got %zd bytes "
				    "'%.15s' %s", 'A' + s, r, out[s][k],
				    len[s][k], n, n > 0 ? (char *)in : "",
				    n == -1 ? harness_error() : "");
			}
		}
	}
	close(fd[0]);
	close(fd[1]);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A socket on a free port below 1024, or -1 (not root, all taken). */
static int
udp_low_port(int port)
{
	int	 lport, fd;

	for (lport = 1023; lport >= 900; lport--)
		if ((fd = udp_connect_from(AF_INET, lport, port)) != -1)
			return fd;
	return -1;
}

START_TEST(test_udp_loop_guard)
{
	static unsigned char buf[65536];
	struct daemon d = DAEMON_INIT;
	ssize_t	 n;
	int	 low, fd;

	start(&d, "");
	if ((low = udp_low_port(d.port)) == -1) {
		printf("daemon: note: cannot bind a port below 1024 (%s); "
		    "udp_loop_guard not tested\n", harness_error());
		stop_ok(&d, SIGTERM);
		return;
	}
	fd = udp_connect(AF_INET, d.port);
	ck_assert(fd != -1);
	ck_assert_int_eq(send(low, "loop?", 5, 0), 5);
	/* Served in arrival order: once this is back, the other was seen. */
	udp_echo_ok(fd, "normal", 6);
	n = udp_recv(low, buf, sizeof(buf), 100);
	ck_assert_msg(n == -1 && errno == ETIMEDOUT, "udp_loop_guard = true: "
	    "a datagram from a port below 1024 was answered (%zd)", n);
	ck_assert_uint_eq(stats_value(&d, "udp_dropped_loop_guard"), 1);
	close(low);
	close(fd);
	stop_ok(&d, SIGTERM);

	start(&d, "udp_loop_guard = false\n");
	low = udp_low_port(d.port);
	ck_assert_msg(low != -1, "%s", harness_error());
	udp_echo_ok(low, "loop!", 5);
	close(low);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ipv6_tcp_udp)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *data;
	char	 want[64];
	int	 fd;

	if (!harness_have_ipv6()) {
		printf("daemon: note: ::1 cannot be bound; IPv6 not tested\n");
		return;
	}
	ck_assert_msg(daemon_start(&d, 4, "listen = {\"127.0.0.1\", \"::1\"}\n")
	    == 0, "cannot start echod: %s", harness_error());
	snprintf(want, sizeof(want), "echod: listening on tcp [::1]:%d\n",
	    d.port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	snprintf(want, sizeof(want), "echod: listening on udp [::1]:%d\n",
	    d.port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));

	data = random_buf(65527, 6);
	fd = connect_ok(&d, AF_INET6);
	echo_ok(fd, data, 65527);
	close(fd);
	fd = udp_connect(AF_INET6, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	udp_echo_ok(fd, data, 1);
	udp_echo_ok(fd, data, 1452);
	udp_echo_ok(fd, data, HARNESS_UDP_MAX4);
	udp_echo_ok(fd, data, 65527);	/* the IPv6 maximum */
	close(fd);
	still_serving(&d, "IPv6 traffic");	/* IPv4 on the same port */
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- one protocol only ---- */

START_TEST(test_proto_udp_only)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 1, CONF_LOCAL "tcp = false\n") == 0,
	    "%s", harness_error());
	ck_assert_msg(strstr(daemon_log(&d), "listening on tcp") == NULL,
	    "tcp = false but:\n%s", daemon_log(&d));
	fd = udp_connect(AF_INET, d.port);
	ck_assert(fd != -1);
	udp_echo_ok(fd, "udp only", 8);
	close(fd);
	fd = tcp_connect(AF_INET, d.port);
	ck_assert_msg(fd == -1 && errno == ECONNREFUSED,
	    "tcp = false, yet a TCP connect got: %s",
	    fd == -1 ? harness_error() : "connected");
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_proto_tcp_only)
{
	static unsigned char buf[65536];
	struct daemon d = DAEMON_INIT;
	ssize_t	 n;
	int	 fd;

	ck_assert_msg(daemon_start(&d, 1, CONF_LOCAL "udp = false\n") == 0,
	    "%s", harness_error());
	ck_assert_msg(strstr(daemon_log(&d), "listening on udp") == NULL,
	    "udp = false but:\n%s", daemon_log(&d));
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "tcp only", 8);
	close(fd);
	/* Nobody on the UDP port: the kernel's ICMP says so. */
	fd = udp_connect(AF_INET, d.port);
	ck_assert(fd != -1);
	ck_assert_int_eq(send(fd, "anyone?", 7, 0), 7);
	n = udp_recv(fd, buf, sizeof(buf), HARNESS_IO_MS);
	ck_assert_msg(n == -1 && errno == ECONNREFUSED,
	    "udp = false, yet UDP got: %s", n >= 0 ? "a reply" :
	    harness_error());
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- limits and timeouts ---- */

START_TEST(test_limits_max_clients)
{
	struct daemon d = DAEMON_INIT;
	int	 a, b, c, i;

	start(&d, "max_clients = 2\n");
	a = connect_ok(&d, AF_INET);
	echo_ok(a, "a", 1);
	b = connect_ok(&d, AF_INET);
	echo_ok(b, "b", 1);
	/* Accepted and closed at once: no echo, just EOF or a reset. */
	for (i = 0; i < 3; i++) {
		c = connect_ok(&d, AF_INET);
		(void)send(c, "c", 1, MSG_NOSIGNAL);
		ck_assert_msg(sock_wait_closed(c, HARNESS_IO_MS) == 0,
		    "client %d over max_clients = 2: %s", 3 + i,
		    harness_error());
		close(c);
	}
	ck_assert_msg(daemon_log_count(&d, "closing new connections") == 1,
	    "expected the refusal logged once per burst:\n%s",
	    daemon_log_tail(&d));
	echo_ok(a, "a", 1);
	echo_ok(b, "b", 1);

	close(a);
	ck_assert_msg(daemon_wait_clients(&d, 1, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	c = connect_ok(&d, AF_INET);
	echo_ok(c, "served again", 12);
	ck_assert_msg(daemon_wait_log(&d, "accepting clients again after "
	    "refusing 3", 1, HARNESS_IO_MS) == 0, "%s", harness_error());
	close(b);
	close(c);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_idle_drop)
{
	struct daemon d = DAEMON_INIT;
	long long t0, took;
	int	 fd;

	start(&d, "idle_timeout = 1\n");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "then silence", 12);
	t0 = harness_now_ms();
	ck_assert_msg(sock_wait_closed(fd, 5000) == 0,
	    "idle client not dropped: %s", harness_error());
	took = harness_now_ms() - t0;
	ck_assert_msg(took >= 500 && took <= 3000, "idle_timeout = 1: "
	    "dropped after %lld ms, expected 1-3 s", took);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_idle_busy)
{
	struct daemon d = DAEMON_INIT;
	int	 fd, i;

	start(&d, "idle_timeout = 1\n");
	fd = connect_ok(&d, AF_INET);
	/* 3 s in all, never silent for 1 s: must stay connected. */
	for (i = 0; i < 10; i++) {
		echo_ok(fd, "tick", 4);
		(void)poll(NULL, 0, 300);	/* pacing, not a sync */
	}
	echo_ok(fd, "still on", 8);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* A client that sends and never reads cannot pin its thread. */
START_TEST(test_limits_idle_nonreader)
{
	struct daemon d = DAEMON_INIT;
	unsigned char *junk = random_buf(MIB, 9);
	struct pollfd pfd;
	long long t0, deadline;
	size_t	 total = 0;
	ssize_t	 n;
	int	 err = 0;

	start(&d, "idle_timeout = 1\n");
	pfd.fd = connect_ok(&d, AF_INET);
	pfd.events = POLLOUT;
	t0 = harness_now_ms();
	deadline = t0 + 10000;
	while (err == 0 && harness_now_ms() < deadline) {
		n = send(pfd.fd, junk, MIB, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			total += (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			err = errno;
		else
			(void)poll(&pfd, 1, 200);
	}
	ck_assert_msg(err == ECONNRESET || err == EPIPE, "a client that never "
	    "reads was not cut off within 10 s (sent %zu bytes, %s)", total,
	    err != 0 ? strerror(err) : "no error");
	printf("daemon: non-reading client cut off after %lld ms, %zu bytes\n",
	    harness_now_ms() - t0, total);
	close(pfd.fd);
	ck_assert_msg(daemon_wait_clients(&d, 0, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	free(junk);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* CPU time (utime + stime, in clock ticks) the process has used. */
static long long
proc_cpu_ticks(pid_t pid)
{
	char	 path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %llu %llu", &ut, &st), 2);
	return (long long)(ut + st);
}

/* Set the soft limit of pid; RLIM_INFINITY means "up to the hard one". */
static void
set_limit(pid_t pid, int resource, rlim_t soft)
{
	struct rlimit rl;

	ck_assert_int_eq(prlimit(pid, resource, NULL, &rl), 0);
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	ck_assert_msg(prlimit(pid, resource, &rl, NULL) == 0, "prlimit: %s",
	    strerror(errno));
}

START_TEST(test_limits_accept_emfile)
{
	struct daemon d = DAEMON_INIT;
	long long cpu;
	int	 fd[6], i, base;

	start(&d, "");
	/* Room for two clients: the third accept() fails with EMFILE. */
	base = proc_fd_count(d.pid);
	ck_assert_int_gt(base, 0);
	set_limit(d.pid, RLIMIT_NOFILE, (rlim_t)base + 2);
	for (i = 0; i < 6; i++)
		fd[i] = connect_ok(&d, AF_INET);
	echo_ok(fd[0], "a", 1);
	echo_ok(fd[1], "b", 1);
	ck_assert_msg(daemon_wait_log(&d, "accept failed, pausing", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	/* Backing off, not spinning on the pending connections. */
	cpu = proc_cpu_ticks(d.pid);
	ck_assert_int_eq(usleep(1000000), 0);
	cpu = proc_cpu_ticks(d.pid) - cpu;
	ck_assert_msg(cpu < 30, "%lld ticks of CPU in 1 s while out of "
	    "descriptors", cpu);
	/* Clients leave, descriptors come back: the waiting ones are served. */
	close(fd[0]);
	close(fd[1]);
	echo_ok(fd[2], "c", 1);
	echo_ok(fd[3], "d", 1);
	set_limit(d.pid, RLIMIT_NOFILE, RLIM_INFINITY);
	echo_ok(fd[4], "e", 1);
	echo_ok(fd[5], "f", 1);
	ck_assert_int_gt(stats_value(&d, "tcp_accept_errors"), 0);
	for (i = 2; i < 6; i++)
		close(fd[i]);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_limits_thread_failure)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* Sanitizers reserve terabytes of address space up front. */
	printf("daemon: thread failure test skipped under sanitizers\n");
#else
	struct daemon d = DAEMON_INIT;
	char	 path[64], line[256];
	unsigned long long vm_kb = 0;
	int	 fd[12], i, closed = 0;
	FILE	*fp;

	start(&d, "");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)d.pid);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		(void)sscanf(line, "VmSize: %llu kB", &vm_kb);
	fclose(fp);
	ck_assert_int_gt(vm_kb, 0);
	/* Address space for a thread or two: pthread_create fails after. */
	set_limit(d.pid, RLIMIT_AS, (rlim_t)(vm_kb + 256) * 1024);
	for (i = 0; i < 12; i++)
		fd[i] = connect_ok(&d, AF_INET);
	for (i = 0; i < 12; i++)
		if (sock_wait_closed(fd[i], 300) == 0)
			closed++;
	ck_assert_msg(closed > 0, "every client got a thread");
	ck_assert_msg(daemon_wait_log(&d, "cannot start a client thread", 1,
	    HARNESS_IO_MS) == 0, "%s", daemon_log_tail(&d));
	for (i = 0; i < 12; i++)
		close(fd[i]);
	/* Room again: the daemon serves as before. */
	set_limit(d.pid, RLIMIT_AS, RLIM_INFINITY);
	fd[0] = connect_ok(&d, AF_INET);
	echo_ok(fd[0], "back", 4);
	close(fd[0]);
	stop_ok(&d, SIGTERM);
#endif
}
END_TEST

/* ---- signals and restarts ---- */

START_TEST(test_signal_term_clients)
{
	enum { N = 50 };
	struct daemon d = DAEMON_INIT;
	int	 fd[N], i;

	start(&d, "");
	for (i = 0; i < N; i++) {
		fd[i] = connect_ok(&d, AF_INET);
		echo_ok(fd[i], "hi", 2);
	}
	ck_assert_msg(daemon_wait_clients(&d, N, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	stop_ok(&d, SIGTERM);
	for (i = 0; i < N; i++) {
		ck_assert_msg(sock_wait_closed(fd[i], HARNESS_IO_MS) == 0,
		    "client %d after SIGTERM: %s", i, harness_error());
		close(fd[i]);
	}
}
END_TEST

START_TEST(test_signal_int)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "");
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "hi", 2);
	stop_ok(&d, SIGINT);
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0,
	    "client after SIGINT: %s", harness_error());
	close(fd);
}
END_TEST

/* The first instance leaves TIME_WAIT behind; reuseaddr binds anyway. */
START_TEST(test_signal_restart)
{
	struct daemon d = DAEMON_INIT;
	int	 fd, port, rc;

	start(&d, "reuseaddr = true\n");
	port = d.port;
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "first", 5);
	stop_ok(&d, SIGTERM);
	ck_assert_msg(sock_wait_closed(fd, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
	close(fd);
	/* TIME_WAIT (6), or FIN_WAIT2 (5) if our FIN is still on its way. */
	ck_assert_msg(harness_tcp_state_count(port, 6) +
	    harness_tcp_state_count(port, 5) > 0,
	    "expected a TIME_WAIT socket on port %d", port);

	/* Without SO_REUSEADDR the same restart fails: the test has teeth. */
	rc = daemon_start_on(&d, port, 2, CONF_LOCAL "reuseaddr = false\n");
	ck_assert_msg(rc == -1 && daemon_exit_code(&d) == 71,
	    "reuseaddr = false: expected exit 71 while in TIME_WAIT, got %d",
	    daemon_exit_code(&d));

	rc = daemon_start_on(&d, port, 2, CONF_LOCAL "reuseaddr = true\n");
	ck_assert_msg(rc == 0, "restart on port %d: %s", port,
	    harness_error());
	fd = connect_ok(&d, AF_INET);
	echo_ok(fd, "second", 6);
	close(fd);
	stop_ok(&d, SIGTERM);
}
END_TEST

/* ---- bind errors ---- */

/* Hold port on 127.0.0.1 with type; echod (config extra) must exit 71. */
static void
bind_conflict(int type, const char *extra)
{
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	struct daemon d = DAEMON_INIT;
	char	 want[128];
	int	 hold = -1, port = -1, rc, try;

	for (try = 0; try < 20 && hold == -1; try++)
		if ((port = harness_free_port(false)) > 0)
			hold = harness_occupy(AF_INET, type, port);
	ck_assert_msg(hold != -1, "%s", harness_error());
	rc = daemon_start_on(&d, port, 2, extra);
	ck_assert_msg(rc == -1 && daemon_exit_code(&d) == 71,
	    "%s port %d in use: expected exit 71, got %d:\n%s", proto, port,
	    daemon_exit_code(&d), daemon_log_tail(&d));
	snprintf(want, sizeof(want), "echod: cannot bind %s 127.0.0.1:%d: "
	    "Address already in use\n", proto, port);
	ck_assert_msg(strstr(daemon_log(&d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log(&d));
	close(hold);
	daemon_free(&d);
}

START_TEST(test_bind_tcp_in_use)
{
	bind_conflict(SOCK_STREAM, CONF_LOCAL);
}
END_TEST

START_TEST(test_bind_udp_in_use)
{
	bind_conflict(SOCK_DGRAM, CONF_LOCAL "tcp = false\n");
}
END_TEST

/* ---- leaks ---- */

START_TEST(test_leak_short_connections)
{
	enum { TOTAL = 2000, BATCH = 4 };
	struct daemon d = DAEMON_INIT;
	struct echo_job jobs[BATCH];
	unsigned char *data = random_buf(4096, 3);
	uint64_t rng = 3;
	long long deadline;
	int	 fds0, thr0, fds, thr, fd, n, i;

	start(&d, "");
	/*
	 * "listening on" comes before the UDP thread starts: an echo proves
	 * it runs (and a sanitizer's helper thread, spawned with it).
	 */
	fd = udp_connect(AF_INET, d.port);
	ck_assert_msg(fd != -1, "%s", harness_error());
	udp_echo_ok(fd, "warm-up", 7);
	close(fd);
	fds0 = proc_fd_count(d.pid);
	thr0 = proc_thread_count(d.pid);
	ck_assert_msg(fds0 > 0 && thr0 > 0, "cannot read /proc/%d", d.pid);
	for (n = 0; n < TOTAL; n += BATCH) {
		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < BATCH; i++) {
			jobs[i].fd = connect_ok(&d, AF_INET);
			jobs[i].len = 1 + harness_rand(&rng) % 64;
			jobs[i].data = data + harness_rand(&rng) % 4000;
		}
		echo_jobs_ok(jobs, BATCH, HARNESS_IO_MS);
		for (i = 0; i < BATCH; i++)
			close(jobs[i].fd);
	}
	/* Threads finish after their clients left: poll, bounded. */
	deadline = harness_now_ms() + HARNESS_IO_MS;
	do {
		fds = proc_fd_count(d.pid);
		thr = proc_thread_count(d.pid);
		if (fds == fds0 && thr == thr0)
			break;
		(void)poll(NULL, 0, 20);
	} while (harness_now_ms() < deadline);
	ck_assert_msg(fds == fds0 && thr == thr0, "after %d connections: %d "
	    "descriptors (baseline %d), %d threads (baseline %d)", TOTAL, fds,
	    fds0, thr, thr0);
	/* "tcp clients N now, N peak, N total": all served, none left. */
	ck_assert_uint_eq(stats_value(&d, "tcp_clients"), 0);
	ck_assert_uint_eq(stats_value(&d, "tcp_accepted"), TOTAL);
	free(data);
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc;

	tc = tcase_new(s, "cli", 30);
	tcase_add_test(tc, test_cli_help_version);
	tcase_add_test(tc, test_cli_bad_usage);
	tcase_add_test(tc, test_cli_check_good);
	tcase_add_test(tc, test_cli_check_bad);
	tcase_add_test(tc, test_cli_unknown_key);
	tcase_add_test(tc, test_cli_missing_file);
	tcase_add_test(tc, test_cli_bad_config_run);
	tcase_add_test(tc, test_cli_port_override);

	tc = tcase_new(s, "tcp", 120);
	tcase_add_test(tc, test_tcp_line);
	tcase_add_test(tc, test_tcp_8mib);
	tcase_add_test(tc, test_tcp_half_close);
	tcase_add_test(tc, test_tcp_200_clients);
	tcase_add_test(tc, test_tcp_reset_mid_stream);
	tcase_add_test(tc, test_tcp_bad_inputs);
	tcase_add_test(tc, test_tcp_stats);

	tc = tcase_new(s, "udp", 120);
	tcase_add_test(tc, test_udp_sizes);
	tcase_add_test(tc, test_udp_sweep);
	tcase_add_test(tc, test_udp_two_sockets);
	tcase_add_test(tc, test_udp_reply_source);
	tcase_add_test(tc, test_udp_loop_guard);

	tc = tcase_new(s, "ipv6", 30);
	tcase_add_test(tc, test_ipv6_tcp_udp);

	tc = tcase_new(s, "proto", 30);
	tcase_add_test(tc, test_proto_udp_only);
	tcase_add_test(tc, test_proto_tcp_only);

	tc = tcase_new(s, "limits", 60);
	tcase_add_test(tc, test_limits_max_clients);
	tcase_add_test(tc, test_limits_idle_drop);
	tcase_add_test(tc, test_limits_idle_busy);
	tcase_add_test(tc, test_limits_idle_nonreader);
	tcase_add_test(tc, test_limits_accept_emfile);
	tcase_add_test(tc, test_limits_thread_failure);

	tc = tcase_new(s, "signal", 60);
	tcase_add_test(tc, test_signal_term_clients);
	tcase_add_test(tc, test_signal_int);
	tcase_add_test(tc, test_signal_restart);

	tc = tcase_new(s, "bind", 30);
	tcase_add_test(tc, test_bind_tcp_in_use);
	tcase_add_test(tc, test_bind_udp_in_use);

	tc = tcase_new(s, "leak", 120);
	tcase_add_test(tc, test_leak_short_connections);
	return s;
}

int
main(void)
{
	return harness_main(daemon_suite(), "check_daemon");
}
