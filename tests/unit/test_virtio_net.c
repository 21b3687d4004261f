/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driven through its ops with descriptor rings built in fake
 * guest memory, against a SOCK_SEQPACKET socket pair standing in for the
 * tap (virtio_net_env.h): config space, transmit, receive, reset. The
 * transport and a real tap are in test_virtio_net_tap.c.
 */
#include "virtio_net_env.h"

/* ------------------------------------------------------------ config */

static void net_config_space(void)
{
	REQUIRE(setup(0, QSIZE));
	CHECK(env.d->ops->device_id == VIRTIO_ID_NET);
	CHECK(env.d->ops->nqueues == 2);
	CHECK(env.d->ops->config_size == 12); /* mac, status, max_virtqueue_pairs, mtu */
	CHECK(memcmp(env.d->config, test_mac, 6) == 0);
	CHECK(env.d->config[6] == 1 && env.d->config[7] == 0); /* LINK_UP */
	CHECK(env.d->offered & F(MAC));
	CHECK(env.d->offered & F(STATUS));
	CHECK(env.d->offered & F(MRG_RXBUF));
	CHECK(!(env.d->offered & VIRTIO_BIT(10))); /* no GUEST_UFO */
	CHECK(!(env.d->offered & VIRTIO_BIT(14))); /* no HOST_UFO */
	CHECK(!(env.d->offered & VIRTIO_BIT(17))); /* no control queue */
	CHECK(!(env.d->offered & F(MTU)));	   /* none configured */
	teardown();
}

static void net_default_mac(void)
{
	uint8_t a[6], b[6], c[6];

	/* FNV-1a("a") = 0xe40c292c, the algorithm's published test vector. */
	virtio_net_default_mac("a", a);
	CHECK(memcmp(a, (uint8_t[]){ 0x52, 0x54, 0x00, 0x0c, 0x29, 0x2c }, 6) == 0);
	virtio_net_default_mac("tap0", b);
	virtio_net_default_mac("tap0", c);
	CHECK(memcmp(b, c, 6) == 0);
	virtio_net_default_mac("tap1", c);
	CHECK(memcmp(b, c, 6) != 0);
	CHECK((b[0] & 3) == 2); /* locally administered, unicast */
}

/* ---------------------------------------------------------- transmit */

static void net_tx_frame(void)
{
	struct hdr h = { 0 };
	uint8_t frame[60], got[200];
	uint32_t id, len;
	uint16_t head;

	REQUIRE(setup(0, QSIZE));
	fill_frame(frame, sizeof(frame), 1);
	head = add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	REQUIRE(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 72);
	CHECK(memcmp(got, &h, 12) == 0);
	CHECK(memcmp(got + 12, frame, sizeof(frame)) == 0);
	REQUIRE(used_idx(VIRTIO_NET_TXQ) == 1);
	used_elem(VIRTIO_NET_TXQ, 0, &id, &len);
	CHECK(id == head && len == 0);
	CHECK(env.ft.used[VIRTIO_NET_TXQ] == 1);
	CHECK(stats().tx_frames == 1 && stats().tx_bytes == 60);
	CHECK(env.ft.needs_reset == 0);
	teardown();
}

/* The header split over descriptors, and the frame over several more. */
static void net_tx_split(void)
{
	uint8_t bytes[12 + 100], got[200];
	struct hdr h = { .flags = 1, .csum_start = 34, .csum_offset = 16 };
	struct seg s[4] = {
		{ .len = 5, .data = bytes },
		{ .len = 7 + 20, .data = bytes + 5 },
		{ .len = 40, .data = bytes + 32 },
		{ .len = 40, .data = bytes + 72 },
	};

	REQUIRE(setup(F(CSUM), QSIZE));
	memcpy(bytes, &h, 12);
	fill_frame(bytes + 12, 100, 9);
	add_chain(VIRTIO_NET_TXQ, s, 4);
	kick(VIRTIO_NET_TXQ);
	REQUIRE(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == sizeof(bytes));
	CHECK(memcmp(got, bytes, sizeof(bytes)) == 0);
	teardown();
}

