/* SPDX-License-Identifier: MIT */
/*
 * petrel's guest -> VMM hypercall ABI (docs/hypercalls.md is the spec).
 *
 * A guest fills a struct petrel_hc_block in its RAM and writes the block's
 * guest-physical address with one 32-bit OUT to PETREL_HYPERCALL_PORT
 * (include/petrel/platform.h). When the OUT instruction completes, petrel
 * has handled the call and written `ret` and, per call, `arg[]`.
 *
 * Freestanding: only <stdint.h>, which C requires of freestanding
 * implementations (the compiler provides it, not libc). All fields are
 * little-endian.
 */
#ifndef PETREL_HYPERCALL_H
#define PETREL_HYPERCALL_H

#include <stdint.h>

/* Major: bumped for any incompatible change. Minor: bumped when calls are
 * added or an argument that had to be 0 gets a meaning. */
#define PETREL_HC_ABI_MAJOR 1
#define PETREL_HC_ABI_MINOR 0

/* The argument block: 48 bytes at an 8-byte-aligned guest-physical address
 * below 4 GiB, wholly inside one RAM region. The first 16 bytes and call
 * PETREL_HC_VERSION keep their meaning in every major version. */
struct petrel_hc_block {
	uint32_t nr;	    /* in: call number, PETREL_HC_* */
	uint16_t abi_major; /* in: PETREL_HC_ABI_MAJOR the guest was written for */
	uint16_t flags;	    /* in: 0 (reserved) */
	int64_t ret;	    /* out: >= 0 success, < 0 a negated PETREL_HC_E* */
	uint64_t arg[4];    /* in and out, per call; unused inputs must be 0 */
};

#define PETREL_HC_BLOCK_SIZE 48
#define PETREL_HC_BLOCK_ALIGN 8
_Static_assert(sizeof(struct petrel_hc_block) == PETREL_HC_BLOCK_SIZE, "block layout");

/* Calls. In: arguments the guest sets; out: what petrel writes back. */

/* In: nothing (every field but nr is ignored, whatever the major).
 * Out: ret 0; arg[0] ABI major, arg[1] ABI minor, arg[2] petrel's version
 * as PETREL_HC_PETREL_VERSION(major, minor, patch), arg[3] 0. */
#define PETREL_HC_VERSION 0
/* In: nothing. Out: ret 0. A round trip through petrel, for measuring. */
#define PETREL_HC_NOP 1
/* In: arg[0] guest-physical address, arg[1] length (at most
 * PETREL_HC_CONSOLE_MAX). The bytes go to petrel's console output, the
 * same place as COM1's. Out: ret the length. */
#define PETREL_HC_CONSOLE_WRITE 2
/* In: nothing. Out: ret 0; arg[0] the host's CLOCK_REALTIME in ns since
 * the epoch (as int64_t), arg[1] the host's CLOCK_MONOTONIC in ns. */
#define PETREL_HC_TIME 3
/* In: arg[0] exit status, 0..255. petrel stops the VM and exits with that
 * status; the calling vCPU does not run again. Out: ret 0. */
#define PETREL_HC_SHUTDOWN 4

#define PETREL_HC_CONSOLE_MAX 4096

#define PETREL_HC_PETREL_VERSION(major, minor, patch)                                              \
	(((uint64_t)(major) << 32) | ((uint64_t)(minor) << 16) | (uint64_t)(patch))

/* Errors: `ret` is the negated value. Numbered as Linux's errno values. */
#define PETREL_HC_EFAULT 14 /* an address argument is not (wholly) in guest RAM */
#define PETREL_HC_EINVAL 22 /* flags, an unused argument or a value out of range */
#define PETREL_HC_ENOSYS 38 /* no such call (also: preset by guests, see below) */
#define PETREL_HC_EPROTO 71 /* abi_major is not PETREL_HC_ABI_MAJOR */

/* A guest should preset ret to -PETREL_HC_ENOSYS before the OUT: a block
 * petrel cannot use (misaligned, outside RAM), or a VMM without this port,
 * then leaves it, and the call reads as unsupported. */

#endif
