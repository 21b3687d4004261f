/* SPDX-License-Identifier: MIT */
/*
 * Hostile guest, many-vCPU half (tests/hostile/smp.cases, run with
 * --cpus 4): every vCPU attacks one device at once, or one vCPU stops the
 * VM while the others are busy in exits, stuck at CPL0 or never started.
 * A shared device must keep a state that some sequence of whole accesses
 * could have produced (each CPU checks what it reads, the BSP checks what
 * is left), and petrel must stop when asked, with the status asked for,
 * whatever the other vCPUs are doing.
 *
 * The BSP starts the APs at CPL0 (INIT, SIPI, SIPI to each APIC ID, into
 * guests/lib's trampoline like guests/smp.c). The attacks run at CPL3,
 * natively on PVM hosts, so that the vCPUs' exits really overlap;
 * interrupts stay off there. A CPU's failed check is kept in its own slot
 * and turned into hostile_expect() by the BSP once every CPU is done.
 */
#include "hc.h"
#include "hostile.h"
#include "rt.h"

#define NCPU 4 /* --cpus in smp.cases */
#define LAPIC_ICR_LO (PETREL_LAPIC_ADDR + 0x300)
#define LAPIC_ICR_HI (PETREL_LAPIC_ADDR + 0x310)
#define ICR_BUSY (1U << 12)
#define ICR_INIT 0x4500U /* INIT, level assert */
#define ICR_SIPI 0x4600U
#define IOREGSEL PETREL_IOAPIC_ADDR
#define IOWIN (PETREL_IOAPIC_ADDR + 0x10)
#define RTE_MASKED (1U << 16)
#define COM1 PETREL_COM1_PORT
#define UART_THR (COM1 + 0)
#define UART_IER (COM1 + 1)
#define UART_IIR (COM1 + 2)
#define UART_LCR (COM1 + 3)
#define UART_MCR (COM1 + 4)
#define UART_LSR (COM1 + 5)
#define UART_SCR (COM1 + 7)
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
/* TSC cycles: about a second on the hosts this runs on; only a bound. */
#define TSC_SECOND 3000000000ULL

extern const char tramp_start[], tramp_end[];

static uint64_t ram_end;

/* ------------------------------------------------------- the CPUs' harness */

static volatile uint32_t cpus_up = 1, arrived, finished, go;
static volatile uint64_t progress[NCPU];
static void (*volatile ap_job)(unsigned int cpu);
static void (*volatile work)(unsigned int cpu);

static struct {
	const char *what;
	uint64_t got;
	unsigned int n;
} cpu_failed[NCPU];

static void check(unsigned int cpu, int ok, const char *what, uint64_t got)
{
	if (ok || cpu_failed[cpu].n++)
		return;
	cpu_failed[cpu].what = what;
	cpu_failed[cpu].got = got;
}

static void pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Waits until *v >= want, at most `cycles` TSC cycles; whether it got there. */
static int wait_for(volatile uint32_t *v, uint32_t want, uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	while (__atomic_load_n(v, __ATOMIC_ACQUIRE) < want)
		if (rdtsc() - t0 > cycles)
			return 0;
		else
			pause();
	return 1;
}

static void delay(uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < cycles)
		pause();
}

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	mmio_write32(LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000 && (mmio_read32(LAPIC_ICR_LO) & ICR_BUSY); i++)
		;
}

/* At CPL0: starts the APs whose APIC IDs are bits of `ids`, each running
 * job(index 1..) at CPL0, and waits until `want` CPUs run. The waits are
 * the MP specification's (10 ms after INIT, 200 us between SIPIs): on
 * this project's PVM host an AP sent INIT, SIPI, SIPI back to back
 * sometimes never starts. */
static void smp_start(void (*job)(unsigned int), uint32_t ids, uint32_t want)
{
	ap_job = job;
	memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
	for (uint32_t id = 1; id < NCPU; id++) {
		if (!(ids & (1U << id)))
			continue;
		icr_send(id, ICR_INIT);
		delay(TSC_SECOND / 100);
		icr_send(id, ICR_SIPI | (TRAMP_BASE >> 12));
		delay(TSC_SECOND / 5000);
		icr_send(id, ICR_SIPI | (TRAMP_BASE >> 12));
	}
	if (!wait_for(&cpus_up, want, 20 * TSC_SECOND))
		hostile_expect(0, "APs that came up", cpus_up);
}