/* Flags other than NEEDS_CSUM are not passed on; num_buffers becomes 0. */
static void net_tx_header_cleaned(void)
{
	struct hdr h = { .flags = 1 | 2 | 4, .num_buffers = 7, .csum_start = 34 };
	struct hdr out;
	uint8_t frame[60], got[200];

	REQUIRE(setup(F(CSUM), QSIZE));
	fill_frame(frame, sizeof(frame), 2);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	REQUIRE(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 72);
	memcpy(&out, got, sizeof(out));
	CHECK(out.flags == 1);
	CHECK(out.num_buffers == 0);
	CHECK(out.csum_start == 34);
	teardown();
}

/* Offloads the driver did not negotiate, and bad GSO metadata: the frame
 * is dropped and completed, the device keeps working. */
static void net_tx_offload_checks(void)
{
	struct hdr bad[] = {
		{ .flags = 1 },					    /* no CSUM */
		{ .flags = 1, .gso_type = 1, .gso_size = 1448 },    /* no HOST_TSO4 */
		{ .gso_type = 4, .gso_size = 1448 },		    /* TSO6 without NEEDS_CSUM */
		{ .flags = 1, .gso_type = 3, .gso_size = 1448 },    /* UFO */
		{ .flags = 1, .gso_type = 0x81, .gso_size = 1448 }, /* ECN without HOST_ECN */
		{ .gso_type = 0x80 },				    /* ECN alone */
	};
	struct hdr good = { .flags = 1, .gso_type = 4, .gso_size = 1448 };
	uint8_t frame[3000], got[4000];

	fill_frame(frame, sizeof(frame), 3);
	REQUIRE(setup(0, QSIZE));
	add_tx(&bad[0], frame, 100);
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) < 0);
	teardown();

	REQUIRE(setup(F(CSUM) | F(HOST_TSO6), QSIZE));
	for (unsigned int i = 1; i < ARRAY_SIZE(bad); i++)
		add_tx(&bad[i], frame, sizeof(frame));
	add_tx(&good, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 12 + sizeof(frame));
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) < 0);
	CHECK(used_idx(VIRTIO_NET_TXQ) == ARRAY_SIZE(bad));
	CHECK(stats().tx_dropped == ARRAY_SIZE(bad) - 1);
	CHECK(stats().tx_frames == 1);
	CHECK(env.ft.needs_reset == 0);
	teardown();
}

static void net_tx_sizes(void)
{
	static uint8_t frame[VIRTIO_NET_FRAME_MAX + 1];
	static uint8_t got[VIRTIO_NET_FRAME_MAX + 100];
	struct hdr h = { 0 };

	REQUIRE(setup(0, QSIZE));
	fill_frame(frame, sizeof(frame), 4);
	add_tx(&h, frame, 0);			     /* header only */
	add_tx(&h, frame, 13);			     /* runt */
	add_tx(&h, frame, VIRTIO_NET_FRAME_MAX + 1); /* too long */
	add_tx(&h, frame, VIRTIO_NET_FRAME_MAX);     /* the largest */
	add_tx(&h, frame, 14);			     /* the smallest */
	kick(VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 12 + VIRTIO_NET_FRAME_MAX);
	CHECK(memcmp(got + 12, frame, VIRTIO_NET_FRAME_MAX) == 0);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 12 + 14);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) < 0);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 5);
	CHECK(stats().tx_dropped == 3);
	CHECK(env.ft.needs_reset == 0);
	teardown();
}

/* A chain that cannot hold the header breaks the protocol: NEEDS_RESET. */
static void net_tx_malformed(void)
{
	uint8_t bytes[200] = { 0 };
	struct seg short_hdr = { .len = 11, .data = bytes };
	struct seg with_in[2] = { { .len = 100, .data = bytes }, { .len = 64, .writable = true } };
	struct seg only_in = { .len = 100, .writable = true };
	uint8_t got[300];

	REQUIRE(setup(0, QSIZE));
	add_chain(VIRTIO_NET_TXQ, &short_hdr, 1);
	kick(VIRTIO_NET_TXQ);
	CHECK(env.ft.needs_reset == 1);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 0);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) < 0);
	teardown();

	REQUIRE(setup(0, QSIZE));
	add_chain(VIRTIO_NET_TXQ, with_in, 2);
	kick(VIRTIO_NET_TXQ);
	CHECK(env.ft.needs_reset == 1);
	teardown();

	REQUIRE(setup(0, QSIZE));
	add_chain(VIRTIO_NET_TXQ, &only_in, 1);
	kick(VIRTIO_NET_TXQ);
	CHECK(env.ft.needs_reset == 1);
	teardown();
}

/* ----------------------------------------------------------- receive */

