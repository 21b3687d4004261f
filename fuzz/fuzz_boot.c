/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for kernel loading as boot_vm does it, minus the files:
 * boot_cmdline on a user command line, the ACPI tables, then boot_load
 * (bzImage or ELF/PVH by magic) into guest RAM. ASan checks that no
 * loader reads outside the image or initrd buffers; each RAM region has a
 * PROT_NONE page on either side, so a write just outside RAM faults. The
 * target checks what a loaded kernel is promised: its
 * entry point and boot argument lie in guest RAM, and the ACPI tables
 * below 1 MiB are intact; and what boot.h promises: a failure prints
 * exactly one line, a success nothing (caught with fuzz_log.h).
 *
 * Input:
 *   byte 0     bit 0 an initrd, bit 1 an emulated host (boot_cmdline's
 *              extra parameters), bit 2 1 MiB of RAM at 4 GiB as well,
 *              bits 3-4 RAM below the hole: 16, 24, 32 or 48 MiB, bit 5
 *              --stealth ACPI tables
 *   bytes 1-2  n: command line length (le16)
 *   bytes 3-6  m: initrd length (le32)
 *   then       n bytes of command line (up to a NUL), m bytes of initrd,
 *              and the rest is the kernel image
 * Lengths past the end of the input are cut to what is there. Seeds in
 * fuzz/corpus/boot/: the test guests as ELF64, ELF32 and bzImage, and damaged
 * copies of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "fuzz_log.h"
#include "le.h"
#include "mem.h"
#include "petrel/platform.h"

#define HDR 7

#define GUARD 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RAM regions are mmap'd, not calloc'd: ASan would poison and unpoison
 * the shadow of tens of MiB on every run, where a fresh mapping costs only
 * the pages a loader touches. */
static void ram_add(struct gm *gm, gpa_t base, uint64_t size)
{
	uint8_t *m = mmap(NULL, size + 2 * GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED || mprotect(m + GUARD, size, PROT_READ | PROT_WRITE) ||
	    gm_add_region(gm, base, size, m + GUARD))
		abort();
}

static void ram_free(struct gm *gm)
{
	for (unsigned int i = 0; i < gm->nregions; i++)
		munmap(gm->region[i].host - GUARD, gm->region[i].size + 2 * GUARD);
}

static size_t take(size_t want, size_t *left)
{
	size_t n = want < *left ? want : *left;

	*left -= n;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t low_mib[4] = { 16, 24, 32, 48 };
	static uint8_t acpi[LAYOUT_ACPI_END - LAYOUT_ACPI];
	struct acpi_mmio_dev dev = { .base = PETREL_VIRTIO_MMIO_BASE, .size = 0x200, .gsi = 5 };
	struct boot_input in = { .kernel_name = "fuzz", .initrd_name = "fuzz-initrd" };
	struct boot_entry entry;
	size_t left, cmdline_len, initrd_len;
	static struct fuzz_log log;
	char *user, *cmdline;
	uint8_t *initrd = NULL;
	int err;
	struct gm gm = { 0 };
	uint8_t flags;

	if (size < HDR)
		return 0;
	flags = data[0];
	left = size - HDR;
	cmdline_len = take(le_get(data + 1, 2), &left);
	initrd_len = take(le_get(data + 3, 4), &left);
	user = strndup((const char *)data + HDR, cmdline_len);
	cmdline = user ? boot_cmdline(user, flags & 2) : NULL;
	if (!cmdline)
		abort();
	ram_add(&gm, 0, low_mib[(flags >> 3) & 3] << 20);
	if (flags & 4)
		ram_add(&gm, PETREL_RAM_HOLE_END, 1 << 20);
	if (acpi_install(&gm, 1, &dev, 1, flags & 0x20, &in.rsdp) ||
	    gm_read(&gm, LAYOUT_ACPI, acpi, sizeof(acpi)))
		abort();
	in.cmdline = cmdline;
	if (flags & 1) {
		/* An exact-size copy: ASan sees a read past its end. */
		initrd = malloc(initrd_len ? initrd_len : 1);
		if (!initrd)
			abort();
		memcpy(initrd, data + HDR + cmdline_len, initrd_len);
		in.initrd = initrd;
		in.initrd_size = initrd_len;
	}
	in.kernel = data + HDR + cmdline_len + initrd_len;
	in.kernel_size = left;

	fuzz_log_begin(&log);
	err = boot_load(&gm, &in, &entry);
	fuzz_log_end(&log);
	if (err ? !fuzz_log_one_line(&log) : log.len > 0) {
		fprintf(stderr, "boot_load %d, said '%s'\n", err, log.text);
		abort();
	}
	if (err == 0) {
		if (!gm_ptr(&gm, entry.rip, 1) || !gm_ptr(&gm, entry.arg, 1))
			abort(); /* accepted a kernel that cannot start */
		if (entry.mode == BOOT_PVH32 && (entry.rip >> 32 || entry.arg >> 32))
			abort();
		if (memcmp(gm_ptr(&gm, LAYOUT_ACPI, sizeof(acpi)), acpi, sizeof(acpi)))
			abort(); /* a loader wrote over the ACPI tables */
	}
	ram_free(&gm);
	free(initrd);
	free(cmdline);
	free(user);
	return 0;
}