void ap_main(unsigned int index)
{
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	ap_job(index);
}

/* enter_user reloads the one TSS, whose descriptor turns busy on each
 * load: one CPU at a time, the lock released once at CPL3. */
static volatile uint32_t user_lock;
static void (*volatile user_job)(unsigned int cpu);
static volatile unsigned int user_cpu;
static uint8_t user_stacks[NCPU][8192] __attribute__((aligned(16)));

static void user_entry(void)
{
	void (*job)(unsigned int) = user_job;
	unsigned int cpu = user_cpu;

	__atomic_store_n(&user_lock, 0, __ATOMIC_RELEASE);
	job(cpu);
	for (;;) /* an AP's job is done; the BSP's never returns */
		pause();
}

__attribute__((noreturn)) static void smp_user(unsigned int cpu, void (*job)(unsigned int))
{
	while (__atomic_exchange_n(&user_lock, 1, __ATOMIC_ACQUIRE))
		pause();
	user_job = job;
	user_cpu = cpu;
	enter_user(user_entry, user_stacks[cpu] + sizeof(user_stacks[cpu]));
}

/* ------------------------------------------------ everyone at once (CPL3) */

static void (*volatile final_check)(void);

/* All CPUs start work() together; the BSP waits for the others, checks
 * what they left and finishes. */
static void hammer(unsigned int cpu)
{
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	wait_for(&arrived, NCPU, 20 * TSC_SECOND);
	work(cpu);
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	if (cpu)
		return;
	if (!wait_for(&finished, NCPU, 60 * TSC_SECOND))
		hostile_expect(0, "CPUs that finished", finished);
	for (unsigned int c = 0; c < NCPU; c++)
		hostile_expect(!cpu_failed[c].n, cpu_failed[c].what, cpu_failed[c].got);
	if (final_check)
		final_check();
	hostile_done();
}

static void ap_hammer(unsigned int cpu)
{
	smp_user(cpu, hammer);
}

static void smp_hammer(void (*fn)(unsigned int), void (*fin)(void))
{
	work = fn;
	final_check = fin;
	smp_start(ap_hammer, 0xe, NCPU);
	smp_user(0, hammer);
}

/* I/O APIC: select and window from every CPU, interleaved on pins 16 and
 * 17 (no device's; few registers, so that writes to one meet). The
 * values tie the fields of one 32-bit write together, so a read-back that
 * is not one whole write (read-only bits dropped) shows: low halves carry
 * the CPU in the delivery mode and in vector bits 6-7, edge, one write in
 * 16 unmasked (the pin's KVM route changes; the line stays idle, nothing
 * is delivered); high halves carry the CPU in the destination's top
 * nibble. Another CPU's select may land a value in the other half of
 * either pin: that is how the chip behaves. */
#define PIN0 16
#define NPIN 2

static uint32_t rte_value(unsigned int cpu, unsigned int i)
{
	return (cpu + 1) << 28 | (i & 0xf) << 24 | ((i & 15) ? RTE_MASKED : 0) |
	       0x5000 /* read-only bits */ | cpu << 8 | cpu << 6 | (i & 0x3f);
}

static int rte_valid(uint32_t r)
{
	int low = !(r & ~0x1ffffU) && !(r & 0xf800) && ((r >> 8) & 7) == ((r >> 6) & 3);
	int high = !(r & 0xffffff) && (r >> 28) >= 1 && (r >> 28) <= NCPU;

	return low || high || r == 0; /* 0: a high half not written yet */
}

