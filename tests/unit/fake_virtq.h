/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio driver for unit tests and fuzz targets: split rings built
 * in fake guest memory (fake_gm.h), a transport that records what the
 * device asks of it, the virtio-mmio register handshake, and the event
 * loop run by hand. Ring fields are written little-endian with le_put, as
 * a driver on any host would.
 *
 *   struct fake_vq fq;
 *   fake_vq_init(&fq, &gm, 64, 0x1000, 0x2000, 0x3000);
 *   fake_vq_start(&dev, 0, &fq);               // as the transport at DRIVER_OK
 *   fake_vq_add(&fq, (struct fake_buf[]){ { 0x10000, 512, true } }, 1);
 *   fake_kick(&dev, 0);
 *   fake_vq_next_used(&fq, &id, &len);
 */
#ifndef PETREL_TEST_FAKE_VIRTQ_H
#define PETREL_TEST_FAKE_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "evloop.h"
#include "le.h"
#include "mem.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"

#define FAKE_DESC_F_NEXT 1
#define FAKE_DESC_F_WRITE 2
#define FAKE_DESC_F_INDIRECT 4

/* ------------------------------------------------------------ the rings */

/* The driver's view of one split virtqueue in guest memory. */
struct fake_vq {
	const struct gm *gm;
	gpa_t desc, avail, used;
	uint16_t size;
	uint16_t next_desc; /* where fake_vq_add puts its next chain */
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t used_seen; /* used entries fake_vq_next_used returned */
};

/* One buffer of a chain: device-writable if `write`. */
struct fake_buf {
	gpa_t gpa;
	uint32_t len;
	bool write;
};

/* Rings of `size` entries at the given addresses (not touched: guest
 * memory starts zeroed), with nothing made available yet. */
static inline void fake_vq_init(struct fake_vq *fq, const struct gm *gm, uint16_t size, gpa_t desc,
				gpa_t avail, gpa_t used)
{
	*fq =
	    (struct fake_vq){ .gm = gm, .size = size, .desc = desc, .avail = avail, .used = used };
}

/* Write descriptor i of the table at `table` (the ring's or an indirect
 * one); nothing is checked, so tests can write hostile ones. */
static inline void fake_desc_put(const struct gm *gm, gpa_t table, uint16_t i, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = gm_ptr(gm, table + 16u * i, 16);

	le_put(d, addr, 8);
	le_put(d + 8, len, 4);
	le_put(d + 12, flags, 2);
	le_put(d + 14, next, 2);
}

static inline void fake_vq_desc(struct fake_vq *fq, uint16_t i, uint64_t addr, uint32_t len,
				uint16_t flags, uint16_t next)
{
	fake_desc_put(fq->gm, fq->desc, i, addr, len, flags, next);
}

/* Make the chain at `head` available: the next avail ring entry, then
 * avail->idx (not kicked). */
static inline void fake_vq_publish(struct fake_vq *fq, uint16_t head)
{
	uint8_t *a = gm_ptr(fq->gm, fq->avail, 4 + 2u * fq->size);

	le_put(a + 4 + 2u * (fq->avail_idx % fq->size), head, 2);
	fq->avail_idx++;
	le_put(a + 2, fq->avail_idx, 2);
}

/* Write the n buffers b[0, n) as a chain in the next n descriptors (in
 * ring order, wrapping) and publish it; returns its head. */
static inline uint16_t fake_vq_add(struct fake_vq *fq, const struct fake_buf *b, unsigned int n)
{
	uint16_t head = fq->next_desc % fq->size;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % fq->size);

		fake_vq_desc(fq, d, b[i].gpa, b[i].len,
			     (uint16_t)((i + 1 < n ? FAKE_DESC_F_NEXT : 0) |
					(b[i].write ? FAKE_DESC_F_WRITE : 0)),
			     (uint16_t)((d + 1u) % fq->size));
	}
	fq->next_desc = (uint16_t)((head + n) % fq->size);
	fake_vq_publish(fq, head);
	return head;
}

/* used->idx as the device last published it. */
static inline uint16_t fake_vq_used_idx(const struct fake_vq *fq)
{
	return (uint16_t)le_get(gm_ptr(fq->gm, fq->used + 2, 2), 2);
}

/* Used ring entry i (taken modulo the size): chain head and bytes written. */
static inline void fake_vq_used_elem(const struct fake_vq *fq, uint16_t i, uint32_t *id,
				     uint32_t *len)
{
	uint8_t *e = gm_ptr(fq->gm, fq->used + 4 + 8u * (i % fq->size), 8);

	*id = (uint32_t)le_get(e, 4);
	*len = (uint32_t)le_get(e + 4, 4);
}

/* The next used entry not returned before: true with its head and length,
 * false if the device has published nothing new. */
static inline bool fake_vq_next_used(struct fake_vq *fq, uint32_t *id, uint32_t *len)
{
	if (fake_vq_used_idx(fq) == fq->used_seen)
		return false;
	fake_vq_used_elem(fq, fq->used_seen++, id, len);
	return true;
}

/* ------------------------------------------------- the transport's side */

/* What the transport does for queue q at DRIVER_OK, without one: point
 * dev->vq[q] at the rings (EVENT_IDX and INDIRECT_DESC as dev->features
 * has them), check them and mark it ready. False if virtq_start refused. */
