#ifndef ECHOD_MONOTIME_H
#define ECHOD_MONOTIME_H

#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: deadlines that ignore wall-clock jumps. */
static inline long long
monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The same at the scheduler tick's resolution, a few ns from the vDSO: the
 * hot path's clock (telling the longest-silent client needs no more).
 */
static inline long long
monotime_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* ECHOD_MONOTIME_H */
