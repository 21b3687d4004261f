/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page tracking of guest RAM, one bit per 4 KiB page, numbered by
 * RAM offset (the memory file's offset: the regions in gm order,
 * concatenated). vCPU writes come from KVM's log; device writes from
 * petrel's own bitmap, marked by gm_mark_dirty (mem.h).
 *
 * KVM's side is its dirty log (KVM_MEM_LOG_DIRTY_PAGES on every RAM
 * memslot, fetched and cleared by KVM_GET_DIRTY_LOG), not the dirty ring:
 * docs/snapshot.md gives the measurements behind that choice.
 *
 * The functions below are called by one thread at a time (the VMM
 * thread); gm_mark_dirty may run on any thread meanwhile.
 */
#ifndef PETREL_DIRTY_H
#define PETREL_DIRTY_H

#include <stdint.h>

#include "log.h"

struct vm;

/* Turn tracking on with every page clean: KVM logs the vCPUs' writes to
 * RAM, gm_mark_dirty the devices'. 0, -EBUSY if tracking is on already
 * (one user at a time: a second would steal the first's pages), -ENOMEM,
 * or -errno from KVM (after one message; tracking is then off). */
int vm_dirty_start(struct vm *vm) MUST_CHECK;

/* OR the pages dirtied since the last collect (or start) into `bits`
 * (vm_dirty_pages(vm) bits, caller-zeroed or accumulating) and clear
 * them. Safe while vCPUs run: a page written during the collect is in
 * this one or the next. 0, -EINVAL if tracking is off, or -errno from
 * KVM_GET_DIRTY_LOG (after one message; `bits` may then hold part of the
 * pages, and tracking should be considered broken: stop it). */
int vm_dirty_collect(struct vm *vm, uint64_t *bits) MUST_CHECK;

/* Turn tracking off (KVM's log flag cleared). Nothing if it is off. */
void vm_dirty_stop(struct vm *vm);

/* RAM size in pages: ram_size / 4096, the bits vm_dirty_collect fills. */
uint64_t vm_dirty_pages(const struct vm *vm);

/* Mark dirty every page of a VM not started yet that its boot has
 * written (the kernel, the boot tables: whatever is resident in the fresh
 * anonymous RAM, found with mincore), so that the first diff snapshot of
 * a booted VM holds all of its memory. After vm_dirty_start. 0 or
 * -errno. */
int vm_dirty_mark_booted(struct vm *vm) MUST_CHECK;

/* dst's bits [at, at + n) |= src's bits [0, n). Bit i of a word array is
 * bit i % 64 of word i / 64. */
void dirty_bits_or(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t n);

#endif
