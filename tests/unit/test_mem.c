/* SPDX-License-Identifier: MIT */
/* Guest memory: the checked accessor, region table and the real mapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "mem.h"
#include "petrel/platform.h"

#define BASE 0x10000ULL
#define SIZE 0x10000ULL

static uint8_t buf_a[SIZE], buf_b[SIZE];

/* One region [BASE, BASE + SIZE) backed by buf_a. */
static struct gm one_region(void)
{
	struct gm gm = { 0 };

	if (gm_add_region(&gm, BASE, SIZE, buf_a))
		abort();
	return gm;
}

static void mem_ptr_inside(void)
{
	struct gm gm = one_region();

	CHECK(gm_ptr(&gm, BASE, 16) == buf_a);
	CHECK(gm_ptr(&gm, BASE + 0x100, 4) == buf_a + 0x100);
	CHECK(gm_ptr(&gm, BASE, SIZE) == buf_a);
}

static void mem_ptr_edges(void)
{
	struct gm gm = one_region();

	CHECK(gm_ptr(&gm, BASE + SIZE - 1, 1) == buf_a + SIZE - 1);
	CHECK(gm_ptr(&gm, BASE + SIZE - 8, 8) == buf_a + SIZE - 8);
	CHECK(gm_ptr(&gm, BASE + SIZE - 8, 9) == NULL);
	CHECK(gm_ptr(&gm, BASE, SIZE + 1) == NULL);
	CHECK(gm_ptr(&gm, BASE - 1, 1) == NULL);
	CHECK(gm_ptr(&gm, BASE - 1, 2) == NULL);
	CHECK(gm_ptr(&gm, 0, 1) == NULL);
}

static void mem_ptr_one_past_end(void)
{
	struct gm gm = one_region();

	CHECK(gm_ptr(&gm, BASE + SIZE, 1) == NULL);
	CHECK(gm_ptr(&gm, BASE + SIZE, 0) == NULL);
	CHECK(gm_ptr(&gm, BASE + SIZE + 1, 0) == NULL);
}

static void mem_ptr_len0(void)
{
	struct gm gm = one_region();

	CHECK(gm_ptr(&gm, BASE, 0) == buf_a);
	CHECK(gm_ptr(&gm, BASE + SIZE - 1, 0) == buf_a + SIZE - 1);
	CHECK(gm_ptr(&gm, BASE - 1, 0) == NULL);
}

static void mem_ptr_overflow(void)
{
	struct gm gm = one_region();
	const gpa_t top = ~0ULL - 0x1fff; /* a region near the top of the space */

	CHECK(gm_ptr(&gm, ~0ULL - 1, 16) == NULL);
	CHECK(gm_ptr(&gm, ~0ULL, 1) == NULL);
	CHECK(gm_ptr(&gm, BASE + 0x10, SIZE_MAX) == NULL);
	CHECK(gm_ptr(&gm, BASE + 0x10, SIZE_MAX - 0x8) == NULL);
	REQUIRE(gm_add_region(&gm, top, 0x1000, buf_b) == 0);
	CHECK(gm_ptr(&gm, top + 0xff0, 0x10) == buf_b + 0xff0);
	CHECK(gm_ptr(&gm, top + 0xff0, 0x11) == NULL);
	CHECK(gm_ptr(&gm, top + 0xff0, SIZE_MAX) == NULL);
	CHECK(gm_ptr(&gm, top + 0x1000, 1) == NULL);
}

static void mem_ptr_between_regions(void)
{
	struct gm gm = { 0 };

	REQUIRE(gm_add_region(&gm, 0x1000, 0x1000, buf_a) == 0);
	REQUIRE(gm_add_region(&gm, 0x3000, 0x1000, buf_b) == 0);
	CHECK(gm_ptr(&gm, 0x2000, 1) == NULL);
	CHECK(gm_ptr(&gm, 0x2800, 0) == NULL);
	CHECK(gm_ptr(&gm, 0x1ff0, 0x20) == NULL);
	CHECK(gm_ptr(&gm, 0x2ff0, 0x20) == NULL);
	CHECK(gm_ptr(&gm, 0x1ff0, 0x10) == buf_a + 0xff0);
	CHECK(gm_ptr(&gm, 0x3000, 0x10) == buf_b);
}

