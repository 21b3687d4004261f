/* SPDX-License-Identifier: MIT */
/*
 * Snapshot memory files (src/snapshot/memfile.c): a full file's zero
 * pages are holes; a diff's dirty pages are data even when all zeros and
 * its clean pages holes whatever they hold; the merge copies a diff's
 * data onto its base and nothing else, and refuses what is not a diff of
 * that base (hostile files: sizes, kinds, the same file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mem.h"
#include "snapshot/memfile.h"

#define PAGES 8
#define P 4096

static char dir[] = "/tmp/petrel-test-memfile.XXXXXX";

static int file_open(const char *name, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return open(path, flags | O_CREAT | O_CLOEXEC, 0600);
}

/* Is the page at `off` data (not a hole) in fd? */
static bool is_data(int fd, off_t off)
{
	off_t d = lseek(fd, off, SEEK_DATA);

	return d == off;
}

/* Guest RAM of two regions of 4 pages each (RAM pages 0-3 and 4-7):
 * pages 0 and 5 hold bytes, the rest zeros. */
static bool ram(struct gm *gm, uint8_t **a, uint8_t **b)
{
	*a = calloc(4, P);
	*b = calloc(4, P);
	*gm = (struct gm){ 0 };
	if (!*a || !*b || gm_add_region(gm, 0, 4 * P, *a) ||
	    gm_add_region(gm, 1ULL << 32, 4 * P, *b))
		return false;
	memset(*a, 0x11, P);
	memset(*b + P, 0x55, P);
	return true;
}

static void memfile_full_zero_pages_are_holes(void)
{
	char why[MEMFILE_WHY_MAX] = "";
	uint8_t *a, *b, page[P];
	struct gm gm;
	int fd = file_open("full", O_RDWR);

	REQUIRE(fd >= 0 && ram(&gm, &a, &b));
	REQUIRE(memfile_write(&gm, fd, PAGES * P, NULL, why) == 0);
	CHECK(lseek(fd, 0, SEEK_END) == PAGES * P);
	CHECK(is_data(fd, 0) && is_data(fd, 5 * P));
	CHECK(!is_data(fd, 1 * P) && !is_data(fd, 4 * P) && !is_data(fd, 7 * P));
	CHECK(pread(fd, page, P, 5 * P) == P && page[0] == 0x55 && page[P - 1] == 0x55);
	close(fd);
	free(a);
	free(b);
}

static void memfile_diff_dirty_zero_is_data_clean_is_hole(void)
{
	char why[MEMFILE_WHY_MAX] = "";
	uint64_t dirty = (1u << 1) | (1u << 5) | (1u << 6); /* zero, bytes, zero */
	uint8_t *a, *b, page[P];
	struct gm gm;
	int fd = file_open("diff", O_RDWR);

	REQUIRE(fd >= 0 && ram(&gm, &a, &b));
	REQUIRE(memfile_write(&gm, fd, PAGES * P, &dirty, why) == 0);
	CHECK(lseek(fd, 0, SEEK_END) == PAGES * P);
	/* Page 0 holds bytes but is clean: a hole. */
	CHECK(!is_data(fd, 0));
	/* Pages 1 and 6 are zeros but dirty: data. */
	CHECK(is_data(fd, 1 * P) && is_data(fd, 5 * P) && is_data(fd, 6 * P));
	CHECK(!is_data(fd, 2 * P) && !is_data(fd, 4 * P) && !is_data(fd, 7 * P));
	memset(page, 0xff, sizeof(page));
	CHECK(pread(fd, page, P, 6 * P) == P && page[0] == 0 && page[P - 1] == 0);
	close(fd);
	free(a);
	free(b);
}

/* A base of PAGES pages of 0xbb; the diff: pages 2 (0x22) and 3 (zeros)
 * and 7 (0x77) as data. */
