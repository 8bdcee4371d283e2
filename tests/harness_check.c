/* SPDX-License-Identifier: MIT */
/*
 * Check assertions over harness.c shared by the end-to-end suites
 * (check_daemon, check_notify, check_server): start, talk to and stop the
 * real echod, failing the test with what was expected and what happened.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
harness_skip(const char *prog, const char *why)
{
	const char *req = getenv("ECHOD_TEST");

	if (req != NULL && strcmp(req, "require") == 0) {
		printf("%s: FAIL: required but cannot run: %s\n", prog, why);
		return EXIT_FAILURE;
	}
	printf("%s: SKIPPED: %s\n", prog, why);
	return HARNESS_SKIP;
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
