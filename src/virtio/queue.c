/* SPDX-License-Identifier: MIT */
#include "virtio/queue.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "snapshot/snap.h"
#include "virtio/iov.h"

/* Split-ring layout (virtio 1.2, 2.7). All fields little-endian; petrel
 * runs on little-endian x86 hosts only, so they are used as they are. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct virtq_desc) == 16, "descriptor layout");

/* Offsets inside the avail and used rings. */
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM 8

static size_t avail_bytes(uint16_t size)
{
	return AVAIL_RING + 2u * size + 2; /* + used_event */
}

static size_t used_bytes(uint16_t size)
{
	return USED_RING + (size_t)USED_ELEM * size + 2; /* + avail_event */
}

/*
 * The rings are shared with guest vCPUs that write them concurrently.
 * Ring fields are read and written with single aligned atomic accesses
 * (virtq_start checked the alignment), so each read sees one value the
 * guest wrote, never a torn mix.
 */
static uint16_t ring_load16(const void *ring, size_t off)
{
	return __atomic_load_n((const uint16_t *)((const uint8_t *)ring + off), __ATOMIC_RELAXED);
}

static void ring_store16(void *ring, size_t off, uint16_t v)
{
	__atomic_store_n((uint16_t *)((uint8_t *)ring + off), v, __ATOMIC_RELAXED);
}

static void ring_store32(void *ring, size_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)((uint8_t *)ring + off), v, __ATOMIC_RELAXED);
}

/* The host views of the three rings (their size and addresses checked by
 * the caller); false if one is not wholly inside guest RAM. */
static bool virtq_map(struct virtq *q, const struct gm *gm)
{
	q->gm = gm;
	q->desc = gm_ptr(gm, q->desc_gpa, sizeof(struct virtq_desc) * q->size);
	q->avail = gm_ptr(gm, q->avail_gpa, avail_bytes(q->size));
	q->used = gm_ptr(gm, q->used_gpa, used_bytes(q->size));
	return q->desc && q->avail && q->used;
}

int virtq_start(struct virtq *q, const struct gm *gm)
{
	uint16_t size = q->size;

	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	/* Alignment required by the spec (2.7): desc 16, avail 2, used 4. */
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	if (!virtq_map(q, gm))
		return -EINVAL;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	*q = (struct virtq){ 0 };
}

/* One descriptor, copied out of a table of `n` entries (the ring's, or an
 * indirect table in guest RAM, both already range-checked). */
static struct virtq_desc desc_copy(const void *table, uint16_t i)
{
	struct virtq_desc d;

	memcpy(&d, (const uint8_t *)table + (size_t)i * sizeof(d), sizeof(d));
	return d;
}

/* Add one buffer to the chain. Readable buffers must all come before
 * writable ones (2.7.4.2). */
static int chain_add(const struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	uint32_t *total = writable ? &c->in_len : &c->out_len;
	void *host;

	if (d->len == 0 || (!writable && c->nin) || c->nout + c->nin >= VIRTQ_MAX_SIZE)
		return -EINVAL;
	if (d->len > UINT32_MAX - c->out_len - c->in_len)
		return -EINVAL;
	host = gm_ptr(q->gm, d->addr, d->len);
	if (!host)
		return -EINVAL;
	c->iov[c->nout + c->nin] = (struct iovec){ .iov_base = host, .iov_len = d->len };
	if (writable)
		c->nin++;
	else
		c->nout++;
	*total += d->len;
	return 0;
}

/*
 * Walk the chain starting at `head`. Each descriptor is copied once and
 * then only the copy is used. A chain has at most `size` hops in the ring
 * or `n` in an indirect table, so a cycle ends in -EINVAL instead of a
 * hang. An indirect descriptor must be the head and only descriptor of
 * its chain (2.7.5.3.1: not combined with NEXT, never nested).
 */
