/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-mmio driver for the freestanding test guests (virtio 1.2:
 * 4.2 MMIO transport, modern layout only, and 2.7 split virtqueues).
 *
 * Devices are found from the `virtio_mmio.device=SIZE@BASE:IRQ` entries on
 * the kernel command line, which QEMU's microvm machine writes (with
 * acpi=off) for PVH kernels, or, when there are none, by probing petrel's
 * slots (PETREL_VIRTIO_MMIO_BASE, platform.h), which petrel describes to
 * Linux in the ACPI DSDT only. Completions are found by polling the used
 * ring; interrupts stay masked (InterruptStatus is read and acknowledged so
 * that the transport's side of it is exercised).
 *
 * Everything here works at CPL0 and at CPL3: the test guests' identity map
 * is user-accessible for all of the low 4 GiB, MMIO included, so the heavy
 * loops run at CPL3 (native speed on PVM hosts; only the MMIO accesses
 * exit). Single-threaded: one CPU drives the devices.
 *
 * Ring and buffer memory comes from a bump allocator over a fixed range of
 * guest RAM above the image (virtio_alloc): nothing is freed, and large
 * buffers stay out of .bss (which the bzImage payload carries as zeros).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/virtio.h"

/* Split ring flags (2.7). */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* Largest queue this driver sets up, and longest chain it builds (direct
 * or as one indirect table). */
#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_CHAIN 64

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* One device found on the command line. */
struct virtio_dev {
	uint64_t base; /* MMIO base (need not be page-aligned: QEMU's is not) */
	uint64_t size;
	uint32_t irq;
	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t offered;  /* device feature bits */
	uint64_t features; /* negotiated */
};

/* A split virtqueue and the driver's bookkeeping for it. */
struct virtq {
	struct virtio_dev *dev;
	unsigned int index;
	uint16_t size;
	bool event_idx, indirect;
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, then elements, avail_event */
	volatile struct virtq_used_elem *used_ring;
	struct virtq_desc *indirect_tables; /* size * VIRTQ_MAX_CHAIN, one table per head */
	uint16_t chain_len[VIRTQ_MAX_SIZE]; /* ring descriptors held by each head */
	uint16_t next[VIRTQ_MAX_SIZE];	    /* free list and chain links (private copy) */
	uint16_t free_head, num_free;
	uint16_t avail_idx;   /* next avail->idx to publish */
	uint16_t kicked_idx;  /* avail idx at the last notification decision */
	uint16_t last_used;   /* next used element to consume */
	bool want_interrupts; /* else suppress used-buffer notifications */
	/* Counters. */
	uint64_t kicks, kicks_suppressed, completions;
};

/* One buffer of a chain: device-readable buffers come first, then
 * device-writable ones. */
struct virtq_buf {
	void *addr;
	uint32_t len;
};

/* Finds the `nth` (0-based) device with `device_id` among the transports
 * (see above) whose registers show the magic value and version 2. Fills *dev (features not yet negotiated). Returns 0, or -1 when
 * there is no such device. */
int virtio_find(uint32_t device_id, unsigned int nth, struct virtio_dev *dev);

/* Prints every transport (petrel's empty slots left out) with what its
 * registers say. */
void virtio_list(void);

/* Resets the device, sets ACKNOWLEDGE and DRIVER, accepts the offered bits
 * of `wanted | VERSION_1`, sets FEATURES_OK and reads it back. Returns 0, or
 * -1 (device left with FAILED set) when VERSION_1 is not offered or the
 * device refuses the features. */
int virtio_negotiate(struct virtio_dev *dev, uint64_t wanted);

/* Sets up queue `index` with min(QueueNumMax, size, VIRTQ_MAX_SIZE)
 * entries, in zeroed memory from virtio_alloc, and sets QueueReady. Call
 * between virtio_negotiate and virtio_driver_ok. Returns 0, or -1 when the
 * queue does not exist, is already ready or memory ran out. */
int virtq_setup(struct virtio_dev *dev, struct virtq *vq, unsigned int index, unsigned int size);

/* Sets DRIVER_OK. Returns 0, or -1 if the device then reports
 * NEEDS_RESET or FAILED. */
int virtio_driver_ok(struct virtio_dev *dev);

/* Writes 0 to Status (device reset) and waits until it reads back 0. */
void virtio_reset(struct virtio_dev *dev);

uint32_t virtio_status(const struct virtio_dev *dev);

/* For test guests: a test_fail (rt.h) when Status shows NEEDS_RESET or
 * FAILED. */
void virtio_check_status(const struct virtio_dev *dev);

/* Reads InterruptStatus and, if nonzero, writes it to InterruptACK.
 * Returns what was read. */
uint32_t virtio_isr_ack(struct virtio_dev *dev);

/* Device config space at byte offset `off`, accessed with the natural
 * width (4.2.2.2); 64-bit fields are read as two 32-bit halves under a
 * ConfigGeneration check. */
uint8_t virtio_cfg_read8(const struct virtio_dev *dev, uint32_t off);
uint16_t virtio_cfg_read16(const struct virtio_dev *dev, uint32_t off);
uint32_t virtio_cfg_read32(const struct virtio_dev *dev, uint32_t off);
uint64_t virtio_cfg_read64(const struct virtio_dev *dev, uint32_t off);
void virtio_cfg_write32(const struct virtio_dev *dev, uint32_t off, uint32_t v);

/* Adds a chain of `nout` device-readable then `nin` device-writable
 * buffers (nout + nin in 1..VIRTQ_MAX_CHAIN) and makes it available; with
 * `indirect` (and INDIRECT_DESC negotiated) as one indirect table. Does not
 * notify. Returns the head index, or -1 when the ring has no room. */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned int nout, unsigned int nin,
	      bool indirect);

