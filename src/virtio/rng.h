/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2, 5.4): entropy from the host's getrandom(). */
#ifndef PETREL_VIRTIO_RNG_H
#define PETREL_VIRTIO_RNG_H

#include "virtio/virtio.h"

/* Make `dev` an entropy device. 0 or -ENOMEM. */
int virtio_rng_create(struct virtio_dev *dev, const struct gm *gm) MUST_CHECK;

#endif
