/* SPDX-License-Identifier: MIT */
/* How a loaded kernel is entered: what the loaders (boot.h) decide and
 * the boot vCPU's registers (regs.h) are set from. */
#ifndef PETREL_X86_ENTRY_H
#define PETREL_X86_ENTRY_H

#include <stdint.h>

enum boot_mode {
	BOOT_LINUX64, /* 64-bit mode, paging on, rsi = boot_params */
	BOOT_PVH32,   /* 32-bit protected mode, paging off, ebx = hvm_start_info */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t arg; /* rsi or ebx */
};

#endif
