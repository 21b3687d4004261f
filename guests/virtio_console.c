/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2, 5.3), port 0 only (MULTIPORT is not
 * accepted), from CPL3. On the transmitq, in this order:
 *   "virtio_console: hello over the transmitq"
 *   "vcon line NNNNN abcdefghijklmnopqrstuvwxyz" for NNNNN = 0 .. lines-1
 *       ("lines=", default 2000), many lines per buffer, up to 8 buffers
 *       in flight
 *   "virtio_console: emergency write" through the config space's emerg_wr
 *       register, when EMERG_WRITE is offered
 * Then it reads the receiveq until a 0x04 byte, "max=N" bytes, or "idle="
 * milliseconds (default 5000, counted with the TSC at "mhz=", default
 * 2000) without input, and reports, on the transmitq and on COM1:
 *   "virtio_console: got count=N fnv1a64=HEX end=eot|max|idle first='LINE'"
 * (the 0x04 excluded; LINE is the input's first line, at most 60 bytes).
 * "running at cpl=N" and the last line, "virtio_console: done, N failures",
 * go out on both the transmitq and COM1. COM1 is written only while no
 * transmit buffer is in flight, so the two outputs do not interleave when
 * both go to one stream.
 */
#include "rt.h"
#include "virtio.h"

#define CON_F_SIZE 0
#define CON_F_MULTIPORT 1
#define CON_F_EMERG_WRITE 2
#define CON_CFG_EMERG_WR 8
#define RXQ 0
#define TXQ 1
#define RX_BUFS 16
#define RX_LEN 256
#define TX_BUFS 8
#define TX_LEN 4096

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t *rx_mem, *tx_mem;
static int rx_of_head[VIRTQ_MAX_SIZE], tx_of_head[VIRTQ_MAX_SIZE];
static bool tx_busy[TX_BUFS];
static unsigned int tx_inflight;

/* ------------------------------------------------------------ transmit */

static bool tx_reap_one(void)
{
	uint32_t w;
	int h = virtq_wait(&txq, &w);

	if (h < 0)
		return false;
	tx_busy[tx_of_head[h]] = false;
	tx_inflight--;
	return true;
}

/* Queues `len` bytes (<= TX_LEN) in a free transmit buffer, waiting for
 * one if all are in flight. */
static bool tx_send(const char *s, uint32_t len)
{
	unsigned int i;
	int h;

	while (virtq_has_used(&txq) || tx_inflight == TX_BUFS)
		if (!tx_reap_one())
			return false;
	for (i = 0; tx_busy[i]; i++)
		;
	memcpy(tx_mem + i * TX_LEN, s, len);
	struct virtq_buf b = { tx_mem + i * TX_LEN, len };
	h = virtq_add(&txq, &b, 1, 0, false);
	if (h < 0)
		return false;
	tx_of_head[h] = (int)i;
	tx_busy[i] = true;
	tx_inflight++;
	virtq_kick(&txq);
	return true;
}

static bool tx_drain(void)
{
	while (tx_inflight)
		if (!tx_reap_one())
			return false;
	return true;
}

static void tx_lines(unsigned int lines)
{
	static char chunk[TX_LEN];
	uint32_t n = 0;
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < lines; i++) {
		if (n + 64 > TX_LEN) {
			if (!tx_send(chunk, n))
				break;
			n = 0;
		}
		n = fmt_str(chunk, n, "vcon line ");
		n = fmt_num(chunk, n, i, 10, 5);
		n = fmt_str(chunk, n, " abcdefghijklmnopqrstuvwxyz\n");
	}
	if (n && !tx_send(chunk, n))
		test_fail("transmit");
	if (!tx_drain())
		test_fail("transmit drain");
	printf("virtio_console: sent %u lines in %lu cycles, %lu kicks\n", lines,
	       (unsigned long)(rdtsc() - t0), (unsigned long)txq.kicks);
}

/* ------------------------------------------------------------ receive */

static bool rx_post(unsigned int i)
{
	struct virtq_buf b = { rx_mem + i * RX_LEN, RX_LEN };
	int h = virtq_add(&rxq, &b, 0, 1, false);

	if (h < 0)
		return false;
	rx_of_head[h] = (int)i;
	return true;
}

