/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against virtio-net's receive path
 * (tests/hostile/virtio.cases). The runner gives the tap 10.0.2.1 in a
 * private network namespace, so an ARP request for it brings the host
 * kernel's 42-byte ARP reply (54 bytes with the virtio-net header) into
 * whatever receive buffers the guest posted. Each case checks petrel's
 * documented answer (a chain it cannot use: DEVICE_NEEDS_RESET; a frame
 * the buffers cannot hold: dropped, the buffers kept), that nothing was
 * written outside the buffers, and that after a reset a good receive
 * brings the ARP reply.
 */
#include "hostile_virtio_dev.h"

#define ARP_LEN 42
#define RX_LEN (VIRTIO_NET_HDR_LEN + ARP_LEN)

static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, host_ip[4] = { 10, 0, 2, 1 };
static uint8_t mac[6];
static uint8_t *at[VIRTQ_MAX_SIZE]; /* the buffer of each rx head */

static void net_up(uint64_t features, unsigned int size)
{
	up_sized(VIRTIO_ID_NET, features, 2, size);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = virtio_cfg_read8(&dev, i);
}

/* Posts one writable rx buffer (not notified). */
static void rx_post(uint8_t *p, uint32_t len)
{
	struct virtq_buf b = { p, len };
	int head = virtq_add(&vq[0], &b, 0, 1, false);

	if (hostile_check(head >= 0, "rx buffer not added"))
		at[head] = p;
}

/* Broadcasts "who has 10.0.2.1? tell 10.0.2.15"; not waited for when
 * the device may fail first. */
static void send_arp(bool wait)
{
	static uint8_t *t;
	struct virtq_buf b;
	uint8_t *f;

	if (!t)
		t = virtio_alloc(VIRTIO_NET_HDR_LEN + ARP_LEN, 16);
	f = t + VIRTIO_NET_HDR_LEN;
	memset(t, 0, VIRTIO_NET_HDR_LEN + ARP_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08, f[13] = 0x06;		       /* ARP */
	f[15] = 1, f[16] = 0x08, f[18] = 6, f[19] = 4; /* Ethernet, IPv4 */
	f[21] = 1;				       /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, my_ip, 4);
	memcpy(f + 38, host_ip, 4);
	b = (struct virtq_buf){ t, VIRTIO_NET_HDR_LEN + ARP_LEN };
	if (!wait) {
		hostile_check(virtq_add(&vq[1], &b, 1, 0, false) >= 0, "tx not added");
		hostile_notify(&vq[1]);
		return;
	}
	hostile_check(roundtrip(&vq[1], &b, 1, 0) >= 0, "the ARP request was not sent");
}

/* Whether frame f (after the virtio-net header) is the host's reply. */
static bool is_arp_reply(const uint8_t *f)
{
	return f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 && !memcmp(f + 28, host_ip, 4) &&
	       !memcmp(f + 38, my_ip, 4) && !memcmp(f + 32, mac, 6);
}

/* A used rx element within `cycles`: its head, or -1. */
static int rx_get(uint32_t *len, uint64_t cycles)
{
	uint64_t end = rdtsc() + cycles;
	int head;

	while ((head = virtq_get(&vq[0], len)) == -1 && rdtsc() < end)
		;
	return head;
}

/* After a reset the device receives again: an ARP request (sent up to
 * three times) brings the reply into a good buffer. 8 of 256 bytes: with
 * MRG_RXBUF petrel waits for room for a 1514-byte frame. */
static void good_rx(uint64_t features, const char *after)
{
	uint8_t *p = hostile_guarded(8 * 256, 0);
	bool ok = false;
	uint32_t len;
	int head;

	net_up(features, 64); /* resets the device first */
	for (unsigned int i = 0; i < 8; i++)
		rx_post(p + 256 * i, 256);
	hostile_notify(&vq[0]);
	for (int t = 0; t < 3 && !ok; t++) {
		send_arp(true);
		while (!ok && (head = rx_get(&len, HOSTILE_WAIT / 3)) >= 0) {
			ok = len == RX_LEN && is_arp_reply(at[head] + VIRTIO_NET_HDR_LEN);
			rx_post(at[head], 256);
			hostile_notify(&vq[0]);
		}
	}
	hostile_check(ok, "%s: no ARP reply received afterwards", after);
	hostile_check(hostile_guard_ok(p, 8 * 256), "%s: a good rx buffer written past", after);
	alive(after);
}

