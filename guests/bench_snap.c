/* SPDX-License-Identifier: MIT */
/*
 * The snapshot benchmarks' guest (bench/run snapshot), booted alike by
 * petrel and QEMU microvm: writes a non-zero word into every 4 KiB page
 * from 4 MiB up to `touch=` MiB (default 0: none), so that its RAM is not
 * all holes in a memory file; with `smp=1` starts the other vCPUs, which
 * halt for good (an idle SMP guest); then prints "ready\n" and, forever at
 * CPL0, a '.' on COM1 every `tick=` TSC cycles (default 0: back to back),
 * so a restored copy shows it runs by its next byte. With `dirty=1` each
 * byte also writes the next page of a 1 MiB window at 4 MiB (round and
 * round): the guest writes the diff snapshot benchmark wants.
 */
#include "rt.h"
#include "smp.h"

void ap_main(unsigned int index)
{
	(void)index;
	halt_forever();
}

int guest_main(void)
{
	uint64_t top = (uint64_t)cmdline_long("touch", 0, 0) << 20;
	uint64_t tick = (uint64_t)cmdline_long("tick", 0, 0);
	long dirty = cmdline_long("dirty", 0, 0);

	for (uint64_t a = 4u << 20; a < top; a += 4096)
		*(volatile uint64_t *)a = a | 1;
	if (cmdline_long("smp", 0, 0))
		smp_start_aps();
	puts_serial("ready\n");
	for (uint64_t n = 0;; n++) {
		uint64_t until = rdtsc() + tick;

		putc_serial('.');
		if (dirty)
			*(volatile uint64_t *)((4u << 20) + (n % 256) * 4096) = n;
		while (rdtsc() < until)
			__asm__ volatile("pause");
	}
}
