/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables: RSDP, XSDT, a hardware-reduced FADT (power-off through the
 * sleep control register, reboot through the reset register), a DSDT with
 * \_S5 and the pvpanic device, and a MADT listing the vCPUs' local APICs and
 * the IOAPIC. Written to guest RAM at LAYOUT_ACPI.
 */
#ifndef PETREL_X86_ACPI_H
#define PETREL_X86_ACPI_H

#include <stdint.h>

#include "mem.h"

/* Build the tables for ncpus vCPUs into a host buffer of `cap` bytes that
 * will live at guest address `base`. Returns the length, or -ENOSPC. The
 * RSDP is at offset 0. */
int acpi_build(uint8_t *buf, size_t cap, gpa_t base, unsigned int ncpus) MUST_CHECK;

/* acpi_build into guest RAM at LAYOUT_ACPI; *rsdp gets the RSDP address. */
int acpi_install(const struct gm *gm, unsigned int ncpus, gpa_t *rsdp) MUST_CHECK;

/* Sum of bytes, as ACPI checksums are defined (a table sums to 0). */
uint8_t acpi_sum(const uint8_t *p, size_t len);

#endif
