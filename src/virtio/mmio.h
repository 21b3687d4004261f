/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (virtio 1.2, 4.2.2; register layout version
 * 2, modern devices only). It owns every register, the status machine and
 * feature negotiation; the device behind it sees only struct virtio_dev.
 *
 * Doorbells: once the driver sets DRIVER_OK, each ready queue gets a
 * KVM_IOEVENTFD on QueueNotify matching its index, so a kick is an eventfd
 * signal that the event loop picks up without a vCPU exit to userspace.
 * Writes that no ioeventfd matches (bad index, before DRIVER_OK) still
 * trap and are checked here. Interrupts go to KVM through an irqfd on the
 * device's GSI (an I/O APIC pin), edge-triggered.
 *
 * Without KVM (vm_fd < 0, unit tests) kicks are handled inline on the
 * writing thread and interrupts only set InterruptStatus and signal
 * irq_fd, which the test can read.
 */
#ifndef PETREL_VIRTIO_MMIO_H
#define PETREL_VIRTIO_MMIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "log.h"
#include "virtio/virtio.h"

#define VIRTIO_MMIO_SIZE 0x200	      /* registers + 256 bytes of config space */
#define VIRTIO_MMIO_MAGIC 0x74726976  /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4c525450 /* "PTRL" */

/* Register offsets (virtio 1.2, 4.2.2, table "MMIO Device Register Layout"). */
enum virtio_mmio_reg {
	VIRTIO_MMIO_REG_MAGIC_VALUE = 0x000,
	VIRTIO_MMIO_REG_VERSION = 0x004,
	VIRTIO_MMIO_REG_DEVICE_ID = 0x008,
	VIRTIO_MMIO_REG_VENDOR_ID = 0x00c,
	VIRTIO_MMIO_REG_DEVICE_FEATURES = 0x010,
	VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL = 0x014,
	VIRTIO_MMIO_REG_DRIVER_FEATURES = 0x020,
	VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL = 0x024,
	VIRTIO_MMIO_REG_QUEUE_SEL = 0x030,
	VIRTIO_MMIO_REG_QUEUE_NUM_MAX = 0x034,
	VIRTIO_MMIO_REG_QUEUE_NUM = 0x038,
	VIRTIO_MMIO_REG_QUEUE_READY = 0x044,
	VIRTIO_MMIO_REG_QUEUE_NOTIFY = 0x050,
	VIRTIO_MMIO_REG_INTERRUPT_STATUS = 0x060,
	VIRTIO_MMIO_REG_INTERRUPT_ACK = 0x064,
	VIRTIO_MMIO_REG_STATUS = 0x070,
	VIRTIO_MMIO_REG_QUEUE_DESC_LOW = 0x080,
	VIRTIO_MMIO_REG_QUEUE_DESC_HIGH = 0x084,
	VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW = 0x090,
	VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH = 0x094,
	VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW = 0x0a0,
	VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH = 0x0a4,
	VIRTIO_MMIO_REG_SHM_LEN_LOW = 0x0b0,
	VIRTIO_MMIO_REG_SHM_LEN_HIGH = 0x0b4,
	VIRTIO_MMIO_REG_SHM_BASE_LOW = 0x0b8,
	VIRTIO_MMIO_REG_SHM_BASE_HIGH = 0x0bc,
	VIRTIO_MMIO_REG_CONFIG_GENERATION = 0x0fc,
	VIRTIO_MMIO_REG_CONFIG = 0x100,
};

/* Interrupt status bits. */
#define VIRTIO_MMIO_INT_VRING 1
#define VIRTIO_MMIO_INT_CONFIG 2

struct virtio_mmio {
	struct virtio_dev dev; /* filled by a device constructor */

	uint64_t base;
	unsigned int gsi;
	int vm_fd;
	int irq_fd;
	bool notify_assigned[VIRTIO_MAX_QUEUES];
	struct virtio_mmio_doorbell {
		struct virtio_mmio *m;
		unsigned int q;
		int fd;
	} doorbell[VIRTIO_MAX_QUEUES];

	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	atomic_uint isr; /* InterruptStatus */
};

/* A zeroed transport whose `dev` a device constructor then fills. NULL on
 * ENOMEM. */
struct virtio_mmio *virtio_mmio_new(void);

/* Wire the transport at guest address `base` to I/O APIC pin `gsi`: one
 * eventfd per queue watched by `ev`, and with vm_fd >= 0 a KVM_IRQFD.
 * Register virtio_mmio_access on the MMIO bus separately. 0 or -errno. */
int virtio_mmio_attach(struct virtio_mmio *m, struct evloop *ev, int vm_fd, uint64_t base,
		       unsigned int gsi) MUST_CHECK;

/* Bus handler (a bus_fn) for the VIRTIO_MMIO_SIZE register window. */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Destroy the device and close every fd. The event loop must not run. */
void virtio_mmio_free(struct virtio_mmio *m);

#endif
