/* SPDX-License-Identifier: MIT */
/*
 * check_tunables: glibc's tunables for a daemon of small threads are set
 * where the process is started.  Every shipped unit carries the same
 * GLIBC_TUNABLES; echod runs as it was started (no re-exec); with the
 * unit's value an idle client's thread holds one stack page, without it
 * two, which is what echod(8) tells whoever starts it by hand.
 */

#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"
#include "harness_check.h"
#include "suite.h"

#define STACK_SIZE	((size_t)64 * 1024)	/* session.c, plain builds */
#define IDLE_CLIENTS	40
#define UNIT_KEY	"Environment=GLIBC_TUNABLES="
/* What the units must set: no spare static TLS, one link-map namespace. */
#define UNIT_TUNABLES	"glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"

/* The units CMake configured into build/systemd. */
static const char *const units[] = {
	"echod.service", "echod@.service", "echod-activated.service"
};

/*
 * The GLIBC_TUNABLES value unit sets, into buf; fails the test unless it
 * sets it exactly once.
 */
static void
unit_tunables(const char *unit, char *buf, size_t size)
{
	const char *dir = getenv("ECHOD_BUILD_DIR");
	char	 path[PATH_MAX], line[1024];
	FILE	*fp;
	int	 found = 0;

	ck_assert_msg(dir != NULL, "ECHOD_BUILD_DIR is not set (run through "
	    "ctest)");
	snprintf(path, sizeof(path), "%s/systemd/%s", dir, unit);
	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, UNIT_KEY, strlen(UNIT_KEY)) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		ck_assert_msg(strlen(line + strlen(UNIT_KEY)) < size,
		    "%s: GLIBC_TUNABLES too long", path);
		memcpy(buf, line + strlen(UNIT_KEY),
		    strlen(line + strlen(UNIT_KEY)) + 1);
		found++;
	}
	fclose(fp);
	ck_assert_msg(found == 1, "%s sets GLIBC_TUNABLES %d times", path,
	    found);
}

START_TEST(test_units_set_the_tunables)
{
	char	 got[512];
	size_t	 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unit_tunables(units[i], got, sizeof(got));
		ck_assert_msg(strcmp(got, UNIT_TUNABLES) == 0, "%s: "
		    "GLIBC_TUNABLES=%s", units[i], got);
	}
}
END_TEST

/* Start d with GLIBC_TUNABLES set to env (NULL: unset), serving. */
static void
start_with(struct daemon *d, const char *env)
{
	unsigned char msg[] = "as started";
	int	 fd;

	if (env != NULL)
		ck_assert_int_eq(setenv("GLIBC_TUNABLES", env, 1), 0);
	else
		ck_assert_int_eq(unsetenv("GLIBC_TUNABLES"), 0);
	start(d, "");
	fd = connect_ok(d, AF_INET);
	echo_ok(fd, msg, sizeof(msg));
	close(fd);
}

/* The image that serves is the one started: nothing added at exec. */
START_TEST(test_the_daemon_runs_as_started)
{
	struct daemon d = DAEMON_INIT;
	char	 got[512];

	start_with(&d, NULL);
	ck_assert_msg(proc_environ(d.pid, "GLIBC_TUNABLES", got,
	    sizeof(got)) == -1, "started without GLIBC_TUNABLES, runs with "
	    "'%s'", got);
	stop_ok(&d, SIGTERM);
}
END_TEST

/*
 * IDLE_CLIENTS held after one echo each, with GLIBC_TUNABLES env: how
 * many client stacks have one page resident, and how many more.
 */
static void
idle_pages(const char *env, unsigned *one_page, unsigned *more)
{
	struct daemon d = DAEMON_INIT;
	unsigned char msg[16];
	int	 fd[IDLE_CLIENTS], i;

	start_with(&d, env);
	memset(msg, 'h', sizeof(msg));
	for (i = 0; i < IDLE_CLIENTS; i++) {
		fd[i] = connect_ok(&d, AF_INET);
		echo_ok(fd[i], msg, sizeof(msg));
	}
	clients_ok(&d, IDLE_CLIENTS);
	ck_assert_msg(proc_anon_rss(d.pid, STACK_SIZE, one_page, more) == 0,
	    "%s", harness_error());
	ck_assert_msg(*one_page + *more >= IDLE_CLIENTS, "%u stacks for %d "
	    "clients", *one_page + *more, IDLE_CLIENTS);
	for (i = 0; i < IDLE_CLIENTS; i++)
		close(fd[i]);
	stop_ok(&d, SIGTERM);
}

START_TEST(test_the_unit_environment_gives_one_stack_page)
{
	char	 env[512];
	unsigned one, more;

	unit_tunables("echod.service", env, sizeof(env));
	idle_pages(env, &one, &more);
	/* A thread that met a contended lock may have gone deeper. */
	ck_assert_msg(more <= IDLE_CLIENTS / 10, "with the unit's "
	    "GLIBC_TUNABLES: %u stacks of one page, %u of more", one, more);
	/* Started by hand without it: glibc's spare TLS, two pages each. */
	idle_pages(NULL, &one, &more);
	ck_assert_msg(more >= IDLE_CLIENTS, "without GLIBC_TUNABLES: %u "
	    "stacks of one page, %u of more", one, more);
}
END_TEST

static Suite *
tunables_suite(void)
{
	Suite	*s = suite_create("tunables");
	TCase	*tc = tcase_new(s, "tunables", 60);

	tcase_add_test(tc, test_units_set_the_tunables);
	tcase_add_test(tc, test_the_daemon_runs_as_started);
	/* Sanitizers run 1 MiB stacks and their own TLS. */
	if (!HARNESS_SANITIZED)
		tcase_add_test(tc,
		    test_the_unit_environment_gives_one_stack_page);
	return s;
}

int
main(void)
{
	return harness_main(tunables_suite(), "check_tunables");
}
