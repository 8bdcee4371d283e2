/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_LOGCAP_H
#define ECHOD_TEST_LOGCAP_H

/*
 * The unit suites' view of log.c: point it at a temp file (never the
 * journal, even when ctest runs under one) and read back what it wrote.
 * The two fixtures fit tcase_add_checked_fixture().
 */

/* Log at LOG_LEVEL_INFO into a fresh temp file. */
void	logcap_start(void);
/* Back to stderr; the file goes. */
void	logcap_stop(void);
/* Everything logged since logcap_start() (static storage, 64 KiB). */
const char *logcap_text(void);

/* The log holds the text made from fmt, or the test fails saying so. */
void	logcap_has(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* ECHOD_TEST_LOGCAP_H */
