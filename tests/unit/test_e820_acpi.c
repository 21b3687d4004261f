/* SPDX-License-Identifier: MIT */
/* The e820 memory map and the ACPI tables, parsed back as a guest would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "fake_gm.h"
#include "harness.h"
#include "le.h"
#include "petrel/platform.h"

/* e820_build never touches host memory: regions can point anywhere. */
static uint8_t dummy;

static bool map_sane(const struct e820_entry *e, int n)
{
	for (int i = 0; i < n; i++) {
		if (e[i].size == 0 || (e[i].type != E820_RAM && e[i].type != E820_RESERVED))
			return false;
		if (i > 0 && e[i - 1].addr + e[i - 1].size > e[i].addr)
			return false; /* unsorted or overlapping */
		/* nothing in the 32-bit MMIO hole */
		if (e[i].addr < PETREL_RAM_HOLE_END &&
		    e[i].addr + e[i].size > PETREL_RAM_HOLE_START)
			return false;
	}
	return true;
}

/* [addr, addr + len) lies inside one reserved entry and touches no RAM
 * entry: a guest will not hand it out as memory. */
static bool reserved_only(const struct e820_entry *e, int n, uint64_t addr, uint64_t len)
{
	bool inside = false;

	for (int i = 0; i < n; i++) {
		bool overlaps = addr < e[i].addr + e[i].size && e[i].addr < addr + len;

		if (e[i].type == E820_RAM && overlaps)
			return false;
		if (e[i].type == E820_RESERVED && e[i].addr <= addr &&
		    addr + len <= e[i].addr + e[i].size)
			inside = true;
	}
	return inside;
}

static void e820_small_ram(void)
{
	struct gm gm = { 0 };
	struct e820_entry e[8];
	int n;

	REQUIRE(gm_add_region(&gm, 0, 64ULL << 20, &dummy) == 0);
	n = e820_build(&gm, e, ARRAY_SIZE(e));
	REQUIRE(n == 3);
	CHECK(map_sane(e, n));
	CHECK(e[0].addr == 0 && e[0].size == LAYOUT_EBDA && e[0].type == E820_RAM);
	CHECK(e[1].addr == LAYOUT_ACPI && e[1].addr + e[1].size == LAYOUT_BIOS_END &&
	      e[1].type == E820_RESERVED);
	/* the ACPI tables and the VM generation ID's whole page */
	CHECK(reserved_only(e, n, LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI));
	CHECK(reserved_only(e, n, PETREL_VMGENID_ADDR & ~0xfffULL, 4096));
	CHECK(e[2].addr == LAYOUT_KERNEL_MIN && e[2].size == (64ULL << 20) - LAYOUT_KERNEL_MIN &&
	      e[2].type == E820_RAM);
}

static void e820_ram_above_4g(void)
{
	struct gm gm = { 0 };
	struct e820_entry e[8];
	const uint64_t high = (1ULL << 30) + (64ULL << 20);
	int n;

	REQUIRE(gm_add_region(&gm, 0, PETREL_RAM_HOLE_START, &dummy) == 0);
	REQUIRE(gm_add_region(&gm, PETREL_RAM_HOLE_END, high, &dummy) == 0);
	n = e820_build(&gm, e, ARRAY_SIZE(e));
	REQUIRE(n == 4);
	CHECK(map_sane(e, n));
	CHECK(e[0].addr == 0 && e[0].size == LAYOUT_EBDA && e[0].type == E820_RAM);
	CHECK(e[1].type == E820_RESERVED);
	CHECK(reserved_only(e, n, PETREL_VMGENID_ADDR, PETREL_VMGENID_LEN));
	CHECK(e[2].addr == LAYOUT_KERNEL_MIN && e[2].addr + e[2].size == PETREL_RAM_HOLE_START &&
	      e[2].type == E820_RAM);
	CHECK(e[3].addr == PETREL_RAM_HOLE_END && e[3].size == high && e[3].type == E820_RAM);
}

