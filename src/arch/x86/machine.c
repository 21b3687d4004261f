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
#include "dev/ioapic.h"
#include "dev/pc_devices.h"
#include "dev/vmgenid.h"
#include "petrel/platform.h"
#include "virtio/devices.h"
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

/* KVM_SET_GSI_ROUTING: GSI n is I/O APIC pin n, as the message the pin
 * sends. Virtio devices raise their pins through irqfds on these GSIs, so
 * KVM delivers them without petrel; everything else goes through
 * KVM_SIGNAL_MSI. KVM also reads the table to learn which vectors are
 * level-triggered, so that their EOIs come back as KVM_EXIT_IOAPIC_EOI. */
static void machine_ioapic_routes(void *opaque, const struct ioapic_msi msi[IOAPIC_NR_PINS])
{
	static struct log_limit routes_log = LOG_LIMIT_INIT(4);
	struct vm *vm = opaque;
	struct {
		struct kvm_irq_routing head;
		struct kvm_irq_routing_entry entry[IOAPIC_NR_PINS];
	} table = { 0 };

	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		if (!msi[pin].addr)
			continue;
		table.entry[table.head.nr++] = (struct kvm_irq_routing_entry){
			.gsi = pin,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)msi[pin].addr,
				   .address_hi = (uint32_t)(msi[pin].addr >> 32),
				   .data = msi[pin].data },
		};
	}
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &table))
		log_limited(&routes_log, "KVM_SET_GSI_ROUTING: %m");
}

static void machine_ioapic_deliver(void *opaque, struct ioapic_msi msi)
{
	static struct log_limit msi_log = LOG_LIMIT_INIT(4);
	struct vm *vm = opaque;
	struct kvm_msi m = { .address_lo = (uint32_t)msi.addr,
			     .address_hi = (uint32_t)(msi.addr >> 32),
			     .data = msi.data };

	/* 0 means no local APIC took it (a guest's choice of destination). */
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
		log_limited(&msi_log, "KVM_SIGNAL_MSI: %m");
}

static const struct ioapic_ops machine_ioapic_ops = {
	.deliver = machine_ioapic_deliver,
	.routes = machine_ioapic_routes,
};

static void machine_irq_line(void *opaque, unsigned int irq, bool level)
{
	ioapic_set_irq(opaque, irq, level);
}

static void machine_eoi(void *opaque, uint8_t vector)
{
	ioapic_eoi(opaque, vector);
}

static void machine_ioapic_free(void *opaque)
{
	ioapic_free(opaque);
}

/* It joins the registry first, so a load restores it (and KVM's routes)
 * before the devices whose lines it takes. */
static int machine_ioapic_snapshot(void *opaque, struct snap *s)
{
	return ioapic_snapshot(opaque, s);
}

static const struct device_ops machine_ioapic_dev = {
	.snapshot = machine_ioapic_snapshot,
	.snapshot_version = 1,
	.destroy = machine_ioapic_free,
};

/* The split irqchip: local APICs in KVM, the I/O APIC here, no 8259 PIC
 * and no PIT. A hardware-reduced ACPI platform uses neither (Linux
 * installs a null PIC and no legacy timer), and tearing down KVM's
 * in-kernel PIC, IOAPIC and PIT cost about 20 ms per VM on exit, ten
 * times the rest of a trivial VM's life (see bench/). */
static int machine_irqchip(struct vm *vm)
{
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_NR_PINS } };
	uint64_t idmap = IDENTITY_MAP_ADDR;
	struct ioapic *ioapic;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) ||
	     ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR))) {
		log_msg("KVM_SET_TSS_ADDR: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split)) {
		log_msg("KVM_CAP_SPLIT_IRQCHIP: %m");
		return -errno;
	}
	ioapic = ioapic_new(&machine_ioapic_ops, vm);
	if (!ioapic)
		return -ENOMEM;
	if (device_add(&vm->devices, "ioapic", "ioapic", NULL, &machine_ioapic_dev, ioapic)) {
		ioapic_free(ioapic);
		return -ENOSPC;
	}
	vm->irq_line = machine_irq_line;
	vm->irq_opaque = ioapic;
	vm->vcpu_env.eoi = machine_eoi;
	vm->vcpu_env.eoi_opaque = ioapic;
	return bus_register(&vm->mmio, PETREL_IOAPIC_ADDR, IOAPIC_MMIO_SIZE, ioapic_mmio, ioapic,
			    "ioapic");
}

int machine_create(struct vm *vm)
{
	int (*const devices[])(struct vm *) = {
		cmos_rtc_create,   i8042_create,     pvpanic_create,   acpi_pm_create,
		boot_timer_create, exit_port_create, hypercall_create, vmgenid_create,
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
	if (err) {
		log_msg("creating platform devices: %s", strerror(-err));
		return err;
	}
	return virtio_devices_create(vm);
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
		err = regs_init_vcpu(&vm->vcpu[i], supported, vm->ncpus, vm->cfg->stealth);
	free(supported);
	return err;
}
