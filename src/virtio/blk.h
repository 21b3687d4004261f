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
#include "virtio/virtio.h"

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
