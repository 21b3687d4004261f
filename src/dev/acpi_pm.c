/* SPDX-License-Identifier: MIT */
/*
 * The hardware-reduced ACPI sleep registers the FADT points at. Writing
 * SLP_EN with SLP_TYP = 5 (the \_S5 value in the DSDT) is a power-off and
 * ends the VM with status 0. Other sleep states are not offered (the DSDT
 * has no \_S1.._S4), so a write of one is logged and ignored.
 */
#include "dev/pc_devices.h"
#include "petrel/platform.h"
#include "vmm.h"

static struct log_limit sleep_log = LOG_LIMIT_INIT(4);

static void acpi_sleep_ctl_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write)
{
	struct vm *vm = opaque;
	unsigned int typ = (data[0] & PETREL_ACPI_SLP_TYP_MASK) >> PETREL_ACPI_SLP_TYP_SHIFT;

	(void)offset;
	(void)len;
	if (!is_write || !(data[0] & PETREL_ACPI_SLP_EN))
		return;
	if (typ == PETREL_ACPI_S5_TYP)
		vm_stop(vm, VM_STATUS_OFF, "guest powered off");
	else
		log_limited(&sleep_log, "guest asked for ACPI sleep type %u: not supported", typ);
}

/* Sleep status: no wake event is ever pending. */
static void acpi_sleep_sts_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			      bool is_write)
{
	(void)opaque;
	(void)offset;
	(void)data;
	(void)len;
	(void)is_write;
}

int acpi_pm_create(struct vm *vm)
{
	int err = bus_register(&vm->pio, PETREL_ACPI_SLEEP_CTL_PORT, 1, acpi_sleep_ctl_io, vm,
			       "acpi-sleep-control");

	if (!err)
		err = bus_register(&vm->pio, PETREL_ACPI_SLEEP_STS_PORT, 1, acpi_sleep_sts_io, vm,
				   "acpi-sleep-status");
	return err;
}
