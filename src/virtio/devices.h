/* SPDX-License-Identifier: MIT */
/*
 * The virtio devices of a VM, built from its configuration: each one gets
 * a virtio-mmio slot (PETREL_VIRTIO_MMIO_BASE + n * STRIDE, in order) and
 * an I/O APIC pin, and is described to the guest in the ACPI DSDT. The
 * remaining slots answer as empty transports (device ID 0).
 */
#ifndef PETREL_VIRTIO_DEVICES_H
#define PETREL_VIRTIO_DEVICES_H

#include <stdint.h>

#include "log.h"
#include "petrel/platform.h"

struct vm;
struct virtio_dev;
struct acpi_mmio_dev;
struct device_list;
struct metrics;

/* Create every configured device and its transport, each joining
 * vm->devices ("block_<id>", "net_<id>", "fs_<tag>", "vsock", "balloon",
 * "virtio_console", "entropy"). 0 or -errno after one message naming the
 * device. */
int virtio_devices_create(struct vm *vm) MUST_CHECK;

/* The virtio device of `kind` with `id` (NULL: the first of its kind), or
 * NULL. */
struct virtio_dev *virtio_devices_find(struct vm *vm, const char *kind, const char *id);

/* The transports in slot order, for the DSDT, into out[] (room for
 * PETREL_VIRTIO_MMIO_SLOTS). Returns how many. */
unsigned int virtio_devices_acpi(struct vm *vm, struct acpi_mmio_dev *out);

/* After the registry's groups are in `m`: the groups Firecracker's metrics
 * always have, JSON only: "block" and "net" (the sums of the per-device
 * groups, or 0s without any), "vsock", "balloon" and "entropy" (0s when
 * the VM has no such device; `l` NULL: no VM). */
void virtio_devices_metrics_always(struct device_list *l, struct metrics *m);

#endif
