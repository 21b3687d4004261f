/* SPDX-License-Identifier: MIT */
/*
 * Hostile guest, platform half: accesses to everything around petrel's
 * devices that no driver would make (tests/hostile/platform.cases). Each
 * case attacks, then checks petrel answered as README documents: an
 * unclaimed port or MMIO address reads all-ones and drops writes; an
 * access wider than a device's register range is unclaimed; the I/O APIC
 * keeps its read-only bits; interrupts arrive exactly as often as the
 * sources fire. The frame (lib/hostile.h) then checks petrel still serves.
 *
 * Cases at CPL3 run natively on PVM hosts (sweeps); those that take
 * interrupts or faults run at CPL0 (a CPL0 handler cannot IRET to CPL3
 * under KVM's emulator), where every instruction costs ~1.4 us: keep them
 * short.
 */
#include "hostile.h"
#include "rt.h"

#define COM1 PETREL_COM1_PORT
#define UART_THR (COM1 + 0)
#define UART_IER (COM1 + 1)
#define UART_IIR (COM1 + 2)
#define UART_MCR (COM1 + 4)
#define UART_LSR (COM1 + 5)
#define UART_SCR (COM1 + 7)
#define IER_THRI 0x02
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01

#define LAPIC_ID (PETREL_LAPIC_ADDR + 0x20)
#define LAPIC_VERSION (PETREL_LAPIC_ADDR + 0x30)
#define LAPIC_EOI (PETREL_LAPIC_ADDR + 0xb0)
#define LAPIC_SVR (PETREL_LAPIC_ADDR + 0xf0)
#define IOREGSEL PETREL_IOAPIC_ADDR
#define IOWIN (PETREL_IOAPIC_ADDR + 0x10)
#define RTE_LEVEL (1U << 15)
#define RTE_MASKED (1U << 16)
#define RTE_REMOTE_IRR (1U << 14)
#define RTE_DESTLOGICAL (1U << 11)
#define DM_LOWEST (1U << 8)
#define DM_NMI (4U << 8)
#define VECTOR 0x30
#define ONES 0xffffffffffffffffULL

static uint64_t ram_end;

/* ------------------------------------------------------------- accessors */

/* Every width: read, write, read again; both reads must be all-ones. */
static void mmio_unclaimed(uint64_t a, const char *what)
{
	for (unsigned int w = 1; w <= 8; w *= 2) {
		uint64_t ones = w == 8 ? ONES : (1ULL << (8 * w)) - 1, r1 = hostile_mmio_rd(a, w),
			 r2;

		hostile_mmio_wr(a, w, 0x5a5a5a5a5a5a5a5aULL);
		r2 = hostile_mmio_rd(a, w);
		hostile_expect(r1 == ones && r2 == ones, what, a);
	}
}

static uint32_t ioapic_rd(uint8_t reg)
{
	mmio_write32(IOREGSEL, reg);
	return mmio_read32(IOWIN);
}

static void ioapic_wr(uint8_t reg, uint32_t v)
{
	mmio_write32(IOREGSEL, reg);
	mmio_write32(IOWIN, v);
}

/* ------------------------------------------------------------ MMIO cases */

