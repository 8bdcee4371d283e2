/* SPDX-License-Identifier: MIT */
/*
 * listeners.c on reload, over real loopback sockets (127.0.0.1, .2, .3 are
 * all local on Linux): prepare keeps a socket whose address stays (the same
 * descriptor, so a client waiting in its backlog is not lost), commit closes
 * the ones that go, and a prepare that fails or is aborted leaves the old
 * set as it was with nothing new left open.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/config.h"
#include "echod/listeners.h"
#include "echod/net.h"

#include "logcap.h"
#include "suite.h"

static struct echod_config cfg;
static struct listeners ls;

/* A port free for TCP and UDP on every local address, or fail. */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int	 t, u, rc;

	t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert(t != -1 && u != -1);
	ck_assert_int_eq(bind(t, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(t, (struct sockaddr *)&sin, &len), 0);
	rc = bind(u, (struct sockaddr *)&sin, sizeof(sin));
	close(t);
	close(u);
	ck_assert_msg(rc == 0, "port %d: udp taken", ntohs(sin.sin_port));
	return ntohs(sin.sin_port);
}

static void
setup(void)
{
	logcap_start();
	ck_assert_int_eq(config_defaults(&cfg), 0);
	cfg.port = free_port();
	memset(&ls, 0, sizeof(ls));
}

static void
teardown(void)
{
	listeners_close(&ls);
	config_free(&cfg);
	logcap_stop();
}

/* cfg.listen = the n addresses. */
static void
want(size_t n, const char *const *addrs)
{
	size_t	 i;

	ck_assert_uint_le(n, ECHOD_MAX_LISTEN);
	for (i = 0; i < n; i++)
		snprintf(cfg.listen[i], sizeof(cfg.listen[i]), "%s", addrs[i]);
	cfg.nlisten = n;
}

static const char *const one[] = { "127.0.0.1" };
static const char *const two[] = { "127.0.0.1", "127.0.0.2" };
static const char *const three[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3" };

static int
fd_count(void)
{
	struct dirent *de;
	DIR	*dir = opendir("/proc/self/fd");
	int	 n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* A TCP connection to addr:port; the descriptor, or -1 with errno. */
static int
dial(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int	 fd, saved;

	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Listener lfd hands over the connection waiting in its backlog. */
static void
accept_ok(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int	 fd;

	ck_assert_msg(poll(&pfd, 1, 5000) == 1, "nothing to accept on %d",
	    lfd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_msg(fd != -1, "accept: %s", strerror(errno));
	close(fd);
}

/* a and b hold the same sockets, bound to the same addresses. */
static bool
same_set(const struct listeners *a, const struct listeners *b)
{
	size_t	 i;

	if (a->ntcp != b->ntcp || a->nudp != b->nudp)
		return false;
	for (i = 0; i < a->ntcp; i++)
		if (a->tcp[i].fd != b->tcp[i].fd ||
		    !net_same_addr(&a->tcp[i].addr, &b->tcp[i].addr))
			return false;
	for (i = 0; i < a->nudp; i++)
		if (a->udp[i].fd != b->udp[i].fd ||
		    !net_same_addr(&a->udp[i].addr, &b->udp[i].addr))
			return false;
	return true;
}

/* Occurrences of needle in hay. */
static int
count_in(const char *hay, const char *needle)
{
	int	 n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

/* Nobody listens on TCP addr:port any more. */
static void
refused(const char *addr, int port)
{
	int	 fd = dial(addr, port);

	ck_assert_msg(fd == -1 && errno == ECONNREFUSED,
	    "tcp %s:%d still answers", addr, port);
}

START_TEST(test_keep_unchanged)
{
	struct listeners_change ch;
	int	 t1, u1, c;

	want(1, one);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	t1 = ls.tcp[0].fd;
	u1 = ls.udp[0].fd;
	/* Waits in the backlog across the reload. */
	c = dial("127.0.0.1", cfg.port);
	ck_assert_int_ge(c, 0);
	want(2, two);
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), 0);
	ck_assert(ch.kept_tcp[0] && ch.kept_udp[0]);
	ck_assert(!ch.fresh_tcp[0] && ch.fresh_tcp[1] && ch.fresh_udp[1]);
	listeners_commit(&ls, &ch);
	ck_assert_uint_eq(ls.ntcp, 2);
	ck_assert_uint_eq(ls.nudp, 2);
	ck_assert_int_eq(ls.tcp[0].fd, t1);
	ck_assert_int_eq(ls.udp[0].fd, u1);
	accept_ok(t1);
	close(c);
	c = dial("127.0.0.2", cfg.port);
	ck_assert_int_ge(c, 0);
	accept_ok(ls.tcp[1].fd);
	close(c);
	/* The kept socket was neither closed nor opened again. */
	ck_assert_msg(strstr(logcap_text(), "closing") == NULL, "%s",
	    logcap_text());
	ck_assert_int_eq(count_in(logcap_text(), "listening on tcp 127.0.0.1"),
	    1);
	logcap_has("listening on tcp 127.0.0.2:%d\n", cfg.port);
	logcap_has("listening on udp 127.0.0.2:%d\n", cfg.port);
}
END_TEST

START_TEST(test_close_removed)
{
	struct listeners_change ch;
	int	 t1, t2, u2;

	want(2, two);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	t1 = ls.tcp[0].fd;
	t2 = ls.tcp[1].fd;
	u2 = ls.udp[1].fd;
	want(1, one);
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), 0);
	listeners_commit(&ls, &ch);
	ck_assert_uint_eq(ls.ntcp, 1);
	ck_assert_uint_eq(ls.nudp, 1);
	ck_assert_int_eq(ls.tcp[0].fd, t1);
	ck_assert(!fd_open(t2) && !fd_open(u2));
	refused("127.0.0.2", cfg.port);
	logcap_has("closing tcp 127.0.0.2:%d\n", cfg.port);
	logcap_has("closing udp 127.0.0.2:%d\n", cfg.port);
}
END_TEST

/* A protocol turned off closes its sockets and keeps the other's. */
START_TEST(test_protocol_off)
{
	struct listeners_change ch;
	int	 t1, u1;

	want(1, one);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	t1 = ls.tcp[0].fd;
	u1 = ls.udp[0].fd;
	cfg.udp = false;
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), 0);
	listeners_commit(&ls, &ch);
	ck_assert_uint_eq(ls.nudp, 0);
	ck_assert_int_eq(ls.tcp[0].fd, t1);
	ck_assert(fd_open(t1) && !fd_open(u1));
}
END_TEST

