/* SPDX-License-Identifier: MIT */
/* virtio-console (virtio 1.2, 5.3): one port, hvc0 in Linux. */
#ifndef PETREL_VIRTIO_VCONSOLE_H
#define PETREL_VIRTIO_VCONSOLE_H

#include "console.h"
#include "virtio/virtio.h"

/* Make `dev` a console whose output goes to `con` and which takes the
 * host's input from `con` instead of COM1. 0 or -ENOMEM. */
int virtio_console_create(struct virtio_dev *dev, const struct gm *gm,
			  struct console *con) MUST_CHECK;

#endif
