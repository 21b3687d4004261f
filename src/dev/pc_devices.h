/* SPDX-License-Identifier: MIT */
/*
 * The small platform devices of petrel's PC: CMOS RTC, i8042 (reset only),
 * pvpanic, ACPI sleep registers (power-off), the boot timer, the test
 * exit port and the hypercall port. Each registers itself on the VM's buses; all are stateless or
 * keep their state in a struct the VM frees with the machine.
 */
#ifndef PETREL_PC_DEVICES_H
#define PETREL_PC_DEVICES_H

#include <stdint.h>

#include "log.h"

struct vm;

/* Each: 0 or -errno (bus registration). */
int cmos_rtc_create(struct vm *vm) MUST_CHECK;
int i8042_create(struct vm *vm) MUST_CHECK;
int pvpanic_create(struct vm *vm) MUST_CHECK;
int acpi_pm_create(struct vm *vm) MUST_CHECK;
int boot_timer_create(struct vm *vm) MUST_CHECK;
int exit_port_create(struct vm *vm) MUST_CHECK;
int hypercall_create(struct vm *vm) MUST_CHECK; /* dev/hypercall.h */

/* CMOS register file as the guest sees it at host time `now` (seconds
 * since the epoch): exposed for unit tests. */
struct cmos_rtc;
struct cmos_rtc *cmos_rtc_new(void);
uint8_t cmos_rtc_read(struct cmos_rtc *rtc, uint8_t reg, int64_t now);
void cmos_rtc_write(struct cmos_rtc *rtc, uint8_t reg, uint8_t value);

#endif
