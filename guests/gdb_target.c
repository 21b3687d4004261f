/* SPDX-License-Identifier: MIT */
/*
 * A target for the gdb stub's guest cases (tests/guest/gdb_cases.sh): a
 * function to break on, a global counter to read and watch, an exit status
 * a debugger can change, and "spin" on the command line: loop until a
 * debugger clears gdb_spin (for Ctrl-C). "ticks=N" calls gdb_tick N times
 * instead of 10 (bench/gdb.py: breakpoint round trips).
 */
#include "rt.h"

volatile unsigned long gdb_counter;
volatile unsigned long gdb_watched;
volatile int gdb_exit_status = 7;
volatile int gdb_spin;

__attribute__((noinline)) void gdb_tick(unsigned long i)
{
	gdb_counter += i;
	gdb_watched = gdb_counter;
}

int guest_main(void)
{
	char v[8];
	unsigned long ticks = (unsigned long)cmdline_long("ticks", 1, 10);

	if (cmdline_get("spin", v, sizeof(v)) >= 0)
		gdb_spin = 1;
	for (unsigned long i = 1; i <= ticks; i++)
		gdb_tick(i);
	while (gdb_spin)
		__asm__ volatile("pause");
	printf("gdb_target: counter=%lu status=%d\n", gdb_counter, gdb_exit_status);
	return gdb_exit_status;
}