static void net_rx_frame(void)
{
	struct hdr h = { .flags = 2, .hdr_len = 99 }, out;
	uint8_t frame[100];
	uint32_t id, len;
	gpa_t buf;
	uint16_t head;

	REQUIRE(setup(F(GUEST_CSUM), QSIZE));
	head = add_rx(1526, &buf);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 5);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	CHECK(pump() == 1);
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(id == head && len == 112);
	memcpy(&out, gp(buf, 12), 12);
	CHECK(out.num_buffers == 1);
	CHECK(out.flags == 2); /* DATA_VALID kept with GUEST_CSUM */
	CHECK(out.hdr_len == 99);
	CHECK(memcmp(gp(buf + 12, 100), frame, 100) == 0);
	CHECK(env.ft.used[VIRTIO_NET_RXQ] == 1);
	CHECK(stats().rx_frames == 1 && stats().rx_bytes == 100);
	teardown();
}

/* Header and frame split over several writable descriptors. */
static void net_rx_split(void)
{
	struct seg s[3] = { { .len = 4, .writable = true },
			    { .len = 10, .writable = true },
			    { .len = 300, .writable = true } };
	struct hdr h = { .csum_start = 0x1234 }, out;
	uint8_t frame[200], back[214];
	uint32_t id, len;

	REQUIRE(setup(0, QSIZE));
	add_chain(VIRTIO_NET_RXQ, s, 3);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 6);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(len == 212);
	memcpy(back, gp(s[0].gpa, 4), 4);
	memcpy(back + 4, gp(s[1].gpa, 10), 10);
	memcpy(back + 14, gp(s[2].gpa, 200), 200);
	memcpy(&out, back, 12);
	CHECK(out.num_buffers == 1 && out.csum_start == 0x1234);
	CHECK(memcmp(back + 12, frame, 200) == 0);
	teardown();
}

/* No buffers: the backend is not polled (no busy loop), frames wait in
 * it and none is lost once the driver adds buffers and kicks. */
static void net_rx_no_buffers(void)
{
	struct hdr h = { 0 };
	uint8_t frame[3][80];
	gpa_t buf[3];

	REQUIRE(setup(0, QSIZE));
	for (int i = 0; i < 3; i++) {
		fill_frame(frame[i], 80, (uint8_t)(20 + i));
		REQUIRE(peer_send(&h, frame[i], 80));
	}
	CHECK(pump() == 0);
	add_rx(200, &buf[0]);
	CHECK(pump() == 0); /* no kick yet */
	kick(VIRTIO_NET_RXQ);
	CHECK(pump() == 1);
	CHECK(used_idx(VIRTIO_NET_RXQ) == 1);
	CHECK(pump() == 0); /* ring empty again: polling stopped */
	add_rx(200, &buf[1]);
	add_rx(200, &buf[2]);
	kick(VIRTIO_NET_RXQ);
	pump();
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 3);
	for (int i = 0; i < 3; i++)
		CHECK(memcmp(gp(buf[i] + 12, 80), frame[i], 80) == 0);
	CHECK(stats().rx_dropped == 0);
	teardown();
}

/* MRG_RXBUF: a frame spread over several buffers, num_buffers set, all of
 * them published before the interrupt. */
static void net_rx_mergeable(void)
{
	static uint8_t frame[4000], back[4000];
	struct hdr h = { .flags = 1, .gso_type = 1, .gso_size = 1448 }, out;
	gpa_t buf[50];
	uint16_t head[50];
	uint32_t id, len;

	REQUIRE(setup(F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO4), QSIZE));
	for (int i = 0; i < 50; i++)
		head[i] = add_rx(1536, &buf[i]);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 7);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 3);
	CHECK(env.ft.used[VIRTIO_NET_RXQ] == 1);
	for (uint16_t i = 0; i < 3; i++) {
		used_elem(VIRTIO_NET_RXQ, i, &id, &len);
		CHECK(id == head[i]);
		CHECK(len == (i < 2 ? 1536 : 4012 - 2 * 1536));
	}
	memcpy(&out, gp(buf[0], 12), 12);
	CHECK(out.num_buffers == 3 && out.gso_type == 1 && out.gso_size == 1448);
	memcpy(back, gp(buf[0] + 12, 1524), 1524);
	memcpy(back + 1524, gp(buf[1], 1536), 1536);
	memcpy(back + 3060, gp(buf[2], 940), 940);
	CHECK(memcmp(back, frame, sizeof(frame)) == 0);

	/* The next frame starts in the next buffer. */
	h = (struct hdr){ 0 };
	REQUIRE(peer_send(&h, frame, 100));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 4);
	used_elem(VIRTIO_NET_RXQ, 3, &id, &len);
	CHECK(id == head[3] && len == 112);
	memcpy(&out, gp(buf[3], 12), 12);
	CHECK(out.num_buffers == 1);
	teardown();
}

