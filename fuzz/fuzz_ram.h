/* SPDX-License-Identifier: MIT */
/* Guest RAM for the device targets that fuzz through a fake guest memory. */
#ifndef FUZZ_RAM_H
#define FUZZ_RAM_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

/* Makes `gm` one RAM region of `ram_size` bytes at guest address 0, mapped
 * once per process (page-aligned and with no ASan redzone, as real guest
 * RAM), cleared, then filled with up to `n` bytes of `src`. 0, or -errno
 * from gm_add_region. */
static inline int fuzz_ram_load(struct gm *gm, size_t ram_size, const uint8_t *src, size_t n)
{
	static uint8_t *ram;

	if (!ram) {
		ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			   0);
		if (ram == MAP_FAILED)
			__builtin_trap();
	}
	memset(ram, 0, ram_size);
	memcpy(ram, src, n < ram_size ? n : ram_size);
	return gm_add_region(gm, 0, ram_size, ram);
}

#endif
