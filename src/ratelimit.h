/* SPDX-License-Identifier: MIT */
/*
 * Rate limiters as Firecracker's: two token buckets, one counting bytes
 * (bandwidth) and one counting operations, that a request must both pass.
 * Pure arithmetic: time comes in as a parameter (monotonic nanoseconds),
 * so callers own the clock and the timer, and tests are exact.
 *
 * A bucket of `size` tokens refills continuously at size / refill_time,
 * capped at size; it starts full, plus `one_time_burst` tokens that are
 * spent first and never come back. A bucket with size 0 or refill_time 0
 * is disabled (no limit). A request larger than the bucket passes once the
 * bucket is full and leaves a debt that later requests wait out
 * (Firecracker's "overconsumption"), so any request goes through
 * eventually and the long-run rate holds.
 *
 * Where this differs from Firecracker (src/vmm/src/rate_limiter/mod.rs):
 * - A refused request is told its exact wait; Firecracker re-polls every
 *   100 ms. Exact waits are what keeps the achieved rate at the
 *   configured one.
 * - The bucket is refilled on every use, and time spent full is not
 *   banked. Firecracker refills only when a request finds too few tokens,
 *   so after idling it can pass up to twice `size` at once.
 * - Refill is exact however calls slice time (tokens since the bucket was
 *   last full = floor(elapsed * size / refill_time)); Firecracker rounds
 *   each call's time up, losing up to 1 ns per call.
 * - Overconsumption leaves a debt that refilling pays first. Firecracker
 *   blocks for debt / rate, then finds the bucket full again (the elapsed
 *   time exceeds refill_time), granting `size` extra tokens each time; it
 *   also lets an oversized request through on an empty bucket, here it
 *   waits until the bucket is full.
 * - Both buckets or neither: a request one bucket refuses takes nothing
 *   from the other (Firecracker takes and gives back, which its burst
 *   accounting does not always undo).
 * - A refill_time over 2^64 ns (about 584 years) is a valid, very slow
 *   bucket; Firecracker disables it (its checked_mul fails), lifting the
 *   limit altogether.
 * Every u64 input is valid and computed exactly: no step overflows
 * (128-bit intermediates, a 256-bit one for waits), and waits beyond
 * 2^64 - 1 ns saturate there.
 */
#ifndef PETREL_RATELIMIT_H
#define PETREL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket_config {
	uint64_t size;		 /* tokens (bytes or ops); 0 with refill_time 0: no limit */
	uint64_t one_time_burst; /* extra tokens spent first, once */
	uint64_t refill_time_ms; /* time to refill `size` tokens from empty */
};

struct ratelimit_config {
	struct token_bucket_config bandwidth, ops;
};

/* One bucket's state. Invariants: tokens <= size; debt > 0 only when
 * tokens == 0; burst > 0 only while tokens == size and debt == 0 (the
 * burst is spent before the regular budget). */
struct token_bucket {
	struct token_bucket_config cfg;
	bool enabled;
	uint64_t burst;		    /* one-time tokens left */
	uint64_t tokens;	    /* the regular budget, 0..size */
	uint64_t debt;		    /* tokens overconsumed and not yet refilled */
	uint64_t epoch;		    /* ns: when it was last full (refill counts from here) */
	unsigned __int128 credited; /* tokens generated since epoch, added */
};

struct ratelimit {
	struct token_bucket bandwidth, ops;
};

/* True unless the bucket described is disabled (size or refill_time 0). */
bool token_bucket_config_enabled(const struct token_bucket_config *cfg);

/* Build both buckets from cfg at time `now`: full, with their bursts. */
void ratelimit_init(struct ratelimit *rl, const struct ratelimit_config *cfg, uint64_t now);

/* A new configuration at run time (Firecracker's PATCH): each bucket whose
 * config changed is built again (full, with its burst, as Firecracker
 * does); a bucket whose config is the same keeps its state. */
void ratelimit_update(struct ratelimit *rl, const struct ratelimit_config *cfg, uint64_t now);

/* False when both buckets are disabled: every request passes at once, and
 * a caller can skip reading the clock. */
bool ratelimit_enabled(const struct ratelimit *rl);

/* Take `bytes` bandwidth tokens and `ops` ops tokens at time `now`, both
 * or neither. Returns 0 if taken; otherwise nothing is taken and the
 * result is how many ns from `now` until this request could pass (1 ..
 * 2^64 - 1, saturated), if nothing else is taken meanwhile. */
uint64_t ratelimit_take(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);

/* ns from `now` until ratelimit_take of this request would pass; 0: it
 * would pass now. Takes nothing (the buckets are refilled up to now). */
uint64_t ratelimit_wait(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);

/* Take `bytes` and `ops` unconditionally, whatever is left: what the
 * buckets lack becomes debt (saturating). For work whose size is known
 * only once it is done (a received frame), admitted beforehand with
 * ratelimit_wait(rl, now, 1, 1) == 0. */
void ratelimit_charge(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);

#endif