static int chain_walk(const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	const void *table = q->desc;
	uint32_t n = q->size, hops = 0;
	uint16_t i = head;
	struct virtq_desc d;
	int err;

	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	if (head >= n)
		return -EINVAL;
	d = desc_copy(table, i);
	if (d.flags & VIRTQ_DESC_F_INDIRECT) {
		if (!q->indirect || (d.flags & VIRTQ_DESC_F_NEXT) || d.len == 0 ||
		    d.len % sizeof(struct virtq_desc) ||
		    d.len / sizeof(struct virtq_desc) > q->size)
			return -EINVAL;
		table = gm_ptr(q->gm, d.addr, d.len);
		if (!table)
			return -EINVAL;
		n = d.len / sizeof(struct virtq_desc);
		i = 0;
		d = desc_copy(table, i);
	}
	for (;;) {
		if (++hops > n || (d.flags & VIRTQ_DESC_F_INDIRECT))
			return -EINVAL;
		err = chain_add(q, c, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		i = d.next;
		if (i >= n)
			return -EINVAL;
		d = desc_copy(table, i);
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, pending, head;

	if (!q->avail)
		return -EINVAL;
	avail_idx = ring_load16(q->avail, AVAIL_IDX);
	if (avail_idx == q->last_avail && q->event_idx) {
		/* Ask for a kick when the driver adds the next buffer, then look
		 * again: a buffer added between our first look and the guest
		 * seeing avail_event would otherwise wait for a kick that the
		 * driver decided it need not send. The full fence orders our
		 * store before the reload (store->load needs more than
		 * acquire/release). */
		ring_store16(q->used, USED_RING + (size_t)USED_ELEM * q->size, q->last_avail);
		gm_mark_dirty(q->gm, q->used_gpa + USED_RING + (size_t)USED_ELEM * q->size, 2);
		atomic_thread_fence(memory_order_seq_cst);
		avail_idx = ring_load16(q->avail, AVAIL_IDX);
	}
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return -EINVAL; /* the driver claims more buffers than the ring holds */
	/* The ring entry is read after the index that published it. */
	atomic_thread_fence(memory_order_acquire);
	head = ring_load16(q->avail, AVAIL_RING + 2u * (q->last_avail % q->size));
	q->last_avail++;
	return chain_walk(q, head, c);
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void virtq_unpop_n(struct virtq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

void virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *written, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		size_t elem =
		    USED_RING + (size_t)USED_ELEM * ((uint16_t)(q->used_idx + i) % q->size);

		ring_store32(q->used, elem, heads[i]);
		ring_store32(q->used, elem + 4, written[i]);
	}
	/* Release: the elements, and the data the device wrote into the
	 * buffers, must be visible before the driver can see the new index
	 * that hands them over; one index store hands over all n at once. */
	atomic_thread_fence(memory_order_release);
	q->used_idx = (uint16_t)(q->used_idx + n);
	ring_store16(q->used, USED_IDX, q->used_idx);
	/* Dirty-page tracking: the whole used ring (a page or two), after
	 * the stores. */
	gm_mark_dirty(q->gm, q->used_gpa, used_bytes(q->size));
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	virtq_push_n(q, &head, &written, 1);
}

bool virtq_need_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, new = q->used_idx, event;
	bool valid = q->signalled_valid;

	/* Our used->idx store must be visible before we read the driver's
	 * suppression fields, or both sides can decide the other will act. */
	atomic_thread_fence(memory_order_seq_cst);
	q->signalled_used = new;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(ring_load16(q->avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = ring_load16(q->avail, AVAIL_RING + 2u * q->size);
	/* vring_need_event (2.7.10): did used_idx step past used_event? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	return iov_copy(c->iov, c->nout, off, dst, len, false);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	return iov_copy(c->iov + c->nout, c->nin, off, (void *)src, len, true);
}

/* One ring of a loaded queue: aligned and wholly inside guest RAM. */
static void snap_ring(struct snap *s, const struct gm *gm, unsigned int index, const char *what,
		      gpa_t gpa, size_t align, size_t len)
{
	if (snap_check(s, !(gpa & (align - 1)),
		       "virtio queue %u %s at %#llx is not %zu-byte aligned", index, what,
		       (unsigned long long)gpa, align))
		snap_check(s, gm_ptr(gm, gpa, len) != NULL,
			   "virtio queue %u %s at %#llx (%zu bytes) is outside guest RAM", index,
			   what, (unsigned long long)gpa, len);
}

void virtq_snapshot(struct virtq *q, struct snap *s, const struct gm *gm, uint16_t max,
		    unsigned int index)
{
	uint16_t size, inflight;

	snap_u16(s, &q->size);
	snap_bool(s, &q->ready);
	snap_u64(s, &q->desc_gpa);
	snap_u64(s, &q->avail_gpa);
	snap_u64(s, &q->used_gpa);
	snap_bool(s, &q->event_idx);
	snap_bool(s, &q->indirect);
	snap_u16(s, &q->last_avail);
	snap_u16(s, &q->used_idx);
	snap_u16(s, &q->signalled_used);
	snap_bool(s, &q->signalled_valid);
	if (snap_saving(s) || snap_error(s))
		return;
	q->gm = NULL;
	q->desc = q->avail = q->used = NULL;
	/* A queue the driver has not made ready is only registers (checked
	 * when it sets QueueReady); the walker starts at zero then. */
	if (!q->ready) {
		snap_check(s,
			   !q->event_idx && !q->indirect && !q->last_avail && !q->used_idx &&
			       !q->signalled_used && !q->signalled_valid,
			   "virtio queue %u is not ready but has ring state", index);
		return;
	}
	size = q->size;
	if (!snap_check(s, size && !(size & (size - 1)),
			"virtio queue %u size %u is not a power of two", index, size) ||
	    !snap_check(s, size <= max, "virtio queue %u size %u is over its maximum %u", index,
			size, max))
		return;
	snap_ring(s, gm, index, "descriptor table", q->desc_gpa, 16,
		  sizeof(struct virtq_desc) * size);
	snap_ring(s, gm, index, "available ring", q->avail_gpa, 2, avail_bytes(size));
	snap_ring(s, gm, index, "used ring", q->used_gpa, 4, used_bytes(size));
	/* Chains taken and not yet used: a device holds at most a ring's worth. */
	inflight = (uint16_t)(q->last_avail - q->used_idx);
	snap_check(s, inflight <= size,
		   "virtio queue %u has %u chains in flight (next available %u, used %u), more "
		   "than its size %u",
		   index, inflight, q->last_avail, q->used_idx, size);
	if (!snap_error(s))
		(void)virtq_map(q, gm); /* cannot fail: the rings were checked */
}
