/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, 2.7): the one walker every device uses.
 *
 * Everything in the rings is written by the guest and hostile. Descriptors
 * and avail entries are copied into host structs once, validated, and
 * never read again: a second read would race the guest's other vCPUs. A
 * chain comes back as a bounded array of iovecs whose host addresses were
 * produced by gm_ptr (so each buffer lies wholly inside guest RAM).
 */
#ifndef PETREL_VIRTQ_H
#define PETREL_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"
#include "mem.h"

struct snap;

/* Largest queue petrel offers; also the longest chain it accepts (the spec
 * forbids chains longer than the queue size). */
#define VIRTQ_MAX_SIZE 256

struct virtq {
	/* Set by the transport from the driver's registers. */
	uint16_t size; /* power of 2, 1..VIRTQ_MAX_SIZE */
	bool ready;
	gpa_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */

	/* Walker state, valid after virtq_start. */
	const struct gm *gm;
	void *desc, *avail, *used; /* checked host views of the rings */
	uint16_t last_avail;	   /* next avail entry to take */
	uint16_t used_idx;	   /* our copy of used->idx */
	uint16_t signalled_used;   /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
};

/* A popped chain: iov[0, nout) are device-readable buffers in chain order,
 * iov[nout, nout + nin) device-writable ones. */
struct virtq_chain {
	uint16_t head;
	uint16_t nout, nin;
	uint32_t out_len, in_len; /* total bytes, <= UINT32_MAX by construction */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Check the rings the driver set up (size a power of 2 up to
 * VIRTQ_MAX_SIZE, each ring aligned and wholly inside guest RAM) and reset
 * the walker. 0 or -EINVAL. */
int virtq_start(struct virtq *q, const struct gm *gm) MUST_CHECK;

/* Forget everything (device reset). */
void virtq_reset(struct virtq *q);

/* Take the next available chain into *c. Returns 1 with a chain, 0 if the
 * ring is empty (with EVENT_IDX, having asked the driver to kick on its
 * next buffer), or -EINVAL for a malformed chain or avail index (the
 * caller calls virtio_fail; the queue is unusable until reset).
 * Rejects: head or next index >= size, more hops than the queue size (a
 * loop), a buffer not wholly in RAM, zero-length buffers, a readable
 * buffer after a writable one, INDIRECT unless negotiated, an indirect
 * table that is nested, in a chain, empty or not a multiple of 16 bytes,
 * and a total length over UINT32_MAX. */
int virtq_pop(struct virtq *q, struct virtq_chain *c) MUST_CHECK;

/* Give back the chain the last virtq_pop returned (1), unused: it stays
 * available and the next virtq_pop takes it again, walking and checking
 * it afresh (nothing of this pop's copy is kept). For a device that may
 * not serve it yet (a rate limit). Only right after that pop. */
void virtq_unpop(struct virtq *q);

/* Give back the last `n` chains virtq_pop returned, all still unused
 * (not pushed): they are available again, in the same order, and later
 * pops walk and check them afresh. For a device that holds receive
 * buffers, so that it holds none while the VM is paused (and a snapshot
 * need not describe them). A driver cannot have reused their avail
 * entries meanwhile: that takes more chains than the ring holds (a
 * hostile one that does gets the chain it put there, checked as any). */
void virtq_unpop_n(struct virtq *q, uint16_t n);

/* Publish `head` as used with `written` bytes. The used ring's pages are
 * marked dirty (gm_mark_dirty); the buffers' are the device's to mark
 * (virtio_complete_chain, iov_mark_dirty). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* Publish n (<= size) chains with one used->idx update, so the driver sees
 * all or none of them (a frame spread over several mergeable buffers). */
void virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *written, unsigned int n);

/* After one or more pushes: does the driver want an interrupt now?
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX.) */
bool virtq_need_interrupt(struct virtq *q);

/* Save or load queue number `index` (snapshot/snap.h, by s->op): the
 * driver's registers (size, ready, ring addresses), the ring features it
 * negotiated and the walker's indexes. On SAVE *q is only read. On LOAD
 * *q is the caller's scratch copy, filled from the stream and checked: a
 * ready queue has a size that is a power of 2 up to `max`, rings aligned
 * and wholly inside guest RAM `gm` (their host views are set, as
 * virtq_start sets them), and no more chains in flight than its size; a
 * queue that is not ready has no walker state. The caller commits by
 * copying *q once the whole stream is good. Guest RAM is not read.
 * Failures are the stream's (snap_error), naming the queue and field. */
void virtq_snapshot(struct virtq *q, struct snap *s, const struct gm *gm, uint16_t max,
		    unsigned int index);

/* Copy helpers over a chain's buffers. Each returns the bytes copied
 * (less than len if the chain part is shorter). */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);

#endif
