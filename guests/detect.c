/* SPDX-License-Identifier: MIT */
/*
 * petrel-detect's checks from a freestanding guest: CPUID, exit timing,
 * SIDT/SGDT/SLDT/STR at CPL0 and CPL3, the ACPI tables, and petrel's own
 * devices (virtio-mmio slots, the hypercall port, pvpanic). The checks
 * and the verdict are tools/detect/detect.c, shared with the Linux binary.
 * Prints "detect: LINE" per piece of evidence and "detect: verdict: ...".
 * Command line: devices=0 leaves out ACPI and the device probes (only
 * CPUID and timing then).
 *
 * CPUID's contents are read at CPL0, where petrel's table answers on every
 * host; the rest runs at CPL3: on a PVM host CPL0 is emulated, and the
 * timing must run natively.
 */
#include "detect.h"
#include "petrel/hypercall.h"
#include "rt.h"

#define SAMPLES 1001
#define CR4_UMIP (1U << 11)

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct detect_report report;
static uint64_t scratch[SAMPLES];
static struct detect_dtables dt0;
static uint64_t cr4;
static struct petrel_hc_block hc_block __attribute__((aligned(8)));
static uint32_t cpl0_leaf1[4];

/*
 * CPUID answers the same at every privilege level on a processor. On a
 * PVM host CPL3 code runs natively in the outer VM, and its CPUID goes
 * past PVM to the outer hypervisor: a guest sees two different CPUs.
 */
static void check_cpuid_cpl3(void)
{
	struct detect_evidence *e;
	uint32_t r[4];

	cpuid(1, 0, r);
	if (r[2] == cpl0_leaf1[2]) {
		detect_add(&report, "cpuid.cpl3", DETECT_CLEAN, NULL,
			   "leaf 1 the same at CPL0 and CPL3");
		return;
	}
	e = detect_add(&report, "cpuid.cpl3", DETECT_VM_STRONG, NULL, "leaf 1 ECX ");
	detect_detail_hex(e, cpl0_leaf1[2]);
	detect_detail_str(e, " at CPL0, ");
	detect_detail_hex(e, r[2]);
	detect_detail_str(e, r[2] >> 31 ? " (hypervisor bit) at CPL3" : " at CPL3");
}

static void read_dtables(struct detect_dtables *d)
{
	*d = (struct detect_dtables){ .cpl = current_cpl() };
	detect_sidt(&d->idt_base, &d->idt_limit);
	detect_sgdt(&d->gdt_base, &d->gdt_limit);
	d->ldt = detect_sldt();
	d->tr = detect_str();
	d->sidt_ok = d->sgdt_ok = d->sldt_ok = d->str_ok = true;
}

#define ACPI_TABLE_MAX 0x10000 /* more than any table here; bounds a bad length */

static uint32_t table_len(const uint8_t *t)
{
	uint32_t len = *(const uint32_t *)(t + 4);

	return len < ACPI_TABLE_MAX ? len : ACPI_TABLE_MAX;
}

/* RSDP -> XSDT -> each table, read in place (identity-mapped RAM). */
static void check_acpi(void)
{
	const uint8_t *rsdp = (const uint8_t *)boot.rsdp, *xsdt;
	uint32_t len;

	if (!boot.rsdp || memcmp(rsdp, "RSD PTR ", 8))
		return;
	xsdt = (const uint8_t *)*(const uint64_t *)(rsdp + 24);
	if (!xsdt || memcmp(xsdt, "XSDT", 4))
		return;
	len = table_len(xsdt);
	detect_acpi_table(&report, "XSDT", xsdt, len);
	for (uint32_t off = 36; off + 8 <= len && off < 36 + 8 * 16; off += 8) {
		const uint8_t *t = (const uint8_t *)*(const uint64_t *)(xsdt + off);
		char name[5] = { 0 };

		memcpy(name, t, 4);
		detect_acpi_table(&report, name, t, table_len(t));
		if (!memcmp(t, "FACP", 4)) { /* the DSDT hangs off the FADT */
			const uint8_t *dsdt = (const uint8_t *)*(const uint64_t *)(t + 140);

			if (dsdt && !memcmp(dsdt, "DSDT", 4))
				detect_acpi_table(&report, "DSDT", dsdt, table_len(dsdt));
		}
	}
}

static void check_devices(void)
{
	unsigned int empty = 0, devices = 0;
	struct detect_evidence *e;

	for (unsigned int i = 0; i < PETREL_VIRTIO_MMIO_SLOTS; i++) {
		uint64_t base = PETREL_VIRTIO_MMIO_BASE + i * PETREL_VIRTIO_MMIO_STRIDE;
		uint32_t magic = mmio_read32(base), device = mmio_read32(base + 8);

		if (magic == 0x74726976 && !device) { /* "virt", an empty slot */
			empty++;
			continue;
		}
		devices += magic == 0x74726976;
		detect_virtio_mmio(&report, i, magic, mmio_read32(base + 4), device,
				   mmio_read32(base + 0xc));
	}
	if (empty) {
		e = detect_add(&report, "virtio-mmio", DETECT_VM_STRONG, NULL, "");
		detect_detail_dec(e, empty);
		detect_detail_str(e, " empty slots answer with the magic value");
	} else if (!devices) {
		detect_add(&report, "virtio-mmio", DETECT_CLEAN, NULL, "nothing at petrel's slots");
	}
	hc_block = (struct petrel_hc_block){ .nr = PETREL_HC_VERSION,
					     .abi_major = PETREL_HC_ABI_MAJOR,
					     .ret = -PETREL_HC_ENOSYS };
	/* petrel writes the block during the OUT: a compiler barrier, no more. */
	__asm__ volatile("outl %0, %1"
			 :
			 : "a"((uint32_t)(uintptr_t)&hc_block), "Nd"(PETREL_HYPERCALL_PORT)
			 : "memory");
	detect_hypercall(&report, hc_block.ret, hc_block.arg[2]);
	detect_pvpanic(&report, inb(PETREL_PVPANIC_PORT));
}

static void user_main(void)
{
	struct detect_timing t;
	struct detect_dtables dt3;
	char line[DETECT_LINE_LEN];
	bool devices = cmdline_long("devices", 0, 1) != 0;

	check_cpuid_cpl3();
	detect_timing_measure(&t, scratch, SAMPLES);
	detect_timing(&report, &t);
	detect_dtables(&report, &dt0);
	/* The guest never sets CR4.UMIP: at CPL3 these run, no #GP. */
	detect_add(&report, "cr4.umip", DETECT_INFO, NULL, cr4 & CR4_UMIP ? "UMIP on" : "UMIP off");
	if (!(cr4 & CR4_UMIP)) {
		read_dtables(&dt3);
		detect_dtables(&report, &dt3);
	}
	if (devices) {
		check_acpi();
		check_devices();
	}
	for (unsigned int i = 0; i < report.n; i++) {
		detect_format(&report.ev[i], line);
		printf("detect: %s\n", line);
	}
	detect_verdict(&report, line);
	printf("detect: %s\n", line);
	guest_exit(0);
}

int guest_main(void)
{
	detect_cpuid(&report, detect_cpuid_native);
	cpuid(1, 0, cpl0_leaf1);
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	read_dtables(&dt0);
	enter_user(user_main, user_stack + sizeof(user_stack));
}
