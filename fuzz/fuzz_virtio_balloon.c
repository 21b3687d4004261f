/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virtio-balloon behind the virtio-mmio transport (no
 * KVM, kicks inline), with guest memory, rings and buffers all from the
 * input. Input layout:
 *
 *   byte 0        negotiated features: bit 0 STATS_VQ, bit 1 PAGE_REPORTING,
 *                 bit 2 EVENT_IDX, bit 3 INDIRECT_DESC; bits 4-6: queues
 *                 the driver sets up (0-7, more than exist are refused)
 *   byte 1        n: length of the operation list
 *   bytes 2..2+n  operations, one byte each (see fuzz_op)
 *   the rest      guest RAM from address 0 (rings at 0x400 * q)
 *
 * Built and run by `tests/run fuzz`; seeds in fuzz/corpus/virtio_balloon/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fake_virtq.h"
#include "fuzz_ram.h"
#include "virtio/balloon.h"
#include "virtio/mmio.h"

#define RAM_SIZE 0x20000 /* 128 KiB: 32 balloon pages */
#define QSIZE 16

/* Every feature the balloon can offer, statistics every second. */
static const struct balloon_config all_features = {
	.present = true,
	.deflate_on_oom = true,
	.stats_polling_interval_s = 1,
	.free_page_reporting = true,
};

static void fuzz_driver_init(struct virtio_mmio *m, uint8_t hdr)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	unsigned int nq = (hdr >> 4) & 7;

	if (hdr & 1)
		features |= VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ);
	if (hdr & 2)
		features |= VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING);
	if (hdr & 4)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (hdr & 8)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	fake_mmio_negotiate(m, features);
	for (unsigned int q = 0; q < nq; q++) {
		struct fake_vq fq;

		fake_vq_init(&fq, m->dev.gm, QSIZE, 0x400 * q, 0x400 * q + 0x100,
			     0x400 * q + 0x200);
		fake_mmio_queue(m, q, &fq);
	}
	fake_mmio_driver_ok(m);
}

/* op & 7: 0-4 kick queue op >> 3 (0..31: most do not exist), 5 ask for
 * statistics, 6 set the target to (op >> 3) * 4 KiB pages, 7 write
 * `actual`, or with op >> 3 == 31 reset the device and set it up again. */
static void fuzz_op(struct virtio_mmio *m, uint8_t hdr, uint8_t op)
{
	struct balloon_stats st;

	switch (op & 7) {
	case 5:
		if (virtio_balloon_stats(&m->dev, &st))
			__builtin_trap();
		break;
	case 6:
		if (virtio_balloon_set_target(&m->dev, (uint64_t)(op >> 3) << 12))
			__builtin_trap(); /* 31 pages always fit 128 KiB */
		break;
	case 7:
		if (op >> 3 == 31) {
			fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS, 0);
			fuzz_driver_init(m, hdr);
		} else {
			fake_mmio_write(m, VIRTIO_MMIO_REG_CONFIG + 4, op >> 3);
		}
		break;
	default:
		fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, op >> 3);
	}
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
	if (!m || virtio_balloon_create(&m->dev, &ev, &gm, &all_features) ||
	    virtio_mmio_attach(m, &ev, -1, 0xd0000000, 5))
		__builtin_trap();
	fuzz_driver_init(m, data[0]);
	for (size_t i = 0; i < nops; i++)
		fuzz_op(m, data[0], data[2 + i]);
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	return 0;
}
