/* SPDX-License-Identifier: MIT */
/*
 * The token-bucket arithmetic of ratelimit.c, with time given exactly:
 * refill with the fraction of a token carried over, the cap, the one-time
 * burst, overconsumption (debt), disabled buckets, both-or-neither, waits
 * that are exact to the nanosecond, updates, and every u64 extreme.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "ratelimit.h"

#define MS 1000000ULL
#define S (1000 * MS)
#define MAX UINT64_MAX

static struct ratelimit rl;

/* A limiter with one bucket (the other disabled) built at time `now`. */
static void bw(uint64_t size, uint64_t burst, uint64_t refill_ms, uint64_t now)
{
	struct ratelimit_config c = { .bandwidth = { size, burst, refill_ms } };

	ratelimit_init(&rl, &c, now);
}

static uint64_t take(uint64_t now, uint64_t bytes)
{
	return ratelimit_take(&rl, now, bytes, 0);
}

static void rl_disabled(void)
{
	static const struct token_bucket_config off[] = {
		{ 0, 0, 0 }, { 0, 5, 100 }, { 100, 0, 0 }, { 100, 7, 0 }, { 0, MAX, MAX },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(off); i++) {
		struct ratelimit_config c = { .bandwidth = off[i], .ops = off[i] };

		CHECK(!token_bucket_config_enabled(&off[i]));
		ratelimit_init(&rl, &c, 0);
		CHECK(!ratelimit_enabled(&rl));
		for (unsigned int k = 0; k < 3; k++)
			CHECK(ratelimit_take(&rl, 0, MAX, MAX) == 0);
		ratelimit_charge(&rl, 0, MAX, MAX);
		CHECK(ratelimit_wait(&rl, 0, MAX, MAX) == 0);
	}
	/* One bucket limits, the other does not. */
	bw(10, 0, 10, 0);
	CHECK(ratelimit_enabled(&rl));
	CHECK(ratelimit_take(&rl, 0, 10, MAX) == 0);
	CHECK(ratelimit_take(&rl, 0, 0, MAX) == 0);
	CHECK(ratelimit_take(&rl, 0, 1, 0) == 1 * MS);
}

/* Full at the start; one token per ms; the wait is exact to the ns. */
static void rl_starts_full(void)
{
	bw(1000, 0, 1000, 5);
	CHECK(take(5, 1000) == 0);
	CHECK(take(5, 1) == MS);
	CHECK(take(5 + MS - 1, 1) == 1);
	CHECK(take(5 + MS, 1) == 0);
	CHECK(take(5 + MS, 1) == MS);
	/* A time before the last update counts as no time. */
	CHECK(take(0, 1) == 2 * MS + 5);
}

/* 3 tokens per 10 ms: a token every 3.33 ms, the fraction carried over so
 * that none is lost or made up, however time is sliced. */
static void rl_refill_exact(void)
{
	uint64_t got = 0, t;

	bw(3, 0, 10, 0);
	CHECK(take(0, 3) == 0);
	CHECK(take(3333333, 1) == 1);
	CHECK(take(3333334, 1) == 0); /* 10000002 / 10^7: the first token */
	/* Token k is due at ceil(k * 10^7 / 3), however time was sliced. */
	CHECK(take(6666666, 1) == 1);
	CHECK(take(6666667, 1) == 0);
	CHECK(take(9999999, 1) == 1);
	CHECK(take(10000000, 1) == 0);

	/* Over a second in odd steps: the 3 it starts with, then exactly 300. */
	bw(3, 0, 10, 0);
	for (t = 0; t <= S; t += 7919)
		while (take(t, 1) == 0)
			got++;
	CHECK(got == 3 + 300 * (S - S % 7919) / S);

	/* Jumping to each deadline it gives: every take there passes. */
	bw(3, 0, 10, 0);
	got = 0;
	for (t = 0; t <= S;) {
		uint64_t w = take(t, 1);

		if (w == 0)
			got++;
		t += w;
		if (w == 0 && t == S)
			break;
	}
	CHECK(got == 303);
}