static void e820_from_gm_init(void)
{
	struct gm gm;
	struct e820_entry e[8];
	uint64_t ram = 0;
	int n;

	REQUIRE(gm_init(&gm, (4ULL << 30) + (64ULL << 20)) == 0);
	n = e820_build(&gm, e, ARRAY_SIZE(e));
	CHECK(n == 4 && map_sane(e, n));
	for (int i = 0; i < n; i++)
		if (e[i].type == E820_RAM)
			ram += e[i].size;
	/* all RAM except [EBDA, 1 MiB) */
	CHECK(ram == (4ULL << 30) + (64ULL << 20) - (LAYOUT_KERNEL_MIN - LAYOUT_EBDA));
	gm_destroy(&gm);
}

static void e820_no_room(void)
{
	struct gm gm = { 0 };
	struct e820_entry e[3];

	REQUIRE(gm_add_region(&gm, 0, 64ULL << 20, &dummy) == 0);
	CHECK(e820_build(&gm, e, 0) == -ENOSPC);
	CHECK(e820_build(&gm, e, 1) == -ENOSPC);
	CHECK(e820_build(&gm, e, 2) == -ENOSPC);
	CHECK(e820_build(&gm, e, 3) == 3);
}

/* --- ACPI --- */

#define ACPI_CAP (LAYOUT_ACPI_END - LAYOUT_ACPI)

/* A table at guest address `gpa` inside buf (which lives at `base`), if
 * its whole length fits; *len gets the length. */
static const uint8_t *table_at(const uint8_t *buf, size_t used, gpa_t base, uint64_t gpa,
			       const char *sig, uint32_t *len)
{
	const uint8_t *t;

	if (gpa < base || gpa - base > used || used - (gpa - base) < 36)
		return NULL;
	t = buf + (gpa - base);
	*len = (uint32_t)le_get(t + 4, 4);
	if (*len < 36 || *len > used - (gpa - base) || memcmp(t, sig, 4) != 0)
		return NULL;
	return t;
}

struct tables {
	uint8_t *buf;
	int len;
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint32_t xsdt_len, fadt_len, madt_len, dsdt_len;
};

/* Virtio-mmio transports as petrel lays them out. */
static struct acpi_mmio_dev devs[ACPI_MAX_MMIO_DEVS];

static void devs_init(void)
{
	for (unsigned int i = 0; i < ACPI_MAX_MMIO_DEVS; i++)
		devs[i] = (struct acpi_mmio_dev){ 0xd1000000 + 0x1000 * i, 0x200, 5 + i };
}

/* Build for ncpus (and two virtio devices) into a buffer of ACPI_CAP bytes at LAYOUT_ACPI and find
 * every table from the RSDP, as a guest would. false if anything is
 * missing or out of bounds. */
static bool tables_build_as(struct tables *t, unsigned int ncpus, bool stealth)
{
	*t = (struct tables){ .buf = calloc(1, ACPI_CAP) };
	if (!t->buf)
		return false;
	t->len = acpi_build(t->buf, ACPI_CAP, LAYOUT_ACPI, ncpus, devs, 2, stealth);
	if (t->len < 36 || (size_t)t->len > ACPI_CAP)
		return false;
	t->rsdp = t->buf;
	t->xsdt = table_at(t->buf, (size_t)t->len, LAYOUT_ACPI, le_get(t->rsdp + 24, 8), "XSDT",
			   &t->xsdt_len);
	if (!t->xsdt || t->xsdt_len != 36 + 16)
		return false;
	t->fadt = table_at(t->buf, (size_t)t->len, LAYOUT_ACPI, le_get(t->xsdt + 36, 8), "FACP",
			   &t->fadt_len);
	t->madt = table_at(t->buf, (size_t)t->len, LAYOUT_ACPI, le_get(t->xsdt + 44, 8), "APIC",
			   &t->madt_len);
	if (!t->fadt || !t->madt || t->fadt_len < 276)
		return false;
	t->dsdt = table_at(t->buf, (size_t)t->len, LAYOUT_ACPI, le_get(t->fadt + 140, 8), "DSDT",
			   &t->dsdt_len);
	return t->dsdt != NULL;
}

