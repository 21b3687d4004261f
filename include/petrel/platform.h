/* SPDX-License-Identifier: MIT */
/*
 * The machine petrel presents to a guest: fixed port numbers, MMIO addresses
 * and magic values. Guests (guests/) and the VMM (src/) both include this
 * file, so it is the one place the guest-visible platform is defined.
 * Freestanding: no libc headers.
 */
#ifndef PETREL_PLATFORM_H
#define PETREL_PLATFORM_H

/* 16550A UART, COM1, ISA IRQ 4. */
#define PETREL_COM1_PORT 0x3f8
#define PETREL_COM1_IRQ 4

/* CMOS RTC index/data ports (ACPI PNP0B00, no IRQ: the RTC raises no
 * interrupts); the century is in CMOS register 0x32 (FADT CENTURY). */
#define PETREL_RTC_PORT 0x70
#define PETREL_RTC_CENTURY 0x32

/* i8042 keyboard controller (ACPI PNP0303) with a keyboard and no mouse:
 * the keyboard interrupts on ISA IRQ 1; writing 0xfe to the command port
 * pulses the CPU reset line. */
#define PETREL_I8042_DATA_PORT 0x60
#define PETREL_I8042_CMD_PORT 0x64
#define PETREL_I8042_IRQ 1
#define PETREL_I8042_CMD_RESET 0xfe

/* pvpanic (QEMU's documented pvpanic interface): a guest writes bit 0
 * (PANICKED) when it panics; reads return the supported event bits. */
#define PETREL_PVPANIC_PORT 0x505
#define PETREL_PVPANIC_PANICKED 0x1
#define PETREL_PVPANIC_CRASH_LOADED 0x2

/* ACPI hardware-reduced sleep control/status registers (FADT
 * SLEEP_CONTROL_REG / SLEEP_STATUS_REG). Writing SLP_EN | SLP_TYP=5 powers
 * the machine off. */
#define PETREL_ACPI_SLEEP_CTL_PORT 0x600
#define PETREL_ACPI_SLEEP_STS_PORT 0x601
#define PETREL_ACPI_SLP_EN 0x20
#define PETREL_ACPI_SLP_TYP_SHIFT 2
#define PETREL_ACPI_SLP_TYP_MASK 0x1c
#define PETREL_ACPI_S5_TYP 5

/* Test exit device: an 8-bit write of V ends petrel with exit status V.
 * Meant for freestanding test guests; Linux never touches it. */
#define PETREL_EXIT_PORT 0x501

/* Boot timer: writing PETREL_BOOT_TIMER_MAGIC (8-bit) here makes petrel
 * report the time from its start to this write. Same address and value as
 * Firecracker's boot timer, so guest images that signal it work unchanged. */
#define PETREL_BOOT_TIMER_ADDR 0xd0000000ULL
#define PETREL_BOOT_TIMER_MAGIC 123

/* virtio-mmio transports (virtio 1.2, 4.2; modern register layout,
 * version 2): slot N is at BASE + N * STRIDE; devices fill slots from 0 in
 * the order disks, net, vsock, balloon, console, rng. Every slot answers
 * with the magic value; an empty one has device ID 0. Each device is also
 * in the ACPI DSDT (_HID "LNRO0005", its registers and its GSI), which is
 * how Linux finds it. */
#define PETREL_VIRTIO_MMIO_BASE 0xd1000000ULL
#define PETREL_VIRTIO_MMIO_STRIDE 0x1000ULL
#define PETREL_VIRTIO_MMIO_SLOTS 16

/* VM generation ID (Microsoft's "Virtual Machine Generation ID"; ACPI
 * device \_SB.VGEN, _HID "VMGENCTR", _CID "VM_Gen_Counter", whose ADDR
 * method gives this address): 16 random bytes in guest RAM that the e820
 * map reserves (the BIOS area), new at every boot and at every snapshot
 * restore. After a restore, before any vCPU runs, the Generic Event
 * Device (\_SB.GED_, ACPI0013) raises I/O APIC pin PETREL_GED_GSI
 * (edge, active high) and its _EVT method does Notify (\_SB.VGEN, 0x80). */
#define PETREL_VMGENID_ADDR 0xff000ULL
#define PETREL_VMGENID_LEN 16
#define PETREL_GED_GSI 13

/* Hypercalls (docs/hypercalls.md): a 32-bit OUT of the guest-physical
 * address of an argument block. */
#define PETREL_HYPERCALL_PORT 0x510

/* Guest physical layout used at boot. */
#define PETREL_RAM_HOLE_START 0xc0000000ULL /* 32-bit MMIO hole: 3 GiB .. 4 GiB */
#define PETREL_RAM_HOLE_END 0x100000000ULL
#define PETREL_IOAPIC_ADDR 0xfec00000ULL
#define PETREL_LAPIC_ADDR 0xfee00000ULL

/* CPUID leaf carrying petrel's signature ("PetrelPetrel" in EBX, ECX, EDX);
 * 0x40000000 stays KVM's so Linux finds kvm-clock. */
#define PETREL_CPUID_SIGNATURE_LEAF 0x40000100U
#define PETREL_CPUID_SIGNATURE_EBX 0x72746550U /* "Petr" */
#define PETREL_CPUID_SIGNATURE_ECX 0x65506c65U /* "elPe" */
#define PETREL_CPUID_SIGNATURE_EDX 0x6c657274U /* "trel" */

#endif
