/* SPDX-License-Identifier: MIT */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "le.h"
#include "petrel/platform.h"

#define ACPI_HDR_LEN 36
#define FADT_LEN 276 /* ACPI 6.x FADT, up to the hypervisor vendor identity */
#define FADT_HW_REDUCED (1U << 20)
#define FADT_RESET_REG_SUP (1U << 10)
#define FADT_WBINVD (1U << 0)
#define FADT_BOOT_VGA_NOT_PRESENT (1U << 2)
#define GAS_SYSTEM_IO 1

/* The names in every table header, and the FADT's hypervisor vendor
 * identity (ACPI 6.x, 5.2.9: zero on a machine that is not a VM). */
struct acpi_ids {
	char oem_id[6];
	char oem_table_id[8];
	char creator_id[4];
	char hypervisor[8];
};

static const struct acpi_ids petrel_ids = {
	.oem_id = { 'P', 'E', 'T', 'R', 'E', 'L' },
	.oem_table_id = { 'P', 'E', 'T', 'R', 'E', 'L', 'V', 'M' },
	.creator_id = { 'P', 'T', 'R', 'L' },
	.hypervisor = { 'P', 'E', 'T', 'R', 'E', 'L', 'V', 'M' },
};

/*
 * --stealth: the OEM and table IDs AMI's Aptio firmware ships unless a
 * board maker changes them, the commonest pair on real PCs, so the names
 * say nothing; no hypervisor identity. What the tables still give away
 * (LNRO0005, QEMU0001 and VM_Gen_Counter devices, no PCI) is in the
 * README.
 */
static const struct acpi_ids stealth_ids = {
	.oem_id = { 'A', 'L', 'A', 'S', 'K', 'A' },
	.oem_table_id = { 'A', ' ', 'M', ' ', 'I', ' ', 0, 0 },
	.creator_id = { 'A', 'M', 'I', ' ' },
};

/* A cursor over the output buffer; every put is bounds-checked once here. */
struct acpi_buf {
	uint8_t *p;
	size_t cap;
	size_t len;
	gpa_t base;
	bool overflow;
	const struct acpi_ids *ids;
};

static uint8_t *acpi_alloc(struct acpi_buf *b, size_t n, size_t align)
{
	size_t at = (b->len + align - 1) & ~(align - 1);

	if (b->overflow || at > b->cap || n > b->cap - at) {
		b->overflow = true;
		return NULL;
	}
	memset(b->p + at, 0, n);
	b->len = at + n;
	return b->p + at;
}

uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

static gpa_t acpi_gpa(const struct acpi_buf *b, const uint8_t *p)
{
	return b->base + (gpa_t)(p - b->p);
}

/* Start a table with the standard header; acpi_end fills length and
 * checksum. */
static uint8_t *acpi_begin(struct acpi_buf *b, const char sig[4], size_t len, uint8_t rev)
{
	uint8_t *t = acpi_alloc(b, len, 8);

	if (!t)
		return NULL;
	memcpy(t, sig, 4);
	le_put(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, b->ids->oem_id, 6);
	memcpy(t + 16, b->ids->oem_table_id, 8);
	le_put(t + 24, 1, 4);
	memcpy(t + 28, b->ids->creator_id, 4);
	le_put(t + 32, 1, 4);
	return t;
}

static void acpi_end(uint8_t *t, size_t len)
{
	le_put(t + 4, len, 4);
	t[9] = 0;
	t[9] = (uint8_t)-acpi_sum(t, len);
}

static void put_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8; /* bit width */
	p[2] = 0; /* bit offset */
	p[3] = 1; /* byte access */
	le_put(p + 4, port, 8);
}