static void mem_ptr_spanning_adjacent_regions(void)
{
	struct gm gm = { 0 };
	uint8_t *host = malloc(0x2000);

	REQUIRE(host);
	/* Adjacent in guest space and even contiguous on the host: an access
	 * across the boundary still crosses two regions and must fail. */
	CHECK(gm_add_region(&gm, 0, 0x1000, host) == 0);
	CHECK(gm_add_region(&gm, 0x1000, 0x1000, host + 0x1000) == 0);
	CHECK(gm_ptr(&gm, 0xff0, 0x20) == NULL);
	CHECK(gm_ptr(&gm, 0, 0x2000) == NULL);
	CHECK(gm_ptr(&gm, 0xff0, 0x10) == host + 0xff0);
	CHECK(gm_ptr(&gm, 0x1000, 0x10) == host + 0x1000);
	free(host);
}

static void mem_read_write_roundtrip(void)
{
	struct gm gm = one_region();
	uint8_t in[64], out[64];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	CHECK(gm_write(&gm, BASE + SIZE - sizeof(in), in, sizeof(in)) == 0);
	CHECK(memcmp(buf_a + SIZE - sizeof(in), in, sizeof(in)) == 0);
	memset(out, 0, sizeof(out));
	CHECK(gm_read(&gm, BASE + SIZE - sizeof(in), out, sizeof(out)) == 0);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	CHECK(gm_read(&gm, BASE, out, 0) == 0);
}

static void mem_read_write_efault_copies_nothing(void)
{
	struct gm gm = one_region();
	uint8_t src[32], dst[32], expect[32];

	memset(buf_a + SIZE - 16, 0x11, 16);
	memset(src, 0x22, sizeof(src));
	memset(dst, 0x33, sizeof(dst));
	memset(expect, 0x33, sizeof(expect));
	/* 16 bytes in RAM, 16 past the end */
	CHECK(gm_read(&gm, BASE + SIZE - 16, dst, sizeof(dst)) == -EFAULT);
	CHECK(memcmp(dst, expect, sizeof(dst)) == 0);
	CHECK(gm_write(&gm, BASE + SIZE - 16, src, sizeof(src)) == -EFAULT);
	memset(expect, 0x11, 16);
	CHECK(memcmp(buf_a + SIZE - 16, expect, 16) == 0);
	CHECK(gm_read(&gm, ~0ULL - 1, dst, 16) == -EFAULT);
	CHECK(gm_write(&gm, ~0ULL - 1, src, 16) == -EFAULT);
	CHECK(gm_read(&gm, 0, dst, 1) == -EFAULT);
	CHECK(gm_write(&gm, BASE + SIZE, src, 0) == -EFAULT);
}