/* With guest TSO the device collects 64 KiB of buffers before reading. */
static void net_rx_mergeable_waits(void)
{
	struct hdr h = { 0 };
	uint8_t frame[100];
	uint16_t first;

	REQUIRE(setup(F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO6), QSIZE));
	first = add_rx(1536, NULL);
	for (int i = 0; i < 3; i++)
		add_rx(1536, NULL);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 8);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	CHECK(pump() == 0);
	CHECK(used_idx(VIRTIO_NET_RXQ) == 0);
	for (int i = 0; i < 40; i++)
		add_rx(1536, NULL);
	kick(VIRTIO_NET_RXQ);
	CHECK(pump() == 1);
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	{
		uint32_t id, len;

		used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
		CHECK(id == first && len == 112);
	}
	teardown();
}

/* Without guest GSO a frame longer than expected (a jumbo MTU) still
 * gets more buffers if the ring has them; else it is dropped whole. */
static void net_rx_mergeable_overflow(void)
{
	static uint8_t frame[4000], back[4000];
	struct hdr h = { 0 }, out;
	uint32_t id, len;
	gpa_t buf[3];

	REQUIRE(setup(F(MRG_RXBUF), QSIZE));
	for (int i = 0; i < 3; i++)
		add_rx(1536, &buf[i]);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 16);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 3);
	used_elem(VIRTIO_NET_RXQ, 2, &id, &len);
	CHECK(len == 4012 - 2 * 1536);
	memcpy(&out, gp(buf[0], 12), 12);
	CHECK(out.num_buffers == 3);
	memcpy(back, gp(buf[0] + 12, 1524), 1524);
	memcpy(back + 1524, gp(buf[1], 1536), 1536);
	memcpy(back + 3060, gp(buf[2], 940), 940);
	CHECK(memcmp(back, frame, sizeof(frame)) == 0);
	teardown();

	REQUIRE(setup(F(MRG_RXBUF), QSIZE));
	add_rx(1536, &buf[0]);
	add_rx(1536, &buf[1]);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	REQUIRE(peer_send(&h, frame, 100));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(len == 112);
	CHECK(memcmp(gp(buf[0] + 12, 100), frame, 100) == 0);
	CHECK(stats().rx_dropped == 1);
	teardown();
}

/* A ring too small to hold 64 KiB: everything it can give is enough. */
static void net_rx_mergeable_small_ring(void)
{
	struct hdr h = { 0 };
	uint8_t frame[100];

	REQUIRE(setup(F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO4), 8));
	for (int i = 0; i < 8; i++)
		add_rx(1536, NULL);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 9);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	CHECK(used_idx(VIRTIO_NET_RXQ) == 1);
	teardown();
}

