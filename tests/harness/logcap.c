/* SPDX-License-Identifier: MIT */
/*
 * Log capture for the unit suites (logcap.h): one temp file per test,
 * read back whole, so a test can say which lines a module wrote.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "echod/log.h"

#include "logcap.h"

static FILE	*sink;

void
logcap_start(void)
{
	unsetenv("JOURNAL_STREAM");
	sink = tmpfile();
	ck_assert_ptr_nonnull(sink);
	log_init(sink, LOG_LEVEL_INFO);
}

void
logcap_stop(void)
{
	log_init(stderr, LOG_LEVEL_INFO);
	if (sink != NULL)
		fclose(sink);
	sink = NULL;
}

const char *
logcap_text(void)
{
	static char buf[65536];
	size_t	 n;

	ck_assert_ptr_nonnull(sink);
	fflush(sink);
	rewind(sink);
	n = fread(buf, 1, sizeof(buf) - 1, sink);
	buf[n] = '\0';
	return buf;
}

void
logcap_has(const char *fmt, ...)
{
	char	 want[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ck_assert_msg(strstr(logcap_text(), want) != NULL,
	    "expected '%s' in the log, got '%s'", want, logcap_text());
}
