/* SPDX-License-Identifier: MIT */
/*
 * Interrupts through petrel's I/O APIC: COM1's "transmitter empty"
 * interrupt (IRQ 4) is routed to vector 0x30 on this CPU and counted by a
 * CPL0 handler that then EOIs its local APIC.
 *
 *   edge    one interrupt per rising edge; the handler clears the source
 *   level   the first handler run leaves the source asserted: only if the
 *           EOI reaches the I/O APIC (KVM_EXIT_IOAPIC_EOI) and clears
 *           Remote IRR is it delivered a second time, when it is cleared
 *   masked  nothing arrives while the pin is masked; unmasking the still
 *           asserted level pin delivers it
 *
 * Prints "irq: edge 1 level 2 masked 0 unmasked 1" and exits 0 when each
 * count is what the I/O APIC datasheet says. The handler returns with a
 * same-CPL iretq (tests/guest/run allows it in this guest).
 */
#include "rt.h"

#define VECTOR 0x30
#define LAPIC_EOI (PETREL_LAPIC_ADDR + 0xb0)
#define LAPIC_SVR (PETREL_LAPIC_ADDR + 0xf0)
#define IOAPIC_SEL PETREL_IOAPIC_ADDR
#define IOAPIC_WIN (PETREL_IOAPIC_ADDR + 0x10)
#define RTE_LEVEL (1U << 15)
#define RTE_MASKED (1U << 16)
#define UART_IER (PETREL_COM1_PORT + 1)
#define UART_IIR (PETREL_COM1_PORT + 2)
#define UART_MCR (PETREL_COM1_PORT + 4)
#define IER_THRI 0x02
#define MCR_OUT2 0x08
#define SPIN 20000

static volatile unsigned int count, clear_from;

/* Called by the stub below with the caller-saved registers saved. */
void irq_handle(void)
{
	count++;
	if (count >= clear_from)
		(void)inb(UART_IIR); /* reading IIR clears the THRE interrupt */
	mmio_write32(LAPIC_EOI, 0);
}

/* Nine pushes keep the stack 16-byte aligned for the call (the CPU pushed
 * five quadwords onto a 16-byte-aligned stack). */
__asm__(".text\n"
	".globl irq_stub\n"
	"irq_stub:\n\t"
	"push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
	"push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
	"call irq_handle\n\t"
	"pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
	"pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
	"iretq\n");
extern const char irq_stub[];

static struct idt_gate idt[VECTOR + 1] __attribute__((aligned(16)));

static void ioapic_pin(unsigned int pin, uint32_t low)
{
	mmio_write32(IOAPIC_SEL, 0x11 + 2 * pin);
	mmio_write32(IOAPIC_WIN, 0); /* destination: APIC ID 0, this CPU */
	mmio_write32(IOAPIC_SEL, 0x10 + 2 * pin);
	mmio_write32(IOAPIC_WIN, low);
}

/* Let interrupts in until `want` have arrived or SPIN rounds pass, then as
 * many rounds again to catch any extra one; returns how many arrived. */
static unsigned int window(unsigned int want)
{
	unsigned int start = count, i;

	__asm__ volatile("sti" ::: "memory");
	for (i = 0; i < SPIN && count - start < want; i++)
		__asm__ volatile("pause" ::: "memory");
	for (i = 0; i < SPIN; i++)
		__asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
	return count - start;
}

/* Raise COM1's THRE interrupt: with IER.THRI off and on again, IIR shows
 * it at once (THR is always empty). */
static void uart_raise(void)
{
	outb(UART_IER, 0);
	outb(UART_IER, IER_THRI);
}

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	unsigned int edge, level, masked, unmasked;

	idt_gate_set(&idt[VECTOR], irq_stub);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	mmio_write32(LAPIC_SVR, 0x1ff); /* software-enable, spurious vector 0xff */
	outb(UART_MCR, inb(UART_MCR) | MCR_OUT2);

	ioapic_pin(PETREL_COM1_IRQ, VECTOR);
	clear_from = 1;
	uart_raise();
	edge = window(1);

	outb(UART_IER, 0);
	ioapic_pin(PETREL_COM1_IRQ, VECTOR | RTE_LEVEL);
	clear_from = count + 2;
	uart_raise();
	level = window(2);

	outb(UART_IER, 0);
	ioapic_pin(PETREL_COM1_IRQ, VECTOR | RTE_LEVEL | RTE_MASKED);
	clear_from = count + 1;
	uart_raise();
	masked = window(1);
	ioapic_pin(PETREL_COM1_IRQ, VECTOR | RTE_LEVEL);
	unmasked = window(1);
	outb(UART_IER, 0);

	printf("irq: edge %u level %u masked %u unmasked %u\n", edge, level, masked, unmasked);
	return edge == 1 && level == 2 && masked == 0 && unmasked == 1 ? 0 : 1;
}
