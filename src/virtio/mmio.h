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

struct snap;

#define VIRTIO_MMIO_SIZE 0x200	      /* registers + 256 bytes of config space */
#define VIRTIO_MMIO_VENDOR 0x4c525450 /* "PTRL" */
/* Register offsets, the magic value and interrupt bits are the spec's:
 * petrel/virtio.h, shared with the test guests' driver. */

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

	struct evloop *ev;
	bool irq_held; /* an interrupt came while paused: sent on resume */
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

/* Pause (VMM thread, the vCPUs parked): stop watching the doorbells, hold
 * interrupts, then let the device quiesce (virtio_ops.pause). */
void virtio_mmio_pause(struct virtio_mmio *m);

/* Undo virtio_mmio_pause: send the held interrupt, watch the doorbells
 * again (a kick that came meanwhile is still pending on its eventfd),
 * then let the device take host input (virtio_ops.resume). */
void virtio_mmio_resume(struct virtio_mmio *m);

/* Save or load the device's state (snapshot/snap.h, by s->op): identity,
 * status, features, config space, the transport's registers and every
 * queue, then the device's own (virtio_ops.snapshot). The device must be
 * paused (virtio_mmio_pause; -EBUSY otherwise). A load checks everything
 * before it changes anything, and leaves the device as it was if the
 * stream fails; after it the device is as the guest left it: if the
 * driver had set DRIVER_OK, activated on the restored queues, their
 * ioeventfds assigned and each ready queue's doorbell rung once (a kick
 * that waited in its eventfd at the save is not lost; the device looks at
 * its rings on resume), an interrupt held at the save sent on resume.
 * Returns snap_error(s). In virtio/mmio_snapshot.c. */
int virtio_mmio_snapshot(struct virtio_mmio *m, struct snap *s) MUST_CHECK;

/* The feature bits the device offers: its own and the transport's. */
uint64_t virtio_mmio_offered(const struct virtio_dev *dev);

/* Assign (or deassign) queue q's KVM_IOEVENTFD on QueueNotify; nothing
 * without KVM or if it already is. Failures are logged: the kick then
 * traps, slower. Caller holds dev->lock. */
void virtio_mmio_ioeventfd(struct virtio_mmio *m, unsigned int q, bool assign);

/* Destroy the device and close every fd. The event loop must not run. */
void virtio_mmio_free(struct virtio_mmio *m);

#endif
