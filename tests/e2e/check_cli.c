/* SPDX-License-Identifier: MIT */
/*
 * The command line as the real echod sees it: -h, -V, bad usage (64, and
 * option errors say "echod:", with the usage), -t on good and bad files
 * (0, 78, file:line), -q silencing -t, -T printing the effective
 * configuration in a form -c reads back, a missing file, a bad file stops
 * the daemon before it binds, -p over the file's port, and a bind conflict
 * (71) naming the address and port.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"

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
		{ "stray", NULL, NULL },
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
	char	 path[PATH_MAX];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    "# every key\nport = 7777\nbacklog = 16\nreuseaddr = false\n"
	    "listen = {\"127.0.0.1\", \"::1\"}\ntcp = true\nudp = true\n"
	    "max_clients = 10\nidle_timeout = 30\nlog_level = \"debug\"\n"
	    "udp_loop_guard = false\n");
	ck_assert_msg(rc == 0, "-t on a good file: expected 0, got %d:\n%s",
	    rc, daemon_log(&d));
	/* The verdict goes through the logger, like every message. */
	log_has(&d, "echod: configuration %s is valid\n", path);
	ck_assert_str_eq(daemon_stdout(&d), "");
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_check_bad)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    CONF_LOCAL "\nport = 0\n");
	ck_assert_msg(rc == 78, "-t on port = 0: expected 78, got %d", rc);
	log_has(&d, "echod: %s:3: port 0 out of range 1..65535\n", path);
	log_has(&d, "echod: configuration %s is invalid\n", path);
	ck_assert_str_eq(daemon_stdout(&d), "");
	daemon_free(&d);
}
END_TEST

/* libconfuse alone would read 010 as 8: refused, with the line. */
START_TEST(test_cli_check_not_decimal)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    CONF_LOCAL "max_clients = 010\n");
	ck_assert_msg(rc == 78, "-t on max_clients = 010: expected 78, got "
	    "%d", rc);
	log_has(&d, "echod: %s:2: max_clients: '010' has a leading zero: "
	    "integers are decimal only (write 10)\n", path);
	daemon_free(&d);
}
END_TEST

/* Literals the daemon could never bind (start-up would exit 71). */
START_TEST(test_cli_check_unbindable_listen)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	int	 rc;

	rc = check_config(&d, path, sizeof(path),
	    "port = 7777\nlisten = {\"::ffff:127.0.0.1\"}\n");
	ck_assert_msg(rc == 78, "-t on a mapped address: expected 78, got %d",
	    rc);
	log_has(&d, "echod: %s:2: listen: '::ffff:127.0.0.1' can never be "
	    "bound: an IPv4-mapped IPv6 address, and IPv6 sockets are IPv6 "
	    "only: write \"127.0.0.1\"\n", path);
	daemon_free(&d);
	rc = check_config(&d, path, sizeof(path),
	    "port = 7777\nlisten = {\"::1\",\n\"fe80::1\"}\n");
	ck_assert_msg(rc == 78, "-t on fe80::1: expected 78, got %d", rc);
	log_has(&d, "echod: %s:3: listen: 'fe80::1' can never be bound: a "
	    "link-local address needs an interface (scope)", path);
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_unknown_key)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	int	 rc;

	rc = check_config(&d, path, sizeof(path), CONF_LOCAL "bogus = 1\n");
	ck_assert_msg(rc == 78, "unknown key: expected 78, got %d", rc);
	log_has(&d, "%s:2:", path);
	log_has(&d, "bogus");
	daemon_free(&d);
}
END_TEST