static void ioapic_work(unsigned int cpu)
{
	for (unsigned int i = 0; i < 1500; i++) {
		uint32_t reg = 0x10 + 2 * (PIN0 + (i + 3 * cpu) % NPIN) + (i & 1), r;

		mmio_write32(IOREGSEL, reg);
		mmio_write32(IOWIN, rte_value(cpu, i));
		r = mmio_read32(IOWIN);
		check(cpu, rte_valid(r), "a redirection entry no CPU wrote", r);
		r = mmio_read32(IOREGSEL);
		check(cpu, r >= 0x10 + 2 * PIN0 && r < 0x10 + 2 * (PIN0 + NPIN),
		      "IOREGSEL no CPU wrote", r);
	}
}

static uint32_t ioapic_rd(uint32_t reg)
{
	mmio_write32(IOREGSEL, reg);
	return mmio_read32(IOWIN);
}

static void ioapic_fin(void)
{
	uint32_t r;

	for (uint32_t reg = 0x10; reg < 0x10 + 2 * 24; reg++) {
		r = ioapic_rd(reg);
		if (reg >= 0x10 + 2 * PIN0 && reg < 0x10 + 2 * (PIN0 + NPIN))
			hostile_expect(rte_valid(r), "an entry left that no CPU wrote", r);
		else
			hostile_expect(r == ((reg & 1) ? 0 : RTE_MASKED), "another pin touched",
				       reg);
	}
	hostile_expect(ioapic_rd(0) == 0 && ioapic_rd(1) == 0x170011, "ID or version changed",
		       ioapic_rd(1));
	/* Alone again: the model answers exactly. */
	for (uint32_t reg = 0x10 + 2 * PIN0; reg < 0x10 + 2 * (PIN0 + NPIN); reg++) {
		mmio_write32(IOREGSEL, reg);
		mmio_write32(IOWIN, 0xffffffffU);
		r = mmio_read32(IOWIN);
		hostile_expect(r == ((reg & 1) ? 0xff000000U : 0x1afffU),
			       "an entry after the storm", r);
		mmio_write32(IOWIN, (reg & 1) ? 0 : RTE_MASKED);
	}
}

static void case_smp_ioapic(void)
{
	smp_hammer(ioapic_work, ioapic_fin);
}

/* Hypercalls whose blocks the next CPU rewrites while they are in flight:
 * the pointer (one aligned 8-byte store, so petrel's one copy sees a
 * whole one) between two buffers and addresses outside RAM, the call
 * between CONSOLE_WRITE and NOP. petrel must act on one copy: each call
 * prints one whole buffer (ret HC_LEN), or fails (-EFAULT, or -EINVAL
 * for a NOP with arguments). A petrel that checked one pointer and used
 * another would print past the end of RAM, starting with the bait left
 * in RAM's last bytes, which the runner reads as a failure. */
#define HC_LEN 32
#define BAIT "\nHOSTILE FAIL smp-hc TOCTOU\n"

static struct petrel_hc_block hc_blocks[NCPU] __attribute__((aligned(64)));
static const char hc_text[2][HC_LEN + 1] = {
	"smp-hc: buffer A, printed whole\n",
	"smp-hc: buffer B, printed whole\n",
};
static uint64_t hc_ptrs[6];
static volatile uint32_t hc_printed;

static void hc_work(unsigned int cpu)
{
	struct petrel_hc_block *own = &hc_blocks[cpu], *next = &hc_blocks[(cpu + 1) % NCPU];
	uint32_t printed = 0;

	hc_prepare(own, PETREL_HC_CONSOLE_WRITE);
	own->arg[0] = (uint64_t)hc_text[cpu & 1];
	own->arg[1] = HC_LEN;
	for (unsigned int i = 0; i < 1500; i++) {
		int64_t r = hc_call(own);

		check(cpu, r == HC_LEN || r == -PETREL_HC_EFAULT || r == -PETREL_HC_EINVAL,
		      "CONSOLE_WRITE of a rewritten block", (uint64_t)r);
		printed += r == HC_LEN;
		for (unsigned int k = 0; k < 32768; k++) {
			__atomic_store_n(&next->arg[0], hc_ptrs[(i + k) % 6], __ATOMIC_RELAXED);
			if (k == 10000 && (i & 3) == 0)
				__atomic_store_n(&next->nr, PETREL_HC_NOP, __ATOMIC_RELAXED);
			else if (k == 20000)
				__atomic_store_n(&next->nr, PETREL_HC_CONSOLE_WRITE,
						 __ATOMIC_RELAXED);
		}
	}
	__atomic_add_fetch(&hc_printed, printed, __ATOMIC_SEQ_CST);
}

