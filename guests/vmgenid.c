/* SPDX-License-Identifier: MIT */
/*
 * The VM generation ID as a guest without ACPI sees it, for the API
 * suite's clone case (tests/api/snapshot.sh): the 16 bytes at
 * PETREL_VMGENID_ADDR, and whether the Generic Event Device's interrupt
 * came. Its pin (PETREL_GED_GSI, edge) is routed to VECTOR on this CPU
 * with interrupts left off: an interrupt that arrives waits in the local
 * APIC's IRR, where the loop sees it, and no handler is needed. Prints
 *   vmgenid <32 hex digits> notified <0|1>
 * at the start and again whenever the ID or that IRR bit changes; never
 * exits.
 */
#include "rt.h"

#define VECTOR 0x31
#define LAPIC_SVR (PETREL_LAPIC_ADDR + 0xf0)
#define LAPIC_IRR (PETREL_LAPIC_ADDR + 0x200)
#define IOAPIC_SEL PETREL_IOAPIC_ADDR
#define IOAPIC_WIN (PETREL_IOAPIC_ADDR + 0x10)
#define SPIN 200000

static void read_id(uint8_t id[PETREL_VMGENID_LEN])
{
	const volatile uint8_t *p = (const volatile uint8_t *)PETREL_VMGENID_ADDR;

	for (unsigned int i = 0; i < PETREL_VMGENID_LEN; i++)
		id[i] = p[i];
}

static unsigned int notified(void)
{
	return (mmio_read32(LAPIC_IRR + 0x10 * (VECTOR / 32)) >> (VECTOR % 32)) & 1;
}

int guest_main(void)
{
	uint8_t id[PETREL_VMGENID_LEN], last[PETREL_VMGENID_LEN] = { 0 };
	unsigned int n, last_n = 2;

	__asm__ volatile("cli" ::: "memory");
	mmio_write32(LAPIC_SVR, 0x1ff); /* software-enable, spurious vector 0xff */
	mmio_write32(IOAPIC_SEL, 0x11 + 2 * PETREL_GED_GSI);
	mmio_write32(IOAPIC_WIN, 0); /* destination: APIC ID 0, this CPU */
	mmio_write32(IOAPIC_SEL, 0x10 + 2 * PETREL_GED_GSI);
	mmio_write32(IOAPIC_WIN, VECTOR); /* fixed, edge, active high, unmasked */
	for (;;) {
		read_id(id);
		n = notified();
		if (n != last_n || memcmp(id, last, sizeof(id)) != 0) {
			printf("vmgenid ");
			for (unsigned int i = 0; i < sizeof(id); i++)
				printf("%02x", id[i]);
			printf(" notified %u\n", n);
			memcpy(last, id, sizeof(id));
			last_n = n;
		}
		for (unsigned int i = 0; i < SPIN; i++)
			__asm__ volatile("pause" ::: "memory");
	}
}