/* Idle time fills the bucket to its size and no further. */
static void rl_cap(void)
{
	bw(10, 0, 10, 0);
	CHECK(take(0, 10) == 0);
	CHECK(take(10 * S, 10) == 0);
	CHECK(take(10 * S, 1) == MS); /* Firecracker would let 10 more through */
	CHECK(take(20 * S, 11) == 0); /* one more than full: 1 token of debt */
	CHECK(take(20 * S, 1) == 2 * MS);

	/* Nor is part of a token: full since 0, taken at 15 ms, the next is
	 * due a whole refill later, not at 20 ms. */
	bw(1, 0, 10, 0);
	CHECK(take(15 * MS, 1) == 0);
	CHECK(take(15 * MS, 1) == 10 * MS);
}

static void rl_burst(void)
{
	bw(100, 50, 100, 0);
	CHECK(take(0, 30) == 0); /* from the burst */
	CHECK(rl.bandwidth.burst == 20 && rl.bandwidth.tokens == 100);
	CHECK(take(0, 20) == 0);
	CHECK(take(0, 100) == 0);
	CHECK(take(0, 1) == MS);
	/* Once spent, never back. */
	CHECK(take(10 * S, 100) == 0);
	CHECK(take(10 * S, 1) == MS);

	/* A request larger than the burst spends it, then the budget. */
	bw(100, 50, 100, 0);
	CHECK(take(0, 120) == 0);
	CHECK(rl.bandwidth.burst == 0 && rl.bandwidth.tokens == 30);
	/* Burst then more than the budget: 50 + 100, and 50 of debt. */
	bw(100, 50, 100, 0);
	CHECK(take(0, 200) == 0);
	CHECK(take(0, 1) == 51 * MS);
	/* A burst without a bucket is no limit (Firecracker: the same). */
	bw(0, 50, 100, 0);
	CHECK(take(0, 1000) == 0 && take(0, 1000) == 0);
}

/* Requests larger than the bucket pass when it is full and leave a debt. */
static void rl_overconsumption(void)
{
	bw(100, 0, 100, 0);
	CHECK(take(0, 350) == 0);
	CHECK(take(0, 1) == 251 * MS);
	CHECK(take(250 * MS, 1) == MS); /* debt paid, nothing left over */
	CHECK(take(251 * MS, 1) == 0);

	/* Not before the bucket is full. */
	bw(100, 0, 100, 0);
	CHECK(take(0, 60) == 0);
	CHECK(take(0, 350) == 60 * MS);
	CHECK(take(30 * MS, 350) == 30 * MS);
	CHECK(take(60 * MS, 350) == 0);
	CHECK(take(60 * MS, 1) == 251 * MS);

	/* The long-run rate holds: 1000-token requests on a 100-token bucket
	 * at 1 token/ms pass exactly every second. */
	bw(100, 0, 100, 0);
	CHECK(take(0, 1000) == 0);
	for (uint64_t k = 1, t = 0; k <= 10; k++) {
		uint64_t w = take(t, 1000);

		CHECK(w == 1000 * MS);
		t += w;
		CHECK(take(t, 1000) == 0);
	}
}

static void rl_both_or_neither(void)
{
	struct ratelimit_config c = { .bandwidth = { 1000, 0, 1000 }, .ops = { 2, 0, 1000 } };

	ratelimit_init(&rl, &c, 0);
	CHECK(ratelimit_take(&rl, 0, 100, 1) == 0);
	CHECK(ratelimit_take(&rl, 0, 100, 1) == 0);
	CHECK(ratelimit_take(&rl, 0, 100, 1) == 500 * MS); /* ops refuse */
	CHECK(rl.bandwidth.tokens == 800);
	CHECK(ratelimit_take(&rl, 0, 800, 0) == 0);
	CHECK(ratelimit_take(&rl, 0, 1, 0) == MS);

	ratelimit_init(&rl, &c, 0);
	CHECK(ratelimit_take(&rl, 0, 1000, 0) == 0);
	CHECK(ratelimit_take(&rl, 0, 1, 1) == MS); /* bandwidth refuses */
	CHECK(rl.ops.tokens == 2);
	CHECK(ratelimit_take(&rl, 0, 0, 2) == 0);

	/* The wait is the longer of the two. */
	ratelimit_init(&rl, &c, 0);
	CHECK(ratelimit_take(&rl, 0, 1000, 2) == 0);
	CHECK(ratelimit_wait(&rl, 0, 250, 1) == 500 * MS);
	CHECK(ratelimit_wait(&rl, 0, 750, 1) == 750 * MS);
	CHECK(ratelimit_take(&rl, 750 * MS, 750, 1) == 0);
}

