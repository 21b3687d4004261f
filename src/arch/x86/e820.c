/* SPDX-License-Identifier: MIT */
#include "arch/x86/e820.h"

#include <errno.h>

#include "arch/x86/layout.h"

/* The VM generation ID's page is reserved with the ACPI tables: Linux's
 * vmgenid maps it, and must not find it handed out as RAM. */
_Static_assert(PETREL_VMGENID_ADDR >= LAYOUT_ACPI_END &&
		   PETREL_VMGENID_ADDR + PETREL_VMGENID_LEN <= LAYOUT_BIOS_END,
	       "the VM generation ID must be in the reserved BIOS area, after the tables");

static int e820_add(struct e820_entry *out, unsigned int max, unsigned int *n, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (*n == max)
		return -ENOSPC;
	out[(*n)++] = (struct e820_entry){ addr, size, type };
	return 0;
}

int e820_build(const struct gm *gm, struct e820_entry *out, unsigned int max)
{
	unsigned int n = 0;
	int err;

	err = e820_add(out, max, &n, 0, LAYOUT_EBDA, E820_RAM);
	if (!err)
		err = e820_add(out, max, &n, LAYOUT_ACPI, LAYOUT_BIOS_END - LAYOUT_ACPI,
			       E820_RESERVED);
	for (unsigned int i = 0; !err && i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		uint64_t base = r->base, size = r->size;

		if (base < LAYOUT_KERNEL_MIN) { /* low region: its part above 1 MiB */
			if (base + size <= LAYOUT_KERNEL_MIN)
				continue;
			size -= LAYOUT_KERNEL_MIN - base;
			base = LAYOUT_KERNEL_MIN;
		}
		err = e820_add(out, max, &n, base, size, E820_RAM);
	}
	return err ? err : (int)n;
}