static void make_pair(int *base, int *diff)
{
	uint8_t page[P];

	*base = file_open("base", O_RDWR);
	*diff = file_open("d", O_RDWR);
	memset(page, 0xbb, P);
	for (int i = 0; i < PAGES; i++)
		if (pwrite(*base, page, P, (off_t)i * P) != P)
			abort();
	if (ftruncate(*diff, PAGES * P))
		abort();
	memset(page, 0x22, P);
	if (pwrite(*diff, page, P, 2 * P) != P)
		abort();
	memset(page, 0, P);
	if (pwrite(*diff, page, P, 3 * P) != P)
		abort();
	memset(page, 0x77, P);
	if (pwrite(*diff, page, P, 7 * P) != P)
		abort();
}

static uint8_t page_byte(int fd, int i)
{
	uint8_t page[P];

	if (pread(fd, page, P, (off_t)i * P) != P)
		return 0xee;
	for (int k = 1; k < P; k++)
		if (page[k] != page[0])
			return 0xed;
	return page[0];
}

static void memfile_merge_applies_data_only(void)
{
	char why[MEMFILE_WHY_MAX] = "";
	int base, diff;

	make_pair(&base, &diff);
	REQUIRE(base >= 0 && diff >= 0);
	REQUIRE(memfile_merge(base, diff, why) == 0);
	CHECK(page_byte(base, 0) == 0xbb && page_byte(base, 1) == 0xbb);
	CHECK(page_byte(base, 2) == 0x22);
	CHECK(page_byte(base, 3) == 0x00); /* a dirty page of zeros clears the base */
	CHECK(page_byte(base, 4) == 0xbb && page_byte(base, 6) == 0xbb);
	CHECK(page_byte(base, 7) == 0x77);
	CHECK(lseek(base, 0, SEEK_END) == PAGES * P);
	close(base);
	close(diff);
}

static void memfile_merge_empty_diff(void)
{
	char why[MEMFILE_WHY_MAX] = "";
	int base, diff;

	make_pair(&base, &diff);
	REQUIRE(base >= 0 && diff >= 0);
	REQUIRE(ftruncate(diff, 0) == 0 && ftruncate(diff, PAGES * P) == 0); /* all holes */
	REQUIRE(memfile_merge(base, diff, why) == 0);
	for (int i = 0; i < PAGES; i++)
		CHECK(page_byte(base, i) == 0xbb);
	close(base);
	close(diff);
}

static void memfile_merge_refuses(void)
{
	char why[MEMFILE_WHY_MAX] = "";
	int base, diff, d;

	make_pair(&base, &diff);
	REQUIRE(base >= 0 && diff >= 0);
	/* Another size: not a diff of this base; the base is untouched. */
	REQUIRE(ftruncate(diff, (PAGES + 1) * P) == 0);
	CHECK(memfile_merge(base, diff, why) == -EINVAL);
	CHECK(strstr(why, "not a diff of this base") != NULL);
	CHECK(page_byte(base, 2) == 0xbb);
	REQUIRE(ftruncate(diff, PAGES * P - 1) == 0 && ftruncate(base, PAGES * P - 1) == 0);
	CHECK(memfile_merge(base, diff, why) == -EINVAL);
	CHECK(strstr(why, "whole number of 4 KiB pages") != NULL);
	REQUIRE(ftruncate(diff, 0) == 0 && ftruncate(base, 0) == 0);
	CHECK(memfile_merge(base, diff, why) == -EINVAL);
	REQUIRE(ftruncate(base, PAGES * P) == 0);
	/* The same file twice. */
	CHECK(memfile_merge(base, base, why) == -EINVAL);
	CHECK(strstr(why, "same file") != NULL);
	/* Not regular files. */
	d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	REQUIRE(d >= 0);
	CHECK(memfile_merge(base, d, why) == -EINVAL);
	CHECK(strstr(why, "the diff is not a regular file") != NULL);
	CHECK(memfile_merge(d, base, why) == -EINVAL);
	CHECK(strstr(why, "the base is not a regular file") != NULL);
	close(d);
	close(base);
	close(diff);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(memfile_full_zero_pages_are_holes);
	RUN(memfile_diff_dirty_zero_is_data_clean_is_hole);
	RUN(memfile_merge_applies_data_only);
	RUN(memfile_merge_empty_diff);
	RUN(memfile_merge_refuses);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return harness_exit();
}
