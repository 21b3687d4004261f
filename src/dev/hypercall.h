/* SPDX-License-Identifier: MIT */
/*
 * The hypercall port (ABI in include/petrel/hypercall.h, spec in
 * docs/hypercalls.md): a 32-bit OUT of a block's guest-physical address.
 * The handler copies the block in once, validates it, acts, and writes
 * `ret` and `arg[]` back. It runs on the calling vCPU's thread and keeps
 * no state between calls, so vCPUs may call concurrently.
 *
 * Split from the machine so unit tests drive it against fake guest memory
 * with recording callbacks; hypercall_create (dev/pc_devices.h) wires it to
 * the console and vm_stop.
 */
#ifndef PETREL_HYPERCALL_DEV_H
#define PETREL_HYPERCALL_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

struct hypercall_ops {
	/* CONSOLE_WRITE: `len` (1..PETREL_HC_CONSOLE_MAX) bytes to print.
	 * `buf` points into guest RAM, valid only during the call. */
	void (*console)(void *opaque, const uint8_t *buf, size_t len);
	/* SHUTDOWN: stop the VM with exit status `status` (0..255). Called
	 * after the result has been written back. */
	void (*shutdown)(void *opaque, int status);
};

struct hypercall;

/* A handler for guest memory `gm` (which must outlive it). NULL on ENOMEM.
 * Freed with free(). */
struct hypercall *hypercall_new(const struct gm *gm, const struct hypercall_ops *ops, void *opaque);

/* Bus handler for PETREL_HYPERCALL_PORT (a bus_fn). A 4-byte write is a
 * call; reads see all-ones. An access of another size, or a block address
 * that is misaligned or not wholly in RAM, is ignored (nothing is written
 * to the guest) and logged, rate-limited. */
void hypercall_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
