/* SPDX-License-Identifier: MIT */
/*
 * pvpanic (the interface QEMU documents in docs/specs/pvpanic.rst): an
 * I/O port the guest's panic notifier writes. Reads return the events
 * petrel understands. PANICKED ends the VM with VM_STATUS_PANIC and a
 * register dump of the panicking vCPU; CRASH_LOADED (a kdump kernel takes
 * over) is logged and the guest continues. Linux finds the device through
 * the DSDT (_HID QEMU0001).
 */
#include "dev/pc_devices.h"
#include "petrel/platform.h"
#include "vcpu.h"
#include "vmm.h"

static void pvpanic_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;
	struct vcpu *vcpu = vcpu_current();

	(void)offset;
	(void)len;
	if (!is_write) {
		data[0] = PETREL_PVPANIC_PANICKED | PETREL_PVPANIC_CRASH_LOADED;
		return;
	}
	if (data[0] & PETREL_PVPANIC_PANICKED) {
		if (vcpu)
			vcpu_dump(vcpu, "guest panic (reported through pvpanic)");
		vm_stop(vm, VM_STATUS_PANIC, vcpu ? NULL : "guest panic (pvpanic)");
	} else if (data[0] & PETREL_PVPANIC_CRASH_LOADED) {
		log_msg("guest panicked and started its crash kernel");
	}
}

int pvpanic_create(struct vm *vm)
{
	return bus_register(&vm->pio, PETREL_PVPANIC_PORT, 1, pvpanic_io, vm, "pvpanic");
}
