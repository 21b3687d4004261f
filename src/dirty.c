/* SPDX-License-Identifier: MIT */
#include "dirty.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm.h"

void dirty_bits_or(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t n)
{
	unsigned int shift = (unsigned int)(at % 64);
	uint64_t *d = dst + at / 64;

	for (uint64_t i = 0; i < (n + 63) / 64; i++) {
		uint64_t w = src[i];

		/* The last word: only its first n % 64 bits are src's. */
		if (i == n / 64)
			w &= (1ULL << (n % 64)) - 1;
		if (!w)
			continue;
		d[i] |= w << shift;
		/* Tested before the store: d[i + 1] may be past dst's end when
		 * no bit goes there. */
		if (shift && w >> (64 - shift))
			d[i + 1] |= w >> (64 - shift);
	}
}

uint64_t vm_dirty_pages(const struct vm *vm)
{
	return gm_pages(&vm->gm);
}

int vm_dirty_start(struct vm *vm)
{
	uint64_t most = 0;
	int err;

	if (vm->dirty_log)
		return -EBUSY;
	for (unsigned int i = 0; i < vm->gm.nregions; i++)
		if (vm->gm.region[i].size > most)
			most = vm->gm.region[i].size;
	/* KVM's bitmap is in longs, one bit per page of the slot. */
	vm->dirty_log = calloc((size_t)((most / GM_PAGE_SIZE + 63) / 64) + 1, sizeof(uint64_t));
	if (!vm->dirty_log)
		return -ENOMEM;
	err = gm_dirty_on(&vm->gm);
	if (err)
		goto err_free;
	/* Turning the flag on write-protects every page: each slot's log
	 * starts empty. */
	err = vm_set_ram_slots(vm, KVM_MEM_LOG_DIRTY_PAGES);
	if (err)
		goto err_gm;
	return 0;

err_gm:
	gm_dirty_off(&vm->gm);
	/* The slots that took the flag, back (a failure has its message). */
	if (vm_set_ram_slots(vm, 0))
		log_msg("dirty-page logging stays on in KVM (harmless, slower)");
err_free:
	free(vm->dirty_log);
	vm->dirty_log = NULL;
	return err;
}

int vm_dirty_collect(struct vm *vm, uint64_t *bits)
{
	uint64_t at = 0;

	if (!vm->dirty_log)
		return -EINVAL;
	/* The devices' marks first: a device writes then marks, so a page it
	 * marked after this take is in the next collect. */
	gm_dirty_take(&vm->gm, bits);
	for (unsigned int i = 0; i < vm->gm.nregions; i++) {
		uint64_t pages = vm->gm.region[i].size / GM_PAGE_SIZE;
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = vm->dirty_log };

		/* Fetches the slot's bits, clears them and write-protects those
		 * pages again, in one call. */
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log)) {
			int err = -errno;

			log_msg("KVM_GET_DIRTY_LOG (slot %u): %s", i, strerror(errno));
			return err;
		}
		dirty_bits_or(bits, at, vm->dirty_log, pages);
		at += pages;
	}
	return 0;
}

void vm_dirty_stop(struct vm *vm)
{
	if (!vm->dirty_log)
		return;
	gm_dirty_off(&vm->gm);
	if (vm_set_ram_slots(vm, 0))
		log_msg("dirty-page logging stays on in KVM (harmless, slower)");
	free(vm->dirty_log);
	vm->dirty_log = NULL;
}

int vm_dirty_mark_booted(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->gm.nregions; i++) {
		const struct gm_region *r = &vm->gm.region[i];
		size_t pages = (size_t)(r->size / GM_PAGE_SIZE);
		unsigned char *vec = malloc(pages ? pages : 1);
		int err = 0;

		if (!vec)
			return -ENOMEM;
		/* Fresh anonymous RAM: a page nobody wrote is not resident
		 * and reads as zeros, the holes of a memory file. */
		if (mincore(r->host, r->size, vec))
			err = -errno;
		for (size_t p = 0; !err && p < pages; p++)
			if (vec[p] & 1)
				gm_mark_dirty_host(&vm->gm, r->host + p * GM_PAGE_SIZE,
						   GM_PAGE_SIZE);
		free(vec);
		if (err)
			return err;
	}
	return 0;
}