/* Work of a size known only after it is done (a received frame). */
static void rl_charge(void)
{
	bw(100, 10, 100, 0);
	CHECK(ratelimit_wait(&rl, 0, 1, 1) == 0);
	ratelimit_charge(&rl, 0, 1514, 1);
	CHECK(rl.bandwidth.burst == 0 && rl.bandwidth.tokens == 0 && rl.bandwidth.debt == 1404);
	CHECK(ratelimit_wait(&rl, 0, 1, 1) == 1405 * MS);
	ratelimit_charge(&rl, 0, 5, 0); /* charged even while in debt */
	CHECK(ratelimit_wait(&rl, 1405 * MS, 1, 1) == 5 * MS);
}

static void rl_update(void)
{
	struct ratelimit_config c = { .bandwidth = { 100, 10, 100 }, .ops = { 2, 0, 1000 } };

	ratelimit_init(&rl, &c, 0);
	CHECK(ratelimit_take(&rl, 0, 110, 2) == 0);
	/* The same configuration: nothing changes. */
	ratelimit_update(&rl, &c, 0);
	CHECK(ratelimit_wait(&rl, 0, 1, 0) == MS);
	/* A new bandwidth bucket starts full with its burst; ops keep their
	 * state. */
	c.bandwidth = (struct token_bucket_config){ 200, 10, 200 };
	ratelimit_update(&rl, &c, 5 * MS);
	CHECK(ratelimit_wait(&rl, 5 * MS, 0, 1) == 495 * MS);
	CHECK(ratelimit_take(&rl, 5 * MS, 210, 0) == 0);
	CHECK(ratelimit_take(&rl, 5 * MS, 1, 0) == MS);
	/* Disabled, then enabled again: full. */
	c.bandwidth = (struct token_bucket_config){ 0 };
	ratelimit_update(&rl, &c, 5 * MS);
	CHECK(ratelimit_take(&rl, 5 * MS, MAX, 0) == 0);
	c.bandwidth = (struct token_bucket_config){ 200, 0, 200 };
	ratelimit_update(&rl, &c, 5 * MS);
	CHECK(ratelimit_take(&rl, 5 * MS, 200, 0) == 0);
	CHECK(ratelimit_take(&rl, 5 * MS, 1, 0) == MS);
}

