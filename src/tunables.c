/* SPDX-License-Identifier: MIT */
/*
 * Re-exec with glibc tunables (see the header).  Runs first in main(),
 * before any thread, descriptor or log exists, so it never logs: a failed
 * exec only costs the memory it would have saved.
 */

#include <sys/auxv.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echod/tunables.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || \
    __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TUNABLES_SANITIZED	1	/* their runtimes own TLS and stacks */
#else
#define TUNABLES_SANITIZED	0
#endif

#define TUNABLES_MARKER	"ECHOD_TUNABLES_APPLIED"	/* set across the exec */

/* Whether the colon-separated list sets tunable ("name=value"). */
static int
names(const char *list, const char *tunable)
{
	size_t	 len = strlen(tunable);
	const char *p = list;

	for (;;) {
		if (strncmp(p, tunable, len) == 0 && p[len] == '=')
			return 1;
		if ((p = strchr(p, ':')) == NULL)
			return 0;
		p++;
	}
}

int
tunables_merge(const char *current, char *buf, size_t size)
{
	int	 n;

	if (current != NULL && (names(current, "glibc.rtld.nns") ||
	    names(current, "glibc.rtld.optional_static_tls")))
		return 0;
	if (current != NULL && *current != '\0')
		n = snprintf(buf, size, "%s:%s", TUNABLES_ECHOD, current);
	else
		n = snprintf(buf, size, "%s", TUNABLES_ECHOD);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 1;
}

void
tunables_reexec(char *argv[])
{
	const char *current = getenv("GLIBC_TUNABLES");
	char	*saved = NULL;
	char	 value[4096];
	int	 saved_errno = errno;

	/*
	 * The marker, not GLIBC_TUNABLES, says this is the second run: ld.so
	 * may rewrite that variable (glibc 2.36 cuts it at the first value),
	 * and must never make us loop.
	 */
	if (getenv(TUNABLES_MARKER) != NULL) {
		(void)unsetenv(TUNABLES_MARKER);
		errno = saved_errno;
		return;
	}
	/* A setuid run: ld.so ignores most tunables. */
	if (TUNABLES_SANITIZED || getauxval(AT_SECURE) != 0 ||
	    tunables_merge(current, value, sizeof(value)) != 1)
		return;
	if (current != NULL && (saved = strdup(current)) == NULL)
		return;
	if (setenv(TUNABLES_MARKER, "1", 1) == 0 &&
	    setenv("GLIBC_TUNABLES", value, 1) == 0)
		(void)execv("/proc/self/exe", argv);
	/* Still here: carry on as started. */
	(void)unsetenv(TUNABLES_MARKER);
	if (saved != NULL)
		(void)setenv("GLIBC_TUNABLES", saved, 1);
	else
		(void)unsetenv("GLIBC_TUNABLES");
	free(saved);
	errno = saved_errno;
}
