/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virtio-console's transmit and receive paths behind the
 * virtio-mmio transport (no KVM, kicks inline), with the rings, buffers and
 * host input from the input.
 *
 * The host side is a fake: this file defines console_write,
 * console_set_input and console_input_wanted, so the linker takes them
 * instead of src/console.c's (which drive stdin and stdout and need a
 * whole VM). Guest output is read byte by byte (ASan checks each iovec);
 * host input comes from the input, handed over through the fill callback
 * the way the event loop does when stdin is readable. Input layout:
 *
 *   byte 0        negotiated features: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *   byte 1        n: length of the operation list
 *   byte 2        k: bytes of host input
 *   bytes 3..3+n  operations (op & 3): 0 kick transmit, 1 kick receive,
 *                 2 host input of up to op >> 2 bytes arrives, 3 with
 *                 op >> 2 == 63 reset the device and set it up again, else
 *                 kick queue op >> 2 (most do not exist)
 *   then k bytes  host input
 *   the rest      guest RAM from address 0 (queue q's rings at 0x400 * q)
 *
 * Seeds in fuzz/corpus/virtio_console/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "console.h"
#include "fake_virtq.h"
#include "fuzz_ram.h"
#include "virtio/mmio.h"
#include "virtio/vconsole.h"

#define RAM_SIZE 0x10000
#define QSIZE 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct console {
	const uint8_t *in; /* host input not yet taken */
	size_t in_left;
	size_t in_burst; /* what this input event has left */
	bool wanted;
	void (*pull)(void *dev, console_fill_fn fill, void *c);
	void *pull_dev;
	uint8_t sink;
};

void console_write(struct console *c, const void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		c->sink ^= ((const uint8_t *)buf)[i];
}

void console_set_input(struct console *c, void (*pull)(void *dev, console_fill_fn fill, void *c),
		       void *dev)
{
	c->pull = pull;
	c->pull_dev = dev;
}

void console_input_wanted(struct console *c, bool wanted)
{
	c->wanted = wanted;
}

/* As src/console.c's: at most `room` bytes, 0 when nothing is pending. */
static size_t fuzz_fill(void *opaque, uint8_t *buf, size_t room)
{
	struct console *c = opaque;
	size_t n = c->in_burst < room ? c->in_burst : room;

	if (n > c->in_left)
		n = c->in_left;
	memcpy(buf, c->in, n);
	c->in += n;
	c->in_left -= n;
	c->in_burst -= n;
	return n;
}

static void fuzz_driver_init(struct virtio_mmio *m, uint8_t hdr)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (hdr & 1)
		features |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (hdr & 2)
		features |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	fake_mmio_negotiate(m, features);
	for (unsigned int q = 0; q < 2; q++) {
		struct fake_vq fq;

		fake_vq_init(&fq, m->dev.gm, QSIZE, 0x400 * q, 0x400 * q + 0x100,
			     0x400 * q + 0x200);
		fake_mmio_queue(m, q, &fq);
	}
	fake_mmio_driver_ok(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct console con = { 0 };
	struct virtio_mmio *m;
	struct evloop ev;
	struct gm gm = { 0 };
	size_t nops, nin;

	if (size < 3)
		return 0;
	nops = data[1] < size - 3 ? data[1] : size - 3;
	nin = data[2] < size - 3 - nops ? data[2] : size - 3 - nops;
	con.in = data + 3 + nops;
	con.in_left = nin;
	if (fuzz_ram_load(&gm, RAM_SIZE, data + 3 + nops + nin, size - 3 - nops - nin) ||
	    evloop_init(&ev))
		__builtin_trap();
	m = virtio_mmio_new();
	if (!m || virtio_console_create(&m->dev, &gm, &con) ||
	    virtio_mmio_attach(m, &ev, -1, 0xd0000000, 5) || !con.pull)
		__builtin_trap();
	fuzz_driver_init(m, data[0]);
	for (size_t i = 0; i < nops; i++) {
		uint8_t op = data[3 + i];

		switch (op & 3) {
		case 0:
		case 1:
			fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, op & 1 ? 0 : 1);
			break;
		case 2:
			con.in_burst = op >> 2;
			con.pull(con.pull_dev, fuzz_fill, &con);
			break;
		default:
			if (op >> 2 == 63) {
				fake_mmio_write(m, VIRTIO_MMIO_REG_STATUS, 0);
				fuzz_driver_init(m, data[0]);
			} else {
				fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, op >> 2);
			}
		}
	}
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	return 0;
}
