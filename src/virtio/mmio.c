/* SPDX-License-Identifier: MIT */
#include "virtio/mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "le.h"

static struct log_limit mmio_log = LOG_LIMIT_INIT(16);

uint64_t virtio_mmio_offered(const struct virtio_dev *dev)
{
	return dev->offered | VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
	       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
}

/* ------------------------------------------------------------ interrupts */

static void mmio_interrupt(struct virtio_mmio *m, unsigned int why)
{
	uint64_t one = 1;

	atomic_fetch_or(&m->isr, why);
	m->dev.count.interrupts++;
	/* Paused: the guest sees InterruptStatus set, the interrupt itself
	 * comes on resume. Callers hold dev->lock, as pause and resume do. */
	if (m->dev.paused) {
		m->irq_held = true;
		return;
	}
	/* An eventfd write only fails when the counter would overflow, and
	 * then an interrupt is pending anyway. */
	if (write(m->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_limited(&mmio_log, "virtio-%s: irqfd: %m", m->dev.ops->name);
}

static void mmio_used(struct virtio_dev *dev, unsigned int q)
{
	(void)q;
	mmio_interrupt(dev->transport_priv, VIRTIO_MMIO_INT_VRING);
}

static void mmio_config_changed(struct virtio_dev *dev)
{
	mmio_interrupt(dev->transport_priv, VIRTIO_MMIO_INT_CONFIG);
}

/* 2.1.2: a device that sets NEEDS_RESET after DRIVER_OK sends a
 * configuration change notification. */
static void mmio_needs_reset(struct virtio_dev *dev)
{
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		mmio_interrupt(dev->transport_priv, VIRTIO_MMIO_INT_CONFIG);
}

static void mmio_queue_fds(struct virtio_dev *dev, unsigned int q, int *kick, int *call)
{
	struct virtio_mmio *m = dev->transport_priv;

	*kick = q < dev->ops->nqueues ? m->doorbell[q].fd : -1;
	*call = m->irq_fd;
}

static void mmio_watch_doorbells(struct virtio_mmio *m, uint32_t events);

static void mmio_doorbells_changed(struct virtio_dev *dev)
{
	mmio_watch_doorbells(dev->transport_priv, EPOLLIN);
}

static const struct virtio_transport_ops mmio_transport_ops = {
	.used = mmio_used,
	.config_changed = mmio_config_changed,
	.needs_reset = mmio_needs_reset,
	.queue_fds = mmio_queue_fds,
	.doorbells_changed = mmio_doorbells_changed,
};

/* ------------------------------------------------------------- doorbells */

void virtio_mmio_ioeventfd(struct virtio_mmio *m, unsigned int q, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = m->base + VIRTIO_MMIO_REG_QUEUE_NOTIFY,
		.len = 4,
		.fd = m->doorbell[q].fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (m->vm_fd < 0 || m->notify_assigned[q] == assign)
		return;
	/* Without the ioeventfd the kick still traps and is handled inline,
	 * only slower: not worth failing the device over. */
	if (ioctl(m->vm_fd, KVM_IOEVENTFD, &io)) {
		log_limited(&mmio_log, "virtio-%s: KVM_IOEVENTFD: %m", m->dev.ops->name);
		return;
	}
	m->notify_assigned[q] = assign;
}

/* Caller holds dev->lock. */
static void mmio_kick(struct virtio_mmio *m, unsigned int q)
{
	struct virtio_dev *dev = &m->dev;

	if (virtio_active(dev) && !dev->paused && q < dev->ops->nqueues && dev->vq[q].ready) {
		dev->count.kicks[q]++;
		dev->ops->notify(dev, q);
	}
}

/* Event-loop thread: a guest kick that KVM turned into an eventfd signal. */
static void mmio_on_doorbell(void *opaque, uint32_t events)
{
	struct virtio_mmio_doorbell *db = opaque;
	uint64_t n;

	(void)events;
	if (read(db->fd, &n, sizeof(n)) < 0)
		return;
	virtio_lock(&db->m->dev);
	mmio_kick(db->m, db->q);
	virtio_unlock(&db->m->dev);
}

/* ------------------------------------------------------- status machine */

static void mmio_reset(struct virtio_mmio *m)
{
	struct virtio_dev *dev = &m->dev;

	for (unsigned int q = 0; q < dev->ops->nqueues; q++)
		virtio_mmio_ioeventfd(m, q, false);
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		virtq_reset(&dev->vq[q]);
	dev->status = 0;
	dev->features = 0;
	m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
	atomic_store(&m->isr, 0);
}

static void mmio_driver_ok(struct virtio_mmio *m)
{
	struct virtio_dev *dev = &m->dev;
	int err;

	if (!(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_fail(dev, "DRIVER_OK before FEATURES_OK");
		return;
	}
	dev->status |= VIRTIO_STATUS_DRIVER_OK;
	err = dev->ops->activate ? dev->ops->activate(dev) : 0;
	if (err) {
		dev->count.activate_fails++;
		virtio_fail(dev, "could not start the device backend");
		return;
	}
	/* Drivers may make buffers available before DRIVER_OK (Linux's
	 * balloon primes its stats queue while probing); the device may only
	 * use them from now on, so look at every queue once. */
	for (unsigned int q = 0; q < dev->ops->nqueues; q++) {
		if (!dev->vq[q].ready)
			continue;
		virtio_mmio_ioeventfd(m, q, true);
		mmio_kick(m, q);
	}
}

/* FEATURES_OK only sticks for a subset of what we offered that includes
 * VERSION_1 (legacy drivers are not supported); the driver reads the
 * status back to learn whether it did (3.1.1). */
static bool mmio_features_ok(const struct virtio_dev *dev)
{
	return virtio_has(dev, VIRTIO_F_VERSION_1) && !(dev->features & ~virtio_mmio_offered(dev));
}

static void mmio_set_status(struct virtio_mmio *m, uint32_t v)
{
	struct virtio_dev *dev = &m->dev;
	uint8_t old = dev->status, set;

	if (v == 0) {
		mmio_reset(m);
		return;
	}
	/* The driver only ever adds bits (2.1.2); NEEDS_RESET is ours, and
	 * bits the spec does not define are ignored. */
	set = (uint8_t)(v & ~old & VIRTIO_STATUS_VALID & ~VIRTIO_STATUS_NEEDS_RESET);
	if (v > 0xff || (old & ~v & ~VIRTIO_STATUS_NEEDS_RESET)) {
		dev->count.transport_fails++;
		log_limited(&mmio_log, "virtio-%s: driver wrote status %#x over %#x; ignored",
			    dev->ops->name, v, old);
		return;
	}
	if ((set & VIRTIO_STATUS_FEATURES_OK) && !mmio_features_ok(dev))
		set &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	dev->status |= set & (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	if (set & VIRTIO_STATUS_DRIVER_OK)
		mmio_driver_ok(m);
}

/* ---------------------------------------------------------------- queues */

/* The selected queue, if the driver may still configure it: a valid
 * index, not ready, device not running. */
static struct virtq *mmio_queue_setup(struct virtio_mmio *m)
{
	struct virtio_dev *dev = &m->dev;

	if (m->queue_sel >= dev->ops->nqueues || (dev->status & VIRTIO_STATUS_DRIVER_OK) ||
	    dev->vq[m->queue_sel].ready)
		return NULL;
	return &dev->vq[m->queue_sel];
}

static void mmio_queue_ready(struct virtio_mmio *m, uint32_t v)
{
	struct virtio_dev *dev = &m->dev;
	struct virtq *q = mmio_queue_setup(m);

	if (!q || v != 1)
		return;
	q->event_idx = virtio_has(dev, VIRTIO_F_EVENT_IDX);
	q->indirect = virtio_has(dev, VIRTIO_F_INDIRECT_DESC);
	if (q->size > dev->ops->queue_max || virtq_start(q, dev->gm)) {
		virtio_fail(dev, "queue set up with a bad size or ring address");
		return;
	}
	q->ready = true;
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)half << 32;
	else
		*v = (*v & ~0xffffffffULL) | half;
}

static void mmio_queue_addr(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtq *q = mmio_queue_setup(m);
	bool high = reg & 4;

	if (!q)
		return;
	switch (reg & ~4ULL) {
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
		set_half(&q->desc_gpa, high, v);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
		set_half(&q->avail_gpa, high, v);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
		set_half(&q->used_gpa, high, v);
		break;
	}
}

/* ------------------------------------------------------------- registers */

static uint32_t mmio_read_reg(struct virtio_mmio *m, uint64_t reg)
{
	struct virtio_dev *dev = &m->dev;

	switch (reg) {
	case VIRTIO_MMIO_REG_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_REG_VERSION:
		return 2;
	case VIRTIO_MMIO_REG_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_REG_DEVICE_FEATURES:
		return m->dev_features_sel < 2
			   ? (uint32_t)(virtio_mmio_offered(dev) >> (32 * m->dev_features_sel))
			   : 0;
	case VIRTIO_MMIO_REG_QUEUE_NUM_MAX:
		return m->queue_sel < dev->ops->nqueues ? dev->ops->queue_max : 0;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		return m->queue_sel < dev->ops->nqueues && dev->vq[m->queue_sel].ready;
	case VIRTIO_MMIO_REG_INTERRUPT_STATUS:
		return atomic_load(&m->isr) |
		       (dev->ops->external_queues ? VIRTIO_MMIO_INT_VRING : 0);
	case VIRTIO_MMIO_REG_STATUS:
		return dev->status;
	case VIRTIO_MMIO_REG_SHM_LEN_LOW:
	case VIRTIO_MMIO_REG_SHM_LEN_HIGH:
		return 0xffffffff; /* no shared memory regions */
	case VIRTIO_MMIO_REG_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

static void mmio_write_reg(struct virtio_mmio *m, uint64_t reg, uint32_t v)
{
	struct virtio_dev *dev = &m->dev;

	switch (reg) {
	case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set (3.1.1). */
		if (m->drv_features_sel < 2 && (dev->status & VIRTIO_STATUS_DRIVER) &&
		    !(dev->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&dev->features, m->drv_features_sel, v);
		break;
	case VIRTIO_MMIO_REG_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case VIRTIO_MMIO_REG_QUEUE_NUM:
		if (mmio_queue_setup(m))
			dev->vq[m->queue_sel].size = v > UINT16_MAX ? 0 : (uint16_t)v;
		break;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		mmio_queue_ready(m, v);
		break;
	case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
		/* A kick before DRIVER_OK is not an error (Linux's balloon
		 * sends one while probing): mmio_driver_ok looks at every
		 * queue once, and buffers are used from then on. */
		if (v < dev->ops->nqueues) {
			mmio_kick(m, v);
			break;
		}
		dev->count.transport_fails++;
		log_limited(&mmio_log, "virtio-%s: kick of queue %u, out of range; ignored",
			    dev->ops->name, v);
		break;
	case VIRTIO_MMIO_REG_INTERRUPT_ACK:
		atomic_fetch_and(&m->isr, ~v);
		break;
	case VIRTIO_MMIO_REG_STATUS:
		mmio_set_status(m, v);
		break;
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
		mmio_queue_addr(m, reg, v);
		break;
	default:
		dev->count.transport_fails++;
		log_limited(&mmio_log, "virtio-%s: write to read-only or unknown register %#x",
			    dev->ops->name, (unsigned int)reg);
	}
}

/* Config space is bytes: any access width inside the device's config. */
static void mmio_config(struct virtio_mmio *m, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_dev *dev = &m->dev;

	if (off >= dev->ops->config_size || len > dev->ops->config_size - off) {
		dev->count.cfg_fails++;
		return; /* reads stay zero-filled */
	}
	if (!is_write) {
		memcpy(data, dev->config + off, len);
		return;
	}
	if (!dev->ops->config_write) {
		dev->count.cfg_fails++;
		return;
	}
	memcpy(dev->config + off, data, len);
	dev->ops->config_write(dev, (uint32_t)off, len);
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;

	virtio_lock(&m->dev);
	if (offset >= VIRTIO_MMIO_REG_CONFIG) {
		mmio_config(m, offset - VIRTIO_MMIO_REG_CONFIG, data, len, is_write);
	} else if (len != 4 || (offset & 3)) {
		/* 4.2.2.2: the driver uses 32-bit aligned accesses only. */
		m->dev.count.transport_fails++;
		log_limited(&mmio_log, "virtio-%s: %u-byte access at %#x; ignored",
			    m->dev.ops->name, len, (unsigned int)offset);
	} else if (is_write) {
		mmio_write_reg(m, offset, (uint32_t)le_get(data, 4));
	} else {
		le_put(data, mmio_read_reg(m, offset), 4);
	}
	virtio_unlock(&m->dev);
}

/* ---------------------------------------------------------------- pause */

/* EPOLLIN: watch the doorbells unless paused or a back end reads them. */
static void mmio_watch_doorbells(struct virtio_mmio *m, uint32_t events)
{
	if (m->dev.paused || (m->dev.ops->external_queues && !m->dev.doorbells_watched))
		events = 0;
	for (unsigned int q = 0; q < m->dev.ops->nqueues; q++)
		if (m->doorbell[q].fd >= 0 && evloop_mod(m->ev, m->doorbell[q].fd, events))
			log_limited(&mmio_log, "virtio-%s: doorbell: epoll: %m", m->dev.ops->name);
}

void virtio_mmio_pause(struct virtio_mmio *m)
{
	virtio_lock(&m->dev);
	m->dev.paused = true;
	mmio_watch_doorbells(m, 0);
	virtio_unlock(&m->dev);
	if (m->dev.ops->pause)
		m->dev.ops->pause(&m->dev);
}

void virtio_mmio_resume(struct virtio_mmio *m)
{
	uint64_t one = 1;

	virtio_lock(&m->dev);
	m->dev.paused = false;
	if (m->irq_held && write(m->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_limited(&mmio_log, "virtio-%s: irqfd: %m", m->dev.ops->name);
	m->irq_held = false;
	mmio_watch_doorbells(m, EPOLLIN);
	virtio_unlock(&m->dev);
	if (m->dev.ops->resume)
		m->dev.ops->resume(&m->dev);
}

/* ------------------------------------------------------------- lifetime */

struct virtio_mmio *virtio_mmio_new(void)
{
	struct virtio_mmio *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->dev.lock, NULL);
	m->vm_fd = m->irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		m->doorbell[q].fd = -1;
	return m;
}

int virtio_mmio_attach(struct virtio_mmio *m, struct evloop *ev, int vm_fd, uint64_t base,
		       unsigned int gsi)
{
	struct virtio_dev *dev = &m->dev;
	int err;

	if (!dev->ops || dev->ops->nqueues > VIRTIO_MAX_QUEUES ||
	    dev->ops->config_size > VIRTIO_CONFIG_MAX)
		return -EINVAL;
	m->base = base;
	m->gsi = gsi;
	m->ev = ev;
	dev->transport = &mmio_transport_ops;
	dev->transport_priv = m;
	m->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->irq_fd < 0)
		return -errno;
	for (unsigned int q = 0; q < dev->ops->nqueues; q++) {
		struct virtio_mmio_doorbell *db = &m->doorbell[q];

		*db = (struct virtio_mmio_doorbell){ .m = m, .q = q };
		db->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (db->fd < 0)
			return -errno;
		err = evloop_add(ev, db->fd, dev->ops->external_queues ? 0 : EPOLLIN,
				 mmio_on_doorbell, db);
		if (err)
			return err;
	}
	if (vm_fd >= 0) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)m->irq_fd, .gsi = gsi };

		if (ioctl(vm_fd, KVM_IRQFD, &irqfd))
			return -errno;
	}
	m->vm_fd = vm_fd;
	return 0;
}

void virtio_mmio_free(struct virtio_mmio *m)
{
	if (!m)
		return;
	if (m->dev.ops && m->dev.ops->destroy)
		m->dev.ops->destroy(&m->dev);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (m->doorbell[q].fd >= 0)
			close(m->doorbell[q].fd);
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	pthread_mutex_destroy(&m->dev.lock);
	free(m);
}
