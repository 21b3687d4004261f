/* SPDX-License-Identifier: MIT */
/*
 * Boot timer: the guest writes PETREL_BOOT_TIMER_MAGIC to
 * PETREL_BOOT_TIMER_ADDR when it considers itself booted (the default
 * guest's init does, with busybox devmem) and petrel prints the time since
 * it started. The hook for boot benchmarks.
 */
#include "dev/pc_devices.h"
#include "petrel/platform.h"
#include "vmm.h"

static void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;
	uint64_t us = vm_uptime_us(vm);

	(void)len;
	if (is_write && offset == 0 && data[0] == PETREL_BOOT_TIMER_MAGIC)
		log_msg("guest boot time: %llu us (%llu.%03llu ms)", (unsigned long long)us,
			(unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
}

int boot_timer_create(struct vm *vm)
{
	return bus_register(&vm->mmio, PETREL_BOOT_TIMER_ADDR, 0x1000, boot_timer_io, vm,
			    "boot-timer");
}
