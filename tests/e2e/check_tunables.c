/* SPDX-License-Identifier: MIT */
/*
 * check_tunables: echod runs itself again with glibc's tunables for small
 * threads (tunables.h), keeps the environment's own choice and the other
 * tunables it names, still serves from the pid that was started, and an
 * idle client's thread then holds one stack page, not two.  How the
 * variable is merged is check_tunables_merge's.
 */

#include <sys/socket.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "echod/tunables.h"
#include "harness.h"
#include "harness_check.h"
#include "suite.h"

#define STACK_SIZE	((size_t)64 * 1024)	/* session.c, plain builds */
#define IDLE_CLIENTS	40
#define BASE_THREADS	2	/* no client: the accept loop and UDP */

/*
 * Start with GLIBC_TUNABLES set to env (NULL: unset) and config extra; into
 * got (unless NULL), the value the running image was exec'd with, as /proc
 * shows it (glibc 2.36 cuts it after the first tunable when it parses it).
 */
static void
start_with(struct daemon *d, const char *env, const char *extra, char *got,
    size_t size)
{
	unsigned char msg[] = "after the exec";
	int	 fd;

	if (env != NULL)
		ck_assert_int_eq(setenv("GLIBC_TUNABLES", env, 1), 0);
	else
		ck_assert_int_eq(unsetenv("GLIBC_TUNABLES"), 0);
	start(d, extra);
	/* The pid we started is the one that serves. */
	fd = connect_ok(d, AF_INET);
	echo_ok(fd, msg, sizeof(msg));
	close(fd);
	if (got != NULL && proc_environ(d->pid, "GLIBC_TUNABLES", got,
	    size) == -1)
		*got = '\0';
}

START_TEST(test_daemon_runs_with_the_tunables)
{
	struct daemon d = DAEMON_INIT;
	char	 got[512];

	start_with(&d, NULL, "", got, sizeof(got));
	if (HARNESS_SANITIZED)
		ck_assert_msg(*got == '\0', "sanitized, yet ran with '%s'", got);
	else
		ck_assert_msg(*got != '\0' && strncmp(got, TUNABLES_ECHOD,
		    strlen(got)) == 0, "ran with GLIBC_TUNABLES '%s'", got);
	stop_ok(&d, SIGTERM);
}
END_TEST

START_TEST(test_the_environment_choice_stands)
{
	struct daemon d = DAEMON_INIT;
	char	 got[512];

	start_with(&d, "glibc.rtld.optional_static_tls=512", "", got,
	    sizeof(got));
	ck_assert_str_eq(got, "glibc.rtld.optional_static_tls=512");
	stop_ok(&d, SIGTERM);
}
END_TEST

/* IDLE_CLIENTS connected to d, each echoed 16 B once, into fd. */
static void
clients_hold(struct daemon *d, int fd[IDLE_CLIENTS])
{
	unsigned char msg[16];
	int	 i;

	memset(msg, 'h', sizeof(msg));
	for (i = 0; i < IDLE_CLIENTS; i++) {
		fd[i] = connect_ok(d, AF_INET);
		echo_ok(fd[i], msg, sizeof(msg));
	}
	clients_ok(d, IDLE_CLIENTS);
}

/*
 * Clients come and go with no thread cache: how many of the ended
 * threads' stacks glibc keeps mapped for reuse, with GLIBC_TUNABLES env.
 */
static unsigned
stacks_kept(const char *env)
{
	struct daemon d = DAEMON_INIT;
	unsigned one, more;
	int	 fd[IDLE_CLIENTS], i;

	start_with(&d, env, "thread_cache_size = 0\n", NULL, 0);
	clients_hold(&d, fd);
	for (i = 0; i < IDLE_CLIENTS; i++)
		close(fd[i]);
	clients_ok(&d, 0);
	/* Every client thread has ended: the accept loop and UDP are left. */
	for (i = 0; i < 250 && proc_thread_count(d.pid) > BASE_THREADS; i++)
		usleep(20 * 1000);
	ck_assert_int_eq(proc_thread_count(d.pid), BASE_THREADS);
	ck_assert_msg(proc_anon_rss(d.pid, STACK_SIZE, &one, &more) == 0,
	    "%s", harness_error());
	stop_ok(&d, SIGTERM);
	return one + more;
}

/* Ours are added before the environment's own tunables, which still work. */
START_TEST(test_other_tunables_are_kept)
{
	unsigned kept = stacks_kept(NULL), none;

	ck_assert_msg(kept >= IDLE_CLIENTS / 2, "glibc kept %u stacks of %d",
	    kept, IDLE_CLIENTS);
	none = stacks_kept("glibc.pthread.stack_cache_size=0");
	ck_assert_msg(none <= 4, "with stack_cache_size=0 glibc kept %u "
	    "stacks (%u without)", none, kept);
}
END_TEST

/*
 * 40 clients held after one echo each: each client thread's 64 KiB stack
 * has one page resident.  With glibc's spare static TLS (the environment's
 * choice above) every one has two, which this test sees.
 */
static void
idle_pages(const char *env, unsigned *one_page, unsigned *more)
{
	struct daemon d = DAEMON_INIT;
	int	 fd[IDLE_CLIENTS], i;

	start_with(&d, env, "", NULL, 0);
	clients_hold(&d, fd);
	ck_assert_msg(proc_anon_rss(d.pid, STACK_SIZE, one_page, more) == 0,
	    "%s", harness_error());
	ck_assert_msg(*one_page + *more >= IDLE_CLIENTS, "%u stacks for %d "
	    "clients", *one_page + *more, IDLE_CLIENTS);
	for (i = 0; i < IDLE_CLIENTS; i++)
		close(fd[i]);
	stop_ok(&d, SIGTERM);
}

START_TEST(test_an_idle_client_holds_one_stack_page)
{
	unsigned one, more;

	idle_pages(NULL, &one, &more);
	/* A thread that met a contended lock may have gone deeper. */
	ck_assert_msg(more <= IDLE_CLIENTS / 10, "%u stacks of one page, %u "
	    "of more", one, more);
	idle_pages("glibc.rtld.optional_static_tls=512", &one, &more);
	ck_assert_msg(more >= IDLE_CLIENTS, "with glibc's spare TLS: %u "
	    "stacks of one page, %u of more", one, more);
}
END_TEST

static Suite *
tunables_suite(void)
{
	Suite	*s = suite_create("tunables");
	TCase	*tc = tcase_new(s, "tunables", 60);

	tcase_add_test(tc, test_daemon_runs_with_the_tunables);
	tcase_add_test(tc, test_the_environment_choice_stands);
	/* Sanitizers run 1 MiB stacks and glibc's TLS defaults. */
	if (!HARNESS_SANITIZED) {
		tcase_add_test(tc, test_other_tunables_are_kept);
		tcase_add_test(tc, test_an_idle_client_holds_one_stack_page);
	}
	return s;
}

int
main(void)
{
	return harness_main(tunables_suite(), "check_tunables");
}
