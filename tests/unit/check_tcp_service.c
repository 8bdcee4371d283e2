/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for tcp.c, the TCP service in-process: a listener on
 * 127.0.0.1, tcp_accept_batch() admitting and refusing, tcp_launch()
 * starting the echo threads, a reload of its settings through
 * tcp_service_set(), and shutdown closing every client.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "echod/counters.h"
#include "echod/net.h"
#include "echod/tcp.h"

#include "counter_value.h"
#include "suite.h"

static struct counters	 counters;
static struct tcp_service *tcp;
static int		 lfd;
static struct sockaddr_in addr = { .sin_family = AF_INET };

static void
settings(unsigned max_clients, unsigned per_source)
{
	const struct tcp_settings s = {
		.admission = {
			.clients = { max_clients, per_source, true },
			.prefix_v4 = 32,
			.prefix_v6 = 64,
		},
		.send_timeout = 60,
		.cache_size = 4,
		.cache_timeout = 30,
	};

	tcp_service_set(tcp, &s, NULL, NULL);
}

static void
setup(void)
{
	socklen_t len = sizeof(addr);

	ck_assert_int_eq(counters_init(&counters), 0);
	ck_assert_ptr_nonnull(tcp = tcp_service_new(&counters));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	lfd = net_tcp_listen((struct sockaddr *)&addr, sizeof(addr), 64, true,
	    false, false);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
}

static void
teardown(void)
{
	close(lfd);
	ck_assert_int_eq(tcp_service_shutdown(tcp, 2000), 0);
	tcp_service_free(tcp);
	counters_destroy(&counters);
}

/* Connect, then let the service accept and launch. */
static int
client(void)
{
	int	 fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)),
	    0);
	ck_assert_int_eq(tcp_accept_batch(tcp, lfd), 0);
	while (tcp_launch(tcp))
		;
	return fd;
}

/* 1 if fd echoes msg back within 2 s; 0 if it was closed instead. */
static int
echoes(int fd, const char *msg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t	 len = strlen(msg), got = 0;
	char	 buf[64];
	ssize_t	 n;

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 0;
	while (got < len) {
		ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
		if ((n = recv(fd, buf + got, sizeof(buf) - got, 0)) <= 0)
			return 0;
		got += (size_t)n;
	}
	ck_assert_int_eq(memcmp(buf, msg, len), 0);
	return 1;
}

START_TEST(test_admits_and_echoes)
{
	int	 a, b;

	settings(4, 0);
	a = client();
	b = client();
	ck_assert(echoes(a, "hello"));
	ck_assert(echoes(b, "world"));
	ck_assert_uint_eq(tcp_clients(tcp), 2);
	ck_assert_uint_eq(counter_value(&counters, CTR_TCP_ACCEPTED), 2);
	close(a);
	close(b);
}
END_TEST

START_TEST(test_refused_before_settings)
{
	int	 a = client();

	ck_assert(!echoes(a, "x"));
	ck_assert_uint_eq(tcp_clients(tcp), 0);
	close(a);
}
END_TEST

START_TEST(test_per_source_then_reload)
{
	int	 a, b;

	settings(4, 1);
	a = client();
	ck_assert(echoes(a, "a"));
	b = client();
	ck_assert(!echoes(b, "b"));
	ck_assert_uint_eq(counter_value(&counters,
	    CTR_TCP_REFUSED_PER_SOURCE), 1);
	close(b);
	/* The cap lifted: the next one is in, the first still served. */
	settings(4, 0);
	b = client();
	ck_assert(echoes(b, "b"));
	ck_assert(echoes(a, "a"));
	close(a);
	close(b);
}
END_TEST

START_TEST(test_shutdown_closes_everyone)
{
	char	 c;
	int	 a, b;

	settings(4, 0);
	a = client();
	b = client();
	ck_assert(echoes(a, "a"));
	ck_assert(echoes(b, "b"));
	ck_assert_int_eq(tcp_service_shutdown(tcp, 2000), 0);
	ck_assert_uint_eq(tcp_clients(tcp), 0);
	ck_assert_int_eq(recv(a, &c, 1, 0), 0);
	ck_assert_int_eq(recv(b, &c, 1, 0), 0);
	close(a);
	close(b);
}
END_TEST

static Suite *
tcp_service_suite(void)
{
	Suite	*s = suite_create("tcp_service");
	TCase	*tc = tcase_create("service");

	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_admits_and_echoes);
	tcase_add_test(tc, test_refused_before_settings);
	tcase_add_test(tc, test_per_source_then_reload);
	tcase_add_test(tc, test_shutdown_closes_everyone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(tcp_service_suite());
}
