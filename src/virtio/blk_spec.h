/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's constants from the specification (virtio 1.2, 5.2): feature
 * bits, requests, config space. For virtio/blk.h and the device's own
 * files; no declarations.
 */
#ifndef PETREL_VIRTIO_BLK_SPEC_H
#define PETREL_VIRTIO_BLK_SPEC_H

/* Feature bits (virtio 1.2, 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512
#define VIRTIO_BLK_HDR_SIZE 16 /* le32 type, le32 reserved, le64 sector */
#define VIRTIO_BLK_SEG_SIZE 16 /* le64 sector, le32 num_sectors, le32 flags */
#define VIRTIO_BLK_SEG_F_UNMAP 1
#define VIRTIO_BLK_ID_BYTES 20

/* Config space offsets (struct virtio_blk_config) of the fields petrel fills. */
#define VIRTIO_BLK_CFG_CAPACITY 0 /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SEG_MAX 12
#define VIRTIO_BLK_CFG_BLK_SIZE 20
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG 40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN 44
#define VIRTIO_BLK_CFG_MAX_ZEROES_SECTORS 48
#define VIRTIO_BLK_CFG_MAX_ZEROES_SEG 52
#define VIRTIO_BLK_CFG_ZEROES_MAY_UNMAP 56 /* u8 */
#define VIRTIO_BLK_CFG_SIZE 60		   /* through unused1[3] */

#endif
