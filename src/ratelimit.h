/* SPDX-License-Identifier: MIT */
/* Token-bucket rate limiters (Firecracker's RateLimiter): the configuration. */
#ifndef PETREL_RATELIMIT_H
#define PETREL_RATELIMIT_H

#include <stdint.h>

struct token_bucket_config {
	uint64_t size;		 /* tokens (bytes or ops); 0 with refill_time 0: no limit */
	uint64_t one_time_burst; /* extra tokens spent first, once */
	uint64_t refill_time_ms; /* time to refill `size` tokens from empty */
};

struct ratelimit_config {
	struct token_bucket_config bandwidth, ops;
};

#endif
