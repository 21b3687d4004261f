/* SPDX-License-Identifier: MIT */
/*
 * Starts every AP the way firmware does: INIT, SIPI, SIPI (broadcast to all
 * but self) through the local APIC to a real-mode trampoline at TRAMP_BASE.
 * The CPU count comes from "cpus=N" on the command line, else from the ACPI
 * MADT (enabled processor-local-APIC entries). Each AP prints "cpu N up"
 * under a spinlock; the BSP waits, then prints "smp: N cpus up".
 */
#include "rt.h"
#include "smp.h"

static volatile uint32_t print_lock;
static volatile uint32_t cpus_up = 1;

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
	uint32_t id = smp_apic_id();

	spin_lock(&print_lock);
	printf("cpu %u up (apic id %u, cpl %u)\n", index, id, current_cpl());
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_SEQ_CST);
	spin_unlock(&print_lock);
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
	printf("smp: bsp apic id %u, cmdline cpus=%ld, madt cpus=%d (rsdp %#lx)\n", smp_apic_id(),
	       want, madt, (unsigned long)boot.rsdp);
	if (want < 0)
		want = madt;
	if (want < 1 || want > MAX_CPUS) {
		printf("smp: bad cpu count %ld\n", want);
		return 2;
	}
	if (madt > 0 && madt != want)
		printf("smp: warning: MADT lists %d cpus, expecting %ld\n", madt, want);
	if (want > 1)
		smp_start_aps();
	/* Each spin is a few emulated instructions (~5 us here): ~20 s max. */
	while (__atomic_load_n(&cpus_up, __ATOMIC_SEQ_CST) < (uint32_t)want && ++spins < 4000000)
		__asm__ volatile("pause");
	spin_lock(&print_lock);
	printf("smp: %u cpus up\n", cpus_up);
	spin_unlock(&print_lock);
	return cpus_up == (uint32_t)want ? 0 : 1;
}
