/* SPDX-License-Identifier: MIT */
/*
 * TCP echo end to end: a line and telnet bytes as they are, 8 MiB with
 * NULs while the echo is read, half close, 200 clients at once, resets in
 * mid-stream, hostile inputs (connect-and-close, resets, bursts never
 * read, a UDP flood) after which it still serves, and the SIGUSR1 counters.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

#define MIB		((size_t)1024 * 1024)

START_TEST(test_tcp_line)
{
	struct daemon d = DAEMON_INIT;
	int	 fd;

	start(&d, "");
	log_has(&d, "echod: listening on tcp 127.0.0.1:%d\n", d.port);
	log_has(&d, "echod: listening on udp 127.0.0.1:%d\n", d.port);
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
	printf("tcp: 8 MiB echoed in %lld ms\n", harness_now_ms() - t0);
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
	clients_ok(&d, 0);
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
	clients_ok(&d, 0);
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
	fd = udp_connect_ok(&d, AF_INET);
	for (i = 0; i < 3000; i++)
		(void)send(fd, junk, harness_rand(&rng) % 9000, MSG_DONTWAIT);
	close(fd);
	still_serving(&d, "a udp flood");

	close(idle);
	clients_ok(&d, 0);
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
	ck_assert_uint_eq(counter_ok(&d, "tcp_clients"), 1);
	ck_assert_uint_eq(counter_ok(&d, "tcp_accepted"), 1);
	/* Once its thread is gone, every byte it moved is counted. */
	close(fd);
	clients_ok(&d, 0);
	ck_assert_uint_eq(counter_ok(&d, "tcp_bytes_in"), 5);
	ck_assert_uint_eq(counter_ok(&d, "tcp_bytes_out"), 5);
	/* Each direction once: a sum of both would say 10. */
	still_serving(&d, "SIGUSR1");
	stop_ok(&d, SIGTERM);
}
END_TEST

static Suite *
tcp_suite(void)
{
	Suite	*s = suite_create("tcp");
	TCase	*tc = tcase_new(s, "tcp", 120);

	tcase_add_test(tc, test_tcp_line);
	tcase_add_test(tc, test_tcp_8mib);
	tcase_add_test(tc, test_tcp_half_close);
	tcase_add_test(tc, test_tcp_200_clients);
	tcase_add_test(tc, test_tcp_reset_mid_stream);
	tcase_add_test(tc, test_tcp_bad_inputs);
	tcase_add_test(tc, test_tcp_stats);
	return s;
}

int
main(void)
{
	return harness_main(tcp_suite(), "check_tcp");
}