/*
 * DSDT body, hand-assembled AML (ACPI spec, chapter 20):
 *   Name (_S5, Package () { 5, 5, 0, 0 })  -- SLP_TYP for soft-off
 *   Scope (\_SB) {
 *     Device (PEVT) {                        -- pvpanic, port 0x505
 *       Name (_HID, "QEMU0001")
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x505, 0x505, 1, 1) })
 *     }
 *   }
 *   Scope (\_SB) {
 *     Device (COM1) {                        -- the 16550A, port 0x3f8, IRQ 4
 *       Name (_HID, EisaId ("PNP0501"))
 *       Name (_UID, 1)
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x3f8, 0x3f8, 0, 8)
 *                                         IRQNoFlags () { 4 } })
 *     }
 *   }
 *
 *   Scope (\_SB) {
 *     Device (RTC_) {                        -- the CMOS RTC, ports 0x70-0x71
 *       Name (_HID, EisaId ("PNP0B00"))
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x70, 0x70, 1, 2) })
 *     }
 *   }
 *   Scope (\_SB) {
 *     Device (PS2K) {                        -- the i8042's keyboard port
 *       Name (_HID, EisaId ("PNP0303"))
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x60, 0x60, 1, 1)
 *                                         IO (Decode16, 0x64, 0x64, 1, 1)
 *                                         IRQNoFlags () { 1 } })
 *     }
 *   }
 *
 * COM1 must be described: with a hardware-reduced FADT Linux replaces the
 * 8259 with a null PIC and sets up no ISA interrupt it is not told about, so
 * an undeclared ttyS0 gets no IRQ and its tty fails with EIO.
 *
 * The RTC likewise (Linux 6.1, arch/x86/kernel/rtc.c): with no PNP0B00
 * device, add_rtc_cmos registers a platform "rtc_cmos" with IRQ 8, which
 * no I/O APIC pin backs without an 8259, and rtc-cmos's request_irq fails
 * with -EINVAL. Described here with its ports and no IRQ, rtc-cmos binds
 * through PNP (cmos_pnp_probe: port 0x70, no IRQ and no legacy PIC means
 * IRQ 0, "no alarms"), which is the truth: petrel's RTC raises no update,
 * alarm or periodic interrupts. The names are the ones PC firmware uses,
 * so --stealth has nothing to change here.
 *
 * The keyboard: with IAPC_BOOT_ARCH saying "no 8042", Linux's i8042 probes
 * only what PNP finds (i8042_pnp_init); PNP0303 with both ports and IRQ 1
 * makes it drive the controller, keyboard port only (no PNP0F13 mouse).
 */
/* clang-format off */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, PETREL_ACPI_S5_TYP, 0x0a,
	PETREL_ACPI_S5_TYP, 0x00, 0x00,
	0x10, 0x2f, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x27, 'P', 'E', 'V', 'T',
	0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x0d, 0x0a, 0x0a,
	0x47, 0x01, PETREL_PVPANIC_PORT & 0xff, PETREL_PVPANIC_PORT >> 8,
	PETREL_PVPANIC_PORT & 0xff, PETREL_PVPANIC_PORT >> 8, 0x01, 0x01, 0x79, 0x00,
	0x10, 0x33, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, '_', 'U', 'I', 'D', 0x01,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
	0x47, 0x01, PETREL_COM1_PORT & 0xff, PETREL_COM1_PORT >> 8,
	PETREL_COM1_PORT & 0xff, PETREL_COM1_PORT >> 8, 0x00, 0x08,
	0x22, 1 << PETREL_COM1_IRQ, 0x00, 0x79, 0x00,
	0x10, 0x2a, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x22, 'R', 'T', 'C', '_',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x0d, 0x0a, 0x0a,
	0x47, 0x01, PETREL_RTC_PORT, 0x00, PETREL_RTC_PORT, 0x00, 0x01, 0x02, 0x79, 0x00,
	0x10, 0x35, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x2d, 'P', 'S', '2', 'K',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x18, 0x0a, 0x15,
	0x47, 0x01, PETREL_I8042_DATA_PORT, 0x00, PETREL_I8042_DATA_PORT, 0x00, 0x01, 0x01,
	0x47, 0x01, PETREL_I8042_CMD_PORT, 0x00, PETREL_I8042_CMD_PORT, 0x00, 0x01, 0x01,
	0x22, 1 << PETREL_I8042_IRQ, 0x00, 0x79, 0x00,
};
/* clang-format on */

