/* SPDX-License-Identifier: MIT */
/*
 * The kernel loaders on crafted images: a bzImage through the 64-bit boot
 * protocol (bzimage_load) and an ELF through PVH (pvh_load), into a 64 MiB
 * fake guest RAM at 0. Every image lives in a malloc'd buffer of exactly its
 * size, so ASan catches a loader that reads past the end of the file.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "fake_gm.h"
#include "harness.h"
#include "le.h"

#define RAM (64ULL << 20)
#define CMDLINE "console=ttyS0 panic=-1 root=/dev/vda"

/* Read an n-byte little-endian field from guest RAM; all-ones if outside. */
static uint64_t gget(const struct gm *gm, gpa_t gpa, unsigned int n)
{
	const uint8_t *p = gm_ptr(gm, gpa, n);

	return p ? le_get(p, n) : ~0ULL;
}

static uint8_t *dup_exact(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (p)
		memcpy(p, src, n);
	return p;
}

static uint8_t *pattern(size_t n, unsigned int seed)
{
	uint8_t *p = malloc(n);

	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)(i * seed + (i >> 8) + 1);
	return p;
}

/* --- bzImage --- */

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD 0x3000
#define BZ_SIZE (BZ_SETUP_SIZE + BZ_PAYLOAD)
#define BZ_LOAD 0x1000000ULL
#define BZ_INIT_SIZE 0x800000ULL

/* A well-formed bzImage (protocol 2.15, 64-bit entry) of BZ_SIZE bytes. */
static uint8_t *bz_make(void)
{
	uint8_t *img = calloc(1, BZ_SIZE);

	if (!img)
		abort();
	img[BP_SETUP_SECTS] = BZ_SETUP_SECTS;
	le_put(img + BP_SYSSIZE, BZ_PAYLOAD / 16, 4);
	le_put(img + BP_BOOT_FLAG, BP_BOOT_FLAG_MAGIC, 2);
	img[BP_JUMP] = 0xeb;
	img[BP_JUMP + 1] = BP_HEADER_END - (BP_JUMP + 2);
	le_put(img + BP_HEADER, BP_HEADER_MAGIC, 4);
	le_put(img + BP_VERSION, 0x020f, 2);
	img[BP_LOADFLAGS] = BP_LOADED_HIGH;
	le_put(img + BP_INITRD_ADDR_MAX, 0x7fffffff, 4);
	le_put(img + BP_KERNEL_ALIGNMENT, 0x200000, 4);
	img[BP_RELOCATABLE] = 1;
	le_put(img + BP_XLOADFLAGS, BP_XLF_KERNEL_64 | BP_XLF_CAN_BE_LOADED_ABOVE_4G, 2);
	le_put(img + BP_CMDLINE_SIZE, 2047, 4);
	le_put(img + BP_PREF_ADDRESS, BZ_LOAD, 8);
	le_put(img + BP_INIT_SIZE, BZ_INIT_SIZE, 4);
	le_put(img + BP_SETUP_DATA, 0x5000, 8); /* the loader's to write: cleared */
	for (size_t i = 0; i < BZ_PAYLOAD; i++)
		img[BZ_SETUP_SIZE + i] = (uint8_t)(i * 13 + 5);
	return img;
}

/* bzimage_load of the first `size` bytes of img (copied to an exact-size
 * buffer) into a fresh 64 MiB guest; *gm_out keeps the guest if given. */
static int bz_load(const uint8_t *img, size_t size, const char *cmdline, const uint8_t *initrd,
		   size_t initrd_size, struct gm *gm_out, struct boot_entry *entry)
{
	struct gm gm;
	struct boot_entry e = { 0 };
	uint8_t *k = dup_exact(img, size);
	struct boot_input in = {
		.kernel_name = "bz",
		.kernel = k,
		.kernel_size = size,
		.initrd_name = "initrd",
		.initrd = initrd,
		.initrd_size = initrd_size,
		.cmdline = cmdline,
		.rsdp = LAYOUT_ACPI,
	};
	int rc;

	if (!k || !fake_gm_init(&gm, 0, RAM))
		abort();
	rc = bzimage_load(&gm, &in, &e);
	free(k);
	if (entry)
		*entry = e;
	if (gm_out)
		*gm_out = gm;
	else
		fake_gm_free(&gm);
	return rc;
}

/* The zero page's e820 table matches e820_build for the same RAM. */
static bool zp_e820_ok(const struct gm *gm)
{
	struct e820_entry e[BP_E820_MAX];
	int n = e820_build(gm, e, BP_E820_MAX);

	if (n < 3 || gget(gm, LAYOUT_ZERO_PAGE + BP_E820_ENTRIES, 1) != (uint64_t)n)
		return false;
	for (int i = 0; i < n; i++) {
		gpa_t at = LAYOUT_ZERO_PAGE + BP_E820_TABLE + 20 * (gpa_t)i;

		if (gget(gm, at, 8) != e[i].addr || gget(gm, at + 8, 8) != e[i].size ||
		    gget(gm, at + 16, 4) != e[i].type)
			return false;
	}
	return e[0].addr == 0 && e[0].type == E820_RAM && e[n - 1].addr + e[n - 1].size == RAM;
}

static void bz_probe(void)
{
	uint8_t *img = bz_make();

	CHECK(bzimage_probe(img, BZ_SIZE));
	CHECK(!bzimage_probe(img, BP_HEADER + 3));
	img[BP_BOOT_FLAG] = 0;
	CHECK(!bzimage_probe(img, BZ_SIZE));
	free(img);
}

