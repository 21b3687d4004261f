/* SPDX-License-Identifier: MIT */
/*
 * The lab's compute loop (lab/01-direct-execution): an LCG driving loads
 * and stores into a 1 KiB table, the mix of ordinary code; no privileged
 * instruction, no I/O. The same source is compiled into the guest
 * lab_compute and the host program lab-native-loop, so both run the same
 * instructions.
 *
 * Why memory: a translator such as QEMU's TCG pays most for guest loads
 * and stores (each goes through its software TLB); a pure chain of
 * multiplies would hide its overhead behind the multiplier's latency and
 * look almost native (measured: TCG/native about 1 for such a loop, 20 to
 * 40 for this one).
 */
#ifndef GUEST_LAB_LOOP_H
#define GUEST_LAB_LOOP_H

#include <stdint.h>

/* The hash of `n` rounds of the loop; deterministic, so the runs can be
 * compared for the same result. */
static inline uint64_t lab_loop(uint64_t n)
{
	uint32_t t[256];
	uint64_t x = 1, h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < 256; i++)
		t[i] = i * 2654435761u;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t k, a, b;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (uint32_t)(x >> 56);
		a = t[k];
		b = t[(k + 85) & 255];
		t[k] = a + (uint32_t)h;
		t[(k + 170) & 255] ^= b;
		h = (h ^ a) * 0x100000001b3ULL + b;
	}
	return h;
}

#endif
