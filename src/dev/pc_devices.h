/* SPDX-License-Identifier: MIT */
/*
 * The small platform devices of petrel's PC: CMOS RTC, i8042 (keyboard
 * controller with the reset line), pvpanic, ACPI sleep registers
 * (power-off), the boot timer, the test exit port and the hypercall port.
 * Each registers itself on the VM's buses; all are stateless or keep their
 * state in a struct the VM frees with the machine (the i8042's and the
 * RTC's through the device registry, whose snapshots walk them too; the
 * ACPI sleep registers have no state to save).
 */
#ifndef PETREL_PC_DEVICES_H
#define PETREL_PC_DEVICES_H

#include <stdint.h>

#include "log.h"

struct vm;

/* Each: 0 or -errno (bus registration). */
int cmos_rtc_create(struct vm *vm) MUST_CHECK;
int pvpanic_create(struct vm *vm) MUST_CHECK;
int acpi_pm_create(struct vm *vm) MUST_CHECK;
int boot_timer_create(struct vm *vm) MUST_CHECK;
int exit_port_create(struct vm *vm) MUST_CHECK;
int hypercall_create(struct vm *vm) MUST_CHECK; /* dev/hypercall.h */

/* The i8042 keyboard controller and its keyboard (dev/i8042.c): ports
 * 0x60 and 0x64, IRQ 1. It joins vm->devices as kind "i8042", whose
 * opaque is the struct i8042 for i8042_ctrl_alt_del. 0 or -errno. */
struct i8042;
int i8042_create(struct vm *vm) MUST_CHECK;

/* Ctrl-Alt-Del, as Firecracker's SendCtrlAltDel: the keyboard presses left
 * Ctrl, left Alt and Delete and releases them (make and break codes, in
 * the form the guest chose: set 1 through translation, as Linux keeps it,
 * or set 2), and IRQ 1 is raised if the guest enabled the keyboard
 * interrupt. Safe from any thread, concurrently with vCPU accesses.
 * 0; -ENOSPC if the keyboard's 16-byte buffer lacks room (the guest is
 * not reading it); -EAGAIN if the guest disabled the keyboard (command
 * 0xf5 without a later 0xf4), which then sends no keys. */
int i8042_ctrl_alt_del(struct i8042 *kbc) MUST_CHECK;

/* CMOS register file as the guest sees it at host time `now` (seconds
 * since the epoch): exposed for unit tests. The RTC joins vm->devices as
 * "rtc" (for snapshots). */
struct cmos_rtc;
struct snap;
struct cmos_rtc *cmos_rtc_new(void);	  /* NULL on ENOMEM */
void cmos_rtc_free(struct cmos_rtc *rtc); /* NULL is fine */
uint8_t cmos_rtc_read(struct cmos_rtc *rtc, uint8_t reg, int64_t now);
void cmos_rtc_write(struct cmos_rtc *rtc, uint8_t reg, uint8_t value);

/* Save or load the RTC's state (snapshot/snap.h, by s->op): the index
 * register and the CMOS RAM (NVRAM, alarm, registers A to D). The clock
 * has no state: it reads the host's UTC time, and guest writes to it are
 * ignored, so there is no offset to keep and a restored guest reads the
 * time of the host it runs on. A load checks every value before it
 * changes anything. The stream's only reader (snap_finish). Returns
 * snap_error(s). Layout version 1. */
int cmos_rtc_snapshot(struct cmos_rtc *rtc, struct snap *s) MUST_CHECK;

#endif
