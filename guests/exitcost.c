/* SPDX-License-Identifier: MIT */
/*
 * Measures guest exit round trips with RDTSC, from CPL3 (native on PVM):
 *   pio    in from COM1's LSR          -> exit to the VMM (userspace)
 *   mmio   read of the boot timer page -> exit to the VMM (userspace)
 *   lapic  read of the LAPIC version   -> handled inside KVM
 *   cpuid  leaf 0                       -> handled inside KVM
 * plus the PIO and CPUID loops at CPL0 (run by KVM's instruction emulator on
 * PVM) for scale.
 * Prints cycles per exit; nothing here asserts timing.
 */
#include "rt.h"

#define N_USER 2000
#define N_KERNEL 200

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static uint64_t cpl0_cpuid_cycles, cpl0_pio_cycles;

static void report(const char *what, uint64_t cycles, unsigned int n)
{
	printf("exitcost: %-6s %lu cycles/exit (%u exits, cpl=%u)\n", what,
	       (unsigned long)(cycles / n), n, current_cpl());
}

static void user_main(void)
{
	uint32_t r[4];
	uint64_t t0;
	volatile uint32_t sink;

	t0 = rdtsc();
	for (int i = 0; i < N_USER; i++)
		sink = inb(PETREL_COM1_PORT + 5);
	report("pio", rdtsc() - t0, N_USER);

	t0 = rdtsc();
	for (int i = 0; i < N_USER; i++)
		sink = mmio_read32(PETREL_BOOT_TIMER_ADDR);
	report("mmio", rdtsc() - t0, N_USER);

	t0 = rdtsc();
	for (int i = 0; i < N_USER; i++)
		sink = mmio_read32(PETREL_LAPIC_ADDR + 0x30);
	report("lapic", rdtsc() - t0, N_USER);

	t0 = rdtsc();
	for (int i = 0; i < N_USER; i++)
		cpuid(0, 0, r);
	report("cpuid", rdtsc() - t0, N_USER);
	(void)sink;

	printf("exitcost: %-6s %lu cycles/exit (%u exits, cpl=0)\n", "pio0",
	       (unsigned long)(cpl0_pio_cycles / N_KERNEL), N_KERNEL);
	printf("exitcost: %-6s %lu cycles/exit (%u exits, cpl=0)\n", "cpuid0",
	       (unsigned long)(cpl0_cpuid_cycles / N_KERNEL), N_KERNEL);
	printf("exitcost: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	uint32_t r[4];
	volatile uint8_t sink;
	uint64_t t0 = rdtsc();

	for (int i = 0; i < N_KERNEL; i++)
		cpuid(0, 0, r);
	cpl0_cpuid_cycles = rdtsc() - t0;
	t0 = rdtsc();
	for (int i = 0; i < N_KERNEL; i++)
		sink = inb(PETREL_COM1_PORT + 5);
	cpl0_pio_cycles = rdtsc() - t0;
	(void)sink;
	enter_user(user_main, user_stack + sizeof(user_stack));
}
