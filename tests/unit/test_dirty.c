/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page tracking's petrel side (mem.c, dirty.c): gm_mark_dirty and
 * gm_mark_dirty_host numbering pages by RAM offset across regions, hostile
 * ranges clipped to RAM, the take clearing what it returns, and
 * dirty_bits_or placing a slot's bits at its offset. KVM's log needs
 * /dev/kvm: the snapshot API tests cover it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dirty.h"
#include "fake_gm.h"
#include "fake_virtq.h"
#include "harness.h"
#include "mem.h"

#define HIGH 0x100000000ULL

/* Region 0: gpa [0, 3 pages), RAM pages 0-2; region 1: gpa [4 GiB, +5
 * pages), RAM pages 3-7. Separate host buffers. */
static bool two_regions(struct gm *gm)
{
	uint8_t *a = calloc(3, 4096), *b = calloc(5, 4096);

	*gm = (struct gm){ 0 };
	if (!a || !b || gm_add_region(gm, 0, 3 * 4096, a) || gm_add_region(gm, HIGH, 5 * 4096, b)) {
		free(a);
		free(b);
		return false;
	}
	return true;
}

static void free_regions(struct gm *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++)
		free(gm->region[i].host);
	gm_destroy(gm);
}

static uint64_t take(const struct gm *gm)
{
	uint64_t bits = 0;

	gm_dirty_take(gm, &bits);
	return bits;
}

static void dirty_off_marks_nothing(void)
{
	struct gm gm;
	uint8_t x = 1;

	REQUIRE(two_regions(&gm));
	CHECK(gm_pages(&gm) == 8);
	CHECK(gm_write(&gm, 0, &x, 1) == 0); /* before tracking */
	REQUIRE(gm_dirty_on(&gm) == 0);
	CHECK(take(&gm) == 0);
	gm_dirty_off(&gm);
	CHECK(gm_write(&gm, 0x1000, &x, 1) == 0);
	gm_mark_dirty(&gm, 0x2000, 1);
	CHECK(take(&gm) == 0);
	/* On again: clean, whatever was marked before. */
	REQUIRE(gm_dirty_on(&gm) == 0);
	CHECK(take(&gm) == 0);
	free_regions(&gm);
}

static void dirty_gpa_to_ram_offset(void)
{
	struct gm gm;
	uint8_t x[2] = { 1, 2 };

	REQUIRE(two_regions(&gm));
	REQUIRE(gm_dirty_on(&gm) == 0);
	CHECK(gm_write(&gm, HIGH + 0x1000, x, 1) == 0);
	CHECK(take(&gm) == 1ULL << 4); /* region 1's second page: RAM page 4 */
	CHECK(take(&gm) == 0);	       /* the take cleared it */
	CHECK(gm_write(&gm, 0xfff, x, 2) == 0);
	CHECK(take(&gm) == 0x3); /* one byte in page 0, one in page 1 */
	gm_mark_dirty(&gm, HIGH + 5 * 4096 - 1, 1);
	CHECK(take(&gm) == 1ULL << 7);
	gm_mark_dirty(&gm, 0x1000, 0); /* nothing written, nothing dirty */
	CHECK(take(&gm) == 0);
	free_regions(&gm);
}

static void dirty_hostile_ranges_clipped(void)
{
	struct gm gm;
	uint8_t x = 1;

	REQUIRE(two_regions(&gm));
	REQUIRE(gm_dirty_on(&gm) == 0);
	CHECK(gm_write(&gm, 0x3000, &x, 1) == -EFAULT); /* the gap: no write, no mark */
	gm_mark_dirty(&gm, 0x3000, HIGH - 0x3000);	/* the whole gap */
	gm_mark_dirty(&gm, UINT64_MAX - 5, 100);	/* wraps */
	gm_mark_dirty(&gm, HIGH + 5 * 4096, 4096);	/* just past the end */
	CHECK(take(&gm) == 0);
	/* From page 2 to the end of the address space: the RAM in it. */
	gm_mark_dirty(&gm, 0x2000, UINT64_MAX);
	CHECK(take(&gm) == 0xfc); /* pages 2-7 */
	/* Across the gap: both regions' parts. */
	gm_mark_dirty(&gm, 0x2fff, HIGH - 0x2fff + 1);
	CHECK(take(&gm) == ((1ULL << 2) | (1ULL << 3)));
	free_regions(&gm);
}

static void dirty_host_to_ram_offset(void)
{
	struct gm gm;
	uint8_t *a, *b, outside[64];

	REQUIRE(two_regions(&gm));
	a = gm.region[0].host;
	b = gm.region[1].host;
	REQUIRE(gm_dirty_on(&gm) == 0);
	gm_mark_dirty_host(&gm, b + 0x2000, 0x1001);
	CHECK(take(&gm) == ((1ULL << 5) | (1ULL << 6)));
	gm_mark_dirty_host(&gm, outside, sizeof(outside));
	CHECK(take(&gm) == 0);
	/* Running off region 0's buffer: only its part counts. */
	gm_mark_dirty_host(&gm, a + 0x2fff, 0x10);
	CHECK(take(&gm) == 1ULL << 2);
	gm_mark_dirty_host(&gm, (void *)(UINTPTR_MAX - 3), 100);
	CHECK(take(&gm) == 0);
	free_regions(&gm);
}