/*
 * The VM generation ID (Microsoft's "Virtual Machine Generation ID"
 * paper: _CID "VM_Gen_Counter", an ADDR method returning the 16-byte
 * ID's guest physical address as a package of two DWORDs, low then high,
 * and Notify (device, 0x80) when it changed) and the Generic Event Device
 * (ACPI 6.x, 5.6.9) that carries that notification on a hardware-reduced
 * machine, as Firecracker's and cloud-hypervisor's do:
 *   Scope (\_SB) {
 *     Device (VGEN) {
 *       Name (_HID, "VMGENCTR")              -- Linux's vmgenid matches it
 *       Name (_CID, "VM_Gen_Counter")        -- and this (ACPICA upper-cases
 *                                               _CID), as Windows does
 *       Method (ADDR, 0, NotSerialized) {
 *         Return (Package (2) { PETREL_VMGENID_ADDR, 0 })
 *       }
 *     }
 *     Device (GED_) {
 *       Name (_HID, "ACPI0013")
 *       Name (_CRS, ResourceTemplate () {
 *         Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { PETREL_GED_GSI } })
 *       Method (_EVT, 1, NotSerialized) {    -- Arg0: the GSI that fired
 *         If (LEqual (Arg0, PETREL_GED_GSI)) { Notify (\_SB.VGEN, 0x80) }
 *       }
 *     }
 *   }
 * Linux (drivers/acpi/evged.c) runs _EVT from its interrupt thread;
 * drivers/virt/vmgenid.c reads the ID at ADDR when it binds and again on
 * the notification, and reseeds the RNG if it changed.
 */
#define VMGENID_ADDR_BYTES                                                                         \
	PETREL_VMGENID_ADDR & 0xff, (PETREL_VMGENID_ADDR >> 8) & 0xff,                             \
	    (PETREL_VMGENID_ADDR >> 16) & 0xff, (PETREL_VMGENID_ADDR >> 24) & 0xff
/* clang-format off */
static const uint8_t vmgenid_aml[] = {
	0x10, 0x4c, 0x08, '\\', '_', 'S', 'B', '_',	/* Scope, PkgLength 140 */
	0x5b, 0x82, 0x3e, 'V', 'G', 'E', 'N',		/* Device, PkgLength 62 */
	0x08, '_', 'H', 'I', 'D', 0x0d, 'V', 'M', 'G', 'E', 'N', 'C', 'T', 'R', 0x00,
	0x08, '_', 'C', 'I', 'D', 0x0d, 'V', 'M', '_', 'G', 'e', 'n', '_', 'C', 'o', 'u', 'n',
	't', 'e', 'r', 0x00,
	0x14, 0x14, 'A', 'D', 'D', 'R', 0x00,		/* Method, PkgLength 20, no args */
	0xa4, 0x12, 0x0c, 0x02,				/* Return Package, PkgLength 12, 2 */
	0x0c, VMGENID_ADDR_BYTES,			/* DWordConst: low */
	0x0c, 0x00, 0x00, 0x00, 0x00,			/* DWordConst: high */
	0x5b, 0x82, 0x43, 0x04, 'G', 'E', 'D', '_',	/* Device, PkgLength 67 */
	0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C', 'P', 'I', '0', '0', '1', '3', 0x00,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x0e, 0x0a, 0x0b, /* Buffer, PkgLength 14, 11 bytes */
	0x89, 0x06, 0x00, 0x03, 0x01,			/* Extended Interrupt: consumer, edge, 1 */
	PETREL_GED_GSI, 0x00, 0x00, 0x00, 0x79, 0x00,	/* its GSI; end tag */
	0x14, 0x19, '_', 'E', 'V', 'T', 0x01,		/* Method, PkgLength 25, 1 arg */
	0xa0, 0x12, 0x93, 0x68, 0x0a, PETREL_GED_GSI,	/* If, PkgLength 18, LEqual (Arg0, GSI) */
	0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', /* Notify, \ dual name */
	0x0a, 0x80,					/* ByteConst 0x80 */
};
/* clang-format on */
_Static_assert(sizeof(vmgenid_aml) == 141, "the Scope's PkgLength is 140");
_Static_assert(PETREL_VMGENID_ADDR < (1ULL << 32), "ADDR's high DWORD is written as 0");

/*
 * One virtio-mmio transport, appended to the DSDT inside a Scope (\_SB):
 *   Device (VIOn) {
 *     Name (_HID, "LNRO0005")               -- virtio-mmio
 *     Name (_UID, n)
 *     Name (_CRS, ResourceTemplate () {
 *       Memory32Fixed (ReadWrite, base, size)
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } })
 *   }
 * Why not the kernel command line (virtio_mmio.device=SIZE@BASE:IRQ): that
 * takes a Linux IRQ number, and without an 8259 Linux numbers I/O APIC
 * pins dynamically (COM1's pin 4 becomes IRQ 24), so no number written
 * there names a pin. Described here, each GSI is mapped by Linux itself.
 */