/* Notifies the device of the chains added since the last call, unless it
 * asked not to be (used->flags NO_NOTIFY, or avail_event with EVENT_IDX).
 * Returns true if it wrote QueueNotify. */
bool virtq_kick(struct virtq *vq);

/* Takes one used element if there is one: returns its head (the chain's
 * descriptors are free again) and stores the written length in *len.
 * Returns -1 when the used ring holds nothing new, -2 (after printing why)
 * when the device used a head that is not in flight. */
int virtq_get(struct virtq *vq, uint32_t *len);

/* virtq_get, spinning until an element arrives or virtio_timeout_cycles
 * TSC cycles pass (then -1, after printing it). */
int virtq_wait(struct virtq *vq, uint32_t *len);

/* Ask for used-buffer notifications (the default) or suppress them
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event kept behind with EVENT_IDX). */
void virtq_interrupts(struct virtq *vq, bool on);

/* Whether virtq_get has something to take. */
static inline bool virtq_has_used(const struct virtq *vq)
{
	return vq->used[1] != vq->last_used;
}

/* How many free ring descriptors the queue has. */
static inline unsigned int virtq_room(const struct virtq *vq)
{
	return vq->num_free;
}

/* Spin limit of virtq_wait, in TSC cycles (default about 10 s at 3 GHz). */
extern uint64_t virtio_timeout_cycles;

/* `size` bytes of zeroed guest RAM aligned to `align` (a power of 2), from
 * the range between the image's end and VIRTIO_POOL_END. Never freed.
 * Returns NULL when the range is used up. */
void *virtio_alloc(size_t size, size_t align);

/* End of the allocation pool: guests get at least 16 MiB of RAM. */
#define VIRTIO_POOL_END 0xf00000ULL

/* FNV-1a 64 over a buffer, continuing from `h` (start with FNV_INIT). */
#define FNV_INIT 0xcbf29ce484222325ULL
uint64_t fnv1a(uint64_t h, const void *buf, size_t len);

/* CRC-32 as zlib computes it (reflected, polynomial 0xedb88320), continuing
 * from `crc` (start with 0): what Python's zlib.crc32 returns. */
uint32_t crc32(uint32_t crc, const void *buf, size_t len);

#endif
