/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 register file as gdb sees it: the order of the 'g' packet, the
 * target description served by qXfer:features:read, and the conversion from
 * and to KVM's register structures. Always the 64-bit layout, also while the
 * guest runs its 32-bit PVH entry (gdb cannot switch layouts mid-session;
 * the 32-bit registers read zero-extended, see docs/gdb.md).
 */
#ifndef PETREL_GDB_X86_REGS_H
#define PETREL_GDB_X86_REGS_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct gdbx86_reg {
	const char *name, *type, *group;
	unsigned int size; /* bytes */
};

/* The registers in 'g' order; gdb's regnum = index. */
extern const struct gdbx86_reg gdbx86_regs[];
extern const unsigned int gdbx86_nregs;

/* gdb's number of rip. */
#define GDBX86_RIP 16

/* Bytes of a whole 'g' register file. */
#define GDBX86_REGS_SIZE 600

/* Offset of register `n` in the file (n < gdbx86_nregs). */
size_t gdbx86_reg_offset(unsigned int n);

/* The target description (NUL-terminated XML). */
extern const char gdbx86_target_xml[];

/* KVM state -> the register file out[GDBX86_REGS_SIZE]. */
void gdbx86_from_kvm(uint8_t *out, const struct kvm_regs *r, const struct kvm_sregs *s,
		     const struct kvm_fpu *f);

/* The register file -> KVM state: GPRs, rip, rflags, x87/SSE and
 * fs_base/gs_base are written; segment selectors and control registers
 * are read-only here (a selector without its descriptor cache means
 * nothing to KVM): their bytes are ignored. */
void gdbx86_to_kvm(const uint8_t *in, struct kvm_regs *r, struct kvm_sregs *s, struct kvm_fpu *f);

#endif
