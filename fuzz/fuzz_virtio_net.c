/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: virtio-net's transmit and receive paths with rings,
 * descriptors, buffers, features and backend frames all from the input,
 * over a SOCK_SEQPACKET socket pair standing in for the tap.
 *
 * Input: 8 bytes of settings (features, queue sizes, the rate limits of
 * rx and tx (fuzz_ratelimit.h) in the low and high nibble of byte 6,
 * operation count), then 3 bytes per operation, then the image of guest
 * RAM (64 KiB; the rings sit at fixed addresses in it, frames from the
 * host are read from FRAME_SRC on, buffers are wherever the descriptors
 * point).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "fuzz_ratelimit.h"
#include "virtio/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x10000
/* Where the rings sit (queue q's at q * QUEUE_STRIDE): close together so
 * that short inputs reach them (larger rings overlap, as a hostile
 * driver's may). */
#define QUEUE_STRIDE 0x1000
#define FRAME_SRC 0x2000

enum { OP_KICK_TX, OP_KICK_RX, OP_FRAME, OP_EVENTS, OP_RESET, OP_COUNT };

static struct virtio_dev dev;
static struct evloop ev;
static struct gm gm;
static struct fake_transport ft;
static uint8_t *ram;

/* The transport's part of DRIVER_OK: queues from the settings, then
 * activate. */
static void driver_ok(uint64_t features, const uint8_t *sizes)
{
	dev.features = features;
	for (unsigned int q = 0; q < 2; q++) {
		struct fake_vq fq;

		fake_vq_init(&fq, &gm, (uint16_t)(1u << (sizes[q] % 9)), q * QUEUE_STRIDE,
			     q * QUEUE_STRIDE + 0x800, q * QUEUE_STRIDE + 0xc00);
		(void)fake_vq_start(&dev, q, &fq); /* a queue it refuses stays not ready */
	}
	dev.status = FAKE_STATUS_DRIVER_OK;
	if (dev.ops->activate(&dev))
		dev.status |= VIRTIO_STATUS_NEEDS_RESET;
}

static void reset(void)
{
	dev.ops->reset(&dev);
	for (unsigned int q = 0; q < 2; q++)
		virtq_reset(&dev.vq[q]);
	dev.status = 0;
	dev.features = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 1, 2, 3 };
	static uint8_t frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX + 64];
	struct ratelimit_config rx_limit, tx_limit;
	const uint8_t *ops;
	uint64_t features;
	unsigned int nops;
	bool limited;
	int sv[2];

	if (size < 8)
		return 0;
	if (!ram) {
		ram = malloc(RAM_SIZE);
		if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
			abort();
		pthread_mutex_init(&dev.lock, NULL);
	}
	nops = data[7] % 32;
	if (size < 8 + 3 * nops)
		return 0;
	ops = data + 8;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 8 + 3 * nops,
	       size - 8 - 3 * nops < RAM_SIZE ? size - 8 - 3 * nops : RAM_SIZE);
	/* Device bits from the input, within what is offered; VERSION_1 always;
	 * EVENT_IDX and INDIRECT_DESC from two more input bits. */
	features = (data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16) |
		   VIRTIO_BIT(VIRTIO_F_VERSION_1) |
		   (data[3] & 1 ? VIRTIO_BIT(VIRTIO_F_EVENT_IDX) : 0) |
		   (data[3] & 2 ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0);

	if (evloop_init(&ev))
		abort();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	if (virtio_net_create_fd(&dev, &ev, &gm, sv[0], false, mac))
		abort();
	features &= dev.offered | ~0xffffffULL;
	fake_transport_attach(&dev, &ft);
	rx_limit = fuzz_ratelimit(data[6] & 15);
	tx_limit = fuzz_ratelimit(data[6] >> 4);
	limited = (data[6] & 15) % FUZZ_RATELIMITS || (data[6] >> 4) % FUZZ_RATELIMITS;
	virtio_net_set_ratelimit(&dev, &rx_limit, &tx_limit);
	driver_ok(features, data + 4);

	for (unsigned int i = 0; i < nops; i++) {
		const uint8_t *op = ops + 3 * i;
		size_t len;

		virtio_lock(&dev);
		switch (op[0] % OP_COUNT) {
		case OP_KICK_TX:
		case OP_KICK_RX:
			if (virtio_active(&dev))
				dev.ops->notify(&dev, op[0] % OP_COUNT == OP_KICK_TX
							  ? VIRTIO_NET_TXQ
							  : VIRTIO_NET_RXQ);
			break;
		case OP_FRAME:
			/* A frame from the host: header and bytes from guest RAM's
			 * image from FRAME_SRC on, any length up to just past the
			 * largest. */
			len = ((size_t)op[1] << 8 | op[2]) * 5 % sizeof(frame);
			for (size_t j = 0; j < len; j++)
				frame[j] = ram[(FRAME_SRC + j) % RAM_SIZE];
			if (send(sv[1], frame, len, MSG_DONTWAIT) < 0)
				break;
			break;
		case OP_EVENTS:
			/* Limited, an odd op[1] waits up to 2 ms: the
			 * limiters' timers fire. */
			virtio_unlock(&dev);
			fake_evloop_pass(&ev, limited && (op[1] & 1) ? 2 : 0);
			virtio_lock(&dev);
			break;
		case OP_RESET:
			reset();
			driver_ok(features, op + 1);
			break;
		}
		virtio_unlock(&dev);
	}

	while (recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
	dev.ops->destroy(&dev);
	close(sv[1]);
	evloop_destroy(&ev);
	memset(&dev.vq, 0, sizeof(dev.vq));
	dev.status = 0;
	return 0;
}
