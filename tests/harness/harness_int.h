/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_HARNESS_INT_H
#define ECHOD_HARNESS_INT_H

/*
 * Internal to the harness (harness.c, harness_net.c), not for the suites:
 * what the two halves share beyond the public API in harness.h.
 */

/*
 * Set the message harness_error() returns, from a format; keeps errno, so
 * callers can still test it after a failure.
 */
void	harness_seterr(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* ECHOD_HARNESS_INT_H */