static void rx_all(long max, uint64_t idle_cycles)
{
	uint64_t h = FNV_INIT, count = 0, last = rdtsc();
	char first[61], line[160];
	unsigned int nfirst = 0;
	bool first_done = false;
	const char *end = "idle";
	uint32_t n;

	for (;;) {
		uint32_t w;
		int head = virtq_get(&rxq, &w);
		const uint8_t *p;
		bool stop = false;

		if (head == -1) {
			if (rdtsc() - last > idle_cycles)
				break;
			__asm__ volatile("pause");
			continue;
		}
		if (head < 0 || w > RX_LEN) {
			test_fail("receive");
			break;
		}
		last = rdtsc();
		p = rx_mem + rx_of_head[head] * RX_LEN;
		for (uint32_t k = 0; k < w && !stop; k++) {
			if (p[k] == 0x04) {
				end = "eot";
				stop = true;
				break;
			}
			if (!first_done) {
				if (p[k] == '\n' || nfirst == 60)
					first_done = true;
				else
					first[nfirst++] =
					    p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
			}
			h = fnv1a(h, &p[k], 1);
			count++;
			if (max >= 0 && count >= (uint64_t)max) {
				end = "max";
				stop = true;
			}
		}
		if (stop)
			break;
		if (!rx_post((unsigned int)rx_of_head[head]))
			test_fail("receive re-post");
		virtq_kick(&rxq);
	}
	first[nfirst] = 0;
	n = fmt_str(line, 0, "virtio_console: got count=");
	n = fmt_num(line, n, count, 10, 0);
	n = fmt_str(line, n, " fnv1a64=");
	n = fmt_num(line, n, h, 16, 16);
	n = fmt_str(line, n, " end=");
	n = fmt_str(line, n, end);
	n = fmt_str(line, n, " first='");
	n = fmt_str(line, n, first);
	n = fmt_str(line, n, "'\n");
	if (!tx_send(line, n) || !tx_drain())
		test_fail("transmit of the report");
	line[n] = 0;
	printf("%s", line);
}

/* ------------------------------------------------------------ main */

/* The verdict goes out on the transmitq too: the console guest's output
 * must not depend on COM1 reaching the same stream. */
static void say_result(void)
{
	char line[48];
	uint32_t n = fmt_str(line, 0, "virtio_console: done, ");

	n = fmt_num(line, n, test_failures, 10, 0);
	n = fmt_str(line, n, " failures\n");
	tx_send(line, n);
	tx_drain();
	line[n] = 0;
	printf("%s", line);
}

static void user_main(void)
{
	static const char hello[] = "virtio_console: hello over the transmitq\n";
	static const char emerg[] = "virtio_console: emergency write\n";
	uint64_t want = VIRTIO_BIT(CON_F_SIZE) | VIRTIO_BIT(CON_F_EMERG_WRITE);
	long max = cmdline_long("max", 0, -1), idle_ms = cmdline_long("idle", 0, 5000),
	     mhz = cmdline_long("mhz", 0, 2000);

	test_name = "virtio_console";
	if (cmdline_long("event_idx", 0, 1))
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	printf("virtio_console: running at cpl=%u\n", current_cpl());
	virtio_list();
	rx_mem = virtio_alloc(RX_BUFS * RX_LEN, 4096);
	tx_mem = virtio_alloc(TX_BUFS * TX_LEN, 4096);
	if (!rx_mem || !tx_mem || virtio_find(VIRTIO_ID_CONSOLE, 0, &dev) ||
	    virtio_negotiate(&dev, want) || virtq_setup(&dev, &rxq, RXQ, 64) ||
	    virtq_setup(&dev, &txq, TXQ, 64) || virtio_driver_ok(&dev)) {
		printf("virtio_console: no usable console device\n");
		guest_exit(2);
	}
	printf("virtio_console: offered %#lx negotiated %#lx\n", (unsigned long)dev.offered,
	       (unsigned long)dev.features);
	virtq_interrupts(&rxq, false);
	virtq_interrupts(&txq, false);
	for (unsigned int i = 0; i < RX_BUFS; i++)
		if (!rx_post(i))
			test_fail("receive post");
	virtq_kick(&rxq);

	{
		char line[48];
		uint32_t n = fmt_str(line, 0, "virtio_console: running at cpl=");

		n = fmt_num(line, n, current_cpl(), 10, 0);
		line[n++] = '\n';
		if (!tx_send(line, n) || !tx_drain())
			test_fail("transmit");
	}
	if (!tx_send(hello, sizeof(hello) - 1) || !tx_drain())
		test_fail("transmit hello");
	tx_lines((unsigned int)cmdline_long("lines", 0, 2000));
	if (dev.features & VIRTIO_BIT(CON_F_EMERG_WRITE)) {
		for (const char *p = emerg; *p; p++)
			virtio_cfg_write32(&dev, CON_CFG_EMERG_WR, (uint8_t)*p);
		printf("virtio_console: emergency write sent\n");
	} else {
		printf("virtio_console: EMERG_WRITE not offered\n");
	}
	rx_all(max, (uint64_t)idle_ms * (uint64_t)mhz * 1000);
	virtio_check_status(&dev);
	say_result();
	guest_exit(test_failures ? 1 : 0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