static void hc_fin(void)
{
	/* The owner sets a good pointer just before each call: most print. */
	hostile_expect(hc_printed > 0, "no CONSOLE_WRITE printed", hc_printed);
}

static void case_smp_hc(void)
{
	memcpy((void *)(ram_end - sizeof(BAIT) + 1), BAIT, sizeof(BAIT) - 1);
	hc_ptrs[0] = (uint64_t)hc_text[0];
	hc_ptrs[1] = ram_end - sizeof(BAIT) + 1; /* crosses RAM's end */
	hc_ptrs[2] = (uint64_t)hc_text[1];
	hc_ptrs[3] = 0xfffffffffffffff0ULL;
	hc_ptrs[4] = (uint64_t)hc_text[0];
	hc_ptrs[5] = PETREL_IOAPIC_ADDR;
	smp_hammer(hc_work, hc_fin);
}

/* COM1 from every CPU: bytes, interrupt enables, DLAB and loopback
 * toggles, FIFO clears, and reads of every register, each of which must
 * be a value the 16550A could show for some order of the writes. The
 * interrupt line goes through the I/O APIC (pin 4 masked) meanwhile.
 * Then, alone, the UART must work exactly: loopback, divisor, FIFO. */
static void uart_work(unsigned int cpu)
{
	for (unsigned int i = 0; i < 1500; i++) {
		uint8_t v;

		switch ((i + cpu) % 8) {
		case 0:
			outb(UART_THR, (uint8_t)('a' + cpu)); /* or DLL, with DLAB */
			break;
		case 1:
			outb(UART_IER, (i & 8) ? 0x02 : 0); /* or DLM */
			break;
		case 2:
			outb(UART_LCR, (i & 16) ? 0x83 : 0x03);
			break;
		case 3:
			outb(UART_MCR, MCR_OUT2 | ((i & 32) ? MCR_LOOP : 0));
			break;
		case 4:
			v = inb(UART_IIR);
			check(cpu, (v & 0x3f) == 0x01 || (v & 0x3f) == 0x02, "IIR", v);
			check(cpu, (v & 0xc0) == 0 || (v & 0xc0) == 0xc0, "IIR FIFO bits", v);
			v = inb(UART_LSR);
			check(cpu, (v & 0xfe) == 0x60 || (v & 0xfe) == 0x62, "LSR", v);
			break;
		case 5:
			v = inb(UART_THR);
			check(cpu, v == 0 || (v >= 'a' && v < 'a' + NCPU), "RBR or DLL", v);
			v = inb(UART_IER);
			check(cpu, v == 0 || v == 0x02, "IER or DLM", v);
			break;
		case 6:
			v = inb(UART_LCR);
			check(cpu, v == 0x03 || v == 0x83, "LCR", v);
			v = inb(UART_MCR);
			check(cpu, v == MCR_OUT2 || v == (MCR_OUT2 | MCR_LOOP), "MCR", v);
			break;
		default:
			outb(UART_IIR, 0x07); /* FIFO on, both cleared */
			outb(UART_SCR, (uint8_t)(cpu << 4 | (i & 0xf)));
			v = inb(UART_SCR);
			check(cpu, v >> 4 < NCPU, "SCR", v);
			break;
		}
	}
}

