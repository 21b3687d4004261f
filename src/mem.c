/* SPDX-License-Identifier: MIT */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "petrel/platform.h"

void *gm_ptr(const struct gm *gm, gpa_t gpa, size_t len)
{
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];

		/* Written as subtractions so no sum can wrap. */
		if (gpa < r->base || gpa - r->base >= r->size)
			continue;
		if (len > r->size - (gpa - r->base))
			return NULL;
		return r->host + (gpa - r->base);
	}
	return NULL;
}

int gm_read(const struct gm *gm, gpa_t gpa, void *dst, size_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct gm *gm, gpa_t gpa, const void *src, size_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	gm_mark_dirty(gm, gpa, len);
	return 0;
}

bool gm_page_zero(const void *p)
{
	const uint64_t *w = p;

	for (unsigned int i = 0; i < GM_PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

uint64_t gm_pages(const struct gm *gm)
{
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < gm->nregions; i++)
		bytes += gm->region[i].size;
	return (bytes + GM_PAGE_SIZE - 1) >> GM_PAGE_SHIFT;
}

/* Set the bits of RAM offsets [off, off + len), len > 0, inside RAM. */
static void gm_mark_offsets(const struct gm *gm, uint64_t off, uint64_t len)
{
	uint64_t first = off >> GM_PAGE_SHIFT, last = (off + len - 1) >> GM_PAGE_SHIFT;

	for (uint64_t p = first; p <= last; p++)
		atomic_fetch_or(&gm->dirty[p / 64], 1ULL << (p % 64));
}

void gm_mark_dirty(const struct gm *gm, gpa_t gpa, uint64_t len)
{
	/* The range's end, clipped so it cannot wrap (gpa and len may come
	 * from a guest); regions cannot wrap (gm_add_region). */
	uint64_t end = len > UINT64_MAX - gpa ? UINT64_MAX : gpa + len, off = 0;

	if (!atomic_load(&gm->dirty_on))
		return;
	for (unsigned int i = 0; i < gm->nregions; off += gm->region[i++].size) {
		const struct gm_region *r = &gm->region[i];
		uint64_t from = gpa > r->base ? gpa : r->base;
		uint64_t to = end < r->base + r->size ? end : r->base + r->size;

		if (from < to)
			gm_mark_offsets(gm, off + (from - r->base), to - from);
	}
}

void gm_mark_dirty_host(const struct gm *gm, const void *host, uint64_t len)
{
	uintptr_t h = (uintptr_t)host;
	uint64_t end = len > UINTPTR_MAX - h ? UINTPTR_MAX : h + len, off = 0;

	if (!atomic_load(&gm->dirty_on))
		return;
	for (unsigned int i = 0; i < gm->nregions; off += gm->region[i++].size) {
		const struct gm_region *r = &gm->region[i];
		uintptr_t base = (uintptr_t)r->host;
		uint64_t from = h > base ? h : base;
		uint64_t to = end < base + r->size ? end : base + r->size;

		if (from < to)
			gm_mark_offsets(gm, off + (from - base), to - from);
	}
}

int gm_dirty_on(struct gm *gm)
{
	size_t words = (size_t)((gm_pages(gm) + 63) / 64);

	if (!gm->dirty) {
		gm->dirty = calloc(words ? words : 1, sizeof(*gm->dirty));
		if (!gm->dirty)
			return -ENOMEM;
	} else {
		for (size_t i = 0; i < words; i++)
			atomic_store(&gm->dirty[i], 0);
	}
	atomic_store(&gm->dirty_on, true);
	return 0;
}

void gm_dirty_off(struct gm *gm)
{
	atomic_store(&gm->dirty_on, false);
}

void gm_dirty_take(const struct gm *gm, uint64_t *bits)
{
	size_t words = (size_t)((gm_pages(gm) + 63) / 64);

	if (!atomic_load(&gm->dirty_on))
		return;
	/* Each word swapped for zero at once: a mark that lands after the
	 * swap stays for the next take. */
	for (size_t i = 0; i < words; i++)
		if (atomic_load_explicit(&gm->dirty[i], memory_order_relaxed))
			bits[i] |= atomic_exchange(&gm->dirty[i], 0);
}

int gm_add_region(struct gm *gm, gpa_t base, uint64_t size, void *host)
{
	if (gm->nregions == GM_MAX_REGIONS || size == 0 || base + size < base)
		return -EINVAL;
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];

		if (base < r->base + r->size && r->base < base + size)
			return -EINVAL;
	}
	gm->region[gm->nregions++] = (struct gm_region){ base, size, host };
	return 0;
}

/* Guest RAM sits between two inaccessible guard ranges, so a device bug
 * that runs off either end of RAM faults at once instead of reading or
 * writing whatever mapping happens to be next to it. Reserving address space
 * with PROT_NONE costs no memory. */
#define GM_GUARD (2ULL << 20)

int gm_init(struct gm *gm, uint64_t ram_size)
{
	return gm_init_file(gm, ram_size, -1);
}

int gm_init_file(struct gm *gm, uint64_t ram_size, int fd)
{
	uint64_t low = ram_size, high = 0;
	int flags = MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED;
	uint8_t *map, *ram;
	struct stat st;

	*gm = (struct gm){ 0 };
	if (ram_size == 0 || ram_size % 4096 || ram_size > (1ULL << 46))
		return -EINVAL;
	/* A page past the file's end would be a SIGBUS on first touch. */
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < ram_size))
		return -EINVAL;
	if (low > PETREL_RAM_HOLE_START) {
		low = PETREL_RAM_HOLE_START;
		high = ram_size - low;
	}
	map = mmap(NULL, ram_size + 2 * GM_GUARD, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	/* MAP_NORESERVE: guest RAM is committed page by page as the guest
	 * touches it, so a 2 GiB guest that uses 100 MiB costs 100 MiB. From
	 * a file, MAP_PRIVATE: a page is read from the file (the page cache,
	 * shared by every VM mapping it) when first touched, and a write
	 * copies it, so the file never changes. */
	ram = mmap(map + GM_GUARD, ram_size, PROT_READ | PROT_WRITE,
		   fd >= 0 ? flags : flags | MAP_ANONYMOUS, fd, 0);
	if (ram == MAP_FAILED) {
		int err = -errno;

		munmap(map, ram_size + 2 * GM_GUARD);
		return err;
	}
	gm->map = map;
	gm->map_size = ram_size + 2 * GM_GUARD;
	gm->region[gm->nregions++] = (struct gm_region){ 0, low, ram };
	if (high)
		gm->region[gm->nregions++] =
		    (struct gm_region){ PETREL_RAM_HOLE_END, high, ram + low };
	return 0;
}

void gm_destroy(struct gm *gm)
{
	if (gm->map_size)
		munmap(gm->map, gm->map_size);
	free((void *)gm->dirty);
	*gm = (struct gm){ 0 };
}

uint64_t gm_low_end(const struct gm *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++)
		if (gm->region[i].base == 0)
			return gm->region[i].size;
	return 0;
}
