/* SPDX-License-Identifier: MIT */
/* petrel's x86 PC: split irqchip, platform devices, vCPU set-up. */
#ifndef PETREL_X86_MACHINE_H
#define PETREL_X86_MACHINE_H

#include <stdint.h>

#include "log.h"

struct vm;

/* Create the irqchip (local APICs in KVM, the I/O APIC in petrel; wired
 * into vm->irq_line and the vCPUs' EOI exit) and every device: COM1 on
 * the console, RTC, i8042, pvpanic, ACPI sleep registers, boot timer,
 * exit port, hypercalls, the VM generation ID, then the virtio devices of
 * vm->cfg. Each joins
 * vm->devices. Before any vCPU exists. 0 or -errno after a message;
 * vm_destroy cleans up either way. */
int machine_create(struct vm *vm) MUST_CHECK;

/* CPUID policy and MSRs on every vCPU. 0 or -errno after a message. */
int machine_init_vcpus(struct vm *vm) MUST_CHECK;

#endif