static bool tables_build(struct tables *t, unsigned int ncpus)
{
	return tables_build_as(t, ncpus, false);
}

static void acpi_rsdp(void)
{
	struct tables t;

	REQUIRE(tables_build(&t, 1));
	CHECK(memcmp(t.rsdp, "RSD PTR ", 8) == 0);
	CHECK(acpi_sum(t.rsdp, 20) == 0);
	CHECK(acpi_sum(t.rsdp, 36) == 0);
	CHECK(t.rsdp[15] == 2);
	CHECK(le_get(t.rsdp + 20, 4) == 36);
	CHECK(le_get(t.rsdp + 16, 4) == 0); /* no RSDT */
	CHECK((uintptr_t)(t.rsdp - t.buf) % 16 == 0);
	free(t.buf);
}

static void acpi_tables_checksum(void)
{
	static const unsigned int ncpus[] = { 1, 2, 64, 254 };

	for (unsigned int i = 0; i < ARRAY_SIZE(ncpus); i++) {
		struct tables t;

		REQUIRE(tables_build(&t, ncpus[i]));
		CHECK(acpi_sum(t.xsdt, t.xsdt_len) == 0);
		CHECK(acpi_sum(t.fadt, t.fadt_len) == 0);
		CHECK(acpi_sum(t.madt, t.madt_len) == 0);
		CHECK(acpi_sum(t.dsdt, t.dsdt_len) == 0);
		CHECK(le_get(t.xsdt + 36, 8) % 8 == 0 && le_get(t.xsdt + 44, 8) % 8 == 0);
		free(t.buf);
	}
}

static void acpi_fadt_fields(void)
{
	struct tables t;
	const uint8_t *f;

	REQUIRE(tables_build(&t, 2));
	f = t.fadt;
	CHECK(f[8] == 6);			/* revision */
	CHECK(f[131] == 5);			/* minor version */
	CHECK(le_get(f + 112, 4) & (1U << 20)); /* HW_REDUCED_ACPI */
	CHECK(le_get(f + 40, 4) == le_get(f + 140, 8));
	/* SLEEP_CONTROL_REG / SLEEP_STATUS_REG: 8-bit system I/O ports */
	CHECK(f[244] == 1 && f[245] == 8 && le_get(f + 248, 8) == PETREL_ACPI_SLEEP_CTL_PORT);
	CHECK(f[256] == 1 && f[257] == 8 && le_get(f + 260, 8) == PETREL_ACPI_SLEEP_STS_PORT);
	/* RESET_REG (flag RESET_REG_SUP) */
	CHECK(le_get(f + 112, 4) & (1U << 10));
	CHECK(f[116] == 1 && le_get(f + 120, 8) == PETREL_I8042_CMD_PORT);
	CHECK(f[128] == PETREL_I8042_CMD_RESET);
	CHECK(f[108] == 0x32); /* CENTURY: the CMOS register rtc-cmos reads */
	/* IAPC_BOOT_ARCH: VGA not present; the 8042 only through the DSDT */
	CHECK(le_get(f + 109, 2) == (1U << 2));
	free(t.buf);
}

static bool contains(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return true;
	return false;
}

static void acpi_dsdt_content(void)
{
	static const uint8_t com1_crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00,
					    0x08, 0x22, 0x10, 0x00, 0x79, 0x00 };
	struct tables t;

	REQUIRE(tables_build(&t, 1));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "_S5_"));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "QEMU0001"));
	/* COM1: EisaId("PNP0501"), I/O 0x3f8 length 8, IRQ 4 (mask 0x0010) */
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "COM1"));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "\x0c\x41\xd0\x05\x01"));
	CHECK(memmem(t.dsdt + 36, t.dsdt_len - 36, com1_crs, sizeof(com1_crs)));
	free(t.buf);
}

/* --- a minimal AML reader for the DSDT's shape: Name, Scope and Device
 * terms, so that every hand-assembled length is checked as a guest's
 * interpreter would follow it --- */