/* Headers from the backend are made to fit the features negotiated. */
static void net_rx_offload_checks(void)
{
	struct hdr valid = { .flags = 2 }, partial = { .flags = 1 },
		   tso = { .flags = 1, .gso_type = 1, .gso_size = 1000 }, out;
	uint8_t frame[100];
	gpa_t buf;

	fill_frame(frame, sizeof(frame), 10);
	REQUIRE(setup(0, QSIZE));
	for (int i = 0; i < 4; i++)
		add_rx(1526, i == 0 ? &buf : NULL);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(peer_send(&valid, frame, sizeof(frame)));
	REQUIRE(peer_send(&partial, frame, sizeof(frame)));
	REQUIRE(peer_send(&tso, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	memcpy(&out, gp(buf, 12), 12);
	CHECK(out.flags == 0); /* DATA_VALID needs GUEST_CSUM */
	CHECK(stats().rx_dropped == 2);
	teardown();

	REQUIRE(setup(F(GUEST_CSUM) | F(GUEST_TSO4), QSIZE));
	add_rx(1526, &buf);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(peer_send(&tso, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	memcpy(&out, gp(buf, 12), 12);
	CHECK(out.gso_type == 1 && out.flags == 1);
	teardown();
}

/* A runt from the backend is dropped and its buffer reused. */
static void net_rx_runt(void)
{
	struct hdr h = { 0 };
	uint8_t frame[100];
	uint32_t id, len;
	uint16_t head;

	REQUIRE(setup(0, QSIZE));
	head = add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(send(env.peer, frame, 5, 0) == 5);
	REQUIRE(send(env.peer, frame, 0, 0) == 0); /* an empty datagram is no hang-up */
	fill_frame(frame, sizeof(frame), 11);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(id == head && len == 112);
	CHECK(stats().rx_dropped == 2);
	teardown();
}

/* A frame longer than the buffers is dropped, not delivered cut short. */
static void net_rx_too_long(void)
{
	struct hdr h = { 0 };
	uint8_t frame[300];
	uint32_t id, len;
	gpa_t buf;

	REQUIRE(setup(0, QSIZE));
	add_rx(112, &buf);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 15);
	REQUIRE(peer_send(&h, frame, 101));
	REQUIRE(peer_send(&h, frame, 100));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(len == 112);
	CHECK(stats().rx_dropped == 1 && stats().rx_frames == 1);
	CHECK(memcmp(gp(buf + 12, 100), frame, 100) == 0);
	teardown();
}

static void net_rx_malformed(void)
{
	struct seg ro[2] = { { .len = 16 }, { .len = 1500, .writable = true } };

	REQUIRE(setup(0, QSIZE));
	add_rx(11, NULL);
	kick(VIRTIO_NET_RXQ);
	CHECK(env.ft.needs_reset == 1);
	CHECK(pump() == 0);
	teardown();

	/* With MRG_RXBUF every buffer must hold a header. */
	REQUIRE(setup(F(MRG_RXBUF), QSIZE));
	add_rx(1000, NULL);
	add_rx(8, NULL);
	kick(VIRTIO_NET_RXQ);
	CHECK(env.ft.needs_reset == 1);
	teardown();

	REQUIRE(setup(0, QSIZE));
	add_chain(VIRTIO_NET_RXQ, ro, 2);
	kick(VIRTIO_NET_RXQ);
	CHECK(env.ft.needs_reset == 1);
	teardown();
}

/* Reset forgets held buffers and stops polling; a new driver starts over. */
static void net_reset_and_restart(void)
{
	struct hdr h = { 0 };
	uint8_t frame[100];
	gpa_t buf;

	REQUIRE(setup(0, QSIZE));
	add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	virtio_lock(env.d);
	env.d->ops->reset(env.d);
	for (unsigned int q = 0; q < 2; q++)
		virtq_reset(&env.d->vq[q]);
	env.d->status = 0;
	virtio_unlock(env.d);
	fill_frame(frame, sizeof(frame), 12);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	CHECK(pump() == 0);
	REQUIRE(start(0, QSIZE));
	add_rx(1526, &buf);
	kick(VIRTIO_NET_RXQ);
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	CHECK(memcmp(gp(buf + 12, 100), frame, 100) == 0);
	teardown();
}

/* The backend hangs up: no spinning on the dead fd, frames are dropped. */
static void net_backend_hangup(void)
{
	struct hdr h = { 0 };
	uint8_t frame[60] = { 0 };

	REQUIRE(setup(0, QSIZE));
	close(env.peer);
	env.peer = -1;
	CHECK(pump() == 1);
	CHECK(pump() == 0);
	add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	CHECK(pump() == 0);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1);
	CHECK(stats().tx_dropped == 1);
	teardown();
}

int main(void)
{
	RUN(net_config_space);
	RUN(net_default_mac);
	RUN(net_tx_frame);
	RUN(net_tx_split);
	RUN(net_tx_header_cleaned);
	RUN(net_tx_offload_checks);
	RUN(net_tx_sizes);
	RUN(net_tx_malformed);
	RUN(net_rx_frame);
	RUN(net_rx_split);
	RUN(net_rx_no_buffers);
	RUN(net_rx_mergeable);
	RUN(net_rx_mergeable_waits);
	RUN(net_rx_mergeable_overflow);
	RUN(net_rx_mergeable_small_ring);
	RUN(net_rx_offload_checks);
	RUN(net_rx_runt);
	RUN(net_rx_too_long);
	RUN(net_rx_malformed);
	RUN(net_reset_and_restart);
	RUN(net_backend_hangup);
	return harness_exit();
}
