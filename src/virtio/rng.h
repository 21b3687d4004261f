/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2, 5.4): entropy from the host's getrandom(). */
#ifndef PETREL_VIRTIO_RNG_H
#define PETREL_VIRTIO_RNG_H

#include "virtio/virtio.h"

/* Make `dev` an entropy device. 0 or -ENOMEM. */
int virtio_rng_create(struct virtio_dev *dev, const struct gm *gm) MUST_CHECK;

/* The metrics op (virtio_ops.metrics): Firecracker's entropy group
 * (README "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_rng_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
