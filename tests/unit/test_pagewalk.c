/* SPDX-License-Identifier: MIT */
/* The gdb stub's page walk against page tables built in a fake guest RAM. */
#include <errno.h>
#include <string.h>

#include "arch/x86/pagewalk.h"
#include "fake_gm.h"
#include "harness.h"

#define RAM (64ull << 20)
#define PG (1ull << 31)
#define LMA (1ull << 10)
#define PAE (1ull << 5)
#define PSE (1ull << 4)
#define LA57 (1ull << 12)

static struct gm gm;
static gpa_t next_table;

static uint64_t rd(gpa_t a)
{
	uint64_t v = 0;

	if (gm_read(&gm, a, &v, 8))
		return 0;
	return v;
}

static void wr(gpa_t a, uint64_t v)
{
	if (gm_write(&gm, a, &v, 8))
		harness_check(false, "table write inside RAM", __FILE__, __LINE__);
}

static void fresh(void)
{
	memset(gm.region[0].host, 0, RAM);
	next_table = 0x10000; /* tables from 64 KiB up, data pages above 32 MiB */
}

/* Map gva -> gpa with 64-bit tables rooted at `root` (levels deep, first
 * index at bit `shift`), the leaf at `leaf_shift` (12, 21 or 30). */
static void map64(gpa_t root, unsigned int levels, unsigned int shift, uint64_t gva, gpa_t gpa,
		  unsigned int leaf_shift)
{
	gpa_t table = root;

	for (unsigned int l = 0; l < levels; l++, shift -= 9) {
		gpa_t slot = table + ((gva >> shift) & 511) * 8;

		if (shift == leaf_shift) {
			wr(slot, gpa | 0x3 | (leaf_shift > 12 ? 0x80 : 0));
			return;
		}
		if (!(rd(slot) & 1)) {
			next_table += 4096;
			wr(slot, next_table | 0x3);
		}
		table = rd(slot) & 0x000ffffffffff000ull;
	}
}

static const struct pagewalk_regs lm4 = { .cr0 = PG, .cr3 = 0x1000, .cr4 = PAE, .efer = LMA };
static const struct pagewalk_regs lm5 = {
	.cr0 = PG, .cr3 = 0x1000, .cr4 = PAE | LA57, .efer = LMA
};

static void paging_off_is_physical(void)
{
	struct pagewalk_regs r = { 0 };
	gpa_t gpa;
	uint64_t left;

	REQUIRE(pagewalk_translate(&gm, &r, 0x123456, &gpa, &left) == 0);
	CHECK(gpa == 0x123456 && left == 0x1000 - 0x456);
	REQUIRE(pagewalk_translate(&gm, &r, 0x100000123ull, &gpa, &left) == 0);
	CHECK(gpa == 0x123); /* 32-bit: truncated */
}

static void four_level_4k(void)
{
	uint64_t gva = 0xffffffff81234567ull;
	gpa_t gpa;
	uint64_t left;

	fresh();
	map64(0x1000, 4, 39, gva, 0x2345000, 12);
	REQUIRE(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == 0);
	CHECK(gpa == 0x2345567);
	CHECK(left == 0x1000 - 0x567);
	CHECK(pagewalk_translate(&gm, &lm4, gva + 0x1000, &gpa, &left) == -EFAULT);
}

static void four_level_2m_and_1g(void)
{
	gpa_t gpa;
	uint64_t left;

	fresh();
	map64(0x1000, 4, 39, 0x40200000ull, 0x2400000, 21);
	map64(0x1000, 4, 39, 0x7fc0000000ull, 0x40000000, 30);
	REQUIRE(pagewalk_translate(&gm, &lm4, 0x40212345ull, &gpa, &left) == 0);
	CHECK(gpa == 0x2412345 && left == 0x200000 - 0x12345);
	REQUIRE(pagewalk_translate(&gm, &lm4, 0x7fc1234567ull, &gpa, &left) == 0);
	CHECK(gpa == 0x41234567 && left == 0x40000000 - 0x1234567);
}

static void five_level(void)
{
	uint64_t gva = 0x00ff800000001234ull; /* bit 55 set: needs LA57 */
	gpa_t gpa;
	uint64_t left;

	fresh();
	map64(0x1000, 5, 48, gva, 0x2002000, 12);
	REQUIRE(pagewalk_translate(&gm, &lm5, gva, &gpa, &left) == 0);
	CHECK(gpa == 0x2002234);
	/* The same address is non-canonical with 4 levels. */
	CHECK(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == -EINVAL);
	/* 2 MiB page under 5 levels. */
	map64(0x1000, 5, 48, 0xffff800000200000ull, 0x2600000, 21);
	REQUIRE(pagewalk_translate(&gm, &lm5, 0xfe00800000200010ull, &gpa, &left) == -EINVAL);
	REQUIRE(pagewalk_translate(&gm, &lm5, 0xffff800000200010ull, &gpa, &left) == 0);
	CHECK(gpa == 0x2600010);
}