/* A PkgLength (ACPI 6.5, 20.2.4) at p: its value, which counts its own
 * bytes, in *len; returns how many bytes it takes, 0 if it runs past n. */
static size_t aml_pkglen(const uint8_t *p, size_t n, size_t *len)
{
	size_t bytes;

	if (n == 0)
		return 0;
	bytes = 1 + (p[0] >> 6);
	if (bytes > n)
		return 0;
	*len = bytes == 1 ? p[0] & 0x3fU : p[0] & 0x0fU;
	for (size_t i = 1; i < bytes; i++)
		*len |= (size_t)p[i] << (8 * i - 4);
	return bytes;
}

/* Length of the data object at p (the kinds petrel's DSDT uses), 0 if
 * another kind or if it runs past n. */
static size_t aml_data_len(const uint8_t *p, size_t n)
{
	const uint8_t *nul;
	size_t len, k;

	if (n == 0)
		return 0;
	switch (p[0]) {
	case 0x00: /* Zero */
	case 0x01: /* One */
		return 1;
	case 0x0a: /* ByteConst */
		return n >= 2 ? 2 : 0;
	case 0x0c: /* DWordConst, e.g. an EisaId */
		return n >= 5 ? 5 : 0;
	case 0x0d: /* String */
		nul = memchr(p + 1, 0, n - 1);
		return nul ? (size_t)(nul - p) + 1 : 0;
	case 0x11: /* Buffer */
	case 0x12: /* Package */
		k = aml_pkglen(p + 1, n - 1, &len);
		return k && len > k && len <= n - 1 ? 1 + len : 0;
	}
	return 0;
}

struct aml_dev {
	const uint8_t *body; /* after the device's NameSeg */
	size_t len;
	unsigned int count;
	char scope[6]; /* the enclosing Scope's or Device's name: "\\_SB_", "PEVT"... */
};

/* Walk a TermList of Name, Scope, Device and Method terms, each length
 * nesting exactly in its parent's (a Method's body is skipped: the cases
 * read the methods they know). Counts the devices named `name` and keeps
 * the last one's body and the name of the Scope or Device around it
 * (`parent`). false if anything else is there or a length is off. */
static bool aml_walk_in(const uint8_t *p, size_t n, const char *name, struct aml_dev *d,
			const char *parent)
{
	size_t at = 0;

	while (at < n) {
		const uint8_t *t = p + at;
		size_t left = n - at, op, len, k, seg;
		char here[6];

		if (t[0] == 0x08) { /* Name (NameSeg, DataObject) */
			k = left > 5 ? aml_data_len(t + 5, left - 5) : 0;
			if (!k)
				return false;
			at += 5 + k;
			continue;
		}
		if (t[0] == 0x10 || t[0] == 0x14) /* Scope, Method */
			op = 1;
		else if (t[0] == 0x5b && left > 1 && t[1] == 0x82) /* Device */
			op = 2;
		else
			return false;
		k = aml_pkglen(t + op, left - op, &len);
		if (!k || len > left - op || len < k + 4)
			return false;
		if (t[0] == 0x14) { /* NameSeg, MethodFlags, TermList */
			if (len < k + 5)
				return false;
			at += op + len;
			continue;
		}
		seg = t[op + k] == '\\' ? 5 : 4;
		if (len < k + seg)
			return false;
		memcpy(here, t + op + k, seg);
		here[seg] = 0;
		if (op == 2 && seg == 4 && memcmp(t + op + k, name, 4) == 0) {
			*d = (struct aml_dev){ t + op + k + 4, len - k - 4, d->count + 1, "" };
			snprintf(d->scope, sizeof(d->scope), "%s", parent);
		}
		if (!aml_walk_in(t + op + k + seg, len - k - seg, name, d, here))
			return false;
		at += op + len;
	}
	return true;
}

static bool aml_walk(const uint8_t *p, size_t n, const char *name, struct aml_dev *d)
{
	return aml_walk_in(p, n, name, d, "\\");
}