static inline bool fake_vq_start(struct virtio_dev *dev, unsigned int q, const struct fake_vq *fq)
{
	struct virtq *vq = &dev->vq[q];

	virtq_reset(vq);
	vq->size = fq->size;
	vq->desc_gpa = fq->desc;
	vq->avail_gpa = fq->avail;
	vq->used_gpa = fq->used;
	vq->event_idx = virtio_has(dev, VIRTIO_F_EVENT_IDX);
	vq->indirect = virtio_has(dev, VIRTIO_F_INDIRECT_DESC);
	if (virtq_start(vq, fq->gm))
		return false;
	vq->ready = true;
	return true;
}

/* The status a driver has after a successful handshake (3.1.1). */
#define FAKE_STATUS_DRIVER_OK                                                                      \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

/* The driver kicked queue q: notify the device under its lock, if it is
 * active (as the transport does; queue index and readiness are the
 * caller's to get right). */
static inline void fake_kick(struct virtio_dev *dev, unsigned int q)
{
	virtio_lock(dev);
	if (virtio_active(dev))
		dev->ops->notify(dev, q);
	virtio_unlock(dev);
}

/* Counts of what the device asked of its transport. */
struct fake_transport {
	unsigned int used[VIRTIO_MAX_QUEUES]; /* interrupts per queue */
	unsigned int config_changed;
	unsigned int needs_reset;
};

static inline void fake_transport_used(struct virtio_dev *dev, unsigned int q)
{
	((struct fake_transport *)dev->transport_priv)->used[q]++;
}

static inline void fake_transport_config_changed(struct virtio_dev *dev)
{
	((struct fake_transport *)dev->transport_priv)->config_changed++;
}

/* Like the real transport, needs_reset also sets the status bit. */
static inline void fake_transport_needs_reset(struct virtio_dev *dev)
{
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	((struct fake_transport *)dev->transport_priv)->needs_reset++;
}

/* Make `ft` (zeroed here) the transport of dev; it must outlive dev's use. */
static inline void fake_transport_attach(struct virtio_dev *dev, struct fake_transport *ft)
{
	static const struct virtio_transport_ops ops = {
		.used = fake_transport_used,
		.config_changed = fake_transport_config_changed,
		.needs_reset = fake_transport_needs_reset,
	};

	*ft = (struct fake_transport){ 0 };
	dev->transport = &ops;
	dev->transport_priv = ft;
}

/* ------------------------------------------------------- the event loop */

/* One pass of the event loop: wait up to timeout_ms for ready fds and run
 * their callbacks. Returns the number of events (-1 on an epoll error). */
static inline int fake_evloop_pass(struct evloop *ev, int timeout_ms)
{
	struct epoll_event e[16];
	int n = epoll_wait(ev->epfd, e, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		const struct evloop_watch *w = &ev->watch[e[i].data.u32];

		if (w->fd >= 0)
			w->fn(w->opaque, e[i].events);
	}
	return n;
}

/* Run passes until no fd is ready (nothing waits for an event to come). */
static inline void fake_evloop_drain(struct evloop *ev)
{
	while (fake_evloop_pass(ev, 0) > 0)
		;
}

/* ------------------------------------------------- through virtio-mmio */

/* A `len`-byte (1, 2 or 4) register or config read, zero-filled as the
 * bus does. */
static inline uint32_t fake_mmio_read_n(struct virtio_mmio *m, uint64_t off, uint32_t len)
{
	uint8_t b[4] = { 0 };

	virtio_mmio_access(m, off, b, len, false);
	return (uint32_t)le_get(b, len);
}

static inline uint32_t fake_mmio_read(struct virtio_mmio *m, uint64_t off)
{
	return fake_mmio_read_n(m, off, 4);
}

static inline void fake_mmio_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	le_put(b, v, 4);
	virtio_mmio_access(m, off, b, 4, true);
}

/* The 64 feature bits the device offers. */
static inline uint64_t fake_mmio_features(struct virtio_mmio *m)
{
	uint64_t f;

	fake_mmio_write(m, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	f = fake_mmio_read(m, VIRTIO_MMIO_REG_DEVICE_FEATURES);
	fake_mmio_write(m, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)fake_mmio_read(m, VIRTIO_MMIO_REG_DEVICE_FEATURES) << 32;
}

/* The handshake of 3.1.1 up to FEATURES_OK, from a reset device:
 * ACKNOWLEDGE, DRIVER, accept `features`, FEATURES_OK. Returns the status
 * read back (FEATURES_OK is set only if the device took the features). */
static inline uint32_t fake_mmio_negotiate(struct virtio_mmio *m, uint64_t features)
{
	fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fake_mmio_write(m, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	fake_mmio_write(m, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)features);
	fake_mmio_write(m, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	fake_mmio_write(m, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS,
			VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK);
	return fake_mmio_read(m, VIRTIO_MMIO_REG_STATUS);
}

/* Set queue q up from fq (size and the three ring addresses) and mark it
 * ready. */
static inline void fake_mmio_queue(struct virtio_mmio *m, unsigned int q, const struct fake_vq *fq)
{
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_SEL, q);
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NUM, fq->size);
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)fq->desc);
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(fq->desc >> 32));
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)fq->avail);
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(fq->avail >> 32));
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)fq->used);
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(fq->used >> 32));
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

/* Set DRIVER_OK after a successful negotiation; returns the status read
 * back. */
static inline uint32_t fake_mmio_driver_ok(struct virtio_mmio *m)
{
	fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS, FAKE_STATUS_DRIVER_OK);
	return fake_mmio_read(m, VIRTIO_MMIO_REG_STATUS);
}

#endif