static void not_present_and_outside_ram(void)
{
	uint64_t gva = 0x400000;
	gpa_t gpa;
	uint64_t left;

	fresh();
	CHECK(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == -EFAULT); /* empty PML4 */
	map64(0x1000, 4, 39, gva, 0x2000000, 12);
	REQUIRE(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == 0);
	/* Clear the PD entry's present bit: the walk stops there. */
	gpa_t pdpt = rd(0x1000) & ~0xfffull, pd = rd(pdpt) & ~0xfffull;

	wr(pd + 2 * 8, rd(pd + 2 * 8) & ~1ull);
	CHECK(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == -EFAULT);
	/* A table pointer outside RAM fails, it is not followed. */
	wr(pd + 2 * 8, 0x7fff0000000ull | 3);
	CHECK(pagewalk_translate(&gm, &lm4, gva, &gpa, &left) == -EFAULT);
	struct pagewalk_regs far = lm4;

	far.cr3 = RAM + 0x1000;
	CHECK(pagewalk_translate(&gm, &far, gva, &gpa, &left) == -EFAULT);
}

static void legacy_modes(void)
{
	struct pagewalk_regs pae = { .cr0 = PG, .cr3 = 0x1000, .cr4 = PAE };
	struct pagewalk_regs p32 = { .cr0 = PG, .cr3 = 0x1000, .cr4 = PSE };
	gpa_t gpa;
	uint64_t left;

	fresh();
	/* PAE: PDPTE[3] -> PD at 0x3000, PD[0] -> 2 MiB page at 0x2200000. */
	wr(0x1000 + 3 * 8, 0x3000 | 1);
	wr(0x3000, 0x2200000 | 0x83);
	REQUIRE(pagewalk_translate(&gm, &pae, 0xc0012345u, &gpa, &left) == 0);
	CHECK(gpa == 0x2212345);
	/* 32-bit: PDE[1] a 4 MiB page (PSE), PDE[2] -> PT at 0x5000. */
	fresh();
	uint32_t pde1 = 0x02400000u | 0x83, pde2 = 0x5000 | 3, pte = 0x02345000u | 3;

	REQUIRE(gm_write(&gm, 0x1000 + 4, &pde1, 4) == 0);
	REQUIRE(gm_write(&gm, 0x1000 + 8, &pde2, 4) == 0);
	REQUIRE(gm_write(&gm, 0x5000 + 7 * 4, &pte, 4) == 0);
	REQUIRE(pagewalk_translate(&gm, &p32, 0x00412345u, &gpa, &left) == 0);
	CHECK(gpa == 0x2412345 && left == 0x400000 - 0x12345);
	REQUIRE(pagewalk_translate(&gm, &p32, 0x00807abcu, &gpa, &left) == 0);
	CHECK(gpa == 0x2345abc);
	CHECK(pagewalk_translate(&gm, &p32, 0x00806abcu, &gpa, &left) == -EFAULT);
}

static void read_write_across_pages(void)
{
	uint64_t gva = 0x600ff8; /* 8 bytes before a page boundary */
	char in[16] = "0123456789abcdef", out[16];
	gpa_t gpa;
	uint64_t left;

	fresh();
	/* Two adjacent virtual pages on two distant physical pages. */
	map64(0x1000, 4, 39, 0x600000, 0x3000000, 12);
	map64(0x1000, 4, 39, 0x601000, 0x2000000, 12);
	REQUIRE(pagewalk_write(&gm, &lm4, gva, in, sizeof(in)) == 0);
	char *host = gm_ptr(&gm, 0x3000ff8, 8), *host2 = gm_ptr(&gm, 0x2000000, 8);

	REQUIRE(host && host2);
	CHECK(memcmp(host, "01234567", 8) == 0 && memcmp(host2, "89abcdef", 8) == 0);
	REQUIRE(pagewalk_read(&gm, &lm4, gva, out, sizeof(out)) == 0);
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	/* The next page is unmapped: the read fails. */
	CHECK(pagewalk_read(&gm, &lm4, 0x601ff8, out, 16) == -EFAULT);
	(void)gpa;
	(void)left;
}

int main(void)
{
	if (!fake_gm_init(&gm, 0, RAM)) {
		printf("FAIL setup: no memory\n");
		return 1;
	}
	RUN(paging_off_is_physical);
	RUN(four_level_4k);
	RUN(four_level_2m_and_1g);
	RUN(five_level);
	RUN(not_present_and_outside_ram);
	RUN(legacy_modes);
	RUN(read_write_across_pages);
	fake_gm_free(&gm);
	return harness_exit();
}
