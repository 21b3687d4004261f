/* SPDX-License-Identifier: MIT */
/*
 * The frame of the hostile-guest suite's virtio guests (tests/hostile/run):
 * the guest runs the one case "hostile=NAME" names, each check that fails
 * prints "HOSTILE FAIL NAME: what", and the end prints "HOSTILE PASS NAME"
 * (exit 0) when none did, else exits 1. Plus raw access to a virtqueue
 * (descriptors and avail entries written as given, unchecked: the attacks)
 * and guarded buffers that show a device write outside what a chain
 * allowed.
 *
 * The guests run with petrel's default 256 MiB of RAM (HOSTILE_RAM_END),
 * the rings and buffers in the virtio pool below 15 MiB (virtio.h).
 */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define HOSTILE_RAM_END (256ULL << 20)

struct hostile_case {
	const char *name;
	void (*run)(void);
	bool cpl0; /* run at CPL0 (e.g. to start APs); else at CPL3 */
};

/* Runs the case "hostile=" names from `cases` (n of them), then
 * hostile_done. An unknown name is a failure. */
__attribute__((noreturn)) void hostile_main(const struct hostile_case *cases, unsigned int n);

/* Counts and prints a failed check ("HOSTILE FAIL case: what"). Returns ok. */
bool hostile_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "HOSTILE PASS case" and exit 0 when no check failed, else exit 1. */
__attribute__((noreturn)) void hostile_done(void);

/* Spin limits in TSC cycles: for something that must happen (about 3 s
 * at 3 GHz), and for showing that something does not (about 0.1 s). */
#define HOSTILE_WAIT 9000000000ULL
#define HOSTILE_QUIET 300000000ULL

/* Status after it shows any of `mask`, or when HOSTILE_WAIT passed. */
uint32_t hostile_wait_status(const struct virtio_dev *dev, uint32_t mask);

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
