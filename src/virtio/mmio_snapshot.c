/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a virtio-mmio device (DESIGN.md contract 9): one function
 * walks the transport's state both ways, then hands the stream to the
 * device's own snapshot op (virtio.h). Layout version 1, little-endian:
 *
 *   u32 device ID, u32 queues, u32 config size   (must be this device's)
 *   u8 status, u64 driver features, u32 config generation, config bytes
 *   u32 DeviceFeaturesSel, DriverFeaturesSel, QueueSel, InterruptStatus
 *   bool an interrupt held while paused
 *   each queue: virtq_snapshot
 *   the device's own fields (virtio_ops.snapshot)
 *
 * What a snapshot leaves out, on purpose: the metrics' counters (they
 * start again at zero), rate limiters' bucket levels (the limits come from
 * the VM's configuration, and the buckets start full as after a limit
 * update), and everything of the host side (a tap's queued frames, vsock
 * connections). Nothing is in flight: the device was paused, which drains
 * requests and gives held receive buffers back to their rings.
 */
#include "virtio/mmio.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/snap.h"

/* The transport's own registers. */
struct mmio_regs {
	uint32_t dev_features_sel, drv_features_sel, queue_sel, isr;
	bool irq_held;
};

static void mmio_snap_identity(struct virtio_mmio *m, struct snap *s)
{
	const struct virtio_ops *ops = m->dev.ops;
	uint32_t id = ops->device_id, nqueues = ops->nqueues, config_size = ops->config_size;

	snap_u32(s, &id);
	snap_u32(s, &nqueues);
	snap_u32(s, &config_size);
	if (snap_check(s, id == ops->device_id,
		       "virtio device type %u is not this %s device's (%u)", id, ops->name,
		       ops->device_id))
		snap_check(s, nqueues == ops->nqueues && config_size == ops->config_size,
			   "virtio-%s with %u queues and %u bytes of config space, not %u and %u",
			   ops->name, nqueues, config_size, ops->nqueues, ops->config_size);
}

/* Status and features as the transport lets a driver leave them. */
static void mmio_snap_check_status(struct virtio_mmio *m, struct snap *s,
				   const struct virtio_snap *next)
{
	uint64_t offered = virtio_mmio_offered(&m->dev), f = next->features;
	unsigned int st = next->status;

	if (!snap_check(s, !(st & ~VIRTIO_STATUS_VALID), "virtio status %#x has unknown bits", st))
		return;
	snap_check(s, !(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_FEATURES_OK),
		   "virtio status %#x has DRIVER_OK without FEATURES_OK", st);
	/* Features are written only while DRIVER is set, and cleared with it. */
	snap_check(s, !f || (st & VIRTIO_STATUS_DRIVER),
		   "virtio features %#llx without the DRIVER status bit", (unsigned long long)f);
	if (st & VIRTIO_STATUS_FEATURES_OK)
		snap_check(s, (f & VIRTIO_BIT(VIRTIO_F_VERSION_1)) && !(f & ~offered),
			   "virtio-%s features %#llx are not VERSION_1 and a subset of the offered "
			   "%#llx",
			   m->dev.ops->name, (unsigned long long)f, (unsigned long long)offered);
}

/* Put the checked state in place and start the device again as the
 * driver left it. dev->lock held; the device is paused. */
static void mmio_snap_commit(struct virtio_mmio *m, const struct virtio_snap *next,
			     const struct mmio_regs *r)
{
	struct virtio_dev *dev = &m->dev;
	uint64_t one = 1;

	for (unsigned int q = 0; q < dev->ops->nqueues; q++)
		virtio_mmio_ioeventfd(m, q, false);
	dev->status = next->status;
	dev->features = next->features;
	dev->config_generation = next->config_generation;
	memcpy(dev->config, next->config, dev->ops->config_size);
	memcpy(dev->vq, next->vq, sizeof(dev->vq));
	m->dev_features_sel = r->dev_features_sel;
	m->drv_features_sel = r->drv_features_sel;
	m->queue_sel = r->queue_sel;
	atomic_store(&m->isr, r->isr);
	m->irq_held = r->irq_held;
	if (!virtio_active(dev))
		return;
	/* As at DRIVER_OK (mmio_driver_ok), without the driver's handshake. */
	if (dev->ops->activate && dev->ops->activate(dev)) {
		dev->count.activate_fails++;
		virtio_fail(dev, "could not restart the device backend after a snapshot load");
		return;
	}
	for (unsigned int q = 0; q < dev->ops->nqueues; q++) {
		if (!dev->vq[q].ready)
			continue;
		virtio_mmio_ioeventfd(m, q, true);
		/* Seen once the doorbells are watched again, on resume. An
		 * eventfd write fails only on a counter already pending. */
		if (m->doorbell[q].fd >= 0 && write(m->doorbell[q].fd, &one, sizeof(one)) < 0)
			continue;
	}
}

int virtio_mmio_snapshot(struct virtio_mmio *m, struct snap *s)
{
	struct virtio_dev *dev = &m->dev;
	const struct virtio_ops *ops = dev->ops;
	struct virtio_snap next;
	struct mmio_regs r;

	virtio_lock(dev);
	if (!dev->paused) {
		snap_fail(s, -EBUSY, "virtio-%s is not paused", ops->name);
		goto out;
	}
	/* On LOAD the stream overwrites all of it but the queues past the
	 * device's, which stay as they are: unused. */
	next = (struct virtio_snap){ .status = dev->status,
				     .features = dev->features,
				     .config_generation = dev->config_generation };
	memcpy(next.config, dev->config, sizeof(next.config));
	memcpy(next.vq, dev->vq, sizeof(next.vq));
	r = (struct mmio_regs){ .dev_features_sel = m->dev_features_sel,
				.drv_features_sel = m->drv_features_sel,
				.queue_sel = m->queue_sel,
				.isr = atomic_load(&m->isr),
				.irq_held = m->irq_held };

	mmio_snap_identity(m, s);
	snap_u8(s, &next.status);
	snap_u64(s, &next.features);
	snap_u32(s, &next.config_generation);
	snap_bytes(s, next.config, ops->config_size);
	snap_u32(s, &r.dev_features_sel);
	snap_u32(s, &r.drv_features_sel);
	snap_u32(s, &r.queue_sel);
	snap_u32(s, &r.isr);
	snap_bool(s, &r.irq_held);
	snap_check(s, !(r.isr & ~(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)),
		   "virtio InterruptStatus %#x has unknown bits", r.isr);
	mmio_snap_check_status(m, s, &next);
	for (unsigned int q = 0; q < ops->nqueues; q++)
		virtq_snapshot(&next.vq[q], s, dev->gm, ops->queue_max, q);
	/* The device's own part ends the stream; it commits its own state. */
	if (ops->snapshot)
		ops->snapshot(dev, s, &next);
	else if (!snap_finish(s) && !snap_saving(s) && ops->reset)
		ops->reset(dev);
	if (!snap_saving(s) && !snap_error(s))
		mmio_snap_commit(m, &next, &r);
out:
	virtio_unlock(dev);
	return snap_error(s);
}