/* The 32-bit hole and the unused RAM below it, around each device. */
static void case_mmio_hole(void)
{
	static const uint64_t at[] = {
		0xc0000000ULL, 0xcffffff8ULL, 0xd0001000ULL, /* after the boot timer */
		0xd0fff000ULL, 0xd1010000ULL,		     /* after the 16 virtio slots */
		0xd1fffff8ULL, 0xe0000000ULL, 0xfebffff8ULL, 0xfec01000ULL, /* after the I/O APIC */
		0xfed00000ULL,						    /* an HPET's page */
		0xfee01000ULL,						    /* after the LAPIC */
		0xfffff000ULL, 0xfffffff8ULL,
	};

	for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		mmio_unclaimed(at[i], "MMIO hole read not all-ones");
	mmio_unclaimed(ram_end, "first byte after RAM");
	mmio_unclaimed(ram_end + 0x1000, "page after RAM");
	mmio_unclaimed((ram_end + PETREL_RAM_HOLE_START) / 2, "between RAM and the hole");
	mmio_unclaimed(PETREL_RAM_HOLE_START - 8, "last quadword below the hole");
	/* Across the end of a device's page: KVM splits the access at the
	 * page boundary; the half outside is unclaimed (all-ones), the boot
	 * timer's half reads 0. */
	hostile_expect(hostile_mmio_rd(PETREL_BOOT_TIMER_ADDR + 0xffe, 4) == 0xffff0000ULL,
		       "4-byte read across the boot timer's end",
		       hostile_mmio_rd(PETREL_BOOT_TIMER_ADDR + 0xffe, 4));
	/* Unused space in each empty virtio slot's page, past its window. */
	for (unsigned int s = 0; s < PETREL_VIRTIO_MMIO_SLOTS; s++) {
		uint64_t slot = PETREL_VIRTIO_MMIO_BASE + s * PETREL_VIRTIO_MMIO_STRIDE;

		mmio_unclaimed(slot + 0x200, "virtio slot past its 0x200 window");
		mmio_unclaimed(slot + 0xff8, "virtio slot's last quadword");
	}
	/* Straddling the end of RAM: the RAM half reads RAM, the rest is an
	 * unclaimed MMIO access. */
	*(volatile uint32_t *)(ram_end - 4) = 0x600dcafe;
	hostile_expect(hostile_mmio_rd(ram_end - 4, 8) == 0xffffffff600dcafeULL,
		       "8-byte read across RAM's end", hostile_mmio_rd(ram_end - 4, 8));
	hostile_mmio_wr(ram_end - 4, 8, 0x1111111122222222ULL);
	hostile_expect(*(volatile uint32_t *)(ram_end - 4) == 0x22222222,
		       "8-byte write across RAM's end: RAM half written", 0);
}

/* Above 4 GiB (no RAM with the default --mem) up to the top of the guest's
 * physical address width, through 2 MiB pages this guest adds at 4 GiB. */
static uint64_t high_pd[512] __attribute__((aligned(4096)));
extern uint64_t pml4[];
static unsigned int phys_bits;

static void map_high(void)
{
	uint32_t r[4];
	uint64_t *pdpt = (uint64_t *)((uint64_t)pml4 + 0x1000);

	cpuid(0x80000000, 0, r);
	phys_bits = 36;
	if (r[0] >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		phys_bits = r[0] & 0xff;
	}
	high_pd[0] = 0x100000000ULL | 0x87;			 /* 4 GiB */
	high_pd[1] = (1ULL << (phys_bits - 1)) | 0x87;		 /* half the space */
	high_pd[2] = ((1ULL << phys_bits) - 0x200000ULL) | 0x87; /* its last 2 MiB */
	high_pd[3] = (1ULL << phys_bits) | 0x87;		 /* past the width */
	pdpt[4] = (uint64_t)high_pd | 0x7;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

#define HIGH_VA 0x100000000ULL

static void case_mmio_high(void)
{
	mmio_unclaimed(HIGH_VA, "4 GiB");
	mmio_unclaimed(HIGH_VA + 0x1ffff8, "4 GiB + 2 MiB - 8");
	mmio_unclaimed(HIGH_VA + 0x200000, "half the physical address space");
	mmio_unclaimed(HIGH_VA + 0x400000 + 0x1ffff8, "last quadword of the physical space");
}

/* ------------------------------------------------------ interrupt stubs */

static volatile unsigned int count, nmis, clear_at, thr_left, faults;
volatile unsigned int strays;
static volatile uint64_t fault_code;

/* Counts, optionally clears or refires COM1's THRE interrupt, EOIs. */
void hp_irq(void)
{
	count++;
	if (count >= clear_at)
		(void)inb(UART_IIR); /* clears THRE: the line drops */
	if (thr_left) {
		thr_left--;
		outb(UART_THR, '.'); /* in loopback: THR empty again at once */
	}
	mmio_write32(LAPIC_EOI, 0);
}

void hp_nmi(void)
{
	nmis++;
}

/* #PF: skip the faulting 2-byte "mov (%rdx), %eax" and note the error. */
__asm__(".text\n"
	"hp_irq_stub:\n\t"
	"push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
	"push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
	"call hp_irq\n\t"
	"pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
	"pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
	"iretq\n"
	"hp_nmi_stub:\n\t"
	"push %rax\n\tpush %rcx\n\tpush %rdx\n\tpush %rsi\n\tpush %rdi\n\t"
	"push %r8\n\tpush %r9\n\tpush %r10\n\tpush %r11\n\t"
	"call hp_nmi\n\t"
	"pop %r11\n\tpop %r10\n\tpop %r9\n\tpop %r8\n\t"
	"pop %rdi\n\tpop %rsi\n\tpop %rdx\n\tpop %rcx\n\tpop %rax\n\t"
	"iretq\n"
	"hp_stray_stub:\n\t"
	"incl strays(%rip)\n\t"
	"iretq\n"
	"hp_pf_stub:\n\t"
	"pop fault_code(%rip)\n\t"
	"addq $2, (%rsp)\n\t"
	"incl faults(%rip)\n\t"
	"iretq\n");
extern const char hp_irq_stub[], hp_nmi_stub[], hp_pf_stub[], hp_stray_stub[];

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void idt_setup(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };

	/* Any other vector (a bad redirection entry's, or the spurious
	 * vector) is counted as a stray, without an EOI (external interrupts
	 * push no error code). */
	for (unsigned int v = 0; v < 256; v++)
		idt_gate_set(&idt[v], hp_stray_stub);
	idt_gate_set(&idt[VECTOR], hp_irq_stub);
	idt_gate_set(&idt[2], hp_nmi_stub);
	idt_gate_set(&idt[14], hp_pf_stub);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	mmio_write32(LAPIC_SVR, 0x1ff);
	outb(UART_MCR, MCR_OUT2);
}

