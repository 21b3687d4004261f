/* SPDX-License-Identifier: MIT */
#include "virtio/virtio.h"

#include <string.h>

#include "metrics.h"
#include "virtio/iov.h"

void virtio_dev_init(struct virtio_dev *dev, const struct virtio_ops *ops, uint64_t offered,
		     void *priv, const struct gm *gm)
{
	dev->ops = ops;
	dev->offered = offered;
	dev->priv = priv;
	dev->gm = gm;
}

void virtio_complete(struct virtio_dev *dev, unsigned int q, uint16_t head, uint32_t written)
{
	struct virtq *vq = &dev->vq[q];

	/* A completion that arrives after a reset belongs to a queue that no
	 * longer exists; the driver has forgotten the buffer. */
	if (!virtio_active(dev) || !vq->ready || !vq->used)
		return;
	virtq_push(vq, head, written);
	virtio_signal_used(dev, q);
}

void virtio_complete_chain(struct virtio_dev *dev, unsigned int q, const struct virtq_chain *c,
			   uint32_t written)
{
	iov_mark_dirty(dev->gm, c->iov + c->nout, c->nin, written);
	virtio_complete(dev, q, c->head, written);
}

void virtio_signal_used(struct virtio_dev *dev, unsigned int q)
{
	if (virtq_need_interrupt(&dev->vq[q]) && dev->transport)
		dev->transport->used(dev, q);
}

void virtio_fail(struct virtio_dev *dev, const char *why)
{
	/* Shared by all devices: a guest that breaks, resets and breaks again
	 * must not flood the host's log. */
	static struct log_limit fail_log = LOG_LIMIT_INIT(16);

	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	dev->count.needs_reset++;
	log_limited(&fail_log, "virtio-%s: %s; device needs reset", dev->ops->name, why);
	if (dev->transport)
		dev->transport->needs_reset(dev);
	else
		dev->status |= VIRTIO_STATUS_NEEDS_RESET;
}

void virtio_config_changed(struct virtio_dev *dev)
{
	dev->config_generation++;
	if (dev->transport && (dev->status & VIRTIO_STATUS_DRIVER_OK))
		dev->transport->config_changed(dev);
}

const struct virtio_counters *virtio_metrics_common(const struct virtio_dev *dev,
						    struct metrics_out *out)
{
	static const struct virtio_counters none;
	const struct virtio_counters *c = dev ? &dev->count : &none;

	metrics_counter(out, "activate_fails", c->activate_fails);
	metrics_counter(out, "cfg_fails", c->cfg_fails);
	metrics_counter(out, "needs_reset_count", c->needs_reset);
	metrics_counter(out, "transport_fails", c->transport_fails);
	metrics_counter(out, "interrupt_count", c->interrupts);
	return c;
}
