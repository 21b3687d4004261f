/* SPDX-License-Identifier: MIT */
#include "arch/x86/machine.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/regs.h"
#include "console.h"
#include "dev/pc_devices.h"
#include "vcpu.h"
#include "vmm.h"

/* VT-x needs three pages for its real-mode TSS and one for an identity
 * page table, somewhere the guest does not use: the top of the 32-bit
 * hole, below the BIOS ROM alias. Other backends ignore them. */
#define TSS_ADDR 0xfffbd000ULL
#define IDENTITY_MAP_ADDR 0xfffbc000ULL

/* Ports where PC software expects hardware that petrel does not have:
 * answered as an empty bus (reads all-ones) without the "unhandled" log
 * line, since every Linux boot touches them. */
static const struct {
	uint16_t port, len;
	const char *what;
} quiet_ports[] = {
	{ 0x80, 1, "POST code / I/O delay" }, { 0xcf8, 8, "PCI configuration (no PCI bus)" },
	{ 0x2f8, 8, "COM2 (absent)" },	      { 0x3e8, 8, "COM3 (absent)" },
	{ 0x2e8, 8, "COM4 (absent)" },
};

static void quiet_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0xff, len);
}

static int machine_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = IDENTITY_MAP_ADDR;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) ||
	     ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR))) {
		log_msg("KVM_SET_TSS_ADDR: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0)) {
		log_msg("KVM_CREATE_IRQCHIP: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit)) {
		log_msg("KVM_CREATE_PIT2: %m");
		return -errno;
	}
	return 0;
}

int machine_create(struct vm *vm)
{
	int (*const devices[])(struct vm *) = {
		cmos_rtc_create, i8042_create,	    pvpanic_create,
		acpi_pm_create,	 boot_timer_create, exit_port_create,
	};
	int err = machine_irqchip(vm);

	if (err)
		return err;
	err = console_create(vm, &vm->console);
	if (err)
		return err;
	for (unsigned int i = 0; i < ARRAY_SIZE(devices) && !err; i++)
		err = devices[i](vm);
	for (unsigned int i = 0; i < ARRAY_SIZE(quiet_ports) && !err; i++)
		err = bus_register(&vm->pio, quiet_ports[i].port, quiet_ports[i].len, quiet_io,
				   NULL, quiet_ports[i].what);
	if (err)
		log_msg("creating platform devices: %s", strerror(-err));
	return err;
}

int machine_init_vcpus(struct vm *vm)
{
	struct kvm_cpuid2 *supported;
	int err = cpuid_supported(vm->kvm_fd, &supported);

	if (err) {
		log_msg("KVM_GET_SUPPORTED_CPUID: %s", strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < vm->ncpus && !err; i++)
		err = regs_init_vcpu(&vm->vcpu[i], supported);
	free(supported);
	return err;
}
