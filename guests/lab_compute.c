/* SPDX-License-Identifier: MIT */
/*
 * lab/01-direct-execution: runs lab_loop ("iterations=", default 20M) at
 * CPL3 (native on every host kind, see README "Hosts") and prints
 *   "lab_compute: iterations=N result=HEX tsc=CYCLES"
 * the TSC cycles the loop took. Exits 0.
 */
#include "lab_loop.h"
#include "rt.h"

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static void user_main(void)
{
	uint64_t n = (uint64_t)cmdline_long("iterations", 1, 20000000);
	uint64_t t0 = rdtsc();
	uint64_t h = lab_loop(n);
	uint64_t t1 = rdtsc();

	printf("lab_compute: iterations=%lu result=%016lx tsc=%lu\n", (unsigned long)n,
	       (unsigned long)h, (unsigned long)(t1 - t0));
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
