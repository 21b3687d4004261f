/* SPDX-License-Identifier: MIT */
/*
 * Touches a port and an MMIO address no device claims. The VMM must log
 * the access and carry on; reads of nothing should return all-ones.
 */
#include "rt.h"

#define BAD_PORT 0x2f0
#define BAD_MMIO 0xe0000000ULL /* in the 32-bit MMIO hole */

int guest_main(void)
{
	uint8_t b;
	uint16_t w;
	uint32_t l, m;
	uint8_t mb;

	outb(BAD_PORT, 0x5a);
	b = inb(BAD_PORT);
	w = inw(BAD_PORT);
	l = inl(BAD_PORT);
	printf("badio: port %#x: inb=%#x inw=%#x inl=%#x\n", BAD_PORT, b, w, l);

	mmio_write32(BAD_MMIO, 0x12345678);
	m = mmio_read32(BAD_MMIO);
	mb = *(volatile uint8_t *)(BAD_MMIO + 3);
	printf("badio: mmio %#lx: read32=%#x read8=%#x\n", (unsigned long)BAD_MMIO, m, mb);

	printf("badio: reads all-ones: %s\n",
	       (b == 0xff && w == 0xffff && l == 0xffffffffU && m == 0xffffffffU && mb == 0xff)
		   ? "yes"
		   : "no");
	puts_serial("badio survived\n");
	return 0;
}