static void uart_fin(void)
{
	static const char msg[] = "0123456789abcdef";
	unsigned int bad = 0;

	outb(UART_LCR, 0x83);
	outb(UART_THR, 0x01);
	outb(UART_IER, 0x00);
	hostile_expect(inb(UART_THR) == 0x01 && inb(UART_IER) == 0, "divisor latch", inb(UART_THR));
	outb(UART_LCR, 0x03);
	outb(UART_IER, 0);
	outb(UART_IIR, 0x07);
	outb(UART_MCR, MCR_LOOP);
	(void)inb(UART_LSR);
	for (unsigned int i = 0; i < 16; i++)
		outb(UART_THR, (uint8_t)msg[i]);
	for (unsigned int i = 0; i < 16; i++)
		bad += inb(UART_THR) != (uint8_t)msg[i];
	hostile_expect(bad == 0, "loopback FIFO after the storm", bad);
	hostile_expect(inb(UART_LSR) == 0x60, "LSR after the FIFO emptied", inb(UART_LSR));
	outb(UART_MCR, 0);
	hostile_expect(inb(UART_IIR) == 0xc1, "IIR after the storm", inb(UART_IIR));
	outb(UART_SCR, 0xa5);
	hostile_expect(inb(UART_SCR) == 0xa5, "SCR", inb(UART_SCR));
}

static void case_smp_uart(void)
{
	smp_hammer(uart_work, uart_fin);
}

/* Unclaimed ports and MMIO (and the quiet absent PCI and COM2 ports) from
 * every CPU: every read all-ones, every write dropped. */
static void unclaimed_work(unsigned int cpu)
{
	static const uint64_t mmio[] = { 0xc0000000ULL, 0xd0001000ULL, 0xd1fffff8ULL, 0xfed00000ULL,
					 0xfffffff8ULL };

	for (unsigned int i = 0; i < 400; i++) {
		uint16_t port = (uint16_t)(0x2f0 + (i + cpu) % 8);
		volatile uint64_t *m = (volatile uint64_t *)mmio[(i + cpu) % 5];
		uint64_t r;

		outb(port, (uint8_t)i);
		check(cpu, inb(port) == 0xff, "unclaimed port read", port);
		outl(0x100 + 4 * (i % 64), i);
		check(cpu, inl(0x100 + 4 * (i % 64)) == 0xffffffffU, "unclaimed port 0x100+", i);
		outl(0xcf8, 0x80000000U | cpu << 11);
		check(cpu, inl(0xcfc) == 0xffffffffU, "PCI config data", cpu);
		check(cpu, inw(0x2f8 + cpu) == 0xffff, "COM2", cpu);
		*m = 0x5a5a5a5a5a5a5a5aULL;
		r = *m;
		check(cpu, r == ~0ULL, "unclaimed MMIO read", (uint64_t)m);
	}
}

static void unclaimed_fin(void)
{
	hostile_expect(*(volatile uint32_t *)0xd0001000ULL == 0xffffffffU,
		       "MMIO hole after the storm", 0);
}

static void case_smp_unclaimed(void)
{
	smp_hammer(unclaimed_work, unclaimed_fin);
}

/* Output from every CPU at once: the BSP 125 KiB through the console
 * hypercall, more than a pipe holds, the APs bytes through COM1. The
 * guest suite's stop-stdout-full stops petrel while these vCPUs are
 * blocked on a stdout that nobody reads: one in the hypercall's write,
 * one in COM1's while holding its lock, the others waiting for the lock. */
static void flood_work(unsigned int cpu)
{
	static const char line[] = "smp-flood: 64 bytes through the console hypercall, in one go\n";

	for (unsigned int i = 0; i < 2048; i++) {
		if (cpu) {
			outb(UART_THR, (uint8_t)('a' + cpu));
			continue;
		}
		int64_t r = hc_console_write(line, sizeof(line) - 1);

		check(cpu, r == sizeof(line) - 1, "CONSOLE_WRITE", (uint64_t)r);
	}
}

static void case_smp_flood(void)
{
	smp_hammer(flood_work, NULL);
}

/* ------------------------------------------- stopping a busy or stuck VM */

/* Exits of every kind, as fast as a CPU at CPL3 can make them. */
static void busy(unsigned int cpu)
{
	struct petrel_hc_block b;

	for (;;) {
		(void)inb(0x2f0);
		(void)inb(UART_LSR);
		(void)mmio_read32(IOREGSEL);
		*(volatile uint32_t *)0xd0001000ULL = cpu;
		hc_prepare(&b, PETREL_HC_TIME);
		(void)hc_call(&b);
		__atomic_add_fetch(&progress[cpu], 1, __ATOMIC_RELAXED);
	}
}

