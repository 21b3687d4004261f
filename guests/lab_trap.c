/* SPDX-License-Identifier: MIT */
/*
 * lab/02-trap-and-emulate: executes one kind of sensitive instruction "n="
 * times (default 2000) and prints
 *   "lab_trap: op=OP n=N cycles=C cpl=K value=HEX"
 * (C: TSC cycles for all N; value: what the last one returned). "op=":
 *   pio_in   in from COM1's line status register        (CPL3)
 *   pio_out  out to COM1's scratch register             (CPL3)
 *   mmio     read of the boot-timer page                (CPL3)
 *   cpuid    leaf 0                                     (CPL3)
 *   rdmsr    IA32_SYSENTER_CS, privileged               (CPL0)
 *   wrmsr    the same value written back                (CPL0)
 *   lab_reg  in from the lab's own register, LAB_REG_PORT (CPL3): the
 *            exercise's extension (lab/02-trap-and-emulate/README.md)
 *   none     nothing: the baseline of the other runs' exits
 * CPL3 runs are native on every host kind; CPL0 runs are emulated
 * instruction by instruction on a PVM host, so keep their "n=" small there.
 */
#include <stdbool.h>

#include "rt.h"

#define LAB_REG_PORT 0x5a0 /* petrel's lab register (src/lab_reg.c), if any */
#define MSR_SYSENTER_CS 0x174

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static char op[16];
static unsigned long n;

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static void report(uint64_t cycles, uint64_t value)
{
	printf("lab_trap: op=%s n=%lu cycles=%lu cpl=%u value=%lx\n", op, n, (unsigned long)cycles,
	       current_cpl(), (unsigned long)value);
	guest_exit(0);
}

static bool is(const char *name)
{
	return strncmp(op, name, sizeof(op)) == 0;
}

static void user_main(void)
{
	uint64_t t0 = rdtsc(), v = 0;
	uint32_t r[4];

	for (unsigned long i = 0; i < n; i++) {
		if (is("pio_in"))
			v = inb(PETREL_COM1_PORT + 5);
		else if (is("pio_out"))
			outb(PETREL_COM1_PORT + 7, (uint8_t)i);
		else if (is("mmio"))
			v = mmio_read32(PETREL_BOOT_TIMER_ADDR);
		else if (is("cpuid")) {
			cpuid(0, 0, r);
			v = r[0];
		} else if (is("lab_reg"))
			v = inl(LAB_REG_PORT);
	}
	report(rdtsc() - t0, v);
}

int guest_main(void)
{
	if (cmdline_get("op", op, sizeof(op)) != 0)
		memcpy(op, "none", 5);
	n = (unsigned long)cmdline_long("n", 0, 2000);
	if (is("rdmsr") || is("wrmsr")) {
		uint64_t v = rdmsr(MSR_SYSENTER_CS), t0 = rdtsc();

		for (unsigned long i = 0; i < n; i++) {
			if (is("rdmsr"))
				v = rdmsr(MSR_SYSENTER_CS);
			else
				wrmsr(MSR_SYSENTER_CS, v);
		}
		report(rdtsc() - t0, v);
	}
	if (!is("none") && !is("pio_in") && !is("pio_out") && !is("mmio") && !is("cpuid") &&
	    !is("lab_reg")) {
		printf("lab_trap: unknown op=%s\n", op);
		guest_exit(2);
	}
	enter_user(user_main, user_stack + sizeof(user_stack));
}