static void pin4(uint32_t low, uint32_t dest)
{
	ioapic_wr(0x11 + 2 * PETREL_COM1_IRQ, dest << 24);
	ioapic_wr(0x10 + 2 * PETREL_COM1_IRQ, low);
}

/* Interrupts on until `spins` rounds pass or `want` have arrived, then
 * 3000 rounds more to catch any extra; how many arrived. */
static unsigned int window_until(unsigned int spins, unsigned int want)
{
	unsigned int start = count, i;

	__asm__ volatile("sti" ::: "memory");
	for (i = 0; i < spins && count - start < want; i++)
		__asm__ volatile("pause" ::: "memory");
	for (i = 0; i < 3000; i++)
		__asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
	return count - start;
}

static void expect_window(unsigned int spins, unsigned int want, const char *what)
{
	unsigned int n = window_until(spins, want);

	hostile_expect(n == want, what, n);
}

static void uart_raise(void)
{
	outb(UART_IER, 0);
	outb(UART_IER, IER_THRI);
}

/* ------------------------------------------------ faults, LAPIC, I/O APIC */

/* A PTE with an address bit at the physical width: a reserved-bit #PF in
 * the guest; the access must never reach petrel as MMIO. */
static void case_mmio_maxphys(void)
{
	uint32_t v = 0x1234;

	idt_setup();
	__asm__ volatile("mov (%%rdx), %%eax" : "+a"(v) : "d"(HIGH_VA + 0x600000) : "memory");
	hostile_expect(faults == 1, "no #PF for an address past the physical width", faults);
	hostile_expect((fault_code & 0x9) == 0x9, "#PF error code lacks P|RSVD", fault_code);
	hostile_expect(v == 0x1234, "the faulting load produced a value", v);
}

