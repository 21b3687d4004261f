/* SPDX-License-Identifier: MIT */
/*
 * Two VMs on a socket link (--net stream=... or dgram=...), each running
 * this guest, or one VM and tests/guest/netpeer.py: frames of ethertype
 * 0x88b5 (local experimental) to the broadcast address, payload byte 0
 * 'H' (hello) or 'D' (data), bytes 1-4 a big-endian sequence number, then
 * a pattern of the sender's MAC and the sequence number.
 *
 * Sends hellos every few milliseconds until it hears the peer (a hello or
 * data from another MAC; the link may not be up yet: those hellos are
 * lost), one more hello, then "count=" (default 100) data frames of 60 to
 * 1514 bytes, while taking the peer's: all of them must arrive, in order,
 * with their pattern. Then "flood=" (default 0) more data frames that
 * nobody waits for (a peer that stopped reading). Frames of other kinds
 * are ignored. No offloads are negotiated. Output: "net_link: peer MAC",
 * "net_link: sent N frames, B bytes; received N frames, B bytes",
 * "net_link: done, N failures"; exit 0 iff N = 0.
 */
#include "rt.h"
#include "virtio.h"

#define RX_BUFS 32
#define RX_LEN 2048
#define TX_LEN 2048
#define ETHERTYPE 0x88b5
#define HELLO_GAP (virtio_timeout_cycles / 2000) /* about 5 ms */

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t *rx_buf[VIRTQ_MAX_SIZE], *tx_buf;
static uint8_t mac[6], peer_mac[6];
static bool peer_seen;
static unsigned long rx_next, rx_bytes, tx_frames, tx_bytes;

static uint32_t frame_len(uint32_t seq)
{
	return 60 + (seq * 97) % 1455;
}

static uint8_t pattern(const uint8_t *src, uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 13 + i * 7 + src[5]);
}

/* Build and send one frame; wait for the device to take it (written to
 * the link or dropped). */
static void send_frame(char kind, uint32_t seq)
{
	uint8_t *f = tx_buf + VIRTIO_NET_HDR_LEN;
	uint32_t len = kind == 'D' ? frame_len(seq) : 60, w;
	struct virtq_buf b = { tx_buf, VIRTIO_NET_HDR_LEN + len };

	memset(tx_buf, 0, VIRTIO_NET_HDR_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	f[14] = (uint8_t)kind;
	f[15] = (uint8_t)(seq >> 24);
	f[16] = (uint8_t)(seq >> 16);
	f[17] = (uint8_t)(seq >> 8);
	f[18] = (uint8_t)seq;
	for (uint32_t i = 19; i < len; i++)
		f[i] = pattern(mac, seq, i);
	if (virtq_add(&txq, &b, 1, 0, false) < 0) {
		test_fail("transmit queue full");
		return;
	}
	virtq_kick(&txq);
	if (virtq_wait(&txq, &w) < 0)
		test_fail("transmitted frame never completed");
	if (kind == 'D') {
		tx_frames++;
		tx_bytes += len;
	}
}

static void handle_frame(const uint8_t *f, uint32_t len)
{
	uint32_t seq;

	if (len < 19 || f[12] != ETHERTYPE >> 8 || f[13] != (ETHERTYPE & 0xff) ||
	    !memcmp(f + 6, mac, 6))
		return;
	if (!peer_seen) {
		memcpy(peer_mac, f + 6, 6);
		peer_seen = true;
	}
	if (f[14] != 'D')
		return;
	seq = (uint32_t)f[15] << 24 | (uint32_t)f[16] << 16 | (uint32_t)f[17] << 8 | f[18];
	if (seq != rx_next) {
		printf("net_link: got data frame %u, want %lu\n", seq, rx_next);
		test_fail("data frames lost or out of order");
		rx_next = seq;
	}
	if (len != frame_len(seq))
		test_fail("data frame of the wrong length");
	for (uint32_t i = 19; i < len; i++)
		if (f[i] != pattern(f + 6, seq, i)) {
			test_fail("data frame corrupted");
			break;
		}
	rx_next++;
	rx_bytes += len;
}

/* Take the frames that arrived; give their buffers back. */
static void receive(void)
{
	struct virtq_buf b;
	uint32_t len;
	int h;

	while ((h = virtq_get(&rxq, &len)) != -1) {
		if (h < 0 || len < VIRTIO_NET_HDR_LEN + 14 || len > RX_LEN) {
			test_fail("bad receive completion");
			return;
		}
		handle_frame(rx_buf[h] + VIRTIO_NET_HDR_LEN, len - VIRTIO_NET_HDR_LEN);
		b = (struct virtq_buf){ rx_buf[h], RX_LEN };
		h = virtq_add(&rxq, &b, 0, 1, false);
		if (h < 0) {
			test_fail("receive queue full");
			return;
		}
		rx_buf[h] = b.addr;
		virtq_kick(&rxq);
	}
}

static void setup(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);

	printf("net_link: running at cpl=%u\n", current_cpl());
	tx_buf = virtio_alloc(TX_LEN, 64);
	if (!tx_buf || virtio_find(VIRTIO_ID_NET, 0, &dev) || virtio_negotiate(&dev, want) ||
	    virtq_setup(&dev, &rxq, 0, 64) || virtq_setup(&dev, &txq, 1, 64)) {
		printf("net_link: no usable network device\n");
		guest_exit(2);
	}
	for (unsigned int i = 0; i < RX_BUFS; i++) {
		struct virtq_buf b = { virtio_alloc(RX_LEN, 64), RX_LEN };
		int h = b.addr ? virtq_add(&rxq, &b, 0, 1, false) : -1;

		if (h < 0) {
			printf("net_link: no receive buffers\n");
			guest_exit(2);
		}
		rx_buf[h] = b.addr;
	}
	if (virtio_driver_ok(&dev)) {
		printf("net_link: DRIVER_OK refused\n");
		guest_exit(2);
	}
	virtq_kick(&rxq);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = virtio_cfg_read8(&dev, i);
	printf("net_link: offered %#lx mac %02x:%02x:%02x:%02x:%02x:%02x\n",
	       (unsigned long)dev.offered, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static void user_main(void)
{
	unsigned long count = (unsigned long)cmdline_long("count", 0, 100);
	unsigned long flood = (unsigned long)cmdline_long("flood", 0, 0);
	uint64_t t0 = rdtsc(), last = 0;

	test_name = "net_link";
	setup();
	while (!peer_seen && rdtsc() - t0 < 6 * virtio_timeout_cycles) {
		if (rdtsc() - last > HELLO_GAP) {
			send_frame('H', 0);
			last = rdtsc();
		}
		receive();
	}
	if (!peer_seen) {
		test_fail("never heard the peer");
		test_done();
	}
	printf("net_link: peer %02x:%02x:%02x:%02x:%02x:%02x\n", peer_mac[0], peer_mac[1],
	       peer_mac[2], peer_mac[3], peer_mac[4], peer_mac[5]);
	send_frame('H', 0);
	for (uint32_t seq = 0; seq < count; seq++) {
		send_frame('D', seq);
		receive();
	}
	t0 = rdtsc();
	while (rx_next < count && rdtsc() - t0 < 3 * virtio_timeout_cycles)
		receive();
	printf("net_link: sent %lu frames, %lu bytes; received %lu frames, %lu bytes\n", tx_frames,
	       tx_bytes, rx_next, rx_bytes);
	if (rx_next != count)
		test_fail("not every data frame arrived");
	for (uint32_t seq = 0; seq < flood; seq++)
		send_frame('D', (uint32_t)count + seq);
	if (flood)
		printf("net_link: flooded %lu frames\n", flood);
	virtio_check_status(&dev);
	test_done();
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
