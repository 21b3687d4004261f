/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport's registers from a hostile driver, with the
 * rng device behind it. Input: 16 KiB copied over guest RAM from address
 * 0 (where a driver would put its rings), then 8-byte register accesses:
 * offset (le16, within the 0x200-byte window), width code (1, 2, 4 or 8
 * bytes), write flag, value (le32).
 *
 * Halfway through the accesses the device is snapshotted and the rest go
 * to a new device loaded from the snapshot: whatever state the driver
 * left, the load must take it and the new device save the same bytes
 * (abort otherwise: a saver must never produce what its loader refuses).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_gm.h"
#include "le.h"
#include "snapshot/snap.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#define RAM (64u << 10)
#define RAM_IMAGE (16u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtio_mmio *rng_new(struct evloop *ev, struct gm *gm)
{
	struct virtio_mmio *m = virtio_mmio_new();

	if (m && (virtio_rng_create(&m->dev, ev, gm, &(struct rng_config){ 0 }) ||
		  virtio_mmio_attach(m, ev, -1, 0, 5))) {
		virtio_mmio_free(m);
		return NULL;
	}
	return m;
}

/* m paused and saved, a new device loaded from it: that one, running. */
static struct virtio_mmio *restore(struct virtio_mmio *m, struct evloop *ev, struct gm *gm)
{
	struct virtio_mmio *to = rng_new(ev, gm);
	struct snap a, b, in;

	if (!to)
		return m;
	virtio_mmio_pause(m);
	virtio_mmio_pause(to);
	snap_init_save(&a, 1u << 16);
	snap_init_save(&b, 1u << 16);
	if (virtio_mmio_snapshot(m, &a))
		abort();
	snap_init_load(&in, a.buf, a.len);
	if (virtio_mmio_snapshot(to, &in) || snap_finish(&in) || virtio_mmio_snapshot(to, &b) ||
	    a.len != b.len || memcmp(a.buf, b.buf, a.len))
		abort();
	snap_free(&a);
	snap_free(&b);
	virtio_mmio_free(m);
	virtio_mmio_resume(to);
	return to;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = { 1, 2, 4, 8 };
	struct virtio_mmio *m;
	struct evloop ev;
	struct gm gm;
	size_t image = size < RAM_IMAGE ? size : RAM_IMAGE;

	if (!fake_gm_init(&gm, 0, RAM))
		return 0;
	if (evloop_init(&ev)) {
		fake_gm_free(&gm);
		return 0;
	}
	memcpy(gm_ptr(&gm, 0, image), data, image);
	m = rng_new(&ev, &gm);
	for (size_t at = RAM_IMAGE; m && at + 8 <= size; at += 8) {
		uint8_t buf[8] = { 0 };
		uint64_t off = le_get(data + at, 2) % VIRTIO_MMIO_SIZE;
		uint32_t len = widths[data[at + 2] & 3];

		if (at == RAM_IMAGE + (size - RAM_IMAGE) / 16 * 8)
			m = restore(m, &ev, &gm);
		if (off + len > VIRTIO_MMIO_SIZE)
			continue; /* the bus never dispatches past a range */
		le_put(buf, le_get(data + at + 4, 4), 4);
		virtio_mmio_access(m, off, buf, len, data[at + 3] & 1);
	}
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	fake_gm_free(&gm);
	return 0;
}
