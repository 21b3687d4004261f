/* SPDX-License-Identifier: MIT */
/* Rate limits for the device targets, picked by an input byte, so that the
 * paths over a limit (requests given back to the ring, the backend not
 * read, timers armed and disarmed by resets) are fuzzed too. */
#ifndef FUZZ_RATELIMIT_H
#define FUZZ_RATELIMIT_H

#include <stdint.h>

#include "ratelimit.h"

#define FUZZ_RATELIMITS 8

/* Preset b % FUZZ_RATELIMITS: 0 no limit; tight buckets that refill
 * within a millisecond (the timer fires while an input runs); and the
 * u64 extremes. */
static inline struct ratelimit_config fuzz_ratelimit(uint8_t b)
{
	static const struct ratelimit_config presets[FUZZ_RATELIMITS] = {
		[1] = { .ops = { 1, 0, 1 } },
		[2] = { .bandwidth = { 4096, 0, 1 } },
		[3] = { .bandwidth = { 512, 1024, 1 }, .ops = { 2, 1, 1 } },
		[4] = { .bandwidth = { 1, 0, UINT64_MAX } },
		[5] = { .ops = { UINT64_MAX, UINT64_MAX, UINT64_MAX } },
		[6] = { .bandwidth = { UINT64_MAX, 0, 1 }, .ops = { 1, UINT64_MAX, 1 } },
		[7] = { .bandwidth = { 100, 0, 1 }, .ops = { 1, 0, 1000 } },
	};

	return presets[b % FUZZ_RATELIMITS];
}

#endif