static __attribute__((noreturn)) void triple_fault(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = { 0, 0 };

	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty_idt));
	halt_forever();
}

/* The vCPU that stops the VM: the last AP. */
static void stop_now(void)
{
	if (!strncmp(hostile_name, "smp-exit-port", sizeof(hostile_name)))
		outb(PETREL_EXIT_PORT, 7);
	else if (!strncmp(hostile_name, "smp-poweroff", sizeof(hostile_name)))
		outb(PETREL_ACPI_SLEEP_CTL_PORT, PETREL_ACPI_SLP_EN | PETREL_ACPI_S5_TYP << 2);
	else
		triple_fault(); /* at CPL0: smp-triple-fault */
}

static void stopper(unsigned int cpu)
{
	wait_for(&go, 1, 60 * TSC_SECOND);
	stop_now();
	busy(cpu); /* the VM did not stop: the BSP says so */
}

static void ap_stop_case(unsigned int cpu)
{
	int cpl0 = !strncmp(hostile_name, "smp-triple-fault", sizeof(hostile_name));

	if (cpu != NCPU - 1)
		smp_user(cpu, busy);
	if (cpl0)
		stopper(cpu);
	smp_user(cpu, stopper);
}

/* The BSP, at CPL3: once every other CPU is making exits, the verdict
 * on petrel so far, then the go; the VM must stop within seconds. */
static void bsp_stop_case(unsigned int cpu)
{
	uint64_t t0;

	for (unsigned int c = 1; c < NCPU - 1; c++) {
		t0 = rdtsc();
		while (!progress[c] && rdtsc() - t0 < 20 * TSC_SECOND)
			pause();
		hostile_expect(progress[c] != 0, "an AP made no exits", c);
	}
	hostile_report();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (t0 = rdtsc(); rdtsc() - t0 < 20 * TSC_SECOND;) {
		(void)inb(0x2f0);
		(void)hc_nop();
	}
	hostile_check(false, "still running 20 s after the stop (cpu %u)", cpu);
	guest_exit(1);
}

static void case_smp_stop(void)
{
	smp_start(ap_stop_case, 0xe, NCPU);
	smp_user(0, bsp_stop_case);
}

/* APIC ID 3 is only sent INIT, never started; the AP that comes up first spins at CPL0
 * with interrupts off (every instruction emulated on PVM hosts), the
 * other halts with interrupts off. The BSP then powers off or
 * triple-faults: petrel must stop all the same. */
static void stuck(unsigned int index)
{
	if (index == 1)
		for (;;)
			__asm__ volatile("" ::: "memory");
	halt_forever();
}

static void case_smp_stuck(void)
{
	uint64_t t0;

	smp_start(stuck, 0x6, NCPU - 1);
	icr_send(3, ICR_INIT); /* and left waiting for a SIPI */
	hostile_report();
	if (!strncmp(hostile_name, "smp-stuck-poweroff", sizeof(hostile_name)))
		outb(PETREL_ACPI_SLEEP_CTL_PORT, PETREL_ACPI_SLP_EN | PETREL_ACPI_S5_TYP << 2);
	else
		triple_fault();
	for (t0 = rdtsc(); rdtsc() - t0 < 20 * TSC_SECOND;)
		pause();
	hostile_check(false, "still running 20 s after the stop");
	guest_exit(1);
}

static const struct hostile_case cases[] = {
	{ "smp-ioapic", case_smp_ioapic, true },
	{ "smp-hc", case_smp_hc, true },
	{ "smp-uart", case_smp_uart, true },
	{ "smp-unclaimed", case_smp_unclaimed, true },
	{ "smp-flood", case_smp_flood, true },
	{ "smp-triple-fault", case_smp_stop, true },
	{ "smp-exit-port", case_smp_stop, true },
	{ "smp-poweroff", case_smp_stop, true },
	{ "smp-stuck-poweroff", case_smp_stuck, true },
	{ "smp-stuck-triple", case_smp_stuck, true },
};

int guest_main(void)
{
	ram_end = hostile_ram_end();
	hostile_main(cases, sizeof(cases) / sizeof(cases[0]));
}
