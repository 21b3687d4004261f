/* SPDX-License-Identifier: MIT */
#include "hostile_vq.h"

#include "rt.h"

#define GUARD 64
#define GUARD_BYTE 0x5a

void hostile_vq_main(const struct hostile_case *cases, unsigned int n)
{
	virtio_timeout_cycles = HOSTILE_WAIT;
	hostile_main(cases, n);
}

uint32_t hostile_reg(const struct virtio_dev *dev, uint32_t off)
{
	return mmio_read32(dev->base + off);
}

void hostile_wreg(const struct virtio_dev *dev, uint32_t off, uint32_t v)
{
	mmio_write32(dev->base + off, v);
}

uint32_t hostile_wait_status(const struct virtio_dev *dev, uint32_t mask)
{
	uint64_t end = rdtsc() + HOSTILE_WAIT;
	uint32_t s;

	while (!((s = virtio_status(dev)) & mask) && rdtsc() < end)
		__asm__ volatile("pause");
	return s;
}

void hostile_check_refused(const struct virtio_dev *dev, const struct virtq *q, uint16_t used,
			   const char *what)
{
	uint32_t s = hostile_wait_status(dev, VIRTIO_STATUS_NEEDS_RESET);

	hostile_check(s & VIRTIO_STATUS_NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what,
		      s);
	hostile_check(q->used[1] == used, "%s: the device used the chain", what);
}

bool hostile_wait_used(const struct virtq *vq, uint16_t idx, uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;

	while (vq->used[1] != idx)
		if (rdtsc() > end)
			return false;
	return true;
}

void hostile_desc(struct virtq *vq, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	vq->desc[i].addr = addr;
	vq->desc[i].len = len;
	vq->desc[i].flags = flags;
	vq->desc[i].next = next;
}

void hostile_publish(struct virtq *vq, uint16_t head)
{
	vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = head;
	__asm__ volatile("" ::: "memory");
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
}

void hostile_notify(const struct virtq *vq)
{
	__asm__ volatile("lock orq $0, (%%rsp)" ::: "memory");
	hostile_wreg(vq->dev, VIRTIO_MMIO_REG_QUEUE_NOTIFY, vq->index);
}

void *hostile_guarded(uint32_t n, uint8_t fill)
{
	uint8_t *p = virtio_alloc(n + 2 * GUARD, 64);

	if (!p) {
		hostile_check(false, "out of guest memory for buffers");
		hostile_done();
	}
	memset(p, GUARD_BYTE, GUARD);
	memset(p + GUARD, fill, n);
	memset(p + GUARD + n, GUARD_BYTE, GUARD);
	return p + GUARD;
}

bool hostile_filled(const void *p, uint32_t n, uint8_t v)
{
	const uint8_t *b = p;

	for (uint32_t i = 0; i < n; i++)
		if (b[i] != v)
			return false;
	return true;
}

bool hostile_guard_ok(const void *p, uint32_t n)
{
	const uint8_t *b = p;

	return hostile_filled(b - GUARD, GUARD, GUARD_BYTE) &&
	       hostile_filled(b + n, GUARD, GUARD_BYTE);
}

void hostile_up(struct virtio_dev *dev, uint32_t id, uint64_t wanted, struct virtq *vq,
		unsigned int nq, unsigned int size)
{
	if (!hostile_check(virtio_find(id, 0, dev) == 0, "no virtio device with ID %u", id) ||
	    !hostile_check(virtio_negotiate(dev, wanted) == 0, "feature negotiation failed"))
		hostile_done();
	for (unsigned int q = 0; q < nq; q++)
		if (!hostile_check(virtq_setup(dev, &vq[q], q, size) == 0, "queue %u setup", q))
			hostile_done();
	if (!hostile_check(virtio_driver_ok(dev) == 0, "DRIVER_OK refused (status %#x)",
			   virtio_status(dev)))
		hostile_done();
}
