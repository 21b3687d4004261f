/* SPDX-License-Identifier: MIT */
#include "smp.h"

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

static void icr_send(uint32_t lo)
{
	mmio_write32(PETREL_LAPIC_ADDR + LAPIC_ICR_HI, 0);
	mmio_write32(PETREL_LAPIC_ADDR + LAPIC_ICR_LO, lo);
	for (int i = 0; i < 1000 && (mmio_read32(PETREL_LAPIC_ADDR + LAPIC_ICR_LO) & ICR_BUSY); i++)
		;
}

void smp_start_aps(void)
{
	memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
	icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (TRAMP_BASE >> 12));
	icr_send(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (TRAMP_BASE >> 12));
}

uint32_t smp_apic_id(void)
{
	return mmio_read32(PETREL_LAPIC_ADDR + LAPIC_ID) >> 24;
}

void spin_lock(volatile uint32_t *lock)
{
	uint32_t v;

	do {
		v = 1;
		__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(*lock) : : "memory");
	} while (v);
}

void spin_unlock(volatile uint32_t *lock)
{
	__asm__ volatile("" ::: "memory");
	*lock = 0;
}
