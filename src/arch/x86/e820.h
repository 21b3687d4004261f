/* SPDX-License-Identifier: MIT */
/* The guest memory map, in the e820 form both boot protocols carry. */
#ifndef PETREL_X86_E820_H
#define PETREL_X86_E820_H

#include <stdint.h>

#include "mem.h"

#define E820_RAM 1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fill `out` (room for `max`) with the map for gm: usable RAM below the
 * EBDA, the BIOS area (ACPI tables, the VM generation ID) reserved, RAM
 * from 1 MiB to the hole, RAM above 4 GiB. Returns the count, or -ENOSPC. */
int e820_build(const struct gm *gm, struct e820_entry *out, unsigned int max) MUST_CHECK;

#endif
