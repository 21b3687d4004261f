/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock driven by a hostile guest and a busy host. The input is a
 * list of records, each an action byte and its arguments:
 *   a % 4 == 0  tx packet: flags byte (bit 0: force the guest's source CID,
 *               bit 1: force destination CID 2, bits 2-3: descriptors - 1),
 *               a 16-bit length, then that many packet bytes (header and
 *               payload) placed in guest RAM and kicked;
 *   a % 4 == 1  rx buffers: count byte, size byte; given and kicked;
 *   a % 4 == 2  host program: mode byte, 16-bit port: connect and send
 *               "CONNECT <port>\n", write bytes on, or close, a connection;
 *   a % 4 == 3  run the event loop's ready callbacks.
 * Guest connections to host port 1 reach a real listener. The device is
 * created once and reset between inputs, as a driver would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "fake_gm.h"
#include "fake_virtq.h"
#include "le.h"
#include "virtio/vsock.h"

#define CID 3
#define QSIZE 64
#define RAM (1u << 20)
#define RING(q) (0x1000u + (q)*0x1000u)
#define RXBUF 0x10000u
#define RXBUF_SIZE 4140u
#define TXBUF 0x80000u
#define TXBUF_SIZE 0x10000u
#define HOST_FDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	bool ready;
	char dir[64], path[108];
	struct gm gm;
	struct evloop ev;
	struct virtio_dev dev;
	int port_listener;
	int host[HOST_FDS];
	struct fake_vq vq[3];
	struct fake_transport ft;
	unsigned int rx_next;
} f;

static uint8_t *g(gpa_t gpa, size_t len)
{
	return gm_ptr(&f.gm, gpa, len);
}

/* Make the chain at `head` available on queue q and kick. */
static void f_kick(unsigned int q, uint16_t head)
{
	fake_vq_publish(&f.vq[q], head);
	fake_kick(&f.dev, q);
}

/* Remove the device's socket and the temporary directory at exit. */
static void f_cleanup(void)
{
	char p[128];

	f.dev.ops->destroy(&f.dev);
	close(f.port_listener);
	snprintf(p, sizeof(p), "%s_1", f.path);
	unlink(p);
	rmdir(f.dir);
}

static bool f_init(void)
{
	struct vsock_config cfg = { .cid = CID };
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(f.dir, sizeof(f.dir), "/tmp/petrel-fuzz-vsock-XXXXXX");
	if (!mkdtemp(f.dir) || !fake_gm_init(&f.gm, 0, RAM) || evloop_init(&f.ev))
		return false;
	snprintf(f.path, sizeof(f.path), "%s/v", f.dir);
	snprintf(cfg.uds, sizeof(cfg.uds), "%s", f.path);
	if (virtio_vsock_create(&f.dev, &f.ev, &f.gm, &cfg))
		return false;
	fake_transport_attach(&f.dev, &f.ft);
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_1", f.path) >= sizeof(a.sun_path))
		return false;
	f.port_listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f.port_listener < 0 || bind(f.port_listener, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(f.port_listener, 64))
		return false;
	for (unsigned int i = 0; i < HOST_FDS; i++)
		f.host[i] = -1;
	atexit(f_cleanup);
	return true;
}

/* A driver that just finished initialising the device. */
static bool f_start(void)
{
	memset(g(0, RAM), 0, RAM);
	f.rx_next = 0;
	f.dev.status = FAKE_STATUS_DRIVER_OK;
	f.dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	for (unsigned int q = 0; q < 3; q++) {
		fake_vq_init(&f.vq[q], &f.gm, QSIZE, RING(q), RING(q) + 0x400, RING(q) + 0x800);
		if (!fake_vq_start(&f.dev, q, &f.vq[q]))
			return false;
	}
	return true;
}

