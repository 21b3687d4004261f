/* SPDX-License-Identifier: MIT */
/* petrel's x86 PC: in-kernel irqchip and PIT, platform devices, vCPU set-up. */
#ifndef PETREL_X86_MACHINE_H
#define PETREL_X86_MACHINE_H

#include "log.h"

struct vm;

/* Create the in-kernel irqchip and PIT and every platform device (COM1 on
 * the console, RTC, i8042, pvpanic, ACPI sleep registers, boot timer, exit
 * port). 0 or -errno after a message. */
int machine_create(struct vm *vm) MUST_CHECK;

/* CPUID policy and MSRs on every vCPU. 0 or -errno after a message. */
int machine_init_vcpus(struct vm *vm) MUST_CHECK;

#endif
