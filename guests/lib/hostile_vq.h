/* SPDX-License-Identifier: MIT */
/*
 * The hostile-suite frame's part for the virtio guests (hostile.h): raw
 * access to a virtqueue (descriptors and avail entries written as given,
 * unchecked: the attacks) and guarded buffers that show a device write
 * outside what a chain allowed.
 *
 * The guests run with petrel's default 256 MiB of RAM (HOSTILE_RAM_END),
 * the rings and buffers in the virtio pool below 15 MiB (virtio.h).
 */
#ifndef GUEST_HOSTILE_VQ_H
#define GUEST_HOSTILE_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include "hostile.h"
#include "virtio.h"

#define HOSTILE_RAM_END (256ULL << 20)

/* Spin limits in TSC cycles: for something that must happen (about 3 s
 * at 3 GHz), and for showing that something does not (about 0.1 s). */
#define HOSTILE_WAIT 9000000000ULL
#define HOSTILE_QUIET 300000000ULL

/* hostile_main for a virtio guest: virtq_wait gives up after HOSTILE_WAIT. */
__attribute__((noreturn)) void hostile_vq_main(const struct hostile_case *cases, unsigned int n);

/* Status after it shows any of `mask`, or when HOSTILE_WAIT passed. */
uint32_t hostile_wait_status(const struct virtio_dev *dev, uint32_t mask);

/* The chain just kicked must be refused: the device shows NEEDS_RESET
 * (waited for as hostile_wait_status does) and q's used->idx is still
 * `used`, what it read before. A failed check names `what`. */
void hostile_check_refused(const struct virtio_dev *dev, const struct virtq *q, uint16_t used,
			   const char *what);

/* Waits up to `cycles` until used->idx reaches `idx`; true if it did. */
bool hostile_wait_used(const struct virtq *vq, uint16_t idx, uint64_t cycles);

/* Registers, read and written with a 32-bit access at `off`. */
uint32_t hostile_reg(const struct virtio_dev *dev, uint32_t off);
void hostile_wreg(const struct virtio_dev *dev, uint32_t off, uint32_t v);

/* Descriptor i of the ring, written as given. */
void hostile_desc(struct virtq *vq, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next);

/* Makes `head` available (avail ring entry, then avail->idx) without the
 * driver's bookkeeping; the queue is only used raw from then on. */
void hostile_publish(struct virtq *vq, uint16_t head);

/* Writes QueueNotify with the queue's index, whatever the device asked. */
void hostile_notify(const struct virtq *vq);

/* `n` bytes filled with `fill`, between two 64-byte guards of a known
 * pattern; hostile_guard_ok says whether both guards are intact. */
void *hostile_guarded(uint32_t n, uint8_t fill);
bool hostile_guard_ok(const void *p, uint32_t n);

/* Whether all n bytes at p equal v. */
bool hostile_filled(const void *p, uint32_t n, uint8_t v);

/* Brings a device up for the attacks: finds the first with `id`, negotiates
 * `wanted`, sets up queues 0..nq-1 (at most `size` entries each) and sets
 * DRIVER_OK. Exits the case with a failure if any step fails. */
void hostile_up(struct virtio_dev *dev, uint32_t id, uint64_t wanted, struct virtq *vq,
		unsigned int nq, unsigned int size);

#endif
