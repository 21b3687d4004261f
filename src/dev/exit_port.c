/* SPDX-License-Identifier: MIT */
/*
 * Test exit device: a write of V to PETREL_EXIT_PORT ends petrel with exit
 * status V (its low byte). Freestanding test guests use it to report a
 * result without an ACPI stack.
 */
#include "dev/pc_devices.h"
#include "petrel/platform.h"
#include "vmm.h"

static void exit_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)offset;
	(void)len;
	if (is_write)
		vm_stop(opaque, data[0], NULL);
}

int exit_port_create(struct vm *vm)
{
	return bus_register(&vm->pio, PETREL_EXIT_PORT, 1, exit_port_io, vm, "exit-port");
}