/*
 * A bad chain behind a good one: petrel takes the good chain at the kick
 * (one at a time without mergeable buffers), the ARP reply fills it, and
 * only then does it take the bad one, on its event loop. The reply must
 * be used, then the device must need a reset without touching the bad
 * chain's memory.
 */
static void rx_bad_chain(void)
{
	uint8_t *g = hostile_guarded(256, 0), *x = hostile_guarded(256, FILL);
	struct {
		struct virtq_buf b[2];
		unsigned int nout, nin;
		const char *what;
	} bad[] = {
		{ { { x, 256 } }, 1, 0, "a device-readable rx buffer" },
		{ { { x, 64 }, { x + 64, 192 } }, 1, 1, "an rx chain with a device-readable part" },
		{ { { x, VIRTIO_NET_HDR_LEN - 1 } }, 0, 1, "an rx buffer shorter than the header" },
		{ { { (void *)PETREL_RAM_HOLE_START, 256 } },
		  0,
		  1,
		  "an rx buffer in the MMIO hole" },
		{ { { (void *)(HOSTILE_RAM_END - 8), 256 } }, 0, 1, "an rx buffer past RAM's end" },
	};
	uint32_t len;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t used;
		int head;

		net_up(0, 64); /* resets the device first */
		used = vq[0].used[1];
		rx_post(g, 256);
		hostile_check(virtq_add(&vq[0], bad[i].b, bad[i].nout, bad[i].nin, false) >= 0,
			      "%s: not added", bad[i].what);
		hostile_notify(&vq[0]);
		send_arp(false);
		hostile_check(hostile_wait_status(&dev, NEEDS_RESET) & NEEDS_RESET,
			      "%s after a received frame: status %#x", bad[i].what,
			      virtio_status(&dev));
		head = virtq_get(&vq[0], &len);
		hostile_check(head >= 0 && at[head] == g && len == RX_LEN &&
				  is_arp_reply(g + VIRTIO_NET_HDR_LEN) &&
				  vq[0].used[1] == (uint16_t)(used + 1),
			      "%s: the good buffer before it: head %d, %u bytes, used idx %u",
			      bad[i].what, head, len, vq[0].used[1]);
	}
	hostile_check(hostile_filled(x, 256, FILL) && hostile_guard_ok(x, 256),
		      "a refused rx buffer was written");
	hostile_check(hostile_guard_ok(g, 256), "an rx buffer was written past");
	good_rx(0, "bad rx chains");
}

/*
 * An rx chain of 64 one-byte buffers (the whole ring): the reply lands
 * byte by byte, nothing past its 54 bytes. Then a chain of 40 bytes, too
 * short for the reply: the frame is dropped and the chain kept (nothing
 * used, no reset, nothing written outside it).
 */
static void rx_byte_chain(void)
{
	struct virtq_buf b[64];
	uint8_t *p = hostile_guarded(64, FILL);
	uint32_t len;
	int head;

	net_up(0, 64);
	for (unsigned int i = 0; i < 64; i++)
		b[i] = (struct virtq_buf){ p + i, 1 };
	hostile_check(virtq_add(&vq[0], b, 0, 64, false) >= 0, "64-buffer chain not added");
	hostile_notify(&vq[0]);
	send_arp(true);
	head = rx_get(&len, HOSTILE_WAIT);
	hostile_check(head >= 0 && len == RX_LEN && is_arp_reply(p + VIRTIO_NET_HDR_LEN),
		      "64 one-byte buffers: head %d, %u bytes, not the ARP reply", head, len);
	hostile_check(hostile_filled(p + RX_LEN, 64 - RX_LEN, FILL) && hostile_guard_ok(p, 64),
		      "64 one-byte buffers: written past the frame");
	memset(p, FILL, 64);
	b[0] = (struct virtq_buf){ p, 16 };
	b[1] = (struct virtq_buf){ p + 16, 8 };
	b[2] = (struct virtq_buf){ p + 24, 16 };
	hostile_check(virtq_add(&vq[0], b, 0, 3, false) >= 0, "40-byte chain not added");
	hostile_notify(&vq[0]);
	send_arp(true);
	hostile_check(rx_get(&len, HOSTILE_QUIET) < 0,
		      "a 54-byte frame in a 40-byte chain was used (%u bytes)", len);
	hostile_check(hostile_filled(p + 40, 24, FILL) && hostile_guard_ok(p, 64),
		      "a 40-byte chain was written past");
	alive("a frame larger than the rx chain");
	good_rx(0, "small rx chains");
}

