/* SPDX-License-Identifier: MIT */
/*
 * Drops to CPL3 with SYSEXIT and runs a 100M-iteration LCG + FNV-1a loop
 * there (native speed on PVM; at CPL0 it would be emulated). The result is
 * fixed: tests compare it with CPL3LOOP_EXPECT.
 */
#include "rt.h"

#define ITERATIONS 100000000UL
#define CPL3LOOP_EXPECT 0x544705c699949f84ULL /* see tests/guest/run */

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static uint64_t loop(uint64_t n)
{
	uint64_t x = 1, h = 0xcbf29ce484222325ULL;

	for (uint64_t i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		h ^= x >> 33;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void user_main(void)
{
	uint64_t flags, t0, t1, h;
	char val[24];
	uint64_t n = ITERATIONS;

	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	printf("cpl3loop: running at cpl=%u iopl=%lu\n", current_cpl(),
	       (unsigned long)((flags >> 12) & 3));
	if (cmdline_get("iterations", val, sizeof(val)) == 0 && parse_ulong(val) > 0)
		n = (uint64_t)parse_ulong(val);
	t0 = rdtsc();
	h = loop(n);
	t1 = rdtsc();
	printf("cpl3loop: iterations=%lu result=%016lx tsc=%lu\n", (unsigned long)n,
	       (unsigned long)h, (unsigned long)(t1 - t0));
	if (n == ITERATIONS)
		printf("cpl3loop: checksum %s\n", h == CPL3LOOP_EXPECT ? "ok" : "MISMATCH");
	guest_exit(current_cpl() == 3 ? 0 : 2);
}

int guest_main(void)
{
	printf("cpl3loop: entering CPL3 via sysexit\n");
	enter_user(user_main, user_stack + sizeof(user_stack));
}
