/* SPDX-License-Identifier: MIT */
/*
 * Check assertions over harness.c shared by the end-to-end suites: start,
 * talk to and stop the real echod, read its counters and its log, and
 * fail the test with what was expected and what happened.
 */

#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "suite.h"

/* Start echod serving TCP and UDP on 127.0.0.1 with extra config. */
void
start(struct daemon *d, const char *extra)
{
	ck_assert_msg(daemon_start(d, 2, "%s%s", CONF_LOCAL, extra) == 0,
	    "cannot start echod: %s", harness_error());
}

int
connect_ok(struct daemon *d, int family)
{
	int	 fd = tcp_connect(family, d->port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	return fd;
}

int
udp_connect_ok(struct daemon *d, int family)
{
	int	 fd = udp_connect(family, d->port);

	ck_assert_msg(fd != -1, "%s", harness_error());
	return fd;
}

void
echo_ok(int fd, const void *buf, size_t len)
{
	ck_assert_msg(tcp_echo(fd, buf, len) == 0, "%s", harness_error());
}

void
udp_echo_ok(int fd, const void *buf, size_t len)
{
	ck_assert_msg(udp_echo(fd, buf, len) == 0, "%s", harness_error());
}

unsigned long long
counter_ok(struct daemon *d, const char *name)
{
	unsigned long long v;

	ck_assert_msg(daemon_counter(d, name, &v) == 0, "%s", harness_error());
	return v;
}

void
counter_wait_ok(struct daemon *d, const char *name, unsigned long long want)
{
	ck_assert_msg(daemon_wait_counter(d, name, want, HARNESS_IO_MS) == 0,
	    "%s", harness_error());
}

void
clients_ok(struct daemon *d, unsigned n)
{
	ck_assert_msg(daemon_wait_clients(d, n, HARNESS_IO_MS) == 0, "%s",
	    harness_error());
}

void
log_has(struct daemon *d, const char *fmt, ...)
{
	char	 want[4096];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ck_assert_msg(strstr(daemon_log(d), want) != NULL,
	    "expected '%s' in stderr:\n%s", want, daemon_log_tail(d));
}

void
serving_from(struct daemon *d, const char *src, const char *after)
{
	int	 fd;

	ck_assert_msg(daemon_alive(d), "echod died after %s (exit %d):\n%s",
	    after, daemon_exit_code(d), daemon_log_tail(d));
	fd = tcp_connect_src(src, d->port);
	ck_assert_msg(fd != -1, "after %s: %s", after, harness_error());
	ck_assert_msg(tcp_echo(fd, "still here\n", 11) == 0, "after %s: tcp "
	    "from %s: %s", after, src, harness_error());
	close(fd);
	fd = udp_connect_src(src, 0, d->port);
	ck_assert_msg(fd != -1, "after %s: %s", after, harness_error());
	/* After a flood the socket may still be full: UDP may drop. */
	ck_assert_msg(udp_echo_retry(fd, "ping", 4, 20) == 0, "after %s: "
	    "udp from %s: %s", after, src, harness_error());
	close(fd);
}

void
still_serving(struct daemon *d, const char *after)
{
	serving_from(d, "127.0.0.1", after);
}

unsigned char *
random_buf(size_t len, uint64_t seed)
{
	unsigned char *buf = malloc(len);

	ck_assert_msg(buf != NULL, "malloc %zu", len);
	harness_fill(buf, len, seed);
	return buf;
}

void
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

void
limit_ok(pid_t pid, int resource, rlim_t soft)
{
	struct rlimit rl;

	ck_assert_int_eq(prlimit(pid, resource, NULL, &rl), 0);
	rl.rlim_cur = soft == RLIM_INFINITY ? rl.rlim_max : soft;
	ck_assert_msg(prlimit(pid, resource, &rl, NULL) == 0, "prlimit: %s",
	    strerror(errno));
}

void
reload(struct daemon *d, const char *verdict, int port, const char *body)
{
	int	 n = daemon_log_count(d, verdict);

	ck_assert_int_eq(harness_write_file(d->conf, "port = %d\n%s", port,
	    body), 0);
	ck_assert_int_eq(daemon_signal(d, SIGHUP), 0);
	ck_assert_msg(daemon_wait_log(d, verdict, n + 1, HARNESS_IO_MS) == 0,
	    "no '%s' after SIGHUP: %s", verdict, daemon_log_tail(d));
}

/* Send sig, expect exit 0 within the contract's 2 s; release d. */
void
stop_ok(struct daemon *d, int sig)
{
	long long t0 = harness_now_ms(), took;

	ck_assert_msg(daemon_signal(d, sig) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_exit(d, HARNESS_IO_MS) == 0, "after %s: %s",
	    strsignal(sig), harness_error());
	took = harness_now_ms() - t0;
	ck_assert_msg(daemon_exit_code(d) == 0,
	    "%s: expected exit 0, got %d; stderr:\n%s", strsignal(sig),
	    daemon_exit_code(d), daemon_log_tail(d));
	ck_assert_msg(took <= STOP_LIMIT_MS, "%s: exit took %lld ms, "
	    "limit %d ms", strsignal(sig), took, STOP_LIMIT_MS);
	ck_assert_msg(daemon_log_count(d, "echod: stopping\n") == 1 &&
	    daemon_log_count(d, "echod: stopped\n") == 1,
	    "expected one 'stopping' and one 'stopped' line:\n%s",
	    daemon_log_tail(d));
	ck_assert_msg(strstr(daemon_log(d), "still closing") == NULL,
	    "clients outlived the shutdown:\n%s", daemon_log_tail(d));
	daemon_free(d);
}

/* A TCase in s whose tests run with teardown() and timeout seconds. */
TCase *
tcase_new(Suite *s, const char *name, double timeout)
{
	TCase	*tc = tcase_create(name);

	tcase_add_checked_fixture(tc, NULL, harness_teardown);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

int
harness_main(Suite *s, const char *prog)
{
	int	 rc;

	/* Not atexit(): every forked test would remove the directory. */
	if (harness_init() == -1) {
		fprintf(stderr, "%s: %s\n", prog, harness_error());
		return EXIT_FAILURE;
	}
	rc = suite_run(s);
	harness_fini();
	return rc;
}