/*
 * Mergeable rx buffers of 16 bytes, a ring of 4: all four are held (the
 * ring is full) and the 54-byte reply spreads over them, num_buffers 4.
 * Then a ring of 2 (32 bytes): the frame needs more buffers than exist;
 * it is dropped and the buffers kept.
 */
static void rx_mrg_short(void)
{
	uint8_t *p = hostile_guarded(128, FILL), f[64];
	uint32_t len, got = 0, lens[4] = { 0 };
	unsigned int n;
	int head;

	net_up(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 4);
	hostile_check(dev.features & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF),
		      "MRG_RXBUF not negotiated");
	for (unsigned int i = 0; i < 4; i++)
		rx_post(p + 32 * i, 16);
	hostile_notify(&vq[0]);
	send_arp(true);
	for (n = 0; n < 4 && (head = rx_get(&len, HOSTILE_WAIT)) >= 0; n++) {
		lens[n] = len;
		if (len <= 16 && got + len <= sizeof(f))
			memcpy(f + got, at[head], len);
		got += len;
	}
	hostile_check(n == 4 && got == RX_LEN && lens[3] == RX_LEN - 48,
		      "54 bytes in 16-byte buffers: %u used, %u bytes (%u %u %u %u)", n, got,
		      lens[0], lens[1], lens[2], lens[3]);
	hostile_check(got == RX_LEN && f[10] == 4 && f[11] == 0 &&
			  is_arp_reply(f + VIRTIO_NET_HDR_LEN),
		      "54 bytes in 16-byte buffers: num_buffers %u or not the ARP reply", f[10]);
	for (unsigned int i = 0; i < 4; i++)
		hostile_check(hostile_filled(p + 32 * i + 16, 16, FILL),
			      "16-byte buffer %u written past", i);
	memset(p, FILL, 128);
	net_up(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 2);
	rx_post(p, 16);
	rx_post(p + 32, 16);
	hostile_notify(&vq[0]);
	send_arp(true);
	hostile_check(rx_get(&len, HOSTILE_QUIET) < 0,
		      "a 54-byte frame in two 16-byte buffers was used (%u bytes)", len);
	hostile_check(hostile_filled(p + 16, 16, FILL) && hostile_filled(p + 48, 80, FILL) &&
			  hostile_guard_ok(p, 128),
		      "two 16-byte buffers written past");
	alive("a frame needing more buffers than the ring has");
	good_rx(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), "too few mergeable buffers");
}

/*
 * Reset with frames coming: 32 buffers posted, one reply received, 8 more
 * ARP requests sent, and the device reset at once. Once the reset is seen (status reads 0) the
 * old buffers are the guest's again: nothing may be written into them
 * while the device serves new rings.
 */
static void rx_reset_race(void)
{
	uint8_t *p = hostile_guarded(32 * 128, 0);
	uint32_t len;

	net_up(0, 64);
	for (unsigned int i = 0; i < 32; i++)
		rx_post(p + 128 * i, 128);
	hostile_notify(&vq[0]);
	/* After the first reply the device holds the next chain. */
	send_arp(true);
	hostile_check(rx_get(&len, HOSTILE_WAIT) >= 0, "no ARP reply before the reset");
	for (unsigned int i = 0; i < 8; i++)
		send_arp(false);
	virtio_reset(&dev);
	hostile_check(virtio_status(&dev) == 0, "status %#x after reset", virtio_status(&dev));
	memset(p, FILL, 32 * 128);
	good_rx(0, "a reset with frames coming");
	hostile_check(hostile_filled(p, 32 * 128, FILL) && hostile_guard_ok(p, 32 * 128),
		      "an rx buffer was written after the reset");
}

static const struct hostile_case cases[] = {
	{ "virtio-net-rx-bad-chain", rx_bad_chain, false },
	{ "virtio-net-rx-byte-chain", rx_byte_chain, false },
	{ "virtio-net-rx-mrg-short", rx_mrg_short, false },
	{ "virtio-net-rx-reset-race", rx_reset_race, false },
};

int guest_main(void)
{
	hostile_vq_main(cases, sizeof(cases) / sizeof(cases[0]));
}
