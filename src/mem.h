/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM and the checked accessor: the only way any code touches guest
 * memory. Every guest physical address and length is hostile until gm_ptr
 * has checked that [gpa, gpa + len) lies inside one RAM region.
 */
#ifndef PETREL_MEM_H
#define PETREL_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

typedef uint64_t gpa_t;

#define GM_MAX_REGIONS 4

struct gm_region {
	gpa_t base;
	uint64_t size;
	uint8_t *host;
};

struct gm {
	struct gm_region region[GM_MAX_REGIONS];
	unsigned int nregions;
	void *map;	   /* the one reservation behind all regions, guards included */
	uint64_t map_size; /* 0 when regions are caller-owned (tests) */
	/* Device writes while dirty-page tracking is on (dirty.h): one bit
	 * per 4 KiB page, numbered by RAM offset (the regions in table order,
	 * concatenated). Allocated by gm_dirty_on, kept until gm_destroy so
	 * that a marking thread never sees it freed. */
	_Atomic uint64_t *dirty;
	atomic_bool dirty_on;
};

#define GM_PAGE_SHIFT 12
#define GM_PAGE_SIZE (1ULL << GM_PAGE_SHIFT)

/* Host pointer to [gpa, gpa + len) if the whole range lies inside one RAM
 * region, else NULL. len == 0 is allowed (a valid gpa is still required).
 * Overflow-checked. */
void *gm_ptr(const struct gm *gm, gpa_t gpa, size_t len);

/* Copy between guest RAM and host buffers. 0, or -EFAULT if any byte of
 * the range is outside RAM (then nothing is copied). */
int gm_read(const struct gm *gm, gpa_t gpa, void *dst, size_t len) MUST_CHECK;
int gm_write(const struct gm *gm, gpa_t gpa, const void *src, size_t len) MUST_CHECK;

/* Map `ram_size` bytes of guest RAM: [0, min(size, hole)) below the 32-bit
 * MMIO hole and the rest from 4 GiB. 0, -EINVAL for a size petrel cannot
 * lay out, or -errno from mmap. */
int gm_init(struct gm *gm, uint64_t ram_size) MUST_CHECK;

/* As gm_init, but RAM is the first `ram_size` bytes of the regular file
 * `fd`, mapped MAP_PRIVATE: pages are read from the file on first touch
 * and the guest's writes stay private to this mapping (the file never
 * changes). The mapping keeps its own reference: the caller may close fd
 * after. -EINVAL also if fd is not a regular file of at least ram_size
 * bytes. The file must not shrink while mapped (a page past its end is
 * a SIGBUS). */
int gm_init_file(struct gm *gm, uint64_t ram_size, int fd) MUST_CHECK;

/* Add a caller-owned region (unit tests back guest memory with malloc).
 * 0, -EINVAL on overlap, wrap-around or a full table. */
int gm_add_region(struct gm *gm, gpa_t base, uint64_t size, void *host) MUST_CHECK;

void gm_destroy(struct gm *gm);

/* Dirty-page tracking of device writes (the vCPUs' come from KVM:
 * dirty.h). Pages are numbered by RAM offset: region i's first byte is
 * at the sum of the sizes of regions 0..i-1. */

/* Is the 4 KiB page at p (8-byte aligned) all zeros? */
bool gm_page_zero(const void *p);

/* RAM size in 4 KiB pages (the sum of the regions' sizes, rounded up). */
uint64_t gm_pages(const struct gm *gm);

/* Mark the pages of [gpa, gpa + len) dirty, after writing them. Atomic,
 * from any thread; a no-op while tracking is off. The part of the range
 * outside RAM is ignored (the caller's write was checked by gm_ptr). */
void gm_mark_dirty(const struct gm *gm, gpa_t gpa, uint64_t len);

/* As gm_mark_dirty, for host addresses [host, host + len) inside the
 * regions' mappings (a chain's iovecs, from gm_ptr); bytes outside every
 * region are ignored. */
void gm_mark_dirty_host(const struct gm *gm, const void *host, uint64_t len);

/* Turn marking on with every page clean (allocating the bitmap the first
 * time). 0 or -ENOMEM. Not concurrent with itself or gm_dirty_off. */
int gm_dirty_on(struct gm *gm) MUST_CHECK;

/* Turn marking off (the bitmap stays until gm_destroy). */
void gm_dirty_off(struct gm *gm);

/* OR the pages marked since the last take into `bits` (gm_pages bits) and
 * clear them. Atomic against concurrent marks: a page marked during the
 * take is in this take or the next. Nothing while tracking is off. */
void gm_dirty_take(const struct gm *gm, uint64_t *bits);

/* End of RAM below the 32-bit hole. */
uint64_t gm_low_end(const struct gm *gm);

#endif