/* Method `seg` among a device's Name and Method terms: its flags in
 * *flags, its body (the TermList) in *len bytes; NULL if it is not there. */
static const uint8_t *aml_method(const struct aml_dev *d, const char *seg, uint8_t *flags,
				 size_t *len)
{
	size_t at = 0, k, pkg;

	while (at < d->len) {
		const uint8_t *t = d->body + at;
		size_t left = d->len - at;

		if (t[0] == 0x08) {
			k = left > 5 ? aml_data_len(t + 5, left - 5) : 0;
			if (!k)
				return NULL;
			at += 5 + k;
			continue;
		}
		if (t[0] != 0x14)
			return NULL;
		k = aml_pkglen(t + 1, left - 1, &pkg);
		if (!k || pkg > left - 1 || pkg < k + 5)
			return NULL;
		if (memcmp(t + 1 + k, seg, 4) == 0) {
			*flags = t[1 + k + 4];
			*len = pkg - k - 5;
			return t + 1 + k + 5;
		}
		at += 1 + pkg;
	}
	return NULL;
}

/* An integer data object at p (Zero, One, Byte, Word, DWord or QWord
 * constant): its value in *v, its length returned; 0 if not one. */
static size_t aml_int(const uint8_t *p, size_t n, uint64_t *v)
{
	static const size_t width[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };

	if (n >= 1 && p[0] <= 0x01) {
		*v = p[0];
		return 1;
	}
	if (n < 1 || p[0] < 0x0a || p[0] > 0x0e || !width[p[0]] || n < 1 + width[p[0]])
		return 0;
	*v = le_get(p + 1, width[p[0]]);
	return 1 + width[p[0]];
}

/* The data object of Name (`seg`, ...) in a device's body, or NULL. */
static const uint8_t *aml_name(const struct aml_dev *d, const char *seg, size_t *len)
{
	for (size_t at = 0; at + 5 < d->len && d->body[at] == 0x08;) {
		size_t k = aml_data_len(d->body + at + 5, d->len - at - 5);

		if (!k)
			return NULL;
		if (memcmp(d->body + at + 1, seg, 4) == 0) {
			*len = k;
			return d->body + at + 5;
		}
		at += 5 + k;
	}
	return NULL;
}

/* Does the DSDT hold exactly one Device (`name`) whose _HID data object is
 * `hid` (hid_len bytes) and whose _CRS buffer holds exactly `crs`? */
static bool dsdt_device(const uint8_t *dsdt, uint32_t dsdt_len, const char *name, const char *hid,
			size_t hid_len, const uint8_t *crs, size_t crs_len)
{
	struct aml_dev d = { 0 };
	const uint8_t *h, *c;
	size_t hlen, clen, k, pkg;

	if (!aml_walk(dsdt + 36, dsdt_len - 36, name, &d) || d.count != 1)
		return false;
	h = aml_name(&d, "_HID", &hlen);
	c = aml_name(&d, "_CRS", &clen);
	if (!h || hlen != hid_len || memcmp(h, hid, hlen) != 0 || !c || c[0] != 0x11)
		return false;
	/* Buffer: PkgLength, BufferSize as a ByteConst, then the bytes */
	k = aml_pkglen(c + 1, clen - 1, &pkg);
	return k && clen == 1 + pkg && c[1 + k] == 0x0a && c[2 + k] == crs_len &&
	       clen == 3 + k + crs_len && memcmp(c + 3 + k, crs, crs_len) == 0;
}

/* COM1, the RTC and the keyboard, read back through the AML's own
 * lengths, the same with and without --stealth. The RTC has its two
 * ports and no IRQ; the keyboard both i8042 ports and IRQ 1. */
