/* SPDX-License-Identifier: MIT */
/*
 * Guest virtual -> guest physical translation through the guest's own page
 * tables, read from guest RAM with the checked accessor. Used by the gdb stub
 * for m/M packets; the guest's tables are hostile input (every entry is read
 * through gm_read, a walk that leaves RAM fails).
 */
#ifndef PETREL_X86_PAGEWALK_H
#define PETREL_X86_PAGEWALK_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "mem.h"

/* The control state a walk depends on (from KVM_GET_SREGS). */
struct pagewalk_regs {
	uint64_t cr0, cr3, cr4, efer;
};

/* Translate `gva`. Modes: paging off (CR0.PG=0) -> gpa = gva (truncated to
 * 32 bits outside long mode); 32-bit (with CR4.PSE 4 MiB pages); PAE; long
 * mode 4-level or 5-level (CR4.LA57) with 2 MiB and 1 GiB pages. On success
 * *gpa is the address and *page_left the bytes from gpa to the end of its
 * page (>= 1). -EFAULT for a non-present entry or a table outside RAM,
 * -EINVAL for a non-canonical address in long mode. Access rights (R/W,
 * U/S, NX) are not checked: a debugger may read and write any mapping. */
int pagewalk_translate(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, gpa_t *gpa,
		       uint64_t *page_left) MUST_CHECK;

/* Copy `len` bytes at virtual `gva` into `dst` (read) or from `src` (write),
 * page by page. 0, or the first error of pagewalk_translate / gm_read /
 * gm_write (-EFAULT); on error a prefix may have been copied. */
int pagewalk_read(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva, void *dst,
		  size_t len) MUST_CHECK;
int pagewalk_write(const struct gm *gm, const struct pagewalk_regs *r, uint64_t gva,
		   const void *src, size_t len) MUST_CHECK;

#endif
