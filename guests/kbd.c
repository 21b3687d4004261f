/* SPDX-License-Identifier: MIT */
/*
 * The i8042 keyboard controller as Linux's i8042 and atkbd drivers drive
 * it: the controller's self-test, command byte and interface tests (no
 * mouse port), then the keyboard's ID, disable, LEDs, typematic rate and
 * enable, its answers arriving through IRQ 1 (I/O APIC pin 1, edge, to
 * vector 0x31 on this CPU) and read by a CPL0 handler, as atkbd reads
 * them. Prints "kbd: probe ok, id ab41".
 *
 * With "op=probe" it then exits 0. Otherwise it waits, interrupts on, for
 * the host to press Ctrl-Alt-Del (Firecracker's SendCtrlAltDel), prints
 * the scan codes ("kbd: 1d 38 e0 53 e0 d3 b8 9d", set 1 as translated)
 * and exits 0 if they are Ctrl, Alt and Delete pressed and released.
 * Any failed step prints "kbd: FAIL ..." and exits 1.
 */
#include "rt.h"

#define VECTOR 0x31
#define LAPIC_EOI (PETREL_LAPIC_ADDR + 0xb0)
#define LAPIC_SVR (PETREL_LAPIC_ADDR + 0xf0)
#define IOAPIC_SEL PETREL_IOAPIC_ADDR
#define IOAPIC_WIN (PETREL_IOAPIC_ADDR + 0x10)
#define DATA PETREL_I8042_DATA_PORT
#define STATUS PETREL_I8042_CMD_PORT
#define STS_OBF 0x01
#define STS_IBF 0x02
#define CTR_KBDINT 0x01
#define CTR_KBDDIS 0x10
#define CTR_XLATE 0x40
#define POLLS 10000 /* status reads for an answer (each one an exit) */
#define SPIN 200000 /* pause loops for an interrupt */

static const uint8_t cad[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };

/* What IRQ 1's handler read from the data port, in order. */
static volatile uint8_t got[64];
static volatile unsigned int ngot;

/* Called by the stub below with the caller-saved registers saved. */
void kbd_irq(void)
{
	uint8_t b;

	if (inb(STATUS) & STS_OBF) {
		b = inb(DATA);
		if (ngot < sizeof(got))
			got[ngot] = b;
		ngot++;
	}
	mmio_write32(LAPIC_EOI, 0);
}

/* Nine pushes keep the stack 16-byte aligned for the call. */
__asm__(".text\n"
	".globl kbd_stub\n"
	"kbd_stub:\n\t"
	"push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
	"push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
	"call kbd_irq\n\t"
	"pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
	"pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
	"iretq\n");
extern const char kbd_stub[];

static struct idt_gate idt[VECTOR + 1] __attribute__((aligned(16)));

static int fail(const char *what, unsigned int got_v)
{
	printf("kbd: FAIL %s (got %#x)\n", what, got_v);
	return 1;
}

/* i8042_wait_read: the output buffer within POLLS polls, else -1. */
static int poll_read(void)
{
	for (unsigned int i = 0; i < POLLS; i++)
		if (inb(STATUS) & STS_OBF)
			return inb(DATA);
	return -1;
}

static int wait_write(void)
{
	for (unsigned int i = 0; i < POLLS; i++)
		if (!(inb(STATUS) & STS_IBF))
			return 0;
	return -1;
}

/* __i8042_command: the command, its parameter if any, one answer if
 * `answer` (returned), else 0; -1 on a timeout. */
static int command(uint8_t cmd, int param, int answer)
{
	if (wait_write())
		return -1;
	outb(STATUS, cmd);
	if (param >= 0) {
		if (wait_write())
			return -1;
		outb(DATA, (uint8_t)param);
	}
	return answer ? poll_read() : 0;
}

/* ps2_command: a byte to the keyboard, then its answers through IRQ 1:
 * true if exactly `n` bytes, `want`, arrive. */
