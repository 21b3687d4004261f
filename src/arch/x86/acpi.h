/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables: RSDP, XSDT, a hardware-reduced FADT (power-off through the
 * sleep control register, reboot through the reset register, the RTC's
 * century register), a DSDT with \_S5, the pvpanic device, COM1, the CMOS
 * RTC, the i8042 keyboard, the VM generation ID and its Generic Event
 * Device (platform.h) and the virtio-mmio transports, and a MADT
 * listing the vCPUs' local APICs and the IOAPIC. Written to guest RAM at
 * LAYOUT_ACPI.
 */
#ifndef PETREL_X86_ACPI_H
#define PETREL_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"

/* A virtio-mmio transport to describe in the DSDT. */
struct acpi_mmio_dev {
	uint64_t base; /* below 4 GiB */
	uint32_t size;
	uint32_t gsi;
};

#define ACPI_MAX_MMIO_DEVS 16

/* Build the tables for ncpus vCPUs and `ndevs` (<= ACPI_MAX_MMIO_DEVS)
 * virtio-mmio devices into a host buffer of `cap` bytes that will live at
 * guest address `base`. Returns the length, or -ENOSPC. The RSDP is at
 * offset 0. The headers name petrel (OEM ID "PETREL", FADT hypervisor
 * identity "PETRELVM"), or with `stealth` a common firmware's names and
 * no hypervisor identity. */
int acpi_build(uint8_t *buf, size_t cap, gpa_t base, unsigned int ncpus,
	       const struct acpi_mmio_dev *devs, unsigned int ndevs, bool stealth) MUST_CHECK;

/* acpi_build into guest RAM at LAYOUT_ACPI; *rsdp gets the RSDP address. */
int acpi_install(const struct gm *gm, unsigned int ncpus, const struct acpi_mmio_dev *devs,
		 unsigned int ndevs, bool stealth, gpa_t *rsdp) MUST_CHECK;

/* Sum of bytes, as ACPI checksums are defined (a table sums to 0). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

#endif