START_TEST(test_cli_missing_file)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	const char *check[] = { "-t", "-c", path, NULL };
	const char *run[] = { "-c", path, NULL };
	int	 rc;

	harness_tmppath(path, sizeof(path), "no-such.conf");
	rc = daemon_run(&d, check, HARNESS_IO_MS);
	ck_assert_msg(rc == 78, "-t on a missing file: expected 78, got %d",
	    rc);
	log_has(&d, "echod: cannot read %s: No such file or directory\n", path);
	/* Not "invalid": the file's contents are not to blame. */
	log_has(&d, "could not be read");
	ck_assert_msg(strstr(daemon_log(&d), "is invalid") == NULL,
	    "wrong verdict:\n%s", daemon_log(&d));
	rc = daemon_run(&d, run, HARNESS_IO_MS);
	ck_assert_msg(rc == 78, "missing file: expected 78, got %d", rc);
	log_has(&d, "echod: cannot read %s: No such file or directory\n", path);
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
	char	 path[PATH_MAX], port[16];
	const char *args[] = { "-c", path, "-p", port, NULL };
	int	 file_port, fd, try;

	/* Two distinct free ports; bounded, as a full range would loop. */
	file_port = harness_free_port(false);
	d.port = harness_free_port(false);
	for (try = 0; try < 20 && d.port == file_port; try++)
		d.port = harness_free_port(false);
	ck_assert_msg(file_port > 0 && d.port > 0 && d.port != file_port,
	    "no two free ports (%d, %d): %s", file_port, d.port,
	    harness_error());
	harness_tmppath(path, sizeof(path), "override.conf");
	ck_assert(harness_write_file(path, "port = %d\n" CONF_LOCAL,
	    file_port) == 0);
	snprintf(port, sizeof(port), "%d", d.port);
	ck_assert_msg(daemon_spawn(&d, args) == 0, "%s", harness_error());
	ck_assert_msg(daemon_wait_log(&d, "listening on", 2, HARNESS_IO_MS) ==
	    0, "%s", harness_error());
	log_has(&d, "listening on tcp 127.0.0.1:%d\n", d.port);
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

/* -T: every key, -p applied, and -c reads the output back the same. */
START_TEST(test_print_config)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX], again[PATH_MAX], first[4096];
	const char *args[] = { "-T", "-c", path, "-p", "4242", NULL };
	const char *args2[] = { "-T", "-c", again, NULL };

	harness_tmppath(path, sizeof(path), "print.conf");
	ck_assert_int_eq(harness_write_file(path, "port = 7777\n"
	    "max_clients = 3\ntcp_keepalive = 0\n"), 0);
	ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 0);
	snprintf(first, sizeof(first), "%s", daemon_stdout(&d));
	ck_assert_msg(strstr(first, "port = 4242\n") != NULL &&
	    strstr(first, "max_clients = 3\n") != NULL &&
	    strstr(first, "tcp_keepalive = 0\n") != NULL &&
	    strstr(first, "backlog = 4096\n") != NULL &&
	    strstr(first, "listen = {\"0.0.0.0\", \"::\"}\n") != NULL &&
	    strstr(first, "log_level = \"info\"\n") != NULL, "-T printed:\n%s",
	    first);
	harness_tmppath(again, sizeof(again), "print-again.conf");
	ck_assert_int_eq(harness_write_file(again, "%s", first), 0);
	ck_assert_int_eq(daemon_run(&d, args2, HARNESS_IO_MS), 0);
	ck_assert_str_eq(daemon_stdout(&d), first);
	/* An invalid file: 78, the verdict, nothing on stdout. */
	ck_assert_int_eq(harness_write_file(path, "port = 0\n"), 0);
	ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 78);
	ck_assert_str_eq(daemon_stdout(&d), "");
	log_has(&d, "%s is invalid", path);
	daemon_free(&d);
}
END_TEST

