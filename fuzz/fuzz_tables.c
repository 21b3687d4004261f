/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the boot tables: acpi_build for any vCPU count,
 * virtio-mmio device list and buffer size (an exact-size heap buffer, so
 * ASan catches a write past it), and e820_build for any RAM size laid out
 * as gm_init does. What is built must be well formed: every ACPI table
 * inside the buffer, reached from the RSDP, with a zero checksum and one
 * MADT entry per vCPU; every e820 RAM range backed by guest RAM, the
 * ranges in order, not overlapping, and adding up to the RAM size less
 * the hole below 1 MiB.
 *
 * Input: ncpus (le16), cap (le32, taken modulo 192 KiB), base (le32),
 * ndevs (1 byte, modulo 20: more than ACPI_MAX_MMIO_DEVS are refused),
 * RAM size in 4 KiB pages (le32, at least 16 MiB), e820 room (1 byte,
 * modulo 8; bit 7: --stealth ACPI names), then 12 bytes per device (base, size, gsi; le32 each).
 * Seeds in fuzz/corpus/tables/.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "le.h"
#include "petrel/platform.h"

#define HDR 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The table at guest address `gpa` with signature `sig`: inside the
 * `len` bytes built at `base`, its length at least `min`, checksum 0. */
static const uint8_t *table_at(const uint8_t *buf, int len, gpa_t base, uint64_t gpa,
			       const char *sig, uint32_t min)
{
	const uint8_t *t;
	uint64_t tlen;

	if (gpa < base || gpa - base > (uint64_t)len || (uint64_t)len - (gpa - base) < 36)
		abort();
	t = buf + (gpa - base);
	tlen = le_get(t + 4, 4);
	if (memcmp(t, sig, 4) || tlen < min || tlen > (uint64_t)len - (gpa - base) ||
	    acpi_sum(t, tlen))
		abort();
	return t;
}

static void check_acpi(const uint8_t *buf, int len, gpa_t base, unsigned int ncpus)
{
	const uint8_t *xsdt, *fadt, *madt;

	if (len < 36 || memcmp(buf, "RSD PTR ", 8) || acpi_sum(buf, 20) || acpi_sum(buf, 36))
		abort();
	xsdt = table_at(buf, len, base, le_get(buf + 24, 8), "XSDT", 36 + 16);
	fadt = table_at(buf, len, base, le_get(xsdt + 36, 8), "FACP", 148);
	madt = table_at(buf, len, base, le_get(xsdt + 44, 8), "APIC", 44);
	table_at(buf, len, base, le_get(fadt + 140, 8), "DSDT", 36);
	for (uint64_t at = 44, n = 0, mlen = le_get(madt + 4, 4); at < mlen; at += madt[at + 1]) {
		if (at + 2 > mlen || madt[at + 1] < 2 || at + madt[at + 1] > mlen)
			abort();
		if (madt[at] == 0 && ++n > ncpus)
			abort();
		if (at + madt[at + 1] == mlen && n != ncpus)
			abort();
	}
}

static void check_e820(uint64_t ram, unsigned int room)
{
	static uint8_t host; /* e820_build reads only bases and sizes */
	uint64_t low = ram < PETREL_RAM_HOLE_START ? ram : PETREL_RAM_HOLE_START, sum = 0, end = 0;
	struct e820_entry e[8];
	struct gm gm = { 0 };
	int n;

	if (gm_add_region(&gm, 0, low, &host) ||
	    (ram > low && gm_add_region(&gm, PETREL_RAM_HOLE_END, ram - low, &host)))
		abort();
	n = e820_build(&gm, e, room);
	if (n < 0)
		return;
	if ((unsigned int)n > room)
		abort();
	for (int i = 0; i < n; i++) {
		if (e[i].addr < end || e[i].size == 0 || e[i].addr + e[i].size < e[i].addr)
			abort();
		end = e[i].addr + e[i].size;
		if (e[i].type == E820_RAM) {
			sum += e[i].size;
			if (!gm_ptr(&gm, e[i].addr, e[i].size))
				abort(); /* RAM the guest does not have */
		}
	}
	if (sum != ram - (LAYOUT_KERNEL_MIN - LAYOUT_EBDA))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acpi_mmio_dev devs[20];
	unsigned int ncpus, ndevs;
	size_t cap;
	gpa_t base;
	uint8_t *buf;
	uint64_t pages;
	int len;

	if (size < HDR)
		return 0;
	ncpus = (unsigned int)le_get(data, 2);
	cap = le_get(data + 2, 4) % (192u << 10);
	base = le_get(data + 6, 4);
	ndevs = data[10] % 20;
	pages = le_get(data + 11, 4);
	if (ndevs > (size - HDR) / 12)
		ndevs = (unsigned int)((size - HDR) / 12);
	for (unsigned int i = 0; i < ndevs; i++) {
		const uint8_t *d = data + HDR + 12 * i;

		devs[i] = (struct acpi_mmio_dev){ .base = le_get(d, 4),
						  .size = (uint32_t)le_get(d + 4, 4),
						  .gsi = (uint32_t)le_get(d + 8, 4) };
	}
	buf = malloc(cap ? cap : 1);
	if (!buf)
		abort();
	len = acpi_build(buf, cap, base, ncpus, devs, ndevs, data[15] & 0x80);
	if (len >= 0) {
		if ((size_t)len > cap || ndevs > ACPI_MAX_MMIO_DEVS)
			abort();
		check_acpi(buf, len, base, ncpus);
	}
	free(buf);
	check_e820((pages < 4096 ? 4096 : pages) << 12, data[15] % 8);
	return 0;
}
