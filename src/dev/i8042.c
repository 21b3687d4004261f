/* SPDX-License-Identifier: MIT */
/*
 * The part of the i8042 keyboard controller a VM needs: the CPU reset line.
 * Command 0xfe on port 0x64 pulses reset, and so does clearing bit 0 of the
 * output port (command 0xd1, then the value on port 0x60). Reset ends the
 * VM with status 0, like a reboot. There is no keyboard: the status
 * register never reports data.
 */
#include <errno.h>
#include <stdlib.h>

#include "dev/pc_devices.h"
#include "petrel/platform.h"
#include "vmm.h"

#define CMD_WRITE_OUTPUT 0xd1
#define OUTPUT_RESET_N 0x01 /* active low */

struct i8042 {
	struct vm *vm;
	_Atomic uint8_t pending_cmd;
};

static void i8042_reset(struct i8042 *kbc)
{
	vm_stop(kbc->vm, VM_STATUS_OFF, "guest rebooted (reset through the i8042)");
}

/* Port 0x60: data. Reads see no data; a write completes command 0xd1. */
static void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *kbc = opaque;

	(void)offset;
	(void)len;
	if (!is_write || kbc->pending_cmd != CMD_WRITE_OUTPUT)
		return;
	kbc->pending_cmd = 0;
	if (!(data[0] & OUTPUT_RESET_N))
		i8042_reset(kbc);
}

/* Port 0x64: status (reads 0: no data, input buffer empty) and commands. */
static void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *kbc = opaque;

	(void)offset;
	(void)len;
	if (!is_write)
		return;
	kbc->pending_cmd = data[0];
	if (data[0] == PETREL_I8042_CMD_RESET)
		i8042_reset(kbc);
}

int i8042_create(struct vm *vm)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));
	int err;

	if (!kbc)
		return -ENOMEM;
	kbc->vm = vm;
	err = vm_own(vm, kbc);
	if (!err)
		err = bus_register(&vm->pio, PETREL_I8042_DATA_PORT, 1, i8042_data_io, kbc,
				   "i8042-data");
	if (!err)
		err = bus_register(&vm->pio, PETREL_I8042_CMD_PORT, 1, i8042_cmd_io, kbc,
				   "i8042-command");
	return err;
}
