/* SPDX-License-Identifier: MIT */
/* petrel's x86 PC: split irqchip, platform devices, vCPU set-up. */
#ifndef PETREL_X86_MACHINE_H
#define PETREL_X86_MACHINE_H

#include <stdint.h>

#include "log.h"

struct vm;

/* Create the irqchip (local APICs in KVM, the I/O APIC in petrel) and every
 * platform device (COM1 on the console, RTC, i8042, pvpanic, ACPI sleep
 * registers, boot timer, exit port). Before any vCPU exists. 0 or -errno
 * after a message; machine_destroy cleans up either way. */
int machine_create(struct vm *vm) MUST_CHECK;

/* Free what machine_create made that the VM does not own. */
void machine_destroy(struct vm *vm);

/* A local APIC's EOI of a level-triggered vector (KVM_EXIT_IOAPIC_EOI). */
void machine_eoi(struct vm *vm, uint8_t vector);

/* CPUID policy and MSRs on every vCPU. 0 or -errno after a message. */
int machine_init_vcpus(struct vm *vm) MUST_CHECK;

#endif
