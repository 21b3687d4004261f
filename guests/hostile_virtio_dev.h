/* SPDX-License-Identifier: MIT */
/*
 * What the hostile guests against the virtio devices' request parsing
 * share (guests/hostile_virtio_blk.c, hostile_virtio_dev.c): the device
 * under attack and its queues, one request there and back, and "this
 * chain must fail the device". One translation unit includes this per
 * guest.
 */
#ifndef GUEST_HOSTILE_VIRTIO_DEV_H
#define GUEST_HOSTILE_VIRTIO_DEV_H

#include "hostile_vq.h"
#include "rt.h"
#include "virtio.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define FILL 0xcc

static struct virtio_dev dev;
static struct virtq vq[3];
static uint64_t want;
static unsigned int nq;
static uint32_t id;

/* Brings the device under attack up with `queues` queues of `size`. */
static inline void up_sized(uint32_t device_id, uint64_t wanted, unsigned int queues,
			    unsigned int size)
{
	id = device_id;
	want = wanted;
	nq = queues;
	hostile_up(&dev, id, want, vq, nq, size);
}

static inline void up(uint32_t device_id, uint64_t wanted, unsigned int queues)
{
	up_sized(device_id, wanted, queues, 64);
}

/* Adds a chain (nout readable, then nin writable buffers), kicks, and
 * waits for it to be used; returns the used length, or -1. */
static inline long roundtrip(struct virtq *q, struct virtq_buf *b, unsigned int nout,
			     unsigned int nin)
{
	uint32_t len;

	if (virtq_add(q, b, nout, nin, false) < 0)
		return -1;
	hostile_notify(q);
	return virtq_wait(q, &len) < 0 ? -1 : (long)len;
}

/* A chain the device cannot use at all: NEEDS_RESET, nothing used. */
static inline void expect_reset(struct virtq *q, struct virtq_buf *b, unsigned int nout,
				unsigned int nin, const char *what)
{
	uint16_t used = q->used[1];

	hostile_check(virtq_add(q, b, nout, nin, false) >= 0, "%s: virtq_add", what);
	hostile_notify(q);
	hostile_check_refused(&dev, q, used, what);
	virtio_reset(&dev);
	hostile_up(&dev, id, want, vq, nq, 64);
}

static inline void alive(const char *after)
{
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "%s: status %#x", after,
		      virtio_status(&dev));
}

#endif