static void bz_good_image_loads(void)
{
	uint8_t *img = bz_make();
	struct gm gm;
	struct boot_entry e;
	const uint8_t *zp, *dst;

	REQUIRE(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, &gm, &e) == 0);
	CHECK(e.mode == BOOT_LINUX64);
	CHECK(e.rip == BZ_LOAD + 0x200);
	CHECK(e.arg == LAYOUT_ZERO_PAGE);
	dst = gm_ptr(&gm, BZ_LOAD, BZ_PAYLOAD);
	CHECK(dst && memcmp(dst, img + BZ_SETUP_SIZE, BZ_PAYLOAD) == 0);
	zp = gm_ptr(&gm, LAYOUT_ZERO_PAGE, BP_SIZE);
	REQUIRE(zp);
	CHECK(le_get(zp + BP_HEADER, 4) == BP_HEADER_MAGIC);
	CHECK(le_get(zp + BP_VERSION, 2) == 0x020f);
	CHECK(le_get(zp + BP_BOOT_FLAG, 2) == BP_BOOT_FLAG_MAGIC);
	CHECK(le_get(zp + BP_INIT_SIZE, 4) == BZ_INIT_SIZE);
	CHECK(zp[BP_TYPE_OF_LOADER] == 0xff);
	CHECK((zp[BP_LOADFLAGS] & (BP_LOADED_HIGH | BP_CAN_USE_HEAP)) ==
	      (BP_LOADED_HIGH | BP_CAN_USE_HEAP));
	CHECK(le_get(zp + BP_VID_MODE, 2) == 0xffff);
	CHECK(le_get(zp + BP_CODE32_START, 4) == BZ_LOAD);
	CHECK(le_get(zp + BP_CMD_LINE_PTR, 4) == LAYOUT_CMDLINE);
	CHECK(gm_ptr(&gm, LAYOUT_CMDLINE, sizeof(CMDLINE)) &&
	      memcmp(gm_ptr(&gm, LAYOUT_CMDLINE, sizeof(CMDLINE)), CMDLINE, sizeof(CMDLINE)) == 0);
	CHECK(le_get(zp + BP_RAMDISK_IMAGE, 4) == 0);
	CHECK(le_get(zp + BP_RAMDISK_SIZE, 4) == 0);
	CHECK(le_get(zp + BP_ACPI_RSDP_ADDR, 8) == LAYOUT_ACPI);
	CHECK(le_get(zp + BP_SETUP_DATA, 8) == 0);
	CHECK(zp_e820_ok(&gm));
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_E820_TABLE, 8) == 0);
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_E820_TABLE + 8, 8) == LAYOUT_EBDA);
	fake_gm_free(&gm);
	free(img);
}

static void bz_good_image_with_initrd(void)
{
	const size_t isize = (1 << 20) + 123;
	uint8_t *img = bz_make(), *initrd = pattern(isize, 31);
	struct gm gm;
	struct boot_entry e;
	uint64_t at, size;

	REQUIRE(initrd);
	REQUIRE(bz_load(img, BZ_SIZE, CMDLINE, initrd, isize, &gm, &e) == 0);
	at = gget(&gm, LAYOUT_ZERO_PAGE + BP_RAMDISK_IMAGE, 4);
	size = gget(&gm, LAYOUT_ZERO_PAGE + BP_RAMDISK_SIZE, 4);
	CHECK(size == isize);
	CHECK(at % 4096 == 0);
	CHECK(at >= BZ_LOAD + BZ_INIT_SIZE);
	CHECK(at + isize <= RAM);
	CHECK(at == ((RAM - isize) & ~4095ULL)); /* as high as it goes */
	CHECK(gm_ptr(&gm, at, isize) && memcmp(gm_ptr(&gm, at, isize), initrd, isize) == 0);
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_EXT_RAMDISK_IMAGE, 4) == 0);
	fake_gm_free(&gm);
	free(initrd);
	free(img);
}

static void bz_initrd_below_addr_max(void)
{
	const size_t isize = 0x2800;
	const uint64_t max = 0x1ffffff; /* the kernel's initrd_addr_max: 32 MiB - 1 */
	uint8_t *img = bz_make(), *initrd = pattern(isize, 7);
	struct gm gm;
	uint64_t at;

	REQUIRE(initrd);
	le_put(img + BP_INITRD_ADDR_MAX, max, 4);
	REQUIRE(bz_load(img, BZ_SIZE, CMDLINE, initrd, isize, &gm, NULL) == 0);
	at = gget(&gm, LAYOUT_ZERO_PAGE + BP_RAMDISK_IMAGE, 4);
	CHECK(at + isize <= max + 1);
	CHECK(at == ((max + 1 - isize) & ~4095ULL));
	CHECK(at >= BZ_LOAD + BZ_INIT_SIZE);
	fake_gm_free(&gm);
	free(initrd);
	free(img);
}

static void bz_low_pref_address_and_setup_sects_0(void)
{
	uint8_t *img = bz_make();
	struct gm gm;
	struct boot_entry e;

	/* setup_sects 0 means 4; pref_address below 1 MiB loads at 1 MiB */
	img[BP_SETUP_SECTS] = 0;
	le_put(img + BP_PREF_ADDRESS, 0x10000, 8);
	REQUIRE(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, &gm, &e) == 0);
	CHECK(e.rip == LAYOUT_KERNEL_MIN + 0x200);
	CHECK(gm_ptr(&gm, LAYOUT_KERNEL_MIN, BZ_PAYLOAD) &&
	      memcmp(gm_ptr(&gm, LAYOUT_KERNEL_MIN, BZ_PAYLOAD), img + BZ_SETUP_SIZE, BZ_PAYLOAD) ==
		  0);
	fake_gm_free(&gm);
	free(img);
}

static void bz_setup_header_copy_clamped(void)
{
	uint8_t *img = bz_make();
	struct gm gm;

	img[BP_JUMP + 1] = 0xff; /* header "ends" at 0x301: beyond boot_params' copy */
	img[BP_SETUP_HEADER_MAX - 1] = 0x66;
	img[BP_SETUP_HEADER_MAX] = 0x77;
	img[BP_SETUP_SECTS - 1] = 0x55; /* before the header: never copied */
	REQUIRE(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, &gm, NULL) == 0);
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_SETUP_HEADER_MAX - 1, 1) == 0x66);
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_SETUP_HEADER_MAX, 1) == 0);
	CHECK(gget(&gm, LAYOUT_ZERO_PAGE + BP_SETUP_SECTS - 1, 1) == 0);
	fake_gm_free(&gm);
	free(img);
}

