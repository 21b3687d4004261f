/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1) from CPL3, against a host tap whose address
 * is 10.0.2.1/24 (tests/guest/run sets one up in a private network
 * namespace). Reads the MAC and link status from the config space, then,
 * as 10.0.2.15: an ARP request for 10.0.2.1 must bring the host kernel's
 * ARP reply, and an ICMP echo request its echo reply (the host's own ARP
 * requests for us are answered on the way). Every received frame must say
 * num_buffers 1 (small frames) and have a used length of header plus
 * frame. "mrg=0" leaves VIRTIO_NET_F_MRG_RXBUF out. Last line:
 * "virtio_net: done, N failures"; exit 0 iff N = 0.
 */
#include "rt.h"
#include "virtio.h"

#define RX_BUFS 16
#define RX_LEN 2048
#define TX_LEN 2048

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t *rx_buf[VIRTQ_MAX_SIZE], *tx_buf;
static uint8_t mac[6];
static bool got_arp_reply, got_echo_reply;

static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, host_ip[4] = { 10, 0, 2, 1 };
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static uint8_t host_mac[6];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum (RFC 1071) of n bytes. */
static uint16_t inet_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, type);
}

/* Send `len` bytes of frame built in tx_buf + VIRTIO_NET_HDR_LEN (the
 * header stays 0: no offloads) and wait for the device to take it. */
static void send_frame(uint32_t len)
{
	struct virtq_buf b = { tx_buf, VIRTIO_NET_HDR_LEN + len };
	uint32_t w;

	memset(tx_buf, 0, VIRTIO_NET_HDR_LEN);
	if (virtq_add(&txq, &b, 1, 0, false) < 0) {
		test_fail("transmit queue full");
		return;
	}
	virtq_kick(&txq);
	if (virtq_wait(&txq, &w) < 0)
		test_fail("transmitted frame never completed");
}

static void send_arp(uint16_t op, const uint8_t *dst_mac, const uint8_t *target_mac,
		     const uint8_t *target_ip)
{
	uint8_t *f = tx_buf + VIRTIO_NET_HDR_LEN;

	eth_header(f, dst_mac, 0x0806);
	put16(f + 14, 1);      /* Ethernet */
	put16(f + 16, 0x0800); /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, my_ip, 4);
	memcpy(f + 32, target_mac, 6);
	memcpy(f + 38, target_ip, 4);
	send_frame(42);
}

static void send_echo(void)
{
	uint8_t *f = tx_buf + VIRTIO_NET_HDR_LEN, *ip = f + 14, *icmp = ip + 20;
	unsigned int payload = 56;

	eth_header(f, host_mac, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + payload));
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	memcpy(ip + 12, my_ip, 4);
	memcpy(ip + 16, host_ip, 4);
	put16(ip + 10, inet_csum(ip, 20));
	memset(icmp, 0, 8);
	icmp[0] = 8; /* echo request */
	put16(icmp + 4, 0x7e7e);
	put16(icmp + 6, 1);
	for (unsigned int i = 0; i < payload; i++)
		icmp[8 + i] = (uint8_t)i;
	put16(icmp + 2, inet_csum(icmp, 8 + payload));
	send_frame(14 + 20 + 8 + payload);
}

/* One received frame (after the header). */
static void handle_frame(const uint8_t *f, uint32_t len)
{
	uint16_t type = len >= 14 ? get16(f + 12) : 0;

	if (type == 0x0806 && len >= 42 && memcmp(f + 38, my_ip, 4) == 0) {
		if (get16(f + 20) == 1) {
			send_arp(2, f + 22, f + 22, f + 28);
		} else if (get16(f + 20) == 2 && memcmp(f + 28, host_ip, 4) == 0) {
			memcpy(host_mac, f + 22, 6);
			if (!got_arp_reply)
				printf("virtio_net: ARP reply: 10.0.2.1 is at "
				       "%02x:%02x:%02x:%02x:%02x:%02x\n",
				       f[22], f[23], f[24], f[25], f[26], f[27]);
			got_arp_reply = true;
		}
	} else if (type == 0x0800 && len >= 14 + 20 + 8 && f[14 + 9] == 1 &&
		   memcmp(f + 14 + 12, host_ip, 4) == 0 && f[14 + 20] == 0 &&
		   get16(f + 14 + 20 + 4) == 0x7e7e) {
		if (inet_csum(f + 14 + 20, len - 14 - 20) != 0)
			test_fail("echo reply checksum");
		if (!got_echo_reply)
			printf("virtio_net: echo reply from 10.0.2.1, %u bytes\n", len);
		got_echo_reply = true;
	}
}

/* Take received frames until *flag is set or about 5 s pass. */
static void receive_until(const bool *flag)
{
	uint64_t t0 = rdtsc();

	while (!*flag && rdtsc() - t0 < virtio_timeout_cycles / 2) {
		struct virtq_buf b;
		uint32_t len;
		int h = virtq_get(&rxq, &len);

		if (h == -1)
			continue;
		if (h < 0 || len < VIRTIO_NET_HDR_LEN + 14 || len > RX_LEN) {
			test_fail("bad receive completion");
			return;
		}
		if (rx_buf[h][10] != 1 || rx_buf[h][11] != 0)
			test_fail("num_buffers is not 1");
		handle_frame(rx_buf[h] + VIRTIO_NET_HDR_LEN, len - VIRTIO_NET_HDR_LEN);
		/* Give the buffer back. */
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

static void user_main(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS);

	test_name = "virtio_net";
	if (cmdline_long("mrg", 0, 1))
		want |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	printf("virtio_net: running at cpl=%u\n", current_cpl());
	tx_buf = virtio_alloc(TX_LEN, 64);
	if (!tx_buf || virtio_find(VIRTIO_ID_NET, 0, &dev) || virtio_negotiate(&dev, want) ||
	    virtq_setup(&dev, &rxq, 0, 64) || virtq_setup(&dev, &txq, 1, 64)) {
		printf("virtio_net: no usable network device\n");
		guest_exit(2);
	}
	for (unsigned int i = 0; i < RX_BUFS; i++) {
		struct virtq_buf b = { virtio_alloc(RX_LEN, 64), RX_LEN };
		int h = b.addr ? virtq_add(&rxq, &b, 0, 1, false) : -1;

		if (h < 0) {
			printf("virtio_net: no receive buffers\n");
			guest_exit(2);
		}
		rx_buf[h] = b.addr;
	}
	if (virtio_driver_ok(&dev)) {
		printf("virtio_net: DRIVER_OK refused\n");
		guest_exit(2);
	}
	virtq_kick(&rxq);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = virtio_cfg_read8(&dev, i);
	printf("virtio_net: offered %#lx negotiated %#lx mac %02x:%02x:%02x:%02x:%02x:%02x link "
	       "%s\n",
	       (unsigned long)dev.offered, (unsigned long)dev.features, mac[0], mac[1], mac[2],
	       mac[3], mac[4], mac[5], virtio_cfg_read16(&dev, 6) & 1 ? "up" : "down");
	if (!(virtio_cfg_read16(&dev, 6) & 1))
		test_fail("link down");

	send_arp(1, broadcast, (const uint8_t[6]){ 0 }, host_ip);
	receive_until(&got_arp_reply);
	if (!got_arp_reply)
		test_fail("no ARP reply");
	else {
		send_echo();
		receive_until(&got_echo_reply);
		if (!got_echo_reply)
			test_fail("no echo reply");
	}
	virtio_check_status(&dev);
	test_done();
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
