/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport's registers from a hostile driver, with the
 * rng device behind it. Input: 16 KiB copied over guest RAM from address
 * 0 (where a driver would put its rings), then 8-byte register accesses:
 * offset (le16, within the 0x200-byte window), width code (1, 2, 4 or 8
 * bytes), write flag, value (le32).
 */
#include <stdint.h>
#include <string.h>

#include "fake_gm.h"
#include "le.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#define RAM (64u << 10)
#define RAM_IMAGE (16u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	m = virtio_mmio_new();
	if (m && !virtio_rng_create(&m->dev, &ev, &gm, &(struct rng_config){ 0 }) &&
	    !virtio_mmio_attach(m, &ev, -1, 0, 5)) {
		for (size_t at = RAM_IMAGE; at + 8 <= size; at += 8) {
			uint8_t buf[8] = { 0 };
			uint64_t off = le_get(data + at, 2) % VIRTIO_MMIO_SIZE;
			uint32_t len = widths[data[at + 2] & 3];

			if (off + len > VIRTIO_MMIO_SIZE)
				continue; /* the bus never dispatches past a range */
			le_put(buf, le_get(data + at + 4, 4), 4);
			virtio_mmio_access(m, off, buf, len, data[at + 3] & 1);
		}
	}
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	fake_gm_free(&gm);
	return 0;
}
