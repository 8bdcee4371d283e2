/* SPDX-License-Identifier: MIT */
/*
 * log.c's promise that lines never interleave: threads log long lines at
 * once into a loopback TCP socket whose tiny buffers block each write()
 * part way (where another writer could slip in, as on the journal's
 * stream socket), and every line must arrive whole, once, in its writer's
 * order.  Without log.c's lock this fails at once.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/log.h"

#include "suite.h"

enum { WRITERS = 8, LINES = 250, TEXT = 1900 };

/* Line i of writer w: its tag, then TEXT bytes only it writes. */
static void
line_text(int w, int i, char *buf)
{
	int	 j;

	for (j = 0; j < TEXT; j++)
		buf[j] = (char)('a' + (w * 7 + i + j / 100) % 26);
	buf[TEXT] = '\0';
}

static void *
writer(void *arg)
{
	char	 text[TEXT + 1];
	int	 w = *(const int *)arg, i;

	for (i = 0; i < LINES; i++) {
		line_text(w, i, text);
		log_info("w%d l%03d %s", w, i, text);
	}
	return NULL;
}

struct sink {
	int	 fd;
	char	*buf;
	size_t	 len, size;
};

/* Read the slow end until EOF, a little at a time. */
static void *
reader(void *arg)
{
	struct sink *k = arg;
	ssize_t	 n;

	while (k->len < k->size && (n = read(k->fd, k->buf + k->len,
	    k->size - k->len < 1024 ? k->size - k->len : 1024)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		ck_assert_msg(n > 0, "read: %s", strerror(errno));
		k->len += (size_t)n;
	}
	return NULL;
}

/* A loopback TCP pair with tiny buffers: writes block part way. */
static void
tcp_pair(int *wfd, int *rfd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int	 l, small = 1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*wfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert(l != -1 && *wfd != -1);
	ck_assert_int_eq(setsockopt(*wfd, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small,
	    sizeof(small)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(connect(*wfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	*rfd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(*rfd, 0);
	close(l);
}

START_TEST(test_lines_atomic)
{
	static char seen[WRITERS][LINES];
	static int ids[WRITERS] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	char	 want[TEXT + 64], text[TEXT + 1], *p, *nl;
	struct sink k = { .size = (size_t)WRITERS * LINES * (TEXT + 64) };
	pthread_t th[WRITERS], rd;
	int	 wfd, w, i, n = 0;
	FILE	*fp;

	tcp_pair(&wfd, &k.fd);
	ck_assert_ptr_nonnull(k.buf = malloc(k.size));
	ck_assert_ptr_nonnull(fp = fdopen(wfd, "w"));
	ck_assert_int_eq(pthread_create(&rd, NULL, reader, &k), 0);
	log_init(fp, LOG_LEVEL_INFO);
	for (w = 0; w < WRITERS; w++)
		ck_assert_int_eq(pthread_create(&th[w], NULL, writer,
		    &ids[w]), 0);
	for (w = 0; w < WRITERS; w++)
		ck_assert_int_eq(pthread_join(th[w], NULL), 0);
	log_init(stderr, LOG_LEVEL_INFO);
	fclose(fp);		/* EOF for the reader */
	ck_assert_int_eq(pthread_join(rd, NULL), 0);
	close(k.fd);
	/* Every line whole, each exactly once, each writer's in order. */
	for (p = k.buf; p < k.buf + k.len; p = nl + 1, n++) {
		ck_assert_msg((nl = memchr(p, '\n', (size_t)(k.buf + k.len -
		    p))) != NULL, "last line cut: '%.80s'", p);
		ck_assert_msg(sscanf(p, "echod: w%d l%d ", &w, &i) == 2 &&
		    w >= 0 && w < WRITERS && i >= 0 && i < LINES,
		    "line %d mangled: '%.80s'", n, p);
		line_text(w, i, text);
		snprintf(want, sizeof(want), "echod: w%d l%03d %s", w, i,
		    text);
		ck_assert_msg((size_t)(nl - p) == strlen(want) &&
		    memcmp(p, want, strlen(want)) == 0,
		    "line %d (w%d l%d) mixed with another (%td bytes): "
		    "'%.160s'", n, w, i, nl - p, p);
		ck_assert_msg(!seen[w][i] && (i == 0 || seen[w][i - 1]),
		    "w%d l%d twice or out of order", w, i);
		seen[w][i] = 1;
	}
	ck_assert_int_eq(n, (intmax_t)WRITERS * LINES);
	free(k.buf);
}
END_TEST

static Suite *
log_lines_suite(void)
{
	Suite	*s = suite_create("log_lines");
	TCase	*tc = tcase_create("atomic");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_lines_atomic);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(log_lines_suite());
}
