/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers for petrel's hypercalls (include/petrel/hypercall.h,
 * docs/hypercalls.md), usable at CPL0 and at CPL3 (the runtime's TSS lets
 * CPL3 use every port). The test runtime's page tables are an identity map
 * of the first 4 GiB, so a block's address is its guest-physical address;
 * blocks live on the stack or in .bss, both below 4 GiB and 8-byte aligned
 * by the struct's alignment.
 */
#ifndef GUEST_HC_H
#define GUEST_HC_H

#include <stdint.h>

#include "petrel/hypercall.h"
#include "petrel/platform.h"

/* A block for call `nr` with the current major, no flags, arguments 0. */
static inline void hc_prepare(struct petrel_hc_block *b, uint32_t nr)
{
	*b = (struct petrel_hc_block){ .nr = nr, .abi_major = PETREL_HC_ABI_MAJOR };
}

/* OUT the address `gpa` of a block the caller filled in. The "memory"
 * clobber orders the block's stores before the OUT and the result's loads
 * after it. */
static inline void hc_out(uint32_t gpa)
{
	__asm__ volatile("outl %0, %1"
			 :
			 : "a"(gpa), "Nd"((uint16_t)PETREL_HYPERCALL_PORT)
			 : "memory");
}

/* Make the call in *b: ret is preset to -ENOSYS, so a call petrel ignores
 * (or a VMM without the port) reads as unsupported. Returns b->ret. */
static inline int64_t hc_call(struct petrel_hc_block *b)
{
	b->ret = -PETREL_HC_ENOSYS;
	hc_out((uint32_t)(uintptr_t)b);
	return b->ret;
}

/* 0 and the versions, or a negative error (-ENOSYS: no hypercalls). */
static inline int64_t hc_version(uint64_t *abi_major, uint64_t *abi_minor, uint64_t *petrel)
{
	struct petrel_hc_block b;
	int64_t ret;

	hc_prepare(&b, PETREL_HC_VERSION);
	ret = hc_call(&b);
	if (ret == 0) {
		*abi_major = b.arg[0];
		*abi_minor = b.arg[1];
		*petrel = b.arg[2];
	}
	return ret;
}

static inline int64_t hc_nop(void)
{
	struct petrel_hc_block b;

	hc_prepare(&b, PETREL_HC_NOP);
	return hc_call(&b);
}

/* `len` bytes at `buf` to petrel's console. The length, or an error. */
static inline int64_t hc_console_write(const void *buf, uint64_t len)
{
	struct petrel_hc_block b;

	hc_prepare(&b, PETREL_HC_CONSOLE_WRITE);
	b.arg[0] = (uint64_t)(uintptr_t)buf;
	b.arg[1] = len;
	return hc_call(&b);
}

/* Host CLOCK_REALTIME and CLOCK_MONOTONIC in ns. 0, or an error. */
static inline int64_t hc_time(int64_t *realtime_ns, uint64_t *monotonic_ns)
{
	struct petrel_hc_block b;
	int64_t ret;

	hc_prepare(&b, PETREL_HC_TIME);
	ret = hc_call(&b);
	if (ret == 0) {
		*realtime_ns = (int64_t)b.arg[0];
		*monotonic_ns = b.arg[1];
	}
	return ret;
}

/* Ends the VM with exit status `status` (0..255). Returns only on error. */
static inline int64_t hc_shutdown(uint64_t status)
{
	struct petrel_hc_block b;

	hc_prepare(&b, PETREL_HC_SHUTDOWN);
	b.arg[0] = status;
	return hc_call(&b);
}

#endif