static void acpi_dsdt_devices(void)
{
	static const uint8_t com1_crs[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00,
					    0x08, 0x22, 0x10, 0x00, 0x79, 0x00 };
	static const uint8_t rtc_crs[] = { 0x47, 0x01, 0x70, 0x00, 0x70,
					   0x00, 0x01, 0x02, 0x79, 0x00 };
	static const uint8_t kbd_crs[] = { 0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01,
					   0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00,
					   0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00 };
	static const uint8_t pevt_crs[] = { 0x47, 0x01, 0x05, 0x05, 0x05,
					    0x05, 0x01, 0x01, 0x79, 0x00 };
	uint8_t *body[2] = { NULL, NULL };
	uint32_t len[2] = { 0, 0 };

	for (int stealth = 0; stealth <= 1; stealth++) {
		struct aml_dev all = { 0 };
		struct tables t;

		REQUIRE(tables_build_as(&t, 2, stealth));
		CHECK(aml_walk(t.dsdt + 36, t.dsdt_len - 36, "VIO1", &all) && all.count == 1);
		/* _HID: EisaId ("PNP0501"), ("PNP0B00"), ("PNP0303"); "QEMU0001" */
		CHECK(dsdt_device(t.dsdt, t.dsdt_len, "COM1", "\x0c\x41\xd0\x05\x01", 5, com1_crs,
				  sizeof(com1_crs)));
		CHECK(dsdt_device(t.dsdt, t.dsdt_len, "RTC_", "\x0c\x41\xd0\x0b\x00", 5, rtc_crs,
				  sizeof(rtc_crs)));
		CHECK(dsdt_device(t.dsdt, t.dsdt_len, "PS2K", "\x0c\x41\xd0\x03\x03", 5, kbd_crs,
				  sizeof(kbd_crs)));
		CHECK(dsdt_device(t.dsdt, t.dsdt_len, "PEVT", "\x0dQEMU0001", 10, pevt_crs,
				  sizeof(pevt_crs)));
		len[stealth] = t.dsdt_len - 36;
		body[stealth] = malloc(len[stealth]);
		REQUIRE(body[stealth]);
		memcpy(body[stealth], t.dsdt + 36, len[stealth]);
		free(t.buf);
	}
	/* --stealth changes the table headers' names, not the devices */
	CHECK(len[0] == len[1] && memcmp(body[0], body[1], len[0]) == 0);
	free(body[0]);
	free(body[1]);
}

/* The VM generation ID, \_SB.VGEN: _HID "VMGENCTR", _CID "VM_Gen_Counter",
 * and ADDR returning Package (2) { low, high } (DWORDs) of
 * PETREL_VMGENID_ADDR, nothing else; the Generic Event Device,
 * \_SB.GED_: ACPI0013, an edge interrupt on PETREL_GED_GSI, and an _EVT
 * that for that GSI notifies \_SB.VGEN with 0x80. With and without
 * --stealth. */
static void acpi_dsdt_vmgenid(void)
{
	static const uint8_t ged_crs[] = { 0x89, 0x06, 0x00, 0x03, 0x01, PETREL_GED_GSI,
					   0x00, 0x00, 0x00, 0x79, 0x00 };
	static const uint8_t evt[] = { 0xa0, 0x12, 0x93, 0x68, 0x0a, PETREL_GED_GSI,
				       0x86, '\\', 0x2e, '_',  'S',  'B',
				       '_',  'V',  'G',	 'E',  'N',  0x0a,
				       0x80 };

	for (int stealth = 0; stealth <= 1; stealth++) {
		struct aml_dev v = { 0 }, g = { 0 };
		const uint8_t *h, *m;
		size_t len, mlen, k, pkg, at, n1, n2;
		uint64_t lo = 0, hi = 0;
		uint8_t flags = 0xff;
		struct tables t;

		REQUIRE(tables_build_as(&t, 2, stealth));
		REQUIRE(aml_walk(t.dsdt + 36, t.dsdt_len - 36, "VGEN", &v) && v.count == 1);
		CHECK(strcmp(v.scope, "\\_SB_") == 0);
		h = aml_name(&v, "_HID", &len);
		CHECK(h && len == 10 && memcmp(h, "\x0dVMGENCTR", 10) == 0);
		h = aml_name(&v, "_CID", &len);
		CHECK(h && len == 16 && memcmp(h, "\x0dVM_Gen_Counter", 16) == 0);
		m = aml_method(&v, "ADDR", &flags, &mlen);
		REQUIRE(m && flags == 0 && mlen > 3 && m[0] == 0xa4 && m[1] == 0x12);
		k = aml_pkglen(m + 2, mlen - 2, &pkg);
		REQUIRE(k && 2 + pkg == mlen && m[2 + k] == 2);
		at = 3 + k;
		n1 = aml_int(m + at, mlen - at, &lo);
		at += n1;
		n2 = aml_int(m + at, mlen - at, &hi);
		CHECK(n1 == 5 && n2 == 5 && at + n2 == mlen);
		CHECK((lo | hi << 32) == PETREL_VMGENID_ADDR);

		CHECK(dsdt_device(t.dsdt, t.dsdt_len, "GED_",
				  "\x0d"
				  "ACPI0013",
				  10, ged_crs, sizeof(ged_crs)));
		REQUIRE(aml_walk(t.dsdt + 36, t.dsdt_len - 36, "GED_", &g) && g.count == 1);
		CHECK(strcmp(g.scope, "\\_SB_") == 0);
		m = aml_method(&g, "_EVT", &flags, &mlen);
		CHECK(m && flags == 1 && mlen == sizeof(evt) && memcmp(m, evt, mlen) == 0);
		free(t.buf);
	}
}