/* A new port keeps nothing: every socket is new, every old one goes. */
START_TEST(test_port_change)
{
	struct listeners_change ch;
	int	 old = cfg.port, t1, try;

	want(1, one);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	t1 = ls.tcp[0].fd;
	/* The old port is in use now, so free_port() cannot return it. */
	for (try = 0; try < 10 && cfg.port == old; try++)
		cfg.port = free_port();
	ck_assert_int_ne(cfg.port, old);
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), 0);
	ck_assert(!ch.kept_tcp[0] && !ch.kept_udp[0]);
	listeners_commit(&ls, &ch);
	ck_assert(!fd_open(t1));
	refused("127.0.0.1", old);
	ck_assert_int_eq(net_addr_port((struct sockaddr *)&ls.tcp[0].addr),
	    cfg.port);
}
END_TEST

/*
 * The last address cannot be bound (held by another socket of type):
 * prepare fails, closes what it opened, and the old set stays whole.
 */
static void
prepare_fails(int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)cfg.port) };
	struct listeners_change ch;
	struct listeners before;
	int	 hold, base, c;

	want(1, one);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	before = ls;
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.3", &sin.sin_addr), 1);
	hold = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(hold, 0);
	ck_assert_int_eq(bind(hold, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(hold, 4), 0);
	base = fd_count();
	want(3, three);
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), -1);
	logcap_has("cannot bind %s 127.0.0.3:%d: Address already in use\n",
	    type == SOCK_STREAM ? "tcp" : "udp", cfg.port);
	/* Nothing new stays open, nothing old was touched. */
	ck_assert_int_eq(fd_count(), base);
	refused("127.0.0.2", cfg.port);
	ck_assert(same_set(&ls, &before));
	ck_assert(fd_open(ls.tcp[0].fd) && fd_open(ls.udp[0].fd));
	c = dial("127.0.0.1", cfg.port);
	ck_assert_int_ge(c, 0);
	accept_ok(ls.tcp[0].fd);
	close(c);
	close(hold);
}

START_TEST(test_prepare_fails_tcp)
{
	prepare_fails(SOCK_STREAM);
}
END_TEST

/* TCP was planned whole by then: the UDP failure undoes it too. */
START_TEST(test_prepare_fails_udp)
{
	prepare_fails(SOCK_DGRAM);
}
END_TEST

/* A prepared change dropped (another step of the reload failed). */
START_TEST(test_abort)
{
	struct listeners_change ch;
	struct listeners before;
	int	 base;

	want(1, one);
	ck_assert_int_eq(listeners_apply(&ls, &cfg), 0);
	before = ls;
	base = fd_count();
	want(2, two);
	ck_assert_int_eq(listeners_prepare(&ls, &cfg, &ch), 0);
	ck_assert_int_eq(fd_count(), base + 2);
	listeners_abort(&ch);
	ck_assert_int_eq(fd_count(), base);
	ck_assert(same_set(&ls, &before));
	ck_assert(fd_open(ls.tcp[0].fd) && fd_open(ls.udp[0].fd));
	refused("127.0.0.2", cfg.port);
}
END_TEST

static Suite *
listeners_suite(void)
{
	Suite	*s = suite_create("listeners");
	TCase	*tc = tcase_create("reload");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_keep_unchanged);
	tcase_add_test(tc, test_close_removed);
	tcase_add_test(tc, test_protocol_off);
	tcase_add_test(tc, test_port_change);
	tcase_add_test(tc, test_prepare_fails_tcp);
	tcase_add_test(tc, test_prepare_fails_udp);
	tcase_add_test(tc, test_abort);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return suite_run(listeners_suite());
}
