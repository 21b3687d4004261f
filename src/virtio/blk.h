/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2, 5.2): one request queue backed by a raw image
 * file or a host block device. Requests are parsed and checked where the
 * queue is kicked, then served by a small pool of worker threads (preadv /
 * pwritev straight into the chain's guest buffers); finished requests come
 * back to the event-loop thread through an eventfd, which publishes them.
 */
#ifndef PETREL_VIRTIO_BLK_H
#define PETREL_VIRTIO_BLK_H

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"
#include "ratelimit.h"
#include "virtio/blk_spec.h"
#include "virtio/virtio.h"

/* Open cfg->path (read-only when cfg->read_only) and make `dev` a block
 * device over it, limited by cfg->limit: config space filled, virtio_dev_init called, worker
 * threads started, the completion eventfd watched by `ev`. The caller then
 * attaches a transport. `ev` and `gm` must outlive the device; the device
 * is torn down by dev->ops->destroy once the event loop has stopped.
 * 0, or -errno after printing one line `petrel: disk 'PATH': <reason>`
 * (nothing is left open or running). */
int virtio_blk_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct disk_config *cfg) MUST_CHECK;

/* Requests taken from the queue and neither published nor dropped yet.
 * For tests and the fuzzer, which run the event loop until it is 0. */
unsigned int virtio_blk_inflight(struct virtio_dev *dev);

/* Set the rate limit (bandwidth: data bytes of reads and writes; ops:
 * requests), at creation or at run time (changed buckets start full, see
 * ratelimit_update); a request held back is looked at again at once.
 * Takes dev->lock; on the event-loop thread (or one whose seccomp filter
 * allows timerfd_settime). Cannot fail: the timer was made with the
 * device. */
void virtio_blk_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *cfg);

/* Media change (PATCH /drives path_on_host): the backing at `path`, opened
 * as the old one was (read-only or not), replaces it; the capacity in
 * config space follows, and the driver gets a configuration change
 * interrupt (held while paused). Features and the serial number stay: it
 * is the same disk with new media. VMM thread, with the device paused
 * (nothing in flight, else -EBUSY). 0, or -errno after one line `petrel:
 * disk 'PATH': <reason>`, the old backing still in place. */
int virtio_blk_change_media(struct virtio_dev *dev, const char *path) MUST_CHECK;

struct virtio_blk_stats {
	uint64_t throttled; /* times a request waited for the rate limit */
};

/* Counters since creation (takes dev->lock). */
void virtio_blk_get_stats(struct virtio_dev *dev, struct virtio_blk_stats *out);

/* The metrics op (virtio_ops.metrics): Firecracker's block group (see
 * README "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_blk_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