/* Each virtio-mmio transport: Device (VIOn), _HID "LNRO0005", _UID n, and
 * a _CRS with its registers and its GSI, edge-triggered, active-high. */
static void acpi_dsdt_virtio(void)
{
	static const uint8_t vio1_crs[] = {
		0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd1, 0x00, 0x02, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00, 0x79, 0x00,
	};
	static const uint8_t vio1_uid[] = { 0x08, '_', 'U', 'I', 'D', 0x0a, 0x01 };
	static uint8_t big[ACPI_CAP];
	struct tables t;

	REQUIRE(tables_build(&t, 1));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "VIO0"));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "VIO1"));
	CHECK(!contains(t.dsdt + 36, t.dsdt_len - 36, "VIO2"));
	CHECK(contains(t.dsdt + 36, t.dsdt_len - 36, "LNRO0005"));
	CHECK(memmem(t.dsdt + 36, t.dsdt_len - 36, vio1_crs, sizeof(vio1_crs)));
	CHECK(memmem(t.dsdt + 36, t.dsdt_len - 36, vio1_uid, sizeof(vio1_uid)));
	free(t.buf);
	/* More transports than a DSDT describes: refused, not truncated. */
	CHECK(acpi_build(big, sizeof(big), LAYOUT_ACPI, 1, devs, ACPI_MAX_MMIO_DEVS + 1, false) ==
	      -ENOSPC);
}

static void acpi_madt_cpus(void)
{
	static const unsigned int ncpus[] = { 1, 2, 64, 254 };

	for (unsigned int i = 0; i < ARRAY_SIZE(ncpus); i++) {
		struct tables t;
		unsigned int lapics = 0, ioapics = 0;
		uint32_t at = 44;

		REQUIRE(tables_build(&t, ncpus[i]));
		CHECK(le_get(t.madt + 36, 4) == PETREL_LAPIC_ADDR);
		while (at + 2 <= t.madt_len) {
			const uint8_t *e = t.madt + at;

			if (e[1] < 2 || at + e[1] > t.madt_len)
				break;
			if (e[0] == 0) {
				CHECK(e[1] == 8);
				CHECK(e[3] == lapics); /* APIC ID */
				CHECK(e[2] == lapics); /* processor UID */
				CHECK(le_get(e + 4, 4) & 1);
				lapics++;
			} else if (e[0] == 1) {
				CHECK(e[1] == 12 && le_get(e + 4, 4) == PETREL_IOAPIC_ADDR);
				ioapics++;
			}
			at += e[1];
		}
		CHECK(at == t.madt_len); /* the entries exactly fill the table */
		CHECK(lapics == ncpus[i]);
		CHECK(ioapics == 1);
		free(t.buf);
	}
}

