/* SPDX-License-Identifier: MIT */
/*
 * virtio-net frame throughput for `bench/run net`, from CPL3 with
 * completions polled, against a host tap device (bench/netpeer.c on the
 * host side):
 *   tx  "count=" (default 100000) frames of "len=" bytes (default 1514,
 *       no FCS) to 02:00:00:00:00:01, ethertype 0x88b5 (local
 *       experimental), up to TX_DEPTH in flight; the clock stops when the
 *       device has used the last one (written it to the tap)
 *   rx  prints "net: receiving" and takes frames of that ethertype whose
 *       first payload byte is 'D' until one with 'E' arrives; the clock
 *       runs from the first 'D' frame to the last one (the frames after
 *       the first are counted); other frames (the host's own traffic) are
 *       dropped uncounted
 * Output: "net: tx BYTES CYCLES FRAMES", "net: rx BYTES CYCLES FRAMES"
 * (frame bytes, without the virtio-net header) and "net: done".
 */
#include "rt.h"
#include "virtio.h"

#define NET_CFG_MAC 0
#define FRAME_MAX 1514
#define ETHERTYPE 0x88b5
#define RXQ 0
#define TXQ 1
#define RX_BUFS 256
#define RX_LEN 2048 /* header and a full frame: no MRG_RXBUF, no GSO */
#define TX_DEPTH 128
#define TX_LEN (VIRTIO_NET_HDR_LEN + FRAME_MAX)

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t *rx_mem, *tx_mem, mac[6];
static int rx_of_head[VIRTQ_MAX_SIZE];

static void report(const char *name, uint64_t bytes, uint64_t cycles, uint64_t frames)
{
	printf("net: %s %lu %lu %lu\n", name, (unsigned long)bytes, (unsigned long)cycles,
	       (unsigned long)frames);
}

static __attribute__((noreturn)) void die(const char *what)
{
	printf("net: FAIL %s\n", what);
	guest_exit(1);
}

/* Every TX_DEPTH slot holds the same frame: header zero (no offloads),
 * then the Ethernet header and 'D' payload. */
static void bench_tx(unsigned long count, uint32_t len)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 1 };
	uint64_t t0, deadline = rdtsc() + virtio_timeout_cycles;
	unsigned long sent = 0, done = 0;
	uint32_t w;
	int h;

	for (unsigned int i = 0; i < TX_DEPTH; i++) {
		uint8_t *f = tx_mem + i * TX_LEN + VIRTIO_NET_HDR_LEN;

		memcpy(f, dst, 6);
		memcpy(f + 6, mac, 6);
		f[12] = ETHERTYPE >> 8, f[13] = ETHERTYPE & 0xff, f[14] = 'D';
	}
	t0 = rdtsc();
	while (done < count) {
		while (sent < count && sent - done < TX_DEPTH) {
			struct virtq_buf b = { tx_mem + (sent % TX_DEPTH) * TX_LEN,
					       VIRTIO_NET_HDR_LEN + len };

			if (virtq_add(&txq, &b, 1, 0, false) < 0)
				die("transmit add");
			sent++;
		}
		virtq_kick(&txq);
		while ((h = virtq_get(&txq, &w)) >= 0) {
			done++;
			deadline = rdtsc() + virtio_timeout_cycles;
		}
		if (h == -2)
			die("transmit queue");
		if (rdtsc() > deadline)
			die("transmit stalled");
	}
	report("tx", (uint64_t)count * len, rdtsc() - t0, count);
}

static void rx_post(unsigned int i)
{
	struct virtq_buf b = { rx_mem + i * RX_LEN, RX_LEN };
	int h = virtq_add(&rxq, &b, 0, 1, false);

	if (h < 0)
		die("receive post");
	rx_of_head[h] = (int)i;
}

static void bench_rx(void)
{
	uint64_t first = 0, last = 0, bytes = 0, frames = 0;
	uint64_t deadline = rdtsc() + 10 * virtio_timeout_cycles;
	bool end = false;
	uint32_t w;
	int h;

	printf("net: receiving\n");
	while (!end) {
		while ((h = virtq_get(&rxq, &w)) >= 0) {
			const uint8_t *f =
			    rx_mem + (unsigned int)rx_of_head[h] * RX_LEN + VIRTIO_NET_HDR_LEN;
			uint32_t len = w > VIRTIO_NET_HDR_LEN ? w - VIRTIO_NET_HDR_LEN : 0;

			if (len > 14 && f[12] == ETHERTYPE >> 8 && f[13] == (ETHERTYPE & 0xff)) {
				if (f[14] == 'E') {
					end = true;
				} else if (f[14] == 'D' && !first) {
					first = rdtsc(); /* opens the clock: not counted */
				} else if (f[14] == 'D') {
					last = rdtsc();
					bytes += len;
					frames++;
				}
			}
			rx_post((unsigned int)rx_of_head[h]);
		}
		if (h == -2)
			die("receive queue");
		virtq_kick(&rxq);
		if (rdtsc() > deadline)
			die("no end frame");
	}
	report("rx", bytes, frames ? last - first : 0, frames);
}

static void user_main(void)
{
	unsigned long count = cmdline_long("count", 1, 100000),
		      len = cmdline_long("len", 1, FRAME_MAX);

	printf("net: running at cpl=%u\n", current_cpl());
	rx_mem = virtio_alloc(RX_BUFS * RX_LEN, 4096);
	tx_mem = virtio_alloc(TX_DEPTH * TX_LEN, 4096);
	if (len < 15 || len > FRAME_MAX || !rx_mem || !tx_mem ||
	    virtio_find(VIRTIO_ID_NET, 0, &dev) ||
	    virtio_negotiate(&dev, VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) ||
	    !(dev.features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) ||
	    virtq_setup(&dev, &rxq, RXQ, RX_BUFS) || virtq_setup(&dev, &txq, TXQ, 256) ||
	    virtio_driver_ok(&dev)) {
		printf("net: no usable network device with a MAC address (or a bad len=)\n");
		guest_exit(2);
	}
	virtq_interrupts(&rxq, false);
	virtq_interrupts(&txq, false);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = virtio_cfg_read8(&dev, NET_CFG_MAC + i);
	printf("net: mac %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3], mac[4],
	       mac[5]);
	for (unsigned int i = 0; i < rxq.size; i++)
		rx_post(i);
	virtq_kick(&rxq);
	bench_tx(count, (uint32_t)len);
	bench_rx();
	printf("net: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
