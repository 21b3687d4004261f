/* SPDX-License-Identifier: MIT */
/*
 * lab/05-paravirtualization: writes "bytes=" bytes (default 65536) of
 * console output ("x" lines of 64 bytes) through one path, "mode=":
 *   uart   COM1, byte by byte, as a 16550A driver does: poll the line
 *          status register, write the transmit register (two port I/Os)
 *   hc     petrel's CONSOLE_WRITE hypercall (docs/hypercalls.md), one call
 *          per "buf=" bytes (default 4096, the call's limit)
 *   ring   virtio-console's transmitq, one buffer of "buf=" bytes per
 *          descriptor, up to 8 in flight, one kick per buffer (petrel
 *          needs --console virtio)
 * from CPL3, then prints on COM1
 *   "lab_pv: mode=M bytes=N cycles=C"
 * (C: TSC cycles from the first byte to the last one accepted). bytes=0
 * measures the set-up alone, for the checker's baseline. Exits 0, or 2 when
 * the path is not usable.
 */
#include <stdbool.h>

#include "hc.h"
#include "rt.h"
#include "virtio.h"

#define TXQ 1
#define TX_BUFS 8
#define MAX_BUF 4096

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static char mode[8];
static uint64_t total, buf_len;
static char line[MAX_BUF];

static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t *tx_mem;
static unsigned int inflight, next_buf;

static void fail(const char *why)
{
	printf("lab_pv: mode=%s unusable: %s\n", mode, why);
	guest_exit(2);
}

static void ring_setup(void)
{
	tx_mem = virtio_alloc(TX_BUFS * MAX_BUF, 4096);
	if (!tx_mem || virtio_find(VIRTIO_ID_CONSOLE, 0, &dev) || virtio_negotiate(&dev, 0) ||
	    virtq_setup(&dev, &rxq, 0, 64) || virtq_setup(&dev, &txq, TXQ, 64) ||
	    virtio_driver_ok(&dev))
		fail("no virtio-console device (petrel --console virtio)");
	virtq_interrupts(&txq, false);
}

/* Queues `len` bytes of `line` as one buffer, reaping a used one first when
 * all are in flight. */
static void ring_send(uint32_t len)
{
	uint32_t w;

	while (virtq_has_used(&txq) || inflight == TX_BUFS) {
		if (virtq_wait(&txq, &w) < 0)
			fail("transmitq");
		inflight--;
	}
	memcpy(tx_mem + next_buf * MAX_BUF, line, len);
	struct virtq_buf b = { tx_mem + next_buf * MAX_BUF, len };
	if (virtq_add(&txq, &b, 1, 0, false) < 0)
		fail("transmitq add");
	next_buf = (next_buf + 1) % TX_BUFS;
	inflight++;
	virtq_kick(&txq);
}

static void ring_drain(void)
{
	uint32_t w;

	while (inflight) {
		if (virtq_wait(&txq, &w) < 0)
			fail("transmitq drain");
		inflight--;
	}
}

static void user_main(void)
{
	bool ring = strncmp(mode, "ring", 5) == 0, hc = strncmp(mode, "hc", 3) == 0;
	bool uart = strncmp(mode, "uart", 5) == 0;
	uint64_t t0, done = 0;

	if (!ring && !hc && !uart)
		fail("unknown mode");
	for (uint64_t i = 0; i < buf_len; i++)
		line[i] = i % 64 == 63 ? '\n' : 'x';
	if (ring)
		ring_setup();
	t0 = rdtsc();
	while (done < total) {
		uint32_t len = (uint32_t)(total - done < buf_len ? total - done : buf_len);

		if (uart) {
			for (uint32_t i = 0; i < len; i++)
				putc_serial(line[i]);
		} else if (hc) {
			if (hc_console_write(line, len) != len)
				fail("CONSOLE_WRITE refused");
		} else {
			ring_send(len);
		}
		done += len;
	}
	if (ring)
		ring_drain();
	printf("lab_pv: mode=%s bytes=%lu cycles=%lu\n", mode, (unsigned long)total,
	       (unsigned long)(rdtsc() - t0));
	guest_exit(0);
}

int guest_main(void)
{
	if (cmdline_get("mode", mode, sizeof(mode)) != 0)
		memcpy(mode, "uart", 5);
	total = (uint64_t)cmdline_long("bytes", 0, 65536);
	buf_len = (uint64_t)cmdline_long("buf", 1, MAX_BUF);
	if (buf_len > MAX_BUF)
		buf_len = MAX_BUF;
	enter_user(user_main, user_stack + sizeof(user_stack));
}
