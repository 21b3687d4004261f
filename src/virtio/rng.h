/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2, 5.4): entropy from the host's getrandom(). */
#ifndef PETREL_VIRTIO_RNG_H
#define PETREL_VIRTIO_RNG_H

#include "config.h"
#include "evloop.h"
#include "ratelimit.h"
#include "virtio/virtio.h"

/* Make `dev` an entropy device limited by cfg->limit; its rate limiter's
 * timer is watched by `ev`, which must outlive it. 0 or -errno. */
int virtio_rng_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct rng_config *cfg) MUST_CHECK;

/* Set the rate limit (bandwidth: bytes delivered, ops: requests), at
 * creation or at run time (changed buckets start full, see
 * ratelimit_update); a request held back is looked at again at once.
 * Over the limit requests stay on the ring. Takes dev->lock; on the
 * event-loop thread (or one whose seccomp filter allows timerfd_settime).
 * Cannot fail: the timer was made with the device. */
void virtio_rng_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *cfg);

struct virtio_rng_stats {
	uint64_t throttled; /* times a request waited for the rate limit */
};

/* Counters since creation (takes dev->lock). */
void virtio_rng_get_stats(struct virtio_dev *dev, struct virtio_rng_stats *out);

/* The metrics op (virtio_ops.metrics): Firecracker's entropy group
 * (README "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_rng_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
