/* SPDX-License-Identifier: MIT */
/*
 * Constants of the virtio 1.2 specification that both sides use: the
 * freestanding test guests' driver (guests/lib/virtio.h) and petrel's
 * device model (src/virtio/virtio.h). Freestanding: no libc headers.
 */
#ifndef PETREL_VIRTIO_SPEC_H
#define PETREL_VIRTIO_SPEC_H

/* Device status bits (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Reserved feature bits (virtio 1.2, 6), as bit numbers; VIRTIO_BIT makes
 * the 64-bit mask of one. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BIT(n) (1ULL << (n))

/* Device IDs (virtio 1.2, 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK 19

#endif
