/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon (virtio 1.2, 5.5): the host sets a target balloon size,
 * the guest driver hands pages to the balloon (inflate) and takes them
 * back (deflate), and petrel returns inflated and free-reported pages to
 * the host with madvise(MADV_DONTNEED). With the stats queue the guest
 * also reports memory statistics.
 *
 * Offered features, as the configuration asks (Firecracker's balloon
 * object): STATS_VQ (with stats_polling_interval_s > 0: the device asks
 * for fresh statistics every that many seconds), DEFLATE_ON_OOM,
 * PAGE_REPORTING. Never offered: MUST_TELL_HOST (a page the guest takes
 * back simply refaults as zeroes), FREE_PAGE_HINT (migration only),
 * PAGE_POISON (nothing to tell the host).
 */
#ifndef PETREL_VIRTIO_BALLOON_H
#define PETREL_VIRTIO_BALLOON_H

#include <stdint.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"
#include "virtio/virtio.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5

/* Balloon pages are 4 KiB whatever the guest's page size (5.5.6). */
#define VIRTIO_BALLOON_PAGE_SHIFT 12
#define VIRTIO_BALLOON_PAGE_SIZE (1u << VIRTIO_BALLOON_PAGE_SHIFT)

/* Statistics tags (5.5.6.3.1). */
enum {
	VIRTIO_BALLOON_S_SWAP_IN = 0,
	VIRTIO_BALLOON_S_SWAP_OUT = 1,
	VIRTIO_BALLOON_S_MAJFLT = 2,
	VIRTIO_BALLOON_S_MINFLT = 3,
	VIRTIO_BALLOON_S_MEMFREE = 4,
	VIRTIO_BALLOON_S_MEMTOT = 5,
	VIRTIO_BALLOON_S_AVAIL = 6,
	VIRTIO_BALLOON_S_CACHES = 7,
	VIRTIO_BALLOON_S_HTLB_PGALLOC = 8,
	VIRTIO_BALLOON_S_HTLB_PGFAIL = 9,
	VIRTIO_BALLOON_S_NR = 10,
};

struct balloon_stats {
	uint32_t target_pages; /* num_pages: what the host asks the balloon to hold */
	uint32_t actual_pages; /* actual: what the driver last said it holds */

	/* Counted by the device since it was created (4 KiB pages). */
	uint64_t inflated; /* valid PFNs on the inflateq (returned to the host) */
	uint64_t deflated; /* valid PFNs on the deflateq */
	uint64_t reported; /* whole pages returned through free-page reporting */
	uint64_t bad_pfns; /* PFNs outside guest RAM, ignored */
	uint64_t nreports; /* statistics buffers received from the guest */

	/* The guest's latest statistics: val[tag] is valid iff bit `tag` of
	 * `have` is set (the driver chooses which it sends). */
	uint32_t have;
	uint64_t val[VIRTIO_BALLOON_S_NR];
};

/* Set up `dev` as a balloon over guest memory `gm` as `cfg` says (its
 * initial target amount_mib; the statistics timer on `ev`). 0 or -errno.
 * The transport then owns the device and calls ops->destroy at teardown. */
int virtio_balloon_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
			  const struct balloon_config *cfg) MUST_CHECK;

/* Poll statistics every `seconds` from now on. Statistics cannot be
 * switched on or off once the device exists (Firecracker's rule: the
 * queue is offered or not): -EINVAL if seconds is 0 and they are on, or
 * not 0 and they are off. VMM thread. 0 or -errno. */
int virtio_balloon_set_stats_interval(struct virtio_dev *dev, uint32_t seconds) MUST_CHECK;

/* Ask the guest for a balloon of `bytes` (rounded down to 4 KiB pages):
 * sets num_pages and raises a config-change interrupt. The driver then
 * inflates or deflates at its own pace. Any thread; takes dev->lock.
 * 0, or -ERANGE if `bytes` is more than guest RAM. */
int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t bytes) MUST_CHECK;

/* Copy the device's view into *out: the target, the driver's `actual`,
 * the counters, and the statistics the guest sent last. If the device
 * holds the guest's stats buffer, it gives it back (the spec's way of
 * asking for fresh statistics), so the next call sees newer values: the
 * statistics are one request old. Any thread; takes dev->lock. 0. */
int virtio_balloon_stats(struct virtio_dev *dev, struct balloon_stats *out) MUST_CHECK;

/* "free", "total", ... for a statistics tag < VIRTIO_BALLOON_S_NR, NULL
 * otherwise. */
const char *virtio_balloon_stat_name(unsigned int tag);

/* The metrics op (virtio_ops.metrics): Firecracker's balloon group (README
 * "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_balloon_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