#define AML_VIRTIO_DEV_LEN 61

static void aml_virtio_dev(uint8_t *p, unsigned int n, const struct acpi_mmio_dev *d)
{
	static const uint8_t head[] = {
		0x5b, 0x82, AML_VIRTIO_DEV_LEN - 2,
		'V',  'I',  'O',
		0,    0x08, '_',
		'H',  'I',  'D',
		0x0d, 'L',  'N',
		'R',  'O',  '0',
		'0',  '0',  '5',
		0x00, 0x08, '_',
		'U',  'I',  'D',
		0x0a, 0,    0x08,
		'_',  'C',  'R',
		'S',  0x11, 0x1a,
		0x0a, 0x17, 0x86,
		0x09, 0x00, 0x01, /* Memory32Fixed, read-write: base, length follow */
	};

	memcpy(p, head, sizeof(head));
	p[6] = (uint8_t) "0123456789ABCDEF"[n & 15];
	p[28] = (uint8_t)n;
	p += sizeof(head);
	le_put(p, d->base, 4);
	le_put(p + 4, d->size, 4);
	p += 8;
	p[0] = 0x89; /* Extended Interrupt: length 6, consumer + edge, one GSI */
	le_put(p + 1, 6, 2);
	p[3] = 0x03;
	p[4] = 1;
	le_put(p + 5, d->gsi, 4);
	p[9] = 0x79; /* end tag */
	p[10] = 0;
}