START_TEST(test_quiet_check)
{
	struct daemon d = DAEMON_INIT;
	char	 path[PATH_MAX];
	const char *args[] = { "-q", "-t", "-c", path, NULL };
	const char *alone[] = { "-q", NULL };

	harness_tmppath(path, sizeof(path), "quiet.conf");
	ck_assert_int_eq(harness_write_file(path, "port = 7\n"), 0);
	ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 0);
	ck_assert_str_eq(daemon_log(&d), "");
	ck_assert_str_eq(daemon_stdout(&d), "");
	ck_assert_int_eq(harness_write_file(path, "port = 0\n"), 0);
	ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 78);
	ck_assert_str_eq(daemon_log(&d), "");
	ck_assert_str_eq(daemon_stdout(&d), "");
	/* -q means nothing without -t. */
	ck_assert_int_eq(daemon_run(&d, alone, HARNESS_IO_MS), 64);
	ck_assert_msg(strstr(daemon_log(&d), "echod: -q goes with -t") != NULL,
	    "%s", daemon_log(&d));
	daemon_free(&d);
}
END_TEST

/* getopt's own messages would start with the path echod was run by. */
START_TEST(test_option_errors_say_echod)
{
	static const char *const cases[][3] = {
		{ "-x", NULL, "echod: unknown option '-x'\n" },
		{ "--frobnicate", NULL,
		    "echod: unknown option '--frobnicate'\n" },
		{ "-c", NULL, "echod: option '-c' needs an argument\n" },
		{ "--port", NULL, "echod: option '--port' needs an argument\n" },
	};
	struct daemon d = DAEMON_INIT;
	const char *args[2] = { NULL, NULL };
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		args[0] = cases[i][0];
		ck_assert_int_eq(daemon_run(&d, args, HARNESS_IO_MS), 64);
		ck_assert_msg(strncmp(daemon_log(&d), cases[i][2],
		    strlen(cases[i][2])) == 0, "%s: stderr:\n%s", cases[i][0],
		    daemon_log(&d));
		ck_assert_msg(strstr(daemon_log(&d), "usage: echod") != NULL,
		    "no usage: %s", daemon_log(&d));
	}
	daemon_free(&d);
}
END_TEST

/* Hold port on 127.0.0.1 with type; echod (config extra) must exit 71. */
static void
bind_conflict(int type, const char *extra)
{
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	struct daemon d = DAEMON_INIT;
	int	 hold = -1, port = -1, rc, try;

	for (try = 0; try < 20 && hold == -1; try++)
		if ((port = harness_free_port(false)) > 0)
			hold = harness_occupy(AF_INET, type, port);
	ck_assert_msg(hold != -1, "%s", harness_error());
	rc = daemon_start_on(&d, port, 2, extra);
	ck_assert_msg(rc == -1 && daemon_exit_code(&d) == 71,
	    "%s port %d in use: expected exit 71, got %d:\n%s", proto, port,
	    daemon_exit_code(&d), daemon_log_tail(&d));
	log_has(&d, "echod: cannot bind %s 127.0.0.1:%d: Address already in "
	    "use\n", proto, port);
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

static Suite *
cli_suite(void)
{
	Suite	*s = suite_create("cli");
	TCase	*tc;

	tc = tcase_new(s, "cli", 30);
	tcase_add_test(tc, test_cli_help_version);
	tcase_add_test(tc, test_cli_bad_usage);
	tcase_add_test(tc, test_cli_check_good);
	tcase_add_test(tc, test_cli_check_bad);
	tcase_add_test(tc, test_cli_check_not_decimal);
	tcase_add_test(tc, test_cli_check_unbindable_listen);
	tcase_add_test(tc, test_cli_unknown_key);
	tcase_add_test(tc, test_cli_missing_file);
	tcase_add_test(tc, test_cli_bad_config_run);
	tcase_add_test(tc, test_cli_port_override);
	tcase_add_test(tc, test_print_config);
	tcase_add_test(tc, test_quiet_check);
	tcase_add_test(tc, test_option_errors_say_echod);

	tc = tcase_new(s, "bind", 30);
	tcase_add_test(tc, test_bind_tcp_in_use);
	tcase_add_test(tc, test_bind_udp_in_use);
	return s;
}

int
main(void)
{
	return harness_main(cli_suite(), "check_cli");
}