static void mem_add_region_rejects_overlap(void)
{
	struct gm gm = { 0 };
	static const struct {
		gpa_t base;
		uint64_t size;
	} bad[] = {
		{ 0x10000, 0x10000 }, /* exact */
		{ 0x8000, 0x9000 },   /* partial, left */
		{ 0x1f000, 0x2000 },  /* partial, right */
		{ 0x0, 0x100000 },    /* containing */
		{ 0x14000, 0x1000 },  /* contained */
		{ 0x1ffff, 1 },	      /* last byte */
	};

	REQUIRE(gm_add_region(&gm, 0x10000, 0x10000, buf_a) == 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(gm_add_region(&gm, bad[i].base, bad[i].size, buf_b) == -EINVAL);
	CHECK(gm.nregions == 1);
	CHECK(gm_add_region(&gm, 0xf000, 0x1000, buf_b) == 0);	/* adjacent below */
	CHECK(gm_add_region(&gm, 0x20000, 0x1000, buf_b) == 0); /* adjacent above */
	CHECK(gm.nregions == 3);
}

static void mem_add_region_rejects_wrap_size0_full(void)
{
	struct gm gm = { 0 };

	CHECK(gm_add_region(&gm, ~0ULL - 0xfff, 0x2000, buf_a) == -EINVAL);
	CHECK(gm_add_region(&gm, 0x1000, ~0ULL, buf_a) == -EINVAL);
	CHECK(gm_add_region(&gm, 0x1000, 0, buf_a) == -EINVAL);
	CHECK(gm.nregions == 0);
	for (unsigned int i = 0; i < GM_MAX_REGIONS; i++)
		CHECK(gm_add_region(&gm, 0x10000 * (i + 1), 0x1000, buf_a) == 0);
	CHECK(gm_add_region(&gm, 0x1000000, 0x1000, buf_a) == -EINVAL);
	CHECK(gm.nregions == GM_MAX_REGIONS);
}

static void mem_init_rejects_bad_sizes(void)
{
	static const uint64_t bad[] = {
		0, 1, 4095, 4097, (64ULL << 20) + 512, (1ULL << 46) + 4096
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct gm gm;

		memset(&gm, 0x5a, sizeof(gm));
		CHECK(gm_init(&gm, bad[i]) == -EINVAL);
		CHECK(gm.nregions == 0 && gm.map_size == 0);
	}
}

static void mem_init_small(void)
{
	struct gm gm;
	uint8_t v = 0x7e, r = 0;

	REQUIRE(gm_init(&gm, 64ULL << 20) == 0);
	CHECK(gm.nregions == 1);
	CHECK(gm.region[0].base == 0 && gm.region[0].size == 64ULL << 20);
	CHECK(gm_low_end(&gm) == 64ULL << 20);
	CHECK(gm_write(&gm, (64ULL << 20) - 1, &v, 1) == 0);
	CHECK(gm_read(&gm, (64ULL << 20) - 1, &r, 1) == 0 && r == 0x7e);
	CHECK(gm_write(&gm, 64ULL << 20, &v, 1) == -EFAULT);
	gm_destroy(&gm);
	CHECK(gm.nregions == 0 && gm.map == NULL);
}

static void mem_init_exactly_hole_start(void)
{
	struct gm gm;

	REQUIRE(gm_init(&gm, PETREL_RAM_HOLE_START) == 0);
	CHECK(gm.nregions == 1);
	CHECK(gm.region[0].size == PETREL_RAM_HOLE_START);
	CHECK(gm_low_end(&gm) == PETREL_RAM_HOLE_START);
	gm_destroy(&gm);
}

static void mem_init_above_hole(void)
{
	struct gm gm;
	const uint64_t ram = (4ULL << 30) + (64ULL << 20);
	const uint64_t high = ram - PETREL_RAM_HOLE_START;
	uint8_t v = 0xa5, r = 0;

	REQUIRE(gm_init(&gm, ram) == 0);
	CHECK(gm.nregions == 2);
	CHECK(gm.map_size > ram);
	CHECK(gm.region[0].base == 0 && gm.region[0].size == PETREL_RAM_HOLE_START);
	CHECK(gm.region[1].base == PETREL_RAM_HOLE_END && gm.region[1].size == high);
	CHECK(gm.region[1].host == gm.region[0].host + PETREL_RAM_HOLE_START);
	CHECK(gm_low_end(&gm) == PETREL_RAM_HOLE_START);
	CHECK(gm_ptr(&gm, PETREL_RAM_HOLE_START, 1) == NULL);
	CHECK(gm_ptr(&gm, PETREL_RAM_HOLE_END - 1, 1) == NULL);
	CHECK(gm_ptr(&gm, PETREL_RAM_HOLE_START - 8, 16) == NULL);
	CHECK(gm_ptr(&gm, PETREL_RAM_HOLE_END, 1) == gm.region[1].host);
	CHECK(gm_write(&gm, PETREL_RAM_HOLE_END + high - 1, &v, 1) == 0);
	CHECK(gm_read(&gm, PETREL_RAM_HOLE_END + high - 1, &r, 1) == 0 && r == 0xa5);
	CHECK(gm_write(&gm, PETREL_RAM_HOLE_END + high, &v, 1) == -EFAULT);
	gm_destroy(&gm);
	CHECK(gm.nregions == 0);
}

/* 1 if the process may read the byte at p: write() from an inaccessible
 * address fails with EFAULT instead of faulting. */
static int readable(const void *p)
{
	int fds[2], ok;

	if (pipe(fds))
		return -1;
	ok = write(fds[1], p, 1) == 1;
	close(fds[0]);
	close(fds[1]);
	return ok;
}

static void mem_init_guards_both_ends(void)
{
	struct gm gm;
	const uint8_t *ram;

	REQUIRE(gm_init(&gm, 16ULL << 20) == 0);
	ram = gm.region[0].host;
	CHECK(readable(ram) == 1);
	CHECK(readable(ram + (16ULL << 20) - 1) == 1);
	CHECK(readable(ram - 1) == 0);
	CHECK(readable(ram - 4096) == 0);
	CHECK(readable(ram + (16ULL << 20)) == 0);
	CHECK(readable(ram + (16ULL << 20) + 4095) == 0);
	gm_destroy(&gm);
}

/* A temporary file of `size` bytes (sparse), pattern bytes at `at`. */
static int tmp_file(uint64_t size, uint64_t at, uint8_t v)
{
	char path[] = "/tmp/petrel-test-mem.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, (off_t)size) || pwrite(fd, &v, 1, (off_t)at) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* RAM from a file: its bytes where they were, the guest's writes private
 * (the file keeps its own), and the file must cover the whole size. */
static void mem_init_file(void)
{
	struct gm gm;
	uint8_t v = 0, w = 0x11;
	int fd = tmp_file(16ULL << 20, (16ULL << 20) - 1, 0x5c);

	REQUIRE(fd >= 0);
	REQUIRE(gm_init_file(&gm, 16ULL << 20, fd) == 0);
	close(fd); /* the mapping holds its own reference */
	CHECK(gm_read(&gm, (16ULL << 20) - 1, &v, 1) == 0 && v == 0x5c);
	CHECK(gm_read(&gm, 0, &v, 1) == 0 && v == 0);
	CHECK(gm_write(&gm, (16ULL << 20) - 1, &w, 1) == 0);
	CHECK(gm_read(&gm, (16ULL << 20) - 1, &v, 1) == 0 && v == 0x11);
	gm_destroy(&gm);
	fd = tmp_file(16ULL << 20, (16ULL << 20) - 1, 0x5c);
	REQUIRE(fd >= 0);
	REQUIRE(gm_init_file(&gm, 16ULL << 20, fd) == 0);
	CHECK(gm_write(&gm, (16ULL << 20) - 1, &w, 1) == 0);
	gm_destroy(&gm);
	CHECK(pread(fd, &v, 1, (16ULL << 20) - 1) == 1 && v == 0x5c);
	/* Shorter than RAM, not a regular file, or not open: refused. */
	memset(&gm, 0x5a, sizeof(gm));
	CHECK(gm_init_file(&gm, 32ULL << 20, fd) == -EINVAL);
	CHECK(gm.nregions == 0 && gm.map_size == 0);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd >= 0 && gm_init_file(&gm, 16ULL << 20, fd) == -EINVAL);
	close(fd);
	CHECK(gm_init_file(&gm, 16ULL << 20, 1000) == -EINVAL);
}

/* Shared RAM: a second mapping of gm.fd (as a vhost-user back end makes
 * one) sees the guest's bytes at each region's fd_offset and its writes
 * reach the guest; the memfd cannot be shrunk. */
static void mem_init_shared(void)
{
	const uint64_t ram = (4ULL << 30) + (16ULL << 20);
	uint8_t v = 0x3c, r = 0, *peer;
	struct gm gm;

	REQUIRE(gm_init_shared(&gm, ram) == 0);
	REQUIRE(gm.fd >= 0 && gm.nregions == 2);
	CHECK(gm.region[0].fd_offset == 0);
	CHECK(gm.region[1].fd_offset == PETREL_RAM_HOLE_START);
	peer = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_SHARED, gm.fd, 0);
	REQUIRE(peer != MAP_FAILED);
	CHECK(gm_write(&gm, PETREL_RAM_HOLE_END + 4096, &v, 1) == 0);
	CHECK(peer[gm.region[1].fd_offset + 4096] == 0x3c);
	peer[123] = 0x77;
	CHECK(gm_read(&gm, 123, &r, 1) == 0 && r == 0x77);
	CHECK(ftruncate(gm.fd, 4096) == -1 && errno == EPERM);
	munmap(peer, ram);
	gm_destroy(&gm);
	CHECK(gm.fd == -1 && gm.nregions == 0);
	CHECK(gm_init_shared(&gm, 4095) == -EINVAL && gm.fd == -1);
}

int main(void)
{
	RUN(mem_ptr_inside);
	RUN(mem_ptr_edges);
	RUN(mem_ptr_one_past_end);
	RUN(mem_ptr_len0);
	RUN(mem_ptr_overflow);
	RUN(mem_ptr_between_regions);
	RUN(mem_ptr_spanning_adjacent_regions);
	RUN(mem_read_write_roundtrip);
	RUN(mem_read_write_efault_copies_nothing);
	RUN(mem_add_region_rejects_overlap);
	RUN(mem_add_region_rejects_wrap_size0_full);
	RUN(mem_init_rejects_bad_sizes);
	RUN(mem_init_small);
	RUN(mem_init_exactly_hole_start);
	RUN(mem_init_above_hole);
	RUN(mem_init_guards_both_ends);
	RUN(mem_init_file);
	RUN(mem_init_shared);
	return harness_exit();
}