static uint8_t *acpi_dsdt(struct acpi_buf *b, const struct acpi_mmio_dev *devs, unsigned int ndevs)
{
	/* Scope (\_SB) { devices }: opcode, 2-byte PkgLength, name. */
	size_t scope = ndevs ? 1 + 2 + 5 + (size_t)ndevs * AML_VIRTIO_DEV_LEN : 0;
	size_t len = ACPI_HDR_LEN + sizeof(dsdt_aml) + sizeof(vmgenid_aml) + scope;
	uint8_t *t, *p;

	if (ndevs > ACPI_MAX_MMIO_DEVS)
		return NULL;
	t = acpi_begin(b, "DSDT", len, 2);
	if (!t)
		return NULL;
	memcpy(t + ACPI_HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	memcpy(t + ACPI_HDR_LEN + sizeof(dsdt_aml), vmgenid_aml, sizeof(vmgenid_aml));
	p = t + ACPI_HDR_LEN + sizeof(dsdt_aml) + sizeof(vmgenid_aml);
	if (ndevs) {
		p[0] = 0x10;
		/* PkgLength of 2 bytes: low nibble in byte 0, the rest in byte 1. */
		p[1] = (uint8_t)(0x40 | ((scope - 1) & 0xf));
		p[2] = (uint8_t)((scope - 1) >> 4);
		memcpy(p + 3, "\\_SB_", 5);
		p += 8;
		for (unsigned int i = 0; i < ndevs; i++, p += AML_VIRTIO_DEV_LEN)
			aml_virtio_dev(p, i, &devs[i]);
	}
	acpi_end(t, len);
	return t;
}

static uint8_t *acpi_fadt(struct acpi_buf *b, gpa_t dsdt)
{
	uint8_t *t = acpi_begin(b, "FACP", FADT_LEN, 6);

	if (!t)
		return NULL;
	le_put(t + 40, dsdt, 4);     /* DSDT */
	le_put(t + 46, 9, 2);	     /* SCI_INT: unused when hardware-reduced */
	t[108] = PETREL_RTC_CENTURY; /* CENTURY: the RTC's century register */
	/* IAPC_BOOT_ARCH: no VGA. The 8042 flag stays clear: the DSDT's PNP0303
	 * describes the controller; a Linux without PNP would otherwise probe
	 * it at IRQ 1, which no 8259 backs here. */
	le_put(t + 109, FADT_BOOT_VGA_NOT_PRESENT, 2);
	le_put(t + 112, FADT_WBINVD | FADT_RESET_REG_SUP | FADT_HW_REDUCED, 4);
	put_gas_io8(t + 116, PETREL_I8042_CMD_PORT); /* RESET_REG */
	t[128] = PETREL_I8042_CMD_RESET;	     /* RESET_VALUE */
	t[131] = 5;				     /* FADT minor version */
	le_put(t + 140, dsdt, 8);		     /* X_DSDT */
	put_gas_io8(t + 244, PETREL_ACPI_SLEEP_CTL_PORT);
	put_gas_io8(t + 256, PETREL_ACPI_SLEEP_STS_PORT);
	memcpy(t + 268, b->ids->hypervisor, 8);
	acpi_end(t, FADT_LEN);
	return t;
}

static uint8_t *acpi_madt(struct acpi_buf *b, unsigned int ncpus)
{
	size_t len = ACPI_HDR_LEN + 8 + 8 * (size_t)ncpus + 12 + 6;
	uint8_t *t = acpi_begin(b, "APIC", len, 5), *e;

	if (!t)
		return NULL;
	le_put(t + 36, PETREL_LAPIC_ADDR, 4);
	le_put(t + 40, 0, 4); /* no PCAT_COMPAT: there is no 8259 pair */
	e = t + 44;
	for (unsigned int i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0; /* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;   /* ACPI processor UID */
		e[3] = (uint8_t)i;   /* APIC ID */
		le_put(e + 4, 1, 4); /* enabled */
	}
	e[0] = 1; /* IOAPIC */
	e[1] = 12;
	e[2] = 0; /* IOAPIC ID */
	le_put(e + 4, PETREL_IOAPIC_ADDR, 4);
	le_put(e + 8, 0, 4); /* GSI base */
	e += 12;
	e[0] = 4; /* local APIC NMI: LINT1 of every processor */
	e[1] = 6;
	e[2] = 0xff;
	le_put(e + 3, 0, 2);
	e[5] = 1;
	acpi_end(t, len);
	return t;
}

int acpi_build(uint8_t *buf, size_t cap, gpa_t base, unsigned int ncpus,
	       const struct acpi_mmio_dev *devs, unsigned int ndevs, bool stealth)
{
	struct acpi_buf b = {
		.p = buf,
		.cap = cap,
		.base = base,
		.ids = stealth ? &stealth_ids : &petrel_ids,
	};
	uint8_t *rsdp = acpi_alloc(&b, 36, 16), *dsdt, *fadt, *madt, *xsdt;

	dsdt = acpi_dsdt(&b, devs, ndevs);
	fadt = dsdt ? acpi_fadt(&b, acpi_gpa(&b, dsdt)) : NULL;
	madt = acpi_madt(&b, ncpus);
	xsdt = acpi_begin(&b, "XSDT", ACPI_HDR_LEN + 16, 1);
	if (b.overflow || !rsdp || !dsdt || !fadt || !madt || !xsdt)
		return -ENOSPC;
	le_put(xsdt + 36, acpi_gpa(&b, fadt), 8);
	le_put(xsdt + 44, acpi_gpa(&b, madt), 8);
	acpi_end(xsdt, ACPI_HDR_LEN + 16);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, b.ids->oem_id, 6);
	rsdp[15] = 2; /* revision: ACPI 2.0+, XSDT */
	le_put(rsdp + 20, 36, 4);
	le_put(rsdp + 24, acpi_gpa(&b, xsdt), 8);
	rsdp[8] = (uint8_t)-acpi_sum(rsdp, 20);
	rsdp[32] = (uint8_t)-acpi_sum(rsdp, 36);
	return (int)b.len;
}

int acpi_install(const struct gm *gm, unsigned int ncpus, const struct acpi_mmio_dev *devs,
		 unsigned int ndevs, bool stealth, gpa_t *rsdp)
{
	size_t cap = LAYOUT_ACPI_END - LAYOUT_ACPI;
	uint8_t *dst = gm_ptr(gm, LAYOUT_ACPI, cap);
	int len;

	if (!dst)
		return -EFAULT;
	len = acpi_build(dst, cap, LAYOUT_ACPI, ncpus, devs, ndevs, stealth);
	if (len < 0)
		return len;
	*rsdp = LAYOUT_ACPI;
	return 0;
}
