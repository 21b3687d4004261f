/* SPDX-License-Identifier: MIT */
/*
 * Inside the virtio-blk device: its state, shared by blk.c (requests, the
 * ops) and blk_snapshot.c. Not for other modules.
 */
#ifndef PETREL_VIRTIO_BLK_DEV_H
#define PETREL_VIRTIO_BLK_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "virtio/blk_io.h"
#include "virtio/blk_spec.h"
#include "virtio/throttle.h"
#include "virtio/virtio.h"

struct blk_req {
	struct blk_io_req io; /* first: blk_io hands back this pointer */
	uint16_t head;
	uint8_t *status_byte; /* last byte of the chain's writable part */
	uint32_t in_len;      /* writable bytes, status byte included */
	uint64_t len;	      /* data bytes of a read or write (metrics) */
};

/* What the metrics report (virtio_blk_metrics), under dev->lock. */
struct blk_stats {
	uint64_t read_count, write_count, flush_count, discard_count, zeroes_count;
	uint64_t read_bytes, write_bytes;
	uint64_t execute_fails; /* requests the host's I/O failed */
	uint64_t invalid_reqs;	/* requests rejected before any I/O (guest errors) */
};

struct blk {
	struct virtio_dev *dev;
	struct evloop *ev;
	char *path;
	struct blk_io io;
	uint64_t capacity; /* 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CFG_SIZE]; /* what the guest must read back */
	struct blk_stats st;		     /* under dev->lock */

	/* Under dev->lock. */
	struct virtq_chain chain; /* virtq_pop's scratch */
	struct blk_req *slot;	  /* VIRTQ_MAX_SIZE; pages touched only when used */
	uint16_t free_slot[VIRTQ_MAX_SIZE];
	unsigned int nfree, inflight;
	bool more; /* chains may be left in the ring: pop again after completions */
	struct throttle limit;
};

/* The reset op (virtio_ops.reset): cancel queued requests, wait for
 * running ones and drop them all unpublished. */
void blk_reset(struct virtio_dev *dev);

/* The snapshot op (virtio_ops.snapshot), in blk_snapshot.c. */
int blk_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next);

#endif
