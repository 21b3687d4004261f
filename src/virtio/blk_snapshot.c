/* SPDX-License-Identifier: MIT */
/*
 * A virtio-blk device across a snapshot: it has no state of its own to
 * carry (nothing is in flight: pause completed it; a request the rate
 * limit held back is still on the ring, and the bucket starts full), but
 * a restored guest must find the disk it knew. Layout version 1: le64
 * capacity in 512-byte sectors; a load is refused unless the reopened
 * backing has that capacity and the geometry the guest read in config
 * space (block size, discard and write-zeroes limits).
 */
#include <errno.h>
#include <string.h>

#include "snapshot/snap.h"
#include "virtio/blk_dev.h"

int blk_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next)
{
	struct blk *b = dev->priv;
	uint64_t capacity = b->capacity;

	if (snap_saving(s) && b->inflight)
		snap_fail(s, -EBUSY, "disk '%s': %u requests in flight", b->path, b->inflight);
	snap_u64(s, &capacity);
	if (snap_check(s, capacity == b->capacity,
		       "disk '%s' is %llu sectors, the snapshot's was %llu", b->path,
		       (unsigned long long)b->capacity, (unsigned long long)capacity))
		snap_check(
		    s, !memcmp(next->config, b->config, sizeof(b->config)),
		    "disk '%s': its block size or discard and write-zeroes limits are not the "
		    "snapshot's",
		    b->path);
	if (snap_finish(s) || snap_saving(s))
		return snap_error(s);
	blk_reset(dev);
	return 0;
}