static void acpi_too_small(void)
{
	uint8_t *big = calloc(1, ACPI_CAP);
	int need;

	REQUIRE(big);
	need = acpi_build(big, ACPI_CAP, LAYOUT_ACPI, 4, devs, 16, false);
	free(big);
	REQUIRE(need > 36);
	/* every shorter buffer: -ENOSPC, and (ASan) no write past its end */
	for (int cap = 0; cap < need; cap++) {
		uint8_t *b = malloc(cap ? (size_t)cap : 1);

		REQUIRE(b);
		CHECK(acpi_build(b, (size_t)cap, LAYOUT_ACPI, 4, devs, 16, false) == -ENOSPC);
		free(b);
	}
	big = malloc((size_t)need);
	REQUIRE(big);
	CHECK(acpi_build(big, (size_t)need, LAYOUT_ACPI, 4, devs, 16, false) == need);
	free(big);
}

/* Each table's OEM ID, OEM table ID and creator ID, and the FADT's
 * hypervisor identity: petrel's by default, none under --stealth. */
static void acpi_names(void)
{
	for (int stealth = 0; stealth <= 1; stealth++) {
		const uint8_t *tabs[4];
		struct tables t;

		REQUIRE(tables_build_as(&t, 2, stealth));
		tabs[0] = t.xsdt;
		tabs[1] = t.fadt;
		tabs[2] = t.madt;
		tabs[3] = t.dsdt;
		CHECK(memcmp(t.rsdp + 9, stealth ? "ALASKA" : "PETREL", 6) == 0);
		for (unsigned int i = 0; i < ARRAY_SIZE(tabs); i++) {
			CHECK(memcmp(tabs[i] + 10, stealth ? "ALASKA" : "PETREL", 6) == 0);
			CHECK(memcmp(tabs[i] + 16, stealth ? "A M I \0\0" : "PETRELVM", 8) == 0);
			CHECK(memcmp(tabs[i] + 28, stealth ? "AMI " : "PTRL", 4) == 0);
		}
		CHECK(memcmp(t.fadt + 268, stealth ? "\0\0\0\0\0\0\0\0" : "PETRELVM", 8) == 0);
		CHECK(acpi_sum(t.fadt, t.fadt_len) == 0 && acpi_sum(t.dsdt, t.dsdt_len) == 0);
		CHECK(acpi_sum(t.rsdp, 20) == 0 && acpi_sum(t.rsdp, 36) == 0);
		free(t.buf);
	}
}

static void acpi_install_into_guest(void)
{
	struct gm gm;
	gpa_t rsdp = 0;

	REQUIRE(fake_gm_init(&gm, 0, 16ULL << 20));
	CHECK(acpi_install(&gm, 2, NULL, 0, false, &rsdp) == 0);
	CHECK(rsdp == LAYOUT_ACPI);
	CHECK(gm_ptr(&gm, LAYOUT_ACPI, 8) &&
	      memcmp(gm_ptr(&gm, LAYOUT_ACPI, 8), "RSD PTR ", 8) == 0);
	fake_gm_free(&gm);
	/* no RAM under the BIOS area */
	REQUIRE(fake_gm_init(&gm, LAYOUT_KERNEL_MIN, 16ULL << 20));
	CHECK(acpi_install(&gm, 2, NULL, 0, false, &rsdp) == -EFAULT);
	fake_gm_free(&gm);
}

int main(void)
{
	devs_init();
	RUN(e820_small_ram);
	RUN(e820_ram_above_4g);
	RUN(e820_from_gm_init);
	RUN(e820_no_room);
	RUN(acpi_rsdp);
	RUN(acpi_tables_checksum);
	RUN(acpi_fadt_fields);
	RUN(acpi_dsdt_content);
	RUN(acpi_dsdt_devices);
	RUN(acpi_madt_cpus);
	RUN(acpi_too_small);
	RUN(acpi_dsdt_virtio);
	RUN(acpi_dsdt_vmgenid);
	RUN(acpi_names);
	RUN(acpi_install_into_guest);
	return harness_exit();
}
