/* SPDX-License-Identifier: MIT */
#ifndef ECHOD_TEST_COUNTER_VALUE_H
#define ECHOD_TEST_COUNTER_VALUE_H

#include <stdint.h>

#include "echod/counters.h"

/* One row of an in-process counters table, as a unit test reads it. */
static inline uint64_t
counter_value(struct counters *c, enum counter_id id)
{
	uint64_t v[CTR_COUNT];

	counters_read(c, v);
	return v[id];
}

#endif /* ECHOD_TEST_COUNTER_VALUE_H */