static void bz_cmdline_size_limit(void)
{
	uint8_t *img = bz_make();
	char *big = malloc(LAYOUT_CMDLINE_MAX + 1);

	REQUIRE(big);
	le_put(img + BP_CMDLINE_SIZE, 15, 4);
	CHECK(bz_load(img, BZ_SIZE, "0123456789abcde", NULL, 0, NULL, NULL) == 0);
	CHECK(bz_load(img, BZ_SIZE, "0123456789abcdef", NULL, 0, NULL, NULL) == -E2BIG);
	/* a kernel claiming more than petrel's command-line area gets 4095 */
	le_put(img + BP_CMDLINE_SIZE, 0xffffffff, 4);
	memset(big, 'a', LAYOUT_CMDLINE_MAX);
	big[LAYOUT_CMDLINE_MAX] = 0;
	CHECK(bz_load(img, BZ_SIZE, big, NULL, 0, NULL, NULL) == -E2BIG);
	big[LAYOUT_CMDLINE_MAX - 1] = 0;
	CHECK(bz_load(img, BZ_SIZE, big, NULL, 0, NULL, NULL) == 0);
	free(big);
	free(img);
}

static void bz_truncated_header(void)
{
	uint8_t *img = bz_make();

	CHECK(bz_load(img, 0, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(bz_load(img, BP_SETUP_SECTS, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(bz_load(img, BP_HEADER + 4, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(bz_load(img, BP_HEADER_END - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	free(img);
}

static void bz_old_protocol(void)
{
	uint8_t *img = bz_make();

	le_put(img + BP_VERSION, 0x020b, 2);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	le_put(img + BP_VERSION, 0x020c, 2);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == 0);
	free(img);
}

static void bz_not_64bit(void)
{
	uint8_t *img = bz_make();

	le_put(img + BP_XLOADFLAGS, BP_XLF_CAN_BE_LOADED_ABOVE_4G, 2);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	free(img);
}

static void bz_setup_past_eof(void)
{
	uint8_t *img = bz_make();

	img[BP_SETUP_SECTS] = 200;
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	img[BP_SETUP_SECTS] = BZ_SETUP_SECTS;
	/* setup code exactly to EOF: no protected-mode code at all */
	le_put(img + BP_SYSSIZE, 0, 4);
	CHECK(bz_load(img, BZ_SETUP_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	free(img);
}

static void bz_syssize_past_payload(void)
{
	uint8_t *img = bz_make();

	le_put(img + BP_SYSSIZE, BZ_PAYLOAD / 16 + 1, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	le_put(img + BP_SYSSIZE, 0xffffffff, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	/* a download cut short by one byte */
	le_put(img + BP_SYSSIZE, BZ_PAYLOAD / 16, 4);
	CHECK(bz_load(img, BZ_SIZE - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	free(img);
}

/* Found by fuzz_boot: protected-mode code that ends before the 64-bit
 * entry at +0x200, loaded at the top of RAM, was accepted with its entry
 * point outside guest RAM. */
static void bz_entry_past_code(void)
{
	uint8_t *img = bz_make();
	struct boot_entry e;

	le_put(img + BP_SYSSIZE, 0, 4);
	le_put(img + BP_INIT_SIZE, 0, 4);
	le_put(img + BP_PREF_ADDRESS, RAM - 0x100, 8);
	CHECK(bz_load(img, BZ_SETUP_SIZE + 0x100, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	le_put(img + BP_PREF_ADDRESS, BZ_LOAD, 8);
	CHECK(bz_load(img, BZ_SETUP_SIZE + 0x200, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(bz_load(img, BZ_SETUP_SIZE + 0x201, CMDLINE, NULL, 0, NULL, &e) == 0);
	CHECK(e.rip == BZ_LOAD + 0x200);
	free(img);
}

static void bz_init_size_beyond_ram(void)
{
	uint8_t *img = bz_make();

	le_put(img + BP_INIT_SIZE, RAM, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOMEM);
	le_put(img + BP_INIT_SIZE, 0xffffffff, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOMEM);
	/* exactly to the end of RAM is fine */
	le_put(img + BP_INIT_SIZE, RAM - BZ_LOAD, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == 0);
	le_put(img + BP_INIT_SIZE, BZ_INIT_SIZE, 4);
	le_put(img + BP_PREF_ADDRESS, RAM - 0x1000, 8);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOMEM);
	le_put(img + BP_PREF_ADDRESS, ~0ULL - 0xfff, 8);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOMEM);
	le_put(img + BP_PREF_ADDRESS, 1ULL << 40, 8);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, NULL, 0, NULL, NULL) == -ENOMEM);
	free(img);
}

static void bz_initrd_too_big(void)
{
	const size_t isize = RAM - BZ_LOAD - BZ_INIT_SIZE + 1;
	uint8_t *img = bz_make(), *initrd = calloc(1, isize);

	REQUIRE(initrd);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, initrd, isize, NULL, NULL) == -ENOMEM);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, initrd, isize - 4096, NULL, NULL) == 0);
	/* fits in RAM, but not below the kernel's initrd_addr_max */
	le_put(img + BP_INITRD_ADDR_MAX, BZ_LOAD + BZ_INIT_SIZE + 0xfff, 4);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, initrd, 0x1001, NULL, NULL) == -ENOMEM);
	CHECK(bz_load(img, BZ_SIZE, CMDLINE, initrd, 0x1000, NULL, NULL) == 0);
	free(initrd);
	free(img);
}

static void bz_small_ram(void)
{
	uint8_t *img = bz_make(), *k = dup_exact(img, BZ_SIZE);
	struct gm gm;
	struct boot_entry e;
	struct boot_input in = {
		.kernel_name = "bz", .kernel = k, .kernel_size = BZ_SIZE, .cmdline = CMDLINE
	};

	REQUIRE(k && fake_gm_init(&gm, 0, 16ULL << 20));
	CHECK(bzimage_load(&gm, &in, &e) == -ENOMEM); /* load 16 MiB + 8 MiB > RAM */
	fake_gm_free(&gm);
	free(k);
	free(img);
}

/* --- ELF / PVH --- */

#define ELF_PADDR 0x100000ULL
#define ELF_SEG_OFF 0x200
#define ELF_FILESZ 0x1000
#define ELF_MEMSZ 0x3000
#define ELF_NOTE_OFF 0x100
#define ELF_XEN_NOTE_OFF (ELF_NOTE_OFF + 24) /* after a "Linux" note */
#define ELF_ENTRY 0x100100ULL
#define ELF_SIZE (ELF_SEG_OFF + ELF_FILESZ)

struct elf {
	uint8_t *p;
	size_t size;
	Elf64_Ehdr *eh; /* elf_make's: ELF64 */
	Elf64_Phdr *load, *note;
	Elf32_Ehdr *eh32; /* elf32_make's: ELF32 */
	Elf32_Phdr *load32, *note32;
	uint8_t *xen; /* the Xen note's header */
};

static void put_note(uint8_t *p, uint32_t namesz, uint32_t descsz, uint32_t type, const char *name)
{
	le_put(p, namesz, 4);
	le_put(p + 4, descsz, 4);
	le_put(p + 8, type, 4);
	memcpy(p + 12, name, strlen(name) + 1);
}

/* A minimal PVH kernel: one PT_LOAD at 1 MiB (0x1000 bytes of file, 0x3000
 * in memory), one PT_NOTE holding a "Linux" note and then the Xen
 * PHYS32_ENTRY note with a `descsz`-byte entry point. */
static struct elf elf_make(unsigned int descsz)
{
	struct elf e = { .size = ELF_SIZE };
	Elf64_Phdr *ph;

	e.p = calloc(1, ELF_SIZE);
	if (!e.p)
		abort();
	e.eh = (Elf64_Ehdr *)e.p;
	memcpy(e.eh->e_ident, ELFMAG, SELFMAG);
	e.eh->e_ident[EI_CLASS] = ELFCLASS64;
	e.eh->e_ident[EI_DATA] = ELFDATA2LSB;
	e.eh->e_ident[EI_VERSION] = EV_CURRENT;
	e.eh->e_type = ET_EXEC;
	e.eh->e_machine = EM_X86_64;
	e.eh->e_version = EV_CURRENT;
	e.eh->e_entry = 0xffffffff81000000ULL;
	e.eh->e_phoff = sizeof(Elf64_Ehdr);
	e.eh->e_ehsize = sizeof(Elf64_Ehdr);
	e.eh->e_phentsize = sizeof(Elf64_Phdr);
	e.eh->e_phnum = 2;
	ph = (Elf64_Phdr *)(e.p + sizeof(Elf64_Ehdr));
	e.load = &ph[0];
	e.note = &ph[1];
	*e.load = (Elf64_Phdr){ .p_type = PT_LOAD,
				.p_flags = PF_R | PF_W | PF_X,
				.p_offset = ELF_SEG_OFF,
				.p_vaddr = 0xffffffff80000000ULL + ELF_PADDR,
				.p_paddr = ELF_PADDR,
				.p_filesz = ELF_FILESZ,
				.p_memsz = ELF_MEMSZ,
				.p_align = 0x1000 };
	*e.note = (Elf64_Phdr){ .p_type = PT_NOTE,
				.p_flags = PF_R,
				.p_offset = ELF_NOTE_OFF,
				.p_filesz = 24 + 16 + descsz,
				.p_align = 4 };
	put_note(e.p + ELF_NOTE_OFF, 6, 4, 0x101, "Linux"); /* name padded to 8 */
	e.xen = e.p + ELF_XEN_NOTE_OFF;
	put_note(e.xen, 4, descsz, 18, "Xen");
	le_put(e.xen + 16, ELF_ENTRY, descsz);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		e.p[ELF_SEG_OFF + i] = (uint8_t)(i * 11 + 3);
	return e;
}

/* The same kernel as elf_make's in ELF32 form (i386, as QEMU and many
 * small kernels take it): 32-bit headers, same layout and contents. */
static struct elf elf32_make(unsigned int descsz)
{
	struct elf e = { .size = ELF_SIZE };
	Elf32_Phdr *ph;

	e.p = calloc(1, ELF_SIZE);
	if (!e.p)
		abort();
	e.eh32 = (Elf32_Ehdr *)e.p;
	memcpy(e.eh32->e_ident, ELFMAG, SELFMAG);
	e.eh32->e_ident[EI_CLASS] = ELFCLASS32;
	e.eh32->e_ident[EI_DATA] = ELFDATA2LSB;
	e.eh32->e_ident[EI_VERSION] = EV_CURRENT;
	e.eh32->e_type = ET_EXEC;
	e.eh32->e_machine = EM_386;
	e.eh32->e_version = EV_CURRENT;
	e.eh32->e_entry = (uint32_t)ELF_ENTRY;
	e.eh32->e_phoff = sizeof(Elf32_Ehdr);
	e.eh32->e_ehsize = sizeof(Elf32_Ehdr);
	e.eh32->e_phentsize = sizeof(Elf32_Phdr);
	e.eh32->e_phnum = 2;
	ph = (Elf32_Phdr *)(e.p + sizeof(Elf32_Ehdr));
	e.load32 = &ph[0];
	e.note32 = &ph[1];
	*e.load32 = (Elf32_Phdr){ .p_type = PT_LOAD,
				  .p_flags = PF_R | PF_W | PF_X,
				  .p_offset = ELF_SEG_OFF,
				  .p_vaddr = ELF_PADDR,
				  .p_paddr = ELF_PADDR,
				  .p_filesz = ELF_FILESZ,
				  .p_memsz = ELF_MEMSZ,
				  .p_align = 0x1000 };
	*e.note32 = (Elf32_Phdr){ .p_type = PT_NOTE,
				  .p_flags = PF_R,
				  .p_offset = ELF_NOTE_OFF,
				  .p_filesz = 24 + 16 + descsz,
				  .p_align = 4 };
	put_note(e.p + ELF_NOTE_OFF, 6, 4, 0x101, "Linux");
	e.xen = e.p + ELF_XEN_NOTE_OFF;
	put_note(e.xen, 4, descsz, 18, "Xen");
	le_put(e.xen + 16, ELF_ENTRY, descsz);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		e.p[ELF_SEG_OFF + i] = (uint8_t)(i * 7 + 5);
	return e;
}

static int elf_load(const struct elf *elf, size_t size, const char *cmdline, const uint8_t *initrd,
		    size_t initrd_size, struct gm *gm_out, struct boot_entry *entry)
{
	struct gm gm;
	struct boot_entry e = { 0 };
	uint8_t *k = dup_exact(elf->p, size);
	struct boot_input in = {
		.kernel_name = "elf",
		.kernel = k,
		.kernel_size = size,
		.initrd_name = "initrd",
		.initrd = initrd,
		.initrd_size = initrd_size,
		.cmdline = cmdline,
		.rsdp = LAYOUT_ACPI,
	};
	int rc;

	if (!k || !fake_gm_init(&gm, 0, RAM))
		abort();
	/* dirty the bss so that zeroing it shows */
	memset(gm.region[0].host + ELF_PADDR + ELF_FILESZ, 0xcc, ELF_MEMSZ - ELF_FILESZ);
	rc = pvh_load(&gm, &in, &e);
	free(k);
	if (entry)
		*entry = e;
	if (gm_out)
		*gm_out = gm;
	else
		fake_gm_free(&gm);
	return rc;
}

static int elf_try(const struct elf *elf)
{
	return elf_load(elf, elf->size, CMDLINE, NULL, 0, NULL, NULL);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void pvh_probe(void)
{
	struct elf elf = elf_make(4);

	CHECK(elf_probe(elf.p, elf.size));
	CHECK(!elf_probe(elf.p, 3));
	elf.p[3] = 'G';
	CHECK(!elf_probe(elf.p, elf.size));
	free(elf.p);
}

static void check_start_info(const struct gm *gm)
{
	struct e820_entry map[LAYOUT_PVH_MEMMAP_MAX];
	int n = e820_build(gm, map, LAYOUT_PVH_MEMMAP_MAX);

	CHECK(gget(gm, LAYOUT_START_INFO, 4) == 0x336ec578);
	CHECK(gget(gm, LAYOUT_START_INFO + 4, 4) == 1);
	CHECK(gget(gm, LAYOUT_START_INFO + 8, 4) == 0); /* flags */
	CHECK(gget(gm, LAYOUT_START_INFO + 24, 8) == LAYOUT_CMDLINE);
	CHECK(gget(gm, LAYOUT_START_INFO + 32, 8) == LAYOUT_ACPI);
	CHECK(gget(gm, LAYOUT_START_INFO + 40, 8) == LAYOUT_PVH_MEMMAP);
	CHECK(n >= 3 && gget(gm, LAYOUT_START_INFO + 48, 4) == (uint64_t)n);
	for (int i = 0; i < n; i++) {
		gpa_t at = LAYOUT_PVH_MEMMAP + 24 * (gpa_t)i;

		CHECK(gget(gm, at, 8) == map[i].addr);
		CHECK(gget(gm, at + 8, 8) == map[i].size);
		CHECK(gget(gm, at + 16, 4) == map[i].type);
		CHECK(gget(gm, at + 20, 4) == 0);
	}
	CHECK(gm_ptr(gm, LAYOUT_CMDLINE, sizeof(CMDLINE)) &&
	      memcmp(gm_ptr(gm, LAYOUT_CMDLINE, sizeof(CMDLINE)), CMDLINE, sizeof(CMDLINE)) == 0);
}

static void pvh_good_image_loads(void)
{
	struct elf elf = elf_make(4);
	struct gm gm;
	struct boot_entry e;
	const uint8_t *seg;

	REQUIRE(elf_load(&elf, elf.size, CMDLINE, NULL, 0, &gm, &e) == 0);
	CHECK(e.mode == BOOT_PVH32);
	CHECK(e.rip == ELF_ENTRY);
	CHECK(e.arg == LAYOUT_START_INFO);
	seg = gm_ptr(&gm, ELF_PADDR, ELF_MEMSZ);
	CHECK(seg && memcmp(seg, elf.p + ELF_SEG_OFF, ELF_FILESZ) == 0);
	CHECK(seg && all_zero(seg + ELF_FILESZ, ELF_MEMSZ - ELF_FILESZ));
	check_start_info(&gm);
	CHECK(gget(&gm, LAYOUT_START_INFO + 12, 4) == 0); /* nr_modules */
	fake_gm_free(&gm);
	free(elf.p);
}

static void pvh_good_image_8byte_entry_and_initrd(void)
{
	const size_t isize = 0x5000 + 17;
	struct elf elf = elf_make(8);
	uint8_t *initrd = pattern(isize, 5);
	struct gm gm;
	struct boot_entry e;
	uint64_t at;

	REQUIRE(initrd);
	le_put(elf.xen + 16, ELF_ENTRY + 0x80, 8);
	REQUIRE(elf_load(&elf, elf.size, CMDLINE, initrd, isize, &gm, &e) == 0);
	CHECK(e.rip == ELF_ENTRY + 0x80);
	check_start_info(&gm);
	CHECK(gget(&gm, LAYOUT_START_INFO + 12, 4) == 1);
	CHECK(gget(&gm, LAYOUT_START_INFO + 16, 8) == LAYOUT_PVH_MODLIST);
	at = gget(&gm, LAYOUT_PVH_MODLIST, 8);
	CHECK(gget(&gm, LAYOUT_PVH_MODLIST + 8, 8) == isize);
	CHECK(gget(&gm, LAYOUT_PVH_MODLIST + 16, 8) == 0);
	CHECK(at % 4096 == 0);
	CHECK(at >= ELF_PADDR + ELF_MEMSZ && at + isize <= RAM);
	CHECK(at == ((RAM - isize) & ~4095ULL));
	CHECK(gm_ptr(&gm, at, isize) && memcmp(gm_ptr(&gm, at, isize), initrd, isize) == 0);
	fake_gm_free(&gm);
	free(initrd);
	free(elf.p);
}

static void pvh_bad_header(void)
{
	struct elf elf = elf_make(4);

	elf.eh->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_ident[EI_DATA] = ELFDATA2LSB;
	elf.eh->e_machine = EM_386;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_machine = EM_X86_64;
	elf.eh->e_ident[EI_CLASS] = 0; /* ELFCLASSNONE */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_ident[EI_CLASS] = ELFCLASS64;
	elf.eh->e_ident[EI_VERSION] = 2;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_ident[EI_VERSION] = EV_CURRENT;
	elf.eh->e_version = 0;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_version = EV_CURRENT;
	CHECK(elf_load(&elf, sizeof(Elf64_Ehdr) - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(elf_load(&elf, SELFMAG, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_bad_program_headers(void)
{
	struct elf elf = elf_make(4);

	/* the headers end past EOF: cut the file inside the second one */
	CHECK(elf_load(&elf, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 8, CMDLINE, NULL, 0, NULL,
		       NULL) == -ENOEXEC);
	elf.eh->e_phoff = ELF_SIZE;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_phoff = ~0ULL - 8;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_phoff = sizeof(Elf64_Ehdr);
	elf.eh->e_phnum = 0xffff;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_phnum = 0;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_phnum = 2;
	elf.eh->e_phentsize = 32;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh->e_phentsize = sizeof(Elf64_Phdr);
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_segment_past_eof(void)
{
	struct elf elf = elf_make(4);

	elf.load->p_filesz = ELF_FILESZ + 1;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load->p_filesz = ELF_FILESZ;
	elf.load->p_offset = ~0ULL - 8;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load->p_offset = ELF_SEG_OFF;
	CHECK(elf_load(&elf, ELF_SIZE - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	elf.note->p_offset = ELF_SIZE;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note->p_offset = ~0ULL - 8;
	CHECK(elf_try(&elf) == -ENOEXEC);
	free(elf.p);
}

static void pvh_segment_bad_placement(void)
{
	struct elf elf = elf_make(4);

	elf.load->p_memsz = ELF_FILESZ - 1; /* filesz > memsz */
	CHECK(elf_try(&elf) < 0);
	elf.load->p_memsz = ELF_MEMSZ;
	elf.load->p_paddr = 0x80000; /* below 1 MiB */
	CHECK(elf_try(&elf) < 0);
	elf.load->p_paddr = ELF_PADDR - 0x1000; /* starts below 1 MiB */
	CHECK(elf_try(&elf) < 0);
	elf.load->p_paddr = RAM - 0x1000; /* runs past the end of RAM */
	CHECK(elf_try(&elf) < 0);
	elf.load->p_paddr = RAM;
	CHECK(elf_try(&elf) < 0);
	elf.load->p_paddr = ~0ULL - 0xfff; /* paddr + memsz wraps */
	CHECK(elf_try(&elf) < 0);
	elf.load->p_paddr = ELF_PADDR;
	elf.load->p_memsz = ~0ULL;
	CHECK(elf_try(&elf) < 0);
	elf.load->p_memsz = ELF_MEMSZ;
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_no_note(void)
{
	struct elf elf = elf_make(4);

	le_put(elf.xen + 8, 17, 4); /* another Xen note type */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 8, 18, 4);
	elf.xen[12 + 2] = 'm'; /* "Xem" */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.xen[12 + 2] = 'n';
	elf.note->p_type = PT_NULL;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note->p_type = PT_NOTE;
	elf.note->p_filesz = 11; /* too short for any note */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note->p_filesz = 24 + 16 + 4;
	elf.load->p_type = PT_NULL; /* a note but nothing to load */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load->p_type = PT_LOAD;
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_note_bad_sizes(void)
{
	struct elf elf = elf_make(4);

	le_put(elf.xen, 0xffffffff, 4); /* namesz */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen, 0xfffffffd, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen, 4, 4);
	le_put(elf.xen + 4, 0xfffffff0, 4); /* descsz */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 4, 16, 4); /* past the end of the note segment */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 4, 2, 4); /* fits, but an entry point is 4 or 8 bytes */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 4, 4, 4);
	elf.note->p_filesz -= 2; /* segment ends inside the descriptor */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note->p_filesz += 2;
	le_put(elf.p + ELF_NOTE_OFF, 0xfffffff9, 4); /* the note before it is corrupt */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.p + ELF_NOTE_OFF, 6, 4);
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_entry_outside_ram(void)
{
	struct elf elf = elf_make(4), elf8 = elf_make(8);

	le_put(elf.xen + 16, 0x10000000, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, RAM, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, 0xffffffff, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf8.xen + 16, (1ULL << 32) + ELF_ENTRY, 8);
	CHECK(elf_try(&elf8) == -ENOEXEC);
	free(elf.p);
	free(elf8.p);
}

/* In RAM, but not code the file brings: RAM after the image, the
 * segment's zero-filled tail, one byte past its file bytes. */
static void pvh_entry_outside_segments(void)
{
	struct elf elf = elf_make(4);

	le_put(elf.xen + 16, ELF_PADDR + ELF_MEMSZ + 0x1000, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, ELF_PADDR + ELF_FILESZ, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, ELF_PADDR - 1, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, ELF_PADDR + ELF_FILESZ - 1, 4);
	CHECK(elf_try(&elf) == 0);
	le_put(elf.xen + 16, ELF_PADDR, 4);
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh_cmdline_and_initrd_limits(void)
{
	struct elf elf = elf_make(4);
	char *big = malloc(LAYOUT_CMDLINE_MAX + 1);
	const size_t isize = RAM - ELF_PADDR - ELF_MEMSZ + 1;
	uint8_t *initrd = calloc(1, isize);

	REQUIRE(big && initrd);
	memset(big, 'a', LAYOUT_CMDLINE_MAX);
	big[LAYOUT_CMDLINE_MAX] = 0;
	CHECK(elf_load(&elf, elf.size, big, NULL, 0, NULL, NULL) == -E2BIG);
	big[LAYOUT_CMDLINE_MAX - 1] = 0;
	CHECK(elf_load(&elf, elf.size, big, NULL, 0, NULL, NULL) == 0);
	CHECK(elf_load(&elf, elf.size, CMDLINE, initrd, isize, NULL, NULL) == -ENOMEM);
	CHECK(elf_load(&elf, elf.size, CMDLINE, initrd, isize - 4096, NULL, NULL) == 0);
	free(initrd);
	free(big);
	free(elf.p);
}

/* --- ELF32 / PVH: the same loader on 32-bit headers --- */

static void pvh32_good_image_loads(void)
{
	const size_t isize = 0x3000 + 5;
	struct elf elf = elf32_make(4);
	uint8_t *initrd = pattern(isize, 3);
	struct gm gm;
	struct boot_entry e;
	const uint8_t *seg;
	uint64_t at;

	REQUIRE(initrd);
	CHECK(elf_probe(elf.p, elf.size));
	REQUIRE(elf_load(&elf, elf.size, CMDLINE, initrd, isize, &gm, &e) == 0);
	CHECK(e.mode == BOOT_PVH32);
	CHECK(e.rip == ELF_ENTRY);
	CHECK(e.arg == LAYOUT_START_INFO);
	seg = gm_ptr(&gm, ELF_PADDR, ELF_MEMSZ);
	CHECK(seg && memcmp(seg, elf.p + ELF_SEG_OFF, ELF_FILESZ) == 0);
	CHECK(seg && all_zero(seg + ELF_FILESZ, ELF_MEMSZ - ELF_FILESZ));
	check_start_info(&gm);
	CHECK(gget(&gm, LAYOUT_START_INFO + 12, 4) == 1);
	at = gget(&gm, LAYOUT_PVH_MODLIST, 8);
	CHECK(gget(&gm, LAYOUT_PVH_MODLIST + 8, 8) == isize);
	CHECK(at >= ELF_PADDR + ELF_MEMSZ && at + isize <= RAM);
	CHECK(gm_ptr(&gm, at, isize) && memcmp(gm_ptr(&gm, at, isize), initrd, isize) == 0);
	fake_gm_free(&gm);
	free(initrd);
	free(elf.p);
}

static void pvh32_bad_header(void)
{
	struct elf elf = elf32_make(4);

	elf.eh32->e_machine = EM_X86_64; /* ELF32 is i386's class */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_machine = EM_IAMCU;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_machine = EM_386;
	elf.eh32->e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_ident[EI_DATA] = ELFDATA2LSB;
	elf.eh32->e_ident[EI_VERSION] = 0;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_ident[EI_VERSION] = EV_CURRENT;
	elf.eh32->e_version = 2;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_version = EV_CURRENT;
	elf.eh32->e_ident[EI_CLASS] = ELFCLASS64; /* 32-bit headers read as 64-bit */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_ident[EI_CLASS] = 3;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(elf_load(&elf, sizeof(Elf32_Ehdr) - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(elf_load(&elf, EI_NIDENT - 1, CMDLINE, NULL, 0, NULL, NULL) == -ENOEXEC);
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh32_bad_program_headers(void)
{
	struct elf elf = elf32_make(4);

	CHECK(elf_load(&elf, sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) + 8, CMDLINE, NULL, 0, NULL,
		       NULL) == -ENOEXEC);
	elf.eh32->e_phentsize = sizeof(Elf64_Phdr);
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_phentsize = sizeof(Elf32_Phdr);
	elf.eh32->e_phoff = ELF_SIZE - sizeof(Elf32_Phdr);
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_phoff = 0xffffffe0;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_phoff = sizeof(Elf32_Ehdr);
	elf.eh32->e_phnum = 0xffff;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_phnum = 0;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.eh32->e_phnum = 2;
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh32_bad_segments(void)
{
	struct elf elf = elf32_make(4);

	elf.load32->p_filesz = ELF_FILESZ + 1; /* past the end of the file */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load32->p_filesz = ELF_FILESZ;
	elf.load32->p_offset = 0xfffffff0; /* offset + filesz wraps in 32 bits */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load32->p_offset = ELF_SEG_OFF;
	elf.note32->p_offset = 0xffffffff;
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note32->p_offset = ELF_NOTE_OFF;
	elf.load32->p_memsz = ELF_FILESZ - 1;
	CHECK(elf_try(&elf) < 0);
	elf.load32->p_memsz = ELF_MEMSZ;
	elf.load32->p_paddr = 0x80000; /* below 1 MiB */
	CHECK(elf_try(&elf) < 0);
	elf.load32->p_paddr = RAM - 0x1000; /* runs past the end of RAM */
	CHECK(elf_try(&elf) < 0);
	elf.load32->p_paddr = 0xfffff000; /* paddr + memsz wraps in 32 bits */
	CHECK(elf_try(&elf) < 0);
	elf.load32->p_paddr = ELF_PADDR;
	elf.load32->p_memsz = 0xffffffff;
	CHECK(elf_try(&elf) < 0);
	elf.load32->p_memsz = ELF_MEMSZ;
	elf.load32->p_type = PT_NULL; /* a note but nothing to load */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.load32->p_type = PT_LOAD;
	elf.note32->p_type = PT_NULL; /* no PVH note */
	CHECK(elf_try(&elf) == -ENOEXEC);
	elf.note32->p_type = PT_NOTE;
	CHECK(elf_try(&elf) == 0);
	free(elf.p);
}

static void pvh32_entry(void)
{
	struct elf elf = elf32_make(4), elf8 = elf32_make(8);

	le_put(elf.xen + 16, ELF_PADDR + ELF_FILESZ, 4); /* the zero-filled tail */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, ELF_PADDR - 1, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 16, 0xffffffff, 4);
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 4, 16, 4); /* descsz past the note segment */
	CHECK(elf_try(&elf) == -ENOEXEC);
	le_put(elf.xen + 4, 4, 4);
	le_put(elf.xen + 16, ELF_PADDR + ELF_FILESZ - 1, 4);
	CHECK(elf_try(&elf) == 0);
	le_put(elf8.xen + 16, (1ULL << 32) + ELF_ENTRY, 8);
	CHECK(elf_try(&elf8) == -ENOEXEC);
	le_put(elf8.xen + 16, ELF_ENTRY, 8);
	CHECK(elf_try(&elf8) == 0);
	free(elf.p);
	free(elf8.p);
}

/* --- shared helpers --- */

static void boot_place_high_cases(void)
{
	gpa_t at = 0x1234;

	CHECK(boot_place_high(0x100000, 0x4000000, 0x1000, &at) == 0 && at == 0x3fff000);
	CHECK(boot_place_high(0x100000, 0x4000000, 0x1800, &at) == 0 && at == 0x3ffe000);
	CHECK(boot_place_high(0x1000, 0x3000, 0x2000, &at) == 0 && at == 0x1000);
	CHECK(boot_place_high(0x1000, 0x3800, 0x2800, &at) == 0 && at == 0x1000);
	CHECK(boot_place_high(0, 0x2800, 0, &at) == 0 && at == 0x2000);
	CHECK(boot_place_high(0, ~0ULL, 1, &at) == 0 && at == ~0xfffULL);
	at = 0x1234;
	CHECK(boot_place_high(0x1800, 0x4000, 0x2800, &at) == -ENOSPC); /* aligning drops below */
	CHECK(boot_place_high(0x1000, 0x3000, 0x2001, &at) == -ENOSPC);
	CHECK(boot_place_high(0x3000, 0x1000, 0x10, &at) == -ENOSPC);
	CHECK(boot_place_high(0x1001, 0x1fff, 0, &at) == -ENOSPC);
	CHECK(boot_place_high(0, 0x4000, ~0ULL, &at) == -ENOSPC);
	CHECK(boot_place_high(0x1000, 0x1000, 1, &at) == -ENOSPC);
	CHECK(at == 0x1234);
}

static bool cmdline_is(const char *user, bool emulated_host, const char *want)
{
	char *s = boot_cmdline(user, emulated_host);
	bool ok = s && strcmp(s, want) == 0;

	if (s && !ok)
		fprintf(stderr, "boot_cmdline(\"%s\", %d) = \"%s\", want \"%s\"\n",
			user ? user : "(null)", emulated_host, s, want);
	free(s);
	return ok;
}

static void boot_cmdline_defaults(void)
{
	CHECK(cmdline_is(NULL, false, "console=ttyS0 panic=-1"));
	CHECK(cmdline_is("", false, "console=ttyS0 panic=-1"));
	CHECK(cmdline_is("quiet", false, "console=ttyS0 panic=-1 quiet"));
	CHECK(cmdline_is("console=hvc0 quiet", false, "panic=-1 console=hvc0 quiet"));
	CHECK(cmdline_is("quiet panic=5", false, "console=ttyS0 quiet panic=5"));
	CHECK(cmdline_is("console=ttyS1 panic=0", false, "console=ttyS1 panic=0"));
	CHECK(cmdline_is("  console=tty0", false, "panic=-1   console=tty0"));
	/* only whole parameters count */
	CHECK(cmdline_is("xconsole=1 panic_on_warn=1", false,
			 "console=ttyS0 panic=-1 xconsole=1 panic_on_warn=1"));
	CHECK(cmdline_is("console", false, "console=ttyS0 panic=-1 console"));
}

static void boot_cmdline_emulated_host(void)
{
	CHECK(cmdline_is(NULL, true, "console=ttyS0 panic=-1 noxsave clearcpuid=popcnt,smap"));
	CHECK(cmdline_is("", true, "console=ttyS0 panic=-1 noxsave clearcpuid=popcnt,smap"));
	CHECK(cmdline_is("noxsave console=hvc0", true,
			 "panic=-1 clearcpuid=popcnt,smap noxsave console=hvc0"));
	CHECK(cmdline_is("noxsaveopt", true,
			 "console=ttyS0 panic=-1 noxsave clearcpuid=popcnt,smap noxsaveopt"));
}

int main(void)
{
	RUN(bz_probe);
	RUN(bz_good_image_loads);
	RUN(bz_good_image_with_initrd);
	RUN(bz_initrd_below_addr_max);
	RUN(bz_low_pref_address_and_setup_sects_0);
	RUN(bz_setup_header_copy_clamped);
	RUN(bz_cmdline_size_limit);
	RUN(bz_truncated_header);
	RUN(bz_old_protocol);
	RUN(bz_not_64bit);
	RUN(bz_setup_past_eof);
	RUN(bz_syssize_past_payload);
	RUN(bz_entry_past_code);
	RUN(bz_init_size_beyond_ram);
	RUN(bz_initrd_too_big);
	RUN(bz_small_ram);
	RUN(pvh_probe);
	RUN(pvh_good_image_loads);
	RUN(pvh_good_image_8byte_entry_and_initrd);
	RUN(pvh_bad_header);
	RUN(pvh_bad_program_headers);
	RUN(pvh_segment_past_eof);
	RUN(pvh_segment_bad_placement);
	RUN(pvh_no_note);
	RUN(pvh_note_bad_sizes);
	RUN(pvh_entry_outside_ram);
	RUN(pvh_entry_outside_segments);
	RUN(pvh_cmdline_and_initrd_limits);
	RUN(pvh32_good_image_loads);
	RUN(pvh32_bad_header);
	RUN(pvh32_bad_program_headers);
	RUN(pvh32_bad_segments);
	RUN(pvh32_entry);
	RUN(boot_place_high_cases);
	RUN(boot_cmdline_defaults);
	RUN(boot_cmdline_emulated_host);
	return harness_exit();
}
