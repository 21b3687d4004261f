/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virtio-rng's request path behind the virtio-mmio
 * transport (no KVM, kicks inline), set up by a well-behaved handshake so
 * every run reaches the queue; the rings and buffers come from the input.
 * (fuzz_virtio_mmio fuzzes the registers themselves.) Input layout:
 *
 *   byte 0        negotiated features: bit 0 EVENT_IDX, bit 1
 *                 INDIRECT_DESC; bits 2-7: queue size - 1 (1..64)
 *   byte 1        n: length of the operation list
 *   bytes 2..2+n  operations: 0-251 kick the queue, 252 run the event loop
 *                 for up to 2 ms (the rate limiter's timer), 253 set the
 *                 rate limit to preset (next byte) % 8 (fuzz_ratelimit.h),
 *                 254 kick a queue that does not exist, 255 reset the
 *                 device and set it up again
 *   the rest      guest RAM from address 0 (descriptors at 0, avail ring
 *                 at 0x400, used ring at 0x600)
 *
 * Seeds in fuzz/corpus/virtio_rng/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_virtq.h"
#include "fuzz_ram.h"
#include "fuzz_ratelimit.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#define RAM_SIZE 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_driver_init(struct virtio_mmio *m, uint8_t hdr)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	struct fake_vq fq;

	if (hdr & 1)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (hdr & 2)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	fake_mmio_negotiate(m, features);
	fake_vq_init(&fq, m->dev.gm, (uint16_t)((hdr >> 2) + 1), 0, 0x400, 0x600);
	fake_mmio_queue(m, 0, &fq);
	fake_mmio_driver_ok(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_mmio *m;
	struct evloop ev;
	struct gm gm = { 0 };
	size_t nops;

	if (size < 2)
		return 0;
	nops = data[1] < size - 2 ? data[1] : size - 2;
	if (fuzz_ram_load(&gm, RAM_SIZE, data + 2 + nops, size - 2 - nops) || evloop_init(&ev))
		__builtin_trap();
	m = virtio_mmio_new();
	if (!m || virtio_rng_create(&m->dev, &ev, &gm, &(struct rng_config){ 0 }) ||
	    virtio_mmio_attach(m, &ev, -1, 0xd0000000, 5))
		__builtin_trap();
	fuzz_driver_init(m, data[0]);
	for (size_t i = 0; i < nops; i++) {
		uint8_t op = data[2 + i];

		if (op == 255) {
			fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS, 0);
			fuzz_driver_init(m, data[0]);
		} else if (op == 253 && i + 1 < nops) {
			struct ratelimit_config limit = fuzz_ratelimit(data[2 + ++i]);

			virtio_rng_set_ratelimit(&m->dev, &limit);
		} else if (op == 252) {
			fake_evloop_pass(&ev, 2);
		} else {
			fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, op == 254 ? 1 : 0);
		}
	}
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	return 0;
}