static void dirty_bits_or_places(void)
{
	uint64_t *one = malloc(sizeof(uint64_t)); /* exactly one word: ASan sees overruns */
	uint64_t dst[3] = { 0 }, src[2] = { UINT64_MAX, UINT64_MAX };

	REQUIRE(one);
	*one = 0;
	dirty_bits_or(one, 10, src, 54); /* fills the word to its end, no further */
	CHECK(*one == UINT64_MAX << 10);
	*one = 1;
	dirty_bits_or(one, 0, src, 3);
	CHECK(*one == 0x7);
	free(one);
	dirty_bits_or(dst, 60, src, 70); /* bits 60..129 */
	CHECK(dst[0] == 0xfULL << 60);
	CHECK(dst[1] == UINT64_MAX);
	CHECK(dst[2] == 0x3);
	memset(dst, 0, sizeof(dst));
	src[0] = 0x5;
	src[1] = 0;
	dirty_bits_or(dst, 64, src, 2); /* src's bits past n are not taken */
	CHECK(dst[0] == 0 && dst[1] == 0x1 && dst[2] == 0);
	dirty_bits_or(dst, 0, src, 0);
	CHECK(dst[0] == 0);
}

/* A device thread marks every page once while the collector takes: the
 * union of the takes is every page, none lost. */
#define RACE_PAGES 4096

static void *race_marker(void *opaque)
{
	struct gm *gm = opaque;

	for (uint64_t p = 0; p < RACE_PAGES; p++)
		gm_mark_dirty(gm, p * 4096, 1);
	return NULL;
}

static void dirty_take_races_marks(void)
{
	static uint64_t bits[RACE_PAGES / 64];
	struct gm gm = { 0 };
	uint8_t *ram = calloc(RACE_PAGES, 4096);
	pthread_t t;
	unsigned int set = 0;

	REQUIRE(ram);
	REQUIRE(gm_add_region(&gm, 0, RACE_PAGES * 4096ULL, ram) == 0);
	REQUIRE(gm_dirty_on(&gm) == 0);
	REQUIRE(pthread_create(&t, NULL, race_marker, &gm) == 0);
	for (int i = 0; i < 1000; i++)
		gm_dirty_take(&gm, bits);
	pthread_join(t, NULL);
	gm_dirty_take(&gm, bits);
	for (unsigned int i = 0; i < RACE_PAGES / 64; i++)
		set += (unsigned int)__builtin_popcountll(bits[i]);
	CHECK(set == RACE_PAGES);
	free(ram);
	gm_destroy(&gm);
}

/* The completion path marks what the device wrote (the writable buffers
 * up to `written`, not the readable ones nor the rest) and the used ring;
 * an EVENT_IDX pop of an empty ring marks the avail_event it wrote. */
static void dirty_virtio_completion(void)
{
	struct virtio_dev dev = { 0 };
	struct virtq_chain c;
	struct fake_vq fq;
	struct gm gm;
	uint64_t bits = 0;

	REQUIRE(fake_gm_init(&gm, 0, 16 * 4096));
	dev.gm = &gm;
	dev.status = FAKE_STATUS_DRIVER_OK;
	dev.features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	/* Rings in pages 1 (descriptors), 2 (avail), 3 (used). */
	fake_vq_init(&fq, &gm, 8, 0x1000, 0x2000, 0x3000);
	REQUIRE(fake_vq_start(&dev, 0, &fq));
	fake_vq_add(&fq,
		    (struct fake_buf[]){
			{ 0xa000, 16, false }, { 0xc000, 0x1000, true }, { 0xd000, 0x1000, true } },
		    3);
	REQUIRE(virtq_pop(&dev.vq[0], &c) == 1);
	REQUIRE(gm_dirty_on(&gm) == 0);
	virtio_complete_chain(&dev, 0, &c, 100); /* 100 bytes: page 0xc only */
	gm_dirty_take(&gm, &bits);
	CHECK(bits == ((1ULL << 0xc) | (1ULL << 3)));
	fake_vq_add(&fq, (struct fake_buf[]){ { 0xc000, 0x1000, true }, { 0xd000, 0x1000, true } },
		    2);
	REQUIRE(virtq_pop(&dev.vq[0], &c) == 1);
	bits = 0;
	virtio_complete_chain(&dev, 0, &c, 0x1001); /* into the second buffer */
	gm_dirty_take(&gm, &bits);
	CHECK(bits == ((1ULL << 0xc) | (1ULL << 0xd) | (1ULL << 3)));
	bits = 0;
	CHECK(virtq_pop(&dev.vq[0], &c) == 0); /* empty: avail_event written */
	gm_dirty_take(&gm, &bits);
	CHECK(bits == 1ULL << 3);
	free(gm.region[0].host);
	gm_destroy(&gm); /* and the bitmap */
}

int main(void)
{
	RUN(dirty_off_marks_nothing);
	RUN(dirty_gpa_to_ram_offset);
	RUN(dirty_hostile_ranges_clipped);
	RUN(dirty_host_to_ram_offset);
	RUN(dirty_bits_or_places);
	RUN(dirty_take_races_marks);
	RUN(dirty_virtio_completion);
	return harness_exit();
}
