/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk's request path against arbitrary rings and requests, with the
 * real worker threads and a 64 KiB image file. Input: byte 0 bits 0-6
 * pick the queue size (2^(b % 9)), bit 7 the disk with cache type Unsafe
 * (no FLUSH) and I/O engine Sync (workers only); byte 1: bit 0 INDIRECT,
 * bit 1 EVENT_IDX, bit 2 the read-only disk (over bit 7 of byte 0), bit 3 the driver refuses DISCARD and WRITE_ZEROES,
 * bit 4 reset while requests are in flight instead of waiting for them,
 * bits 5-7 the rate limit (fuzz_ratelimit.h; when limited the event loop
 * also runs twice for up to 2 ms, for the limiter's timer). The rest is
 * copied over guest RAM from address 0, where the rings sit (descriptors
 * at 0, avail at 0x400, used at 0x800) among the headers and buffers they
 * point to. Each input ends with the device reset, as a driver would, so
 * the next one starts clean (and with no limit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "fuzz_ratelimit.h"
#include "virtio/blk.h"

#define RAM (64u << 10)
#define DISK (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct disk {
	struct virtio_dev dev;
	bool ok;
};

static struct gm gm;
static struct evloop ev;
static struct disk disks[3]; /* read-write, read-only, Unsafe and Sync */

static bool disk_open(struct disk *d, bool read_only, bool unsafe_sync)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct disk_config cfg = { .read_only = read_only,
				   .cache = unsafe_sync ? DISK_CACHE_UNSAFE : DISK_CACHE_WRITEBACK,
				   .io_engine = unsafe_sync ? DISK_IO_SYNC : DISK_IO_ASYNC };
	int fd;

	snprintf(cfg.path, sizeof(cfg.path), "%s/petrel-fuzz-blk-XXXXXX", dir);
	fd = mkstemp(cfg.path);
	if (fd < 0)
		return false;
	if (ftruncate(fd, DISK) == 0) {
		pthread_mutex_init(&d->dev.lock, NULL);
		d->ok = virtio_blk_create(&d->dev, &ev, &gm, &cfg) == 0;
		if (d->ok && d->dev.ops->start(&d->dev, NULL)) {
			d->dev.ops->destroy(&d->dev);
			d->ok = false;
		}
	}
	/* The device holds its own descriptor: nothing is left behind. */
	unlink(cfg.path);
	close(fd);
	return d->ok;
}

static bool setup(void)
{
	static bool done, ok;

	if (!done) {
		done = true;
		ok = fake_gm_init(&gm, 0, RAM) && evloop_init(&ev) == 0 &&
		     disk_open(&disks[0], false, false) && disk_open(&disks[1], true, false) &&
		     disk_open(&disks[2], false, true);
	}
	return ok;
}

/* Run completion callbacks until nothing is in flight. A hang is a minute
 * of this, not a number of passes: completions may come one per pass, and
 * a full queue of them took up to 134 passes (in 0.1 s) on a loaded host. */
static void pump(struct virtio_dev *dev)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 60;
	while (virtio_blk_inflight(dev) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			__builtin_trap(); /* a hang */
		fake_evloop_pass(&ev, 1000);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ratelimit_config none;
	struct ratelimit_config limit;
	struct virtio_dev *dev;
	struct fake_vq fq;
	uint8_t *ram;

	if (size < 2 || !setup())
		return 0;
	dev = &disks[data[1] >> 2 & 1 ? 1 : data[0] >> 7 ? 2 : 0].dev;
	ram = gm_ptr(&gm, 0, RAM);
	memset(ram, 0, RAM);
	memcpy(ram, data + 2, size - 2 < RAM ? size - 2 : RAM);
	limit = fuzz_ratelimit(data[1] >> 5);
	virtio_blk_set_ratelimit(dev, &limit); /* before DRIVER_OK: serves nothing */

	virtio_lock(dev);
	dev->features = dev->offered | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			(data[1] & 1 ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) |
			(data[1] & 2 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0);
	if (data[1] & 8)
		dev->features &=
		    ~(VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	fake_vq_init(&fq, &gm, (uint16_t)(1u << ((data[0] & 0x7f) % 9)), 0, 0x400, 0x800);
	if (fake_vq_start(dev, 0, &fq)) {
		dev->status = VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
		dev->ops->notify(dev, 0);
	}
	virtio_unlock(dev);
	if (!(data[1] & 16))
		pump(dev);
	for (int i = 0; i < 2 && !(data[1] & 16) && data[1] >> 5; i++) {
		fake_evloop_pass(&ev, 2); /* a held request's timer, if due */
		pump(dev);
	}

	virtio_lock(dev);
	dev->ops->reset(dev);
	virtq_reset(&dev->vq[0]);
	dev->status = 0;
	dev->features = 0;
	virtio_unlock(dev);
	if (virtio_blk_inflight(dev))
		__builtin_trap();	      /* reset must leave nothing in flight */
	virtio_blk_set_ratelimit(dev, &none); /* the next input's limit starts full */
	return 0;
}
