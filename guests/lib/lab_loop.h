/* SPDX-License-Identifier: MIT */
/*
 * The lab's compute loop (lab/01-direct-execution): an LCG feeding FNV-1a,
 * integer-only, no memory traffic, no privileged instruction. The same
 * source is compiled into the guest lab_compute and the host program
 * lab-native-loop, so both run the same instructions.
 */
#ifndef GUEST_LAB_LOOP_H
#define GUEST_LAB_LOOP_H

#include <stdint.h>

/* The hash of `n` rounds of the loop; deterministic, so the runs can be
 * compared for the same result. */
static inline uint64_t lab_loop(uint64_t n)
{
	uint64_t x = 1, h = 0xcbf29ce484222325ULL;

	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		h ^= x >> 33;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif
