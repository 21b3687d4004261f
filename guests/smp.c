/* SPDX-License-Identifier: MIT */
/*
 * Starts every AP the way firmware does: INIT, SIPI, SIPI (broadcast to all
 * but self) through the local APIC to a real-mode trampoline at TRAMP_BASE.
 * The CPU count comes from "cpus=N" on the command line, else from the ACPI
 * MADT (enabled processor-local-APIC entries). Each AP prints "cpu N up"
 * under a spinlock; the BSP waits, then prints "smp: N cpus up".
 */
#include "rt.h"

#define LAPIC_ID 0x020
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_BUSY (1u << 12)
#define ICR_INIT 0x00000500u
#define ICR_SIPI 0x00000600u
#define ICR_ASSERT 0x00004000u
#define ICR_ALL_BUT_SELF 0x000c0000u

extern const char tramp_start[], tramp_end[];

static volatile uint32_t print_lock;
static volatile uint32_t cpus_up = 1;

static void lock(void)
{
	uint32_t v;

	do {
		v = 1;
		__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(print_lock) : : "memory");
	} while (v);
}

static void unlock(void)
{
	__asm__ volatile("" ::: "memory");
	print_lock = 0;
}

static uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(PETREL_LAPIC_ADDR + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(PETREL_LAPIC_ADDR + reg, v);
}

static void icr_send(uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, 0);
	lapic_write(LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Counts enabled LAPICs in the MADT; -1 when there are no usable tables. */
static int madt_cpus(uint64_t rsdp)
{
	const uint8_t *r = (const uint8_t *)rsdp;
	uint64_t sdt;
	int xsdt, entsz, n = 0;

	if (!rsdp || memcmp(r, "RSD PTR ", 8) || sum(r, 20))
		return -1;
	xsdt = r[15] >= 2 && *(const uint64_t *)(r + 24);
	sdt = xsdt ? *(const uint64_t *)(r + 24) : *(const uint32_t *)(r + 16);
	entsz = xsdt ? 8 : 4;
	if (!sdt || sdt >= PETREL_RAM_HOLE_START)
		return -1;
	const uint8_t *t = (const uint8_t *)sdt;
	uint32_t len = *(const uint32_t *)(t + 4);
	for (uint32_t off = 36; off + entsz <= len; off += entsz) {
		uint64_t a =
		    entsz == 8 ? *(const uint64_t *)(t + off) : *(const uint32_t *)(t + off);
		const uint8_t *m = (const uint8_t *)a;

		if (!a || a >= PETREL_RAM_HOLE_START || memcmp(m, "APIC", 4))
			continue;
		uint32_t mlen = *(const uint32_t *)(m + 4);
		for (uint32_t o = 44; o + 2 <= mlen && m[o + 1] >= 2; o += m[o + 1]) {
			if (m[o] == 0 && (*(const uint32_t *)(m + o + 4) & 1))
				n++;
			else if (m[o] == 9 && (*(const uint32_t *)(m + o + 12) & 1))
				n++;
		}
		return n;
	}
	return -1;
}

void ap_main(unsigned int index)
{
	uint32_t id = lapic_read(LAPIC_ID) >> 24;

	lock();
	printf("cpu %u up (apic id %u, cpl %u)\n", index, id, current_cpl());
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	unlock();
	halt_forever();
}

int guest_main(void)
{
	char val[16];
	long want = -1;
	int madt = madt_cpus(boot.rsdp);
	uint64_t spins = 0;

	if (cmdline_get("cpus", val, sizeof(val)) == 0)
		want = parse_ulong(val);
	printf("smp: bsp apic id %u, cmdline cpus=%ld, madt cpus=%d (rsdp %#lx)\n",
	       lapic_read(LAPIC_ID) >> 24, want, madt, (unsigned long)boot.rsdp);
	if (want < 0)
		want = madt;
	if (want < 1 || want > MAX_CPUS) {
		printf("smp: bad cpu count %ld\n", want);
		return 2;
	}
	if (madt > 0 && madt != want)
		printf("smp: warning: MADT lists %d cpus, expecting %ld\n", madt, want);
	if (want > 1) {
		memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
		icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
		icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (TRAMP_BASE >> 12));
		icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (TRAMP_BASE >> 12));
	}
	/* Each spin is a few emulated instructions (~5 us here): ~20 s max. */
	while (__atomic_load_n(&cpus_up, __ATOMIC_SEQ_CST) < (uint32_t)want && ++spins < 4000000)
		__asm__ volatile("pause");
	lock();
	printf("smp: %u cpus up\n", cpus_up);
	unlock();
	return cpus_up == (uint32_t)want ? 0 : 1;
}
