/* SPDX-License-Identifier: MIT */
/*
 * The snapshot benchmarks' guest (bench/run snapshot), booted alike by
 * petrel and QEMU microvm: writes a non-zero word into every 4 KiB page
 * from 4 MiB up to `touch=` MiB (default 0: none), so that its RAM is not
 * all holes in a memory file; with `smp=1` starts the other vCPUs, which
 * halt for good (an idle SMP guest); then prints "ready\n" and, forever at
 * CPL0, '.' on COM1: back to back, or with `idle=MS` (1..4000) one byte
 * every MS milliseconds, halted in between (so that many restored clones
 * leave the host's CPUs alone), so a restored copy shows it runs by its
 * next byte. With `dirty=1` each byte also writes the next page of a 1 MiB
 * window at 4 MiB (round and round): the guest writes the diff snapshot
 * benchmark wants.
 *
 * Idle: a one-shot local APIC timer (KVM's APIC clock: 1 GHz) wakes the
 * hlt. Its interrupt does not return (no iretq: CPL0 code is emulated on
 * PVM hosts): the handler takes a fresh stack and runs the next round.
 */
#include "rt.h"
#include "smp.h"

#define LAPIC_EOI (PETREL_LAPIC_ADDR + 0xb0)
#define LAPIC_SVR (PETREL_LAPIC_ADDR + 0xf0)
#define LAPIC_LVT_TIMER (PETREL_LAPIC_ADDR + 0x320)
#define LAPIC_TIMER_INIT (PETREL_LAPIC_ADDR + 0x380)
#define LAPIC_TIMER_DIV (PETREL_LAPIC_ADDR + 0x3e0)
#define VECTOR 0x30

static long dirty;
static uint32_t idle_ns;
static uint64_t n;
static uint8_t tick_stack[4096] __attribute__((aligned(16), used));
static struct idt_gate idt[256] __attribute__((aligned(16)));

void ap_main(unsigned int index)
{
	(void)index;
	halt_forever();
}

static void one_byte(void)
{
	putc_serial('.');
	if (dirty)
		*(volatile uint64_t *)((4u << 20) + (n % 256) * 4096) = n;
	n++;
}

/* An interrupt's round (interrupts off, on tick_stack): the byte, the
 * timer armed again, then halted until it fires. */
__attribute__((noreturn, used)) void tick(void)
{
	mmio_write32(LAPIC_EOI, 0);
	one_byte();
	mmio_write32(LAPIC_TIMER_INIT, idle_ns);
	for (;;)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

/* Any interrupt vector: the interrupted frame is dropped, never returned to. */
__asm__(".text\n"
	".globl tick_stub\n"
	"tick_stub:\n\t"
	"lea tick_stack+4096(%rip), %rsp\n\t"
	"call tick\n");
extern const char tick_stub[];

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t top = (uint64_t)cmdline_long("touch", 0, 0) << 20;
	long idle_ms = cmdline_long("idle", 0, 0);

	dirty = cmdline_long("dirty", 0, 0);
	for (uint64_t a = 4u << 20; a < top; a += 4096)
		*(volatile uint64_t *)a = a | 1;
	if (cmdline_long("smp", 0, 0))
		smp_start_aps();
	puts_serial("ready\n");
	if (idle_ms <= 0 || idle_ms > 4000)
		for (;;)
			one_byte();
	idle_ns = (uint32_t)idle_ms * 1000000u;
	for (unsigned int v = 32; v < 256; v++) /* exceptions stay fatal */
		idt_gate_set(&idt[v], tick_stub);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	mmio_write32(LAPIC_SVR, 0x1ff);	       /* software-enabled, spurious 0xff */
	mmio_write32(LAPIC_TIMER_DIV, 0xb);    /* divide by 1 */
	mmio_write32(LAPIC_LVT_TIMER, VECTOR); /* one-shot, unmasked */
	__asm__ volatile("lea tick_stack+4096(%%rip), %%rsp\n\tcall tick" ::: "memory");
	__builtin_unreachable();
}
