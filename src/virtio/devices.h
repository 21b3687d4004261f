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

struct vm;
struct virtio_dev;

/* Create every configured device and its transport. 0 or -errno after
 * one message naming the device. */
int virtio_devices_create(struct vm *vm) MUST_CHECK;

/* Start the devices' threads (virtio_ops.start), in slot order. 0 or
 * -errno after one message. */
int virtio_devices_start(struct vm *vm) MUST_CHECK;

/* The first device of type `device_id` (VIRTIO_ID_*), or NULL. */
struct virtio_dev *virtio_devices_find(struct vm *vm, uint32_t device_id);

struct sandbox_filter;

/* Every block device's worker threads install `blk_io` (vm_run, before
 * the vCPUs start). 0, or -errno after one message. */
int virtio_devices_sandbox(struct vm *vm, const struct sandbox_filter *blk_io) MUST_CHECK;

/* Free every device (the event loop and vCPUs have stopped). */
void virtio_devices_destroy(struct vm *vm);

#endif