static void f_stop(void)
{
	int fd;

	virtio_lock(&f.dev);
	f.dev.status = 0;
	f.dev.ops->reset(&f.dev);
	virtio_unlock(&f.dev);
	for (unsigned int i = 0; i < HOST_FDS; i++)
		if (f.host[i] >= 0) {
			close(f.host[i]);
			f.host[i] = -1;
		}
	while ((fd = accept4(f.port_listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	fake_evloop_drain(&f.ev); /* host connections accepted while inactive are closed */
}

static void f_tx(uint8_t flags, const uint8_t *pkt, size_t len)
{
	unsigned int ndesc = 1 + ((flags >> 2) & 3);
	size_t at = 0;

	if (!len)
		return;
	memcpy(g(TXBUF, len), pkt, len);
	if (len >= 8 && (flags & 1))
		le_put(g(TXBUF, 8), CID, 8);
	if (len >= 16 && (flags & 2))
		le_put(g(TXBUF + 8, 8), 2, 8);
	/* Split into up to ndesc pieces (descriptors 0..ndesc-1). */
	for (unsigned int i = 0; i < ndesc; i++) {
		size_t piece = i + 1 == ndesc ? len - at : len / ndesc;
		bool last = i + 1 == ndesc || !piece;

		if (!piece)
			piece = len - at;
		fake_vq_desc(&f.vq[1], (uint16_t)i, TXBUF + at, (uint32_t)piece,
			     last ? 0 : FAKE_DESC_F_NEXT, (uint16_t)(i + 1));
		at += piece;
		if (last)
			break;
	}
	f_kick(1, 0);
}

static void f_rx(uint8_t count, uint8_t sz)
{
	uint32_t len = 44u + (uint32_t)sz * 16u;

	for (unsigned int i = 0; i < count % 16; i++) {
		uint16_t d = (uint16_t)(f.rx_next++ % QSIZE);

		fake_vq_desc(&f.vq[0], d, RXBUF + (gpa_t)d * RXBUF_SIZE, len, FAKE_DESC_F_WRITE, 0);
		f_kick(0, d);
	}
}

static void f_host(uint8_t mode, uint16_t port)
{
	unsigned int i = mode % HOST_FDS;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[32];
	int n;

	switch ((mode >> 3) % 3) {
	case 0:
		if (f.host[i] >= 0)
			close(f.host[i]);
		f.host[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		memcpy(a.sun_path, f.path, strlen(f.path));
		if (f.host[i] < 0 || connect(f.host[i], (struct sockaddr *)&a, sizeof(a)))
			return;
		n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
		if (send(f.host[i], line, (size_t)n, MSG_NOSIGNAL) < 0)
			return;
		break;
	case 1:
		if (f.host[i] >= 0) {
			char buf[512];

			memset(buf, 'h', sizeof(buf));
			(void)!send(f.host[i], buf, port % sizeof(buf) + 1, MSG_NOSIGNAL);
		}
		break;
	default:
		if (f.host[i] >= 0)
			close(f.host[i]);
		f.host[i] = -1;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;

	if (!f.ready) {
		if (!f_init())
			abort();
		f.ready = true;
	}
	if (!f_start())
		abort();
	while (i < size) {
		uint8_t a = data[i++];

		switch (a % 4) {
		case 0: {
			size_t len;
			uint8_t flags;

			if (size - i < 3)
				goto out;
			flags = data[i];
			len = (size_t)le_get(data + i + 1, 2) % TXBUF_SIZE;
			i += 3;
			if (len > size - i)
				len = size - i;
			f_tx(flags, data + i, len);
			i += len;
			break;
		}
		case 1:
			if (size - i < 2)
				goto out;
			f_rx(data[i], data[i + 1]);
			i += 2;
			break;
		case 2:
			if (size - i < 3)
				goto out;
			f_host(data[i], (uint16_t)le_get(data + i + 1, 2));
			i += 3;
			break;
		default:
			fake_evloop_drain(&f.ev);
			break;
		}
	}
out:
	fake_evloop_drain(&f.ev);
	f_stop();
	return 0;
}
