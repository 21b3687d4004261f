/* SPDX-License-Identifier: MIT */
/*
 * Counts at CPL3, forever: "count N" on COM1 every `tick=` TSC cycles
 * (default 20M, some ms), N = 1, 2, ... A VM that is paused and resumed, or
 * snapshotted and restored, must go on from the count it had: the pause
 * and resume tests read the numbers. With "busy=1" every other vCPU spins
 * at CPL0 (the pause benchmark's busy vCPUs); with "dirty=N" they instead
 * write one word in every page of the N MiB from 16 MiB, round after
 * round, as fast as they can (a guest a live migration must chase).
 */
#include "rt.h"
#include "smp.h"

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static uint64_t tick;
static long dirty_mib;

#define DIRTY_BASE (16ul << 20)

static inline uint64_t rdtsc_now(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void user_main(void)
{
	for (uint64_t n = 1;; n++) {
		uint64_t until = rdtsc_now() + tick;

		printf("count %lu\n", (unsigned long)n);
		while (rdtsc_now() < until)
			__asm__ volatile("pause");
	}
}

void ap_main(unsigned int index)
{
	(void)index;
	for (uint64_t round = 1; dirty_mib; round++)
		for (uint64_t a = DIRTY_BASE; a < DIRTY_BASE + ((uint64_t)dirty_mib << 20);
		     a += 4096)
			*(volatile uint64_t *)a = round;
	for (;;)
		__asm__ volatile("pause");
}

int guest_main(void)
{
	tick = (uint64_t)cmdline_long("tick", 1, 20000000);
	dirty_mib = cmdline_long("dirty", 0, 0);
	if (cmdline_long("busy", 0, 0) || dirty_mib)
		smp_start_aps();
	printf("count: tick %lu cycles\n", (unsigned long)tick);
	enter_user(user_main, user_stack + sizeof(user_stack));
}