static void case_lapic_bad(void)
{
	static const uint32_t off[] = { 0x001, 0x022, 0x03f, 0x050, 0x3f0, 0x3fc, 0xff0, 0xffc };
	uint32_t id = mmio_read32(LAPIC_ID), ver = mmio_read32(LAPIC_VERSION);

	for (unsigned int i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		for (unsigned int w = 1; w <= 8 && off[i] + w <= 0x1000; w *= 2) {
			(void)hostile_mmio_rd(PETREL_LAPIC_ADDR + off[i], w);
			if (off[i] >= 0x3f0)
				hostile_mmio_wr(PETREL_LAPIC_ADDR + off[i], w, ONES);
		}
	hostile_expect(mmio_read32(LAPIC_ID) == id, "LAPIC ID changed", mmio_read32(LAPIC_ID));
	hostile_expect(mmio_read32(LAPIC_VERSION) == ver, "LAPIC version changed",
		       mmio_read32(LAPIC_VERSION));
	mmio_unclaimed(PETREL_LAPIC_ADDR + 0x1000, "page after the LAPIC");
	mmio_unclaimed(PETREL_LAPIC_ADDR - 8, "quadword before the LAPIC");
}

static void case_ioapic_regs(void)
{
	uint32_t v;

	for (unsigned int r = 3; r < 0x10; r++) {
		ioapic_wr((uint8_t)r, 0xffffffffU);
		hostile_expect(ioapic_rd((uint8_t)r) == 0, "reserved I/O APIC register not 0", r);
	}
	for (unsigned int r = 0x10 + 2 * 24; r < 0x100; r++) {
		ioapic_wr((uint8_t)r, 0xffffffffU);
		hostile_expect(ioapic_rd((uint8_t)r) == 0, "register past pin 23 not 0", r);
	}
	ioapic_wr(1, 0);
	hostile_expect(ioapic_rd(1) == 0x170011, "version register written", ioapic_rd(1));
	ioapic_wr(0, 0xffffffffU);
	hostile_expect(ioapic_rd(0) == 0x0f000000, "ID register takes more than bits 24-27",
		       ioapic_rd(0));
	ioapic_wr(0, 0);
	/* Pin 23: every writable bit, but no Remote IRR or delivery status. */
	ioapic_wr(0x10 + 46, 0xffffffffU);
	ioapic_wr(0x11 + 46, 0xffffffffU);
	v = ioapic_rd(0x10 + 46);
	hostile_expect(v == 0x1afff, "RTE low kept read-only or reserved bits", v);
	hostile_expect(ioapic_rd(0x11 + 46) == 0xff000000U, "RTE high kept reserved bits",
		       ioapic_rd(0x11 + 46));
	ioapic_wr(0x10 + 46, RTE_MASKED);
	ioapic_wr(0x11 + 46, 0);
	/* Other widths and offsets of the window: ignored, read 0. */
	mmio_write32(IOREGSEL, 1);
	for (unsigned int w = 1; w <= 8; w *= 2) {
		if (w != 4) {
			hostile_mmio_wr(IOREGSEL, w, 0x10);
			hostile_mmio_wr(IOWIN, w, ONES);
			hostile_expect(hostile_mmio_rd(IOWIN, w) == 0,
				       "narrow/wide IOWIN read not 0", w);
		}
		hostile_expect(hostile_mmio_rd(PETREL_IOAPIC_ADDR + 0x20, w) == 0,
			       "offset 0x20 not 0", w);
		hostile_expect(hostile_mmio_rd(PETREL_IOAPIC_ADDR + 0xff8, w) == 0,
			       "offset 0xff8 not 0", w);
	}
	hostile_expect(mmio_read32(IOREGSEL) == 1, "IOREGSEL changed by a non-32-bit write",
		       mmio_read32(IOREGSEL));
	hostile_expect(mmio_read32(IOWIN) == 0x170011, "version changed", mmio_read32(IOWIN));
	hostile_expect(hostile_mmio_rd(PETREL_IOAPIC_ADDR + 0xffc, 8) == 0xffffffff00000000ULL,
		       "8 bytes across the page end",
		       hostile_mmio_rd(PETREL_IOAPIC_ADDR + 0xffc, 8));
	hostile_expect(ioapic_rd(0x10 + 2 * 4) == RTE_MASKED, "pin 4 touched", ioapic_rd(0x18));
}

/* COM1's pin with entries no OS would write: a destination no CPU has,
 * broadcast, logical, lowest priority, NMI, vectors 0-15. petrel must
 * pass each on (KVM decides) and still deliver a good one afterwards. */
static void case_ioapic_bad_rte(void)
{
	idt_setup();
	clear_at = 1;
	pin4(VECTOR, 0x55);
	uart_raise();
	expect_window(3000, 0, "delivered to APIC ID 0x55 (no such CPU)");
	pin4(VECTOR, 0xff);
	uart_raise();
	expect_window(200000, 1, "broadcast (0xff) not delivered once");
	/* Whether these arrive is the local APICs' business (KVM's). */
	pin4(VECTOR | DM_LOWEST, 0xff);
	uart_raise();
	(void)window_until(3000, ~0U);
	pin4(VECTOR | RTE_DESTLOGICAL, 0x00);
	uart_raise();
	(void)window_until(3000, ~0U);
	for (unsigned int v = 0; v < 16; v++) {
		pin4(v, 0);
		uart_raise();
		(void)window_until(200, ~0U);
	}
	pin4(DM_NMI, 0);
	uart_raise();
	(void)window_until(3000, ~0U);
	hostile_expect(nmis == 1, "NMI delivery mode: not one NMI", nmis);
	pin4(VECTOR, 0);
	uart_raise();
	expect_window(200000, 1, "a good entry after the bad ones");
	pin4(RTE_MASKED, 0);
	outb(UART_IER, 0);
}

/* A level pin whose handler EOIs without clearing the source: petrel
 * redelivers on every EOI, exactly once each, until the source clears. */
static void case_irq_level_storm(void)
{
	idt_setup();
	clear_at = 300;
	pin4(VECTOR | RTE_LEVEL, 0);
	uart_raise();
	expect_window(2000000, 300, "level storm: not one delivery per EOI");
	pin4(RTE_MASKED, 0);
	outb(UART_IER, 0);
}

/* Mask and unmask an asserted level pin many times while its delivery is
 * in service (interrupts off, so no EOI yet): Remote IRR, which the guest
 * can read, stays set through every toggle and the EOI clears it. */
static void case_irq_mask_toggle(void)
{
	uint32_t rte;

	idt_setup();
	clear_at = 1;
	pin4(VECTOR | RTE_LEVEL | RTE_MASKED, 0);
	uart_raise();
	for (unsigned int i = 0; i < 300; i++) {
		pin4(VECTOR | RTE_LEVEL, 0);
		pin4(VECTOR | RTE_LEVEL | RTE_MASKED, 0);
	}
	rte = ioapic_rd(0x10 + 2 * PETREL_COM1_IRQ);
	hostile_expect(rte & RTE_REMOTE_IRR, "Remote IRR not set by the delivery", rte);
	pin4(VECTOR | RTE_LEVEL, 0);
	expect_window(200000, 1, "not exactly one delivery");
	rte = ioapic_rd(0x10 + 2 * PETREL_COM1_IRQ);
	hostile_expect(!(rte & RTE_REMOTE_IRR), "Remote IRR not cleared by the EOI", rte);
	pin4(RTE_MASKED, 0);
	outb(UART_IER, 0);
}

/* A flood of THR-empty interrupts: each handler run sends a byte (in
 * loopback, so nothing reaches stdout), which makes THR empty again. */
static void case_irq_thr_flood(void)
{
	idt_setup();
	outb(UART_MCR, MCR_OUT2 | MCR_LOOP);
	clear_at = 1;
	thr_left = 500;
	pin4(VECTOR, 0);
	uart_raise();
	expect_window(2000000, 501, "THR flood: not one interrupt per byte");
	hostile_expect(thr_left == 0, "THR flood stopped early", thr_left);
	pin4(RTE_MASKED, 0);
	outb(UART_IER, 0);
	outb(UART_IIR, 0x07); /* FIFO on, both cleared: the overrun bytes go */
	outb(UART_MCR, 0);
	(void)inb(UART_LSR);
}

/* ----------------------------------------------------------- port cases */

/* Ports some device or quiet range claims; the sweep leaves them out. */
static int port_claimed(unsigned int p)
{
	return p == 0x60 || p == 0x64 || p == 0x70 || p == 0x71 || p == 0x80 ||
	       (p >= 0x2e8 && p < 0x300) || (p >= 0x3e8 && p < 0x3f0) ||
	       (p >= COM1 && p < COM1 + 8) || p == PETREL_EXIT_PORT || p == 0x505 ||
	       (p >= 0x510 && p < 0x514) || p == 0x600 || p == 0x601 || (p >= 0xcf8 && p < 0xd00);
}

static void case_pio_sweep(void)
{
	unsigned int bad = 0, first = 0;

	for (unsigned int p = 0; p < 0x10000; p++) {
		if (port_claimed(p) || port_claimed(p + 3))
			continue;
		outb((uint16_t)p, 0xa5);
		if (inb((uint16_t)p) != 0xff ||
		    ((p & 0xf) == 0 &&
		     (inw((uint16_t)p) != 0xffff || inl((uint16_t)p) != 0xffffffffU))) {
			if (!bad++)
				first = p;
		}
	}
	hostile_expect(bad == 0, "unclaimed port read not all-ones (first port)", first);
	/* Quiet absent hardware reads all-ones too. */
	outl(0xcf8, 0x80000000U);
	hostile_expect(inl(0xcfc) == 0xffffffffU, "PCI config data", inl(0xcfc));
	hostile_expect(inb(0x80) == 0xff && inw(0x2f8) == 0xffff, "POST / COM2", 0);
}

/* 16- and 32-bit accesses to 8-bit registers: inside the device's port
 * range they act on the byte at the port (upper bytes read 0), across its
 * end they are unclaimed. */
static void case_pio_uart(void)
{
	uint16_t v;

	outb(UART_MCR, MCR_LOOP);
	outb(UART_IIR, 0x07);
	outw(UART_THR, 0x4241); /* one byte, 'A' */
	hostile_expect((inb(UART_LSR) & LSR_DR) != 0, "16-bit THR write lost", 0);
	v = inw(UART_THR);
	hostile_expect(v == 0x0041, "16-bit RBR read", v);
	hostile_expect((inb(UART_LSR) & LSR_DR) == 0, "16-bit THR write sent 2 bytes", 0);
	outl(UART_SCR - 3, 0x11223344); /* offset 4, MCR: low byte only */
	hostile_expect(inb(UART_MCR) == 0x04, "32-bit write at MCR", inb(UART_MCR));
	outb(UART_MCR, MCR_LOOP);
	hostile_expect(inl(UART_LSR) == 0xffffffffU, "32-bit read across COM1's end",
		       inl(UART_LSR));
	outw(UART_SCR, 0x7777); /* across the end: dropped */
	outb(UART_SCR, 0x5a);
	outw(UART_SCR, 0x1111);
	hostile_expect(inb(UART_SCR) == 0x5a, "16-bit write across COM1's end reached SCR",
		       inb(UART_SCR));
	for (unsigned int i = 0; i < 40; i++) /* FIFO overrun in loopback */
		outb(UART_THR, (uint8_t)i);
	(void)inb(UART_LSR);
	outb(UART_IIR, 0x07);
	outb(UART_MCR, 0);
	hostile_expect((inb(UART_LSR) & LSR_DR) == 0, "FIFO not cleared", inb(UART_LSR));
}

static void case_pio_cmos(void)
{
	outb(0x70, 0xff); /* index 0x7f, NMI mask bit set */
	outb(0x71, 0xa7);
	outb(0x70, 0x7f);
	hostile_expect(inb(0x71) == 0xa7, "NVRAM 0x7f through index 0xff", inb(0x71));
	outw(0x70, 0x337e); /* index 0x7e; the 0x33 is not a data write */
	outb(0x71, 0x11);
	outb(0x70, 0x7e);
	hostile_expect(inb(0x71) == 0x11, "16-bit index write", inb(0x71));
	hostile_expect(inw(0x70) == 0, "16-bit read of the index port", inw(0x70));
	hostile_expect(inw(0x71) == 0xffff && inl(0x70) == 0xffffffffU,
		       "wide reads across the RTC's end", inl(0x70));
	outl(0x70, 0x0000007f);
	outb(0x70, 0x7f);
	hostile_expect(inb(0x71) == 0xa7, "32-bit write across the end changed the index",
		       inb(0x71));
	for (unsigned int i = 0; i < 256; i++) { /* every index, read and write */
		outb(0x70, (uint8_t)i);
		(void)inb(0x71);
		if ((i & 0x7f) >= 0x0e)
			outb(0x71, (uint8_t)i);
	}
	outb(0x70, 0x8e);
	hostile_expect(inb(0x71) == 0x8e, "NVRAM 0x0e", inb(0x71));
	outb(0x70, 0x0b);
	hostile_expect((inb(0x71) & 0x02) != 0, "register B lost 24-hour mode", 0);
}

/* Wide writes of the values that stop the VM, to ports whose device is
 * one byte wide: unclaimed, so dropped, and the VM runs on. */
static void case_pio_wide_stop(void)
{
	outw(PETREL_EXIT_PORT, 7);
	outl(PETREL_EXIT_PORT, 7);
	outw(PETREL_EXIT_PORT - 1, 0x0707); /* 0x500-0x501 */
	outw(PETREL_I8042_CMD_PORT, PETREL_I8042_CMD_RESET);
	outl(PETREL_I8042_CMD_PORT, PETREL_I8042_CMD_RESET);
	outb(PETREL_I8042_CMD_PORT, 0xd1);
	outw(PETREL_I8042_DATA_PORT, 0x0000); /* output port write with reset low */
	outw(PETREL_ACPI_SLEEP_CTL_PORT, PETREL_ACPI_SLP_EN | PETREL_ACPI_S5_TYP << 2);
	outl(PETREL_ACPI_SLEEP_CTL_PORT, PETREL_ACPI_SLP_EN | PETREL_ACPI_S5_TYP << 2);
	outb(PETREL_ACPI_SLEEP_CTL_PORT, PETREL_ACPI_SLP_EN | 3 << 2); /* S3: not offered */
	outw(PETREL_PVPANIC_PORT, PETREL_PVPANIC_PANICKED);
	outl(PETREL_PVPANIC_PORT, PETREL_PVPANIC_PANICKED);
	outb(PETREL_PVPANIC_PORT, PETREL_PVPANIC_CRASH_LOADED); /* logged, runs on */
	hostile_expect(inb(PETREL_PVPANIC_PORT) == 3, "pvpanic events", inb(PETREL_PVPANIC_PORT));
	hostile_expect(inw(PETREL_PVPANIC_PORT) == 0xffff, "16-bit pvpanic read",
		       inw(PETREL_PVPANIC_PORT));
	/* no data, not inhibited, system flag, a command written last */
	hostile_expect(inb(PETREL_I8042_CMD_PORT) == 0x1c, "i8042 status",
		       inb(PETREL_I8042_CMD_PORT));
	hostile_expect(inw(PETREL_I8042_DATA_PORT) == 0xffff, "16-bit i8042 read", 0);
	hostile_expect(inl(PETREL_HYPERCALL_PORT) == 0xffffffffU && inb(0x513) == 0xff,
		       "hypercall port reads", 0);
	outb(PETREL_HYPERCALL_PORT, 0);
	outw(0x512, 0);
	outl(0x511, 0); /* across the port's end */
}

static uint8_t strbuf[65536] __attribute__((aligned(64)));

static void rep_ins(unsigned int w, uint16_t port, uint64_t dst, uint64_t n)
{
	if (w == 1)
		__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
	else if (w == 2)
		__asm__ volatile("rep insw" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
	else
		__asm__ volatile("rep insl" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
}

static void rep_outsb(uint16_t port, uint64_t src, uint64_t n)
{
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(port) : "memory");
}

static unsigned int count_not(const uint8_t *p, unsigned int n, uint8_t v)
{
	unsigned int bad = 0;

	for (unsigned int i = 0; i < n; i++)
		bad += p[i] != v;
	return bad;
}

/* String I/O: one exit carries many elements (kvm_run io.count > 1), from
 * and into RAM, the MMIO hole and across the end of RAM (hypercalls in
 * string I/O: hostile_hypercall.c). */
static void case_pio_string(void)
{
	unsigned int bad = 0;

	rep_ins(1, 0x2f0, (uint64_t)strbuf, sizeof(strbuf));
	hostile_expect(count_not(strbuf, sizeof(strbuf), 0xff) == 0,
		       "rep insb from an unclaimed port", count_not(strbuf, sizeof(strbuf), 0xff));
	for (unsigned int i = 0; i < sizeof(strbuf); i++)
		strbuf[i] = (uint8_t)i;
	rep_outsb(0x2f0, (uint64_t)strbuf, sizeof(strbuf));
	/* Loopback: 4 KiB into a 16-byte FIFO keeps the first 16. */
	outb(UART_MCR, MCR_LOOP);
	outb(UART_IIR, 0x07);
	rep_outsb(UART_THR, (uint64_t)strbuf + 0x20, 4096);
	memset(strbuf, 0, 64);
	rep_ins(1, UART_THR, (uint64_t)strbuf, 32);
	for (unsigned int i = 0; i < 32; i++)
		bad += strbuf[i] != (i < 16 ? 0x20 + i : 0);
	hostile_expect(bad == 0, "loopback FIFO after rep outsb", bad);
	outb(UART_MCR, 0);
	(void)inb(UART_LSR);
	rep_ins(2, UART_THR, (uint64_t)strbuf, 100);
	hostile_expect(count_not(strbuf, 200, 0) == 0, "rep insw from an empty RBR", 0);
	/* Memory operands outside RAM: MMIO exits inside string I/O. */
	rep_ins(1, 0x2f0, 0xe0000000ULL, 16);
	rep_outsb(0x2f0, 0xe0000000ULL, 16);
	rep_ins(4, COM1, PETREL_IOAPIC_ADDR + 0x40, 4);
	*(volatile uint64_t *)(ram_end - 8) = 0;
	rep_ins(1, 0x2f0, ram_end - 8, 16);
	hostile_expect(*(volatile uint64_t *)(ram_end - 8) == ONES, "rep insb across RAM's end", 0);
	rep_outsb(0x2f0, ram_end - 8, 16);
	/* Backwards (DF=1). */
	memset(strbuf, 0, 100);
	__asm__ volatile("std" ::: "memory");
	rep_ins(1, 0x2f0, (uint64_t)strbuf + 99, 100);
	__asm__ volatile("cld" ::: "memory");
	hostile_expect(count_not(strbuf, 100, 0xff) == 0, "rep insb with DF=1", 0);
}

/* ------------------------------------------------ boot structures, images */

/* A crafted image that petrel must boot (tests/hostile/images.py), then
 * the guest wrecks everything the loader left in RAM: GDT, boot stack,
 * start_info and memory map, zero page, page tables, command line, ACPI
 * tables. petrel built them once and never reads them again. */
static void case_boot_rewrite(void)
{
	int bz = strncmp(hostile_name, "bz-", 3) == 0;

	hostile_expect(boot.kind == (bz ? BOOT_KIND_LINUX : BOOT_KIND_PVH),
		       "booted by the wrong protocol", (uint64_t)boot.kind);
	if (bz)
		hostile_expect(*(volatile uint64_t *)(boot.info_paddr + 0x250) == 0,
			       "boot_params.setup_data is the image's, not 0",
			       *(volatile uint64_t *)(boot.info_paddr + 0x250));
	memset((void *)0x500, 0xa5, 0x10000 - 0x500);
	memset((void *)0x20000, 0xa5, 0x1000);
	memset((void *)0xe0000, 0x5a, 0x20000);
}

static const struct hostile_case cases[] = {
	{ "mmio-hole", case_mmio_hole, false },
	{ "mmio-high", case_mmio_high, false },
	{ "mmio-maxphys", case_mmio_maxphys, true },
	{ "lapic-bad", case_lapic_bad, true },
	{ "ioapic-regs", case_ioapic_regs, false },
	{ "ioapic-bad-rte", case_ioapic_bad_rte, true },
	{ "irq-level-storm", case_irq_level_storm, true },
	{ "irq-mask-toggle", case_irq_mask_toggle, true },
	{ "irq-thr-flood", case_irq_thr_flood, true },
	{ "pio-sweep", case_pio_sweep, false },
	{ "pio-uart", case_pio_uart, false },
	{ "pio-cmos", case_pio_cmos, false },
	{ "pio-wide-stop", case_pio_wide_stop, false },
	{ "pio-string", case_pio_string, false },
	{ "boot-rewrite", case_boot_rewrite, false },
	{ "bz-plain", case_boot_rewrite, false },
	{ "bz-align-0", case_boot_rewrite, false },
	{ "bz-align-odd", case_boot_rewrite, false },
	{ "bz-setup-data", case_boot_rewrite, false },
	{ "elf-plain", case_boot_rewrite, false },
	{ "elf32-plain", case_boot_rewrite, false },
};

int guest_main(void)
{
	ram_end = hostile_ram_end();
	map_high();
	hostile_main(cases, sizeof(cases) / sizeof(cases[0]));
}