static int kbd_send(uint8_t b, const uint8_t *want, unsigned int n)
{
	unsigned int start = ngot, i;

	if (wait_write())
		return 0;
	outb(DATA, b);
	__asm__ volatile("sti" ::: "memory");
	for (i = 0; i < SPIN && ngot - start < n; i++)
		__asm__ volatile("pause" ::: "memory");
	for (i = 0; i < SPIN / 10; i++) /* and nothing more */
		__asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
	if (ngot - start != n)
		return 0;
	for (i = 0; i < n; i++)
		if (got[start + i] != want[i])
			return 0;
	return 1;
}

static int probe(void)
{
	static const uint8_t ack[] = { 0xfa }, id[] = { 0xfa, 0xab, 0x41 };
	int ctr, v;

	while (inb(STATUS) & STS_OBF) /* i8042_flush */
		(void)inb(DATA);
	if ((v = command(0xaa, -1, 1)) != 0x55)
		return fail("controller self-test", (unsigned int)v);
	ctr = command(0x20, -1, 1);
	if (ctr < 0 || !(ctr & CTR_XLATE))
		return fail("command byte (want translation on)", (unsigned int)ctr);
	ctr = (ctr | CTR_KBDDIS) & ~CTR_KBDINT;
	if (command(0x60, ctr, 0) || (v = command(0x20, -1, 1)) != ctr)
		return fail("command byte write", (unsigned int)v);
	if ((v = command(0xd3, 0x5a, 1)) != -1) /* mouse loopback: no answer */
		return fail("mouse loopback answered", (unsigned int)v);
	if ((v = command(0xa9, -1, 1)) < 1 || v > 3)
		return fail("mouse interface test", (unsigned int)v);
	if ((v = command(0xab, -1, 1)) != 0)
		return fail("keyboard interface test", (unsigned int)v);
	/* request_irq, then i8042_enable_kbd_port */
	mmio_write32(IOAPIC_SEL, 0x11 + 2 * PETREL_I8042_IRQ);
	mmio_write32(IOAPIC_WIN, 0);
	mmio_write32(IOAPIC_SEL, 0x10 + 2 * PETREL_I8042_IRQ);
	mmio_write32(IOAPIC_WIN, VECTOR);
	ctr = (ctr & ~CTR_KBDDIS) | CTR_KBDINT;
	if (command(0x60, ctr, 0))
		return fail("enabling the keyboard port", 0);
	if (!kbd_send(0xf2, id, 3))
		return fail("keyboard ID (want fa ab 41)", ngot);
	if (!kbd_send(0xf5, ack, 1) || !kbd_send(0xed, ack, 1) || !kbd_send(0x00, ack, 1) ||
	    !kbd_send(0xf3, ack, 1) || !kbd_send(0x00, ack, 1) || !kbd_send(0xf4, ack, 1))
		return fail("keyboard disable, LEDs, rate, enable", ngot);
	printf("kbd: probe ok, id %02x%02x\n", got[1], got[2]);
	return 0;
}

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	char op[16] = "";
	unsigned int start, bad = 0;

	idt_gate_set(&idt[VECTOR], kbd_stub);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	mmio_write32(LAPIC_SVR, 0x1ff); /* software-enable, spurious vector 0xff */
	if (probe())
		return 1;
	(void)cmdline_get("op", op, sizeof(op));
	if (!strncmp(op, "probe", sizeof(op)))
		return 0;
	printf("kbd: waiting for Ctrl-Alt-Del\n");
	start = ngot;
	while (ngot - start < sizeof(cad))
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	printf("kbd:");
	for (unsigned int i = 0; i < sizeof(cad); i++) {
		printf(" %02x", got[start + i]);
		bad += got[start + i] != cad[i];
	}
	printf("\n");
	return bad ? fail("not Ctrl, Alt, Delete pressed and released", bad) : 0;
}
