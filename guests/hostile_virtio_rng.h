/* SPDX-License-Identifier: MIT */
/*
 * What the hostile virtio guests that attack the entropy device share
 * (guests/hostile_virtio.c: the virtqueue walker; hostile_virtio_mmio.c:
 * the transport): the rng petrel always has turns any chain it accepts into
 * a write of random bytes into guest RAM, the simplest way to see a chain
 * that should have been refused being acted on. One translation unit
 * includes this per guest; the helpers are static inline so each guest
 * keeps only what it uses.
 */
#ifndef GUEST_HOSTILE_VIRTIO_RNG_H
#define GUEST_HOSTILE_VIRTIO_RNG_H

#include "hostile_vq.h"
#include "rt.h"
#include "virtio.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define QSIZE 64 /* the rng's QueueNumMax */
#define BUF 256
#define FILL 0xcc

static struct virtio_dev dev;
static struct virtq vq;
static uint64_t want = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
static uint8_t *buf; /* a writable buffer attacks point at: must stay FILL */

/* ------------------------------------------------------------- helpers */

static inline void rng_up(void)
{
	hostile_up(&dev, VIRTIO_ID_RNG, want, &vq, 1, QSIZE);
	if (!buf)
		buf = hostile_guarded(BUF, FILL);
}

/* One read of 64 random bytes through the driver; fails the case if the
 * device does not serve it properly. */
static inline void good_read(const char *after)
{
	uint8_t *b = hostile_guarded(64, 0);
	struct virtq_buf vb = { b, 64 };
	uint32_t len = 0;
	int head = -1;

	if (virtq_add(&vq, &vb, 0, 1, false) >= 0) {
		virtq_kick(&vq);
		head = virtq_wait(&vq, &len);
	}
	hostile_check(head >= 0 && len >= 1 && len <= 64,
		      "%s: a good request then failed (head %d, len %u, status %#x)", after, head,
		      len, virtio_status(&dev));
	hostile_check(!hostile_filled(b, 64, 0), "%s: a good read wrote nothing", after);
	hostile_check(hostile_guard_ok(b, 64), "%s: a good read wrote past its buffer", after);
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "%s: NEEDS_RESET after a good read",
		      after);
}

/* Reset, set up again and read. */
static inline void recover(const char *after)
{
	virtio_reset(&dev);
	hostile_check(virtio_status(&dev) == 0, "%s: status %#x after a reset", after,
		      virtio_status(&dev));
	rng_up();
	good_read(after);
}

/* Whether the attack buffer and what it was put among are untouched. */
static inline void check_untouched(const char *what)
{
	hostile_check(hostile_filled(buf, BUF, FILL) && hostile_guard_ok(buf, BUF),
		      "%s: the device wrote guest memory for a refused chain", what);
}

/* The chain or avail state the caller wrote is malformed: after a kick the
 * device must set NEEDS_RESET, use nothing and write nothing. Recovers. */
static inline void kick_expect_reset(const char *what)
{
	uint16_t used = vq.used[1];

	hostile_notify(&vq);
	hostile_check_refused(&dev, &vq, used, what);
	check_untouched(what);
	recover(what);
}

static inline void publish_expect_reset(const char *what, uint16_t head)
{
	hostile_publish(&vq, head);
	kick_expect_reset(what);
}

/* A one-descriptor chain at `head` pointing at (addr, len), writable. */
static inline void bad_buffer(const char *what, uint64_t addr, uint32_t len)
{
	hostile_desc(&vq, 5, addr, len, F_WRITE, 0);
	publish_expect_reset(what, 5);
}

/* A valid first buffer (buf), then one at (addr, len): the device must
 * not fill the first before finding the second bad. */
static inline void bad_second(const char *what, uint64_t addr, uint32_t len)
{
	hostile_desc(&vq, 9, (uint64_t)buf, 64, F_WRITE | F_NEXT, 10);
	hostile_desc(&vq, 10, addr, len, F_WRITE, 0);
	publish_expect_reset(what, 9);
}

/* An indirect head at ring slot 3 whose table is (table, len). */
static inline void bad_indirect(const char *what, uint64_t table, uint32_t len, uint16_t flags)
{
	hostile_desc(&vq, 3, table, len, F_INDIRECT | flags, 4);
	hostile_desc(&vq, 4, (uint64_t)buf, 64, F_WRITE, 0);
	publish_expect_reset(what, 3);
}

static inline struct virtq_desc *table_new(unsigned int n)
{
	struct virtq_desc *t = virtio_alloc(16ULL * n + 64, 16);

	if (!t) {
		hostile_check(false, "out of memory for an indirect table");
		hostile_done();
	}
	for (unsigned int i = 0; i < n; i++)
		t[i] = (struct virtq_desc){ .addr = (uint64_t)buf + 16 * (i % 8),
					    .len = 16,
					    .flags = F_WRITE | (i + 1 < n ? F_NEXT : 0),
					    .next = (uint16_t)(i + 1) };
	return t;
}

/* Sets up queue 0 by hand at the given addresses; returns with QueueReady
 * written (DRIVER_OK not set). */
static inline void queue_raw(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM, num);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

/* A queue set up at these addresses must be refused at QueueReady. */
static inline void bad_rings(const char *what, uint32_t num, uint64_t desc, uint64_t avail,
			     uint64_t used)
{
	uint32_t s;

	queue_raw(num, desc, avail, used);
	s = virtio_status(&dev);
	hostile_check(s & NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what, s);
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0, "%s: QueueReady reads 1",
		      what);
	check_untouched(what);
	recover(what);
}

#endif
