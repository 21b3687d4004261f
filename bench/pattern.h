/* SPDX-License-Identifier: MIT */
/*
 * The random-offset sequence shared by the virtio-blk benchmark guest
 * (guests/bench_blk.c) and its host counterpart (bench/hostio.c), so both
 * touch the same blocks in the same order. Freestanding.
 */
#ifndef BENCH_PATTERN_H
#define BENCH_PATTERN_H

#include <stdint.h>

#define BENCH_LCG_SEED 0x9e3779b97f4a7c15ULL
#define BENCH_RAND_BLOCK 4096

/* Next block index in [0, nblocks): a 64-bit LCG (Knuth's MMIX
 * constants), high bits taken. */
static inline uint64_t bench_lcg(uint64_t *state, uint64_t nblocks)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (*state >> 33) % nblocks;
}

#endif