/* Every u64 input: exact where the result fits, saturated where not. */
static void rl_extremes(void)
{
	/* size tokens per size ms: 1 ms per token, all of them. */
	bw(MAX, MAX, MAX, 0);
	CHECK(take(0, MAX) == 0); /* the burst */
	CHECK(take(0, MAX) == 0); /* the budget */
	CHECK(take(0, 1) == MS);
	CHECK(take(0, MAX) == MAX); /* (2^64 - 1) ms: saturated */
	/* 2^64 - 1 ns later: floor((2^64 - 1) / 10^6) tokens, no overflow;
	 * the next is due at that plus one, in ms, past 2^64 ns. */
	CHECK(take(MAX, MAX / MS) == 0);
	CHECK(take(MAX, 1) == (MAX / MS + 1) * MS - MAX);

	/* 2^63 tokens per 2^63 ms, from just before the end of time. */
	bw(1ULL << 63, 0, 1ULL << 63, MAX - 10);
	CHECK(take(MAX - 10, 1ULL << 63) == 0);
	CHECK(take(MAX - 10, 1) == MS); /* the deadline is past 2^64 ns */
	CHECK(take(MAX, 1) == MS - 10);

	/* A refill time of 2^64 - 1 ms for 3 * 10^6 tokens: one token per
	 * (2^64 - 1) / 3 ns exactly (Firecracker: no limit at all). */
	bw(3000000, 0, MAX, 0);
	CHECK(take(0, 3000000) == 0);
	CHECK(take(0, 1) == 6148914691236517205ULL);
	CHECK(take(6148914691236517205ULL, 1) == 0);

	/* Huge elapsed time with a fast bucket: capped, not wrapped. */
	bw(MAX, 0, 1, 0);
	CHECK(take(0, MAX) == 0);
	CHECK(take(MAX, MAX) == 0);
	CHECK(take(MAX, 1) == 1); /* 2^64 - 1 tokens per ms: < 1 ns each */

	/* Debt at the top: saturated, and a wait whose product needs more
	 * than 128 bits saturates instead of wrapping. */
	bw(MAX, 0, MAX, 0);
	CHECK(take(0, MAX) == 0);
	ratelimit_charge(&rl, 0, MAX, 0);
	ratelimit_charge(&rl, 0, MAX, 0);
	CHECK(rl.bandwidth.debt == MAX);
	CHECK(ratelimit_wait(&rl, 0, 1, 0) == MAX);
	bw(1, 0, 1, 0);
	CHECK(take(0, MAX) == 0); /* full: passes, 2^64 - 2 of debt */
	CHECK(take(0, 1) == MAX); /* 2^64 - 1 ms: saturated */
	CHECK(take(MAX, 1) == MAX);

	/* A deadline of exactly 2^64 ns, one past the last u64 time: one
	 * token per 64 ns, 2^58 tokens owed. Still 1 ns to wait at 2^64 - 1. */
	bw(15625, 0, 1, 0);
	CHECK(take(0, 15625) == 0);
	ratelimit_charge(&rl, 0, (1ULL << 58) - 1, 0);
	CHECK(take(0, 1) == MAX);
	CHECK(take(MAX - 64, 1) == 65);
	CHECK(take(MAX, 1) == 1);
}

/* Invariants and exact waits over random requests, times and configs. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rl_random(void)
{
	for (unsigned int round = 0; round < 2000; round++) {
		uint64_t size = next() % 1000 + 1, burst = next() % 3 ? 0 : next() % 500;
		uint64_t refill = next() % 50 + 1, now = next() % S, start = now;
		uint64_t taken = 0;

		bw(size, burst, refill, now);
		for (unsigned int i = 0; i < 50; i++) {
			uint64_t n = next() % (size * 2) + 1, w;
			struct ratelimit copy;
			const struct token_bucket *b = &rl.bandwidth;

			now += next() % (refill * MS);
			w = take(now, n);
			if (w == 0)
				taken += n;
			CHECK(b->tokens <= size);
			CHECK(b->debt == 0 || b->tokens == 0);
			CHECK(b->burst == 0 || (b->tokens == size && b->debt == 0));
			/* Never more than the start, the burst and the refill. */
			CHECK(taken - b->debt + b->tokens <=
			      size + burst + (now - start) * size / (refill * MS));
			if (w == 0 || w > S)
				continue;
			/* Exact: refused 1 ns before the deadline, passed on it. */
			copy = rl;
			CHECK(take(now + w - 1, n) == 1);
			rl = copy;
			CHECK(take(now + w, n) == 0);
			rl = copy;
		}
	}
}

int main(void)
{
	RUN(rl_disabled);
	RUN(rl_starts_full);
	RUN(rl_refill_exact);
	RUN(rl_cap);
	RUN(rl_burst);
	RUN(rl_overconsumption);
	RUN(rl_both_or_neither);
	RUN(rl_charge);
	RUN(rl_update);
	RUN(rl_extremes);
	RUN(rl_random);
	return harness_exit();
}
