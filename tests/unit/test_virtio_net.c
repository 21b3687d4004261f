/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driven through its ops with descriptor rings built in fake
 * guest memory, against a SOCK_SEQPACKET socket pair standing in for the
 * tap (the test holds the other end); and once against a real tap in a
 * private network namespace when the host allows it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "harness.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/tap.h"

#define RAM_SIZE (4u << 20)
#define QSIZE 64
#define BUF_BASE 0x20000

#define F(bit) VIRTIO_BIT(VIRTIO_NET_F_##bit)

struct hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static struct env {
	struct gm gm;
	struct virtio_dev dev;
	struct virtio_dev *d; /* &dev, or the one inside an MMIO transport */
	struct evloop ev;
	int peer;
	struct fake_transport ft; /* ft.used[q]: interrupts; ft.needs_reset */
	struct fake_vq vq[2];
	gpa_t next_buf;
} env;

static gpa_t q_desc(unsigned int q)
{
	return 0x1000 + q * 0x4000;
}

static gpa_t q_avail(unsigned int q)
{
	return q_desc(q) + 0x1000;
}

static gpa_t q_used(unsigned int q)
{
	return q_desc(q) + 0x2000;
}

static void *gp(gpa_t gpa, size_t len)
{
	return gm_ptr(&env.gm, gpa, len);
}

/* Queue q's rings, empty, as the driver sees them. */
static void ring_init(unsigned int q, uint16_t size)
{
	fake_vq_init(&env.vq[q], &env.gm, size, q_desc(q), q_avail(q), q_used(q));
	memset(gp(q_desc(q), 0x3000), 0, 0x3000);
}

/* Set the queues up as a driver would and, like the transport at
 * DRIVER_OK, activate. */
static bool start(uint64_t features, uint16_t rx_size)
{
	env.d->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | features;
	for (unsigned int q = 0; q < 2; q++) {
		ring_init(q, q == VIRTIO_NET_RXQ ? rx_size : QSIZE);
		if (!fake_vq_start(env.d, q, &env.vq[q]))
			return false;
		env.ft.used[q] = 0;
	}
	env.d->status = FAKE_STATUS_DRIVER_OK;
	return env.d->ops->activate(env.d) == 0;
}

/* Forget the last case, with no device yet. */
static void env_clear(void)
{
	memset(&env, 0, sizeof(env));
	env.next_buf = BUF_BASE;
	env.peer = -1;
	env.d = &env.dev;
}

static bool setup(uint64_t features, uint16_t rx_size)
{
	int sv[2];

	env_clear();
	if (!fake_gm_init(&env.gm, 0, RAM_SIZE))
		return false;
	pthread_mutex_init(&env.d->lock, NULL);
	if (evloop_init(&env.ev))
		return false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return false;
	env.peer = sv[1];
	if (virtio_net_create_fd(env.d, &env.ev, &env.gm, sv[0], false, test_mac))
		return false;
	fake_transport_attach(env.d, &env.ft);
	return start(features, rx_size);
}

static void teardown(void)
{
	if (env.d->ops)
		env.d->ops->destroy(env.d);
	evloop_destroy(&env.ev);
	if (env.peer >= 0)
		close(env.peer);
	pthread_mutex_destroy(&env.d->lock);
	fake_gm_free(&env.gm);
}

struct seg {
	uint32_t len;
	bool writable;
	const void *data; /* readable: contents */
	gpa_t gpa;	  /* out: where it was placed */
};

/* Queue one chain of `n` (<= 16) segments on q, each placed in the next
 * free guest memory; returns its head. */
static uint16_t add_chain(unsigned int q, struct seg *s, unsigned int n)
{
	struct fake_buf b[16];

	for (unsigned int i = 0; i < n; i++) {
		s[i].gpa = env.next_buf;
		env.next_buf += (s[i].len + 15) & ~15u;
		if (env.next_buf > RAM_SIZE - 0x10000)
			env.next_buf = BUF_BASE;
		if (s[i].data)
			memcpy(gp(s[i].gpa, s[i].len), s[i].data, s[i].len);
		b[i] =
		    (struct fake_buf){ .gpa = s[i].gpa, .len = s[i].len, .write = s[i].writable };
	}
	return fake_vq_add(&env.vq[q], b, n);
}

/* One writable buffer of `len` bytes on the receive queue. */
static uint16_t add_rx(uint32_t len, gpa_t *gpa)
{
	struct seg s = { .len = len, .writable = true };
	uint16_t head = add_chain(VIRTIO_NET_RXQ, &s, 1);

	if (gpa)
		*gpa = s.gpa;
	return head;
}

/* A transmit chain: header and frame in one readable buffer. */
static uint16_t add_tx(const struct hdr *h, const uint8_t *frame, uint32_t len)
{
	uint8_t *buf = malloc(sizeof(*h) + len);
	struct seg s = { .len = (uint32_t)sizeof(*h) + len, .data = buf };
	uint16_t head;

	memcpy(buf, h, sizeof(*h));
	memcpy(buf + sizeof(*h), frame, len);
	head = add_chain(VIRTIO_NET_TXQ, &s, 1);
	free(buf);
	return head;
}

static void kick(unsigned int q)
{
	fake_kick(env.d, q);
}

/* One pass of the event loop without blocking; returns the events handled. */
static int pump(void)
{
	return fake_evloop_pass(&env.ev, 0);
}

static uint16_t used_idx(unsigned int q)
{
	return fake_vq_used_idx(&env.vq[q]);
}

static void used_elem(unsigned int q, uint16_t i, uint32_t *id, uint32_t *len)
{
	fake_vq_used_elem(&env.vq[q], i, id, len);
}

static void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static bool peer_send(const struct hdr *h, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) }, { (void *)frame, len } };

	return writev(env.peer, iov, 2) == (ssize_t)(sizeof(*h) + len);
}

static struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(env.d, &s);
	return s;
}

/* ------------------------------------------------------------ config */

static void net_config_space(void)
{
	REQUIRE(setup(0, QSIZE));
	CHECK(env.d->ops->device_id == VIRTIO_ID_NET);
	CHECK(env.d->ops->nqueues == 2);
	CHECK(env.d->ops->config_size == 8);
	CHECK(memcmp(env.d->config, test_mac, 6) == 0);
	CHECK(env.d->config[6] == 1 && env.d->config[7] == 0); /* LINK_UP */
	CHECK(env.d->ops->features & F(MAC));
	CHECK(env.d->ops->features & F(STATUS));
	CHECK(env.d->ops->features & F(MRG_RXBUF));
	CHECK(!(env.d->ops->features & VIRTIO_BIT(10))); /* no GUEST_UFO */
	CHECK(!(env.d->ops->features & VIRTIO_BIT(14))); /* no HOST_UFO */
	CHECK(!(env.d->ops->features & VIRTIO_BIT(17))); /* no control queue */
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

/* --------------------------------------------------- through virtio-mmio */

/* The device behind the real transport, set up through its registers as
 * Linux's drivers do, with the features Linux accepts. */
static void net_through_mmio(void)
{
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | F(MAC) |
			F(STATUS) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) |
			F(GUEST_TSO4);
	struct virtio_mmio *mmio;
	struct hdr h = { 0 };
	uint8_t frame[60], got[100], mac[6];
	gpa_t buf;
	int sv[2];

	env_clear();
	REQUIRE(fake_gm_init(&env.gm, 0, RAM_SIZE));
	REQUIRE(evloop_init(&env.ev) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	env.peer = sv[1];
	mmio = virtio_mmio_new();
	REQUIRE(mmio);
	REQUIRE(virtio_net_create_fd(&mmio->dev, &env.ev, &env.gm, sv[0], false, test_mac) == 0);
	REQUIRE(virtio_mmio_attach(mmio, &env.ev, -1, 0xd1000000, 5) == 0);
	env.d = &mmio->dev;

	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_DEVICE_ID) == VIRTIO_ID_NET);
	CHECK((fake_mmio_features(mmio) & want) == want);
	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)fake_mmio_read_n(mmio, VIRTIO_MMIO_REG_CONFIG + i, 1);
	CHECK(memcmp(mac, test_mac, 6) == 0);
	CHECK(fake_mmio_read_n(mmio, VIRTIO_MMIO_REG_CONFIG + 6, 2) == 1);

	REQUIRE(fake_mmio_negotiate(mmio, want) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int q = 0; q < 2; q++) {
		fake_mmio_write(mmio, VIRTIO_MMIO_REG_QUEUE_SEL, q);
		CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == 256);
		ring_init(q, QSIZE);
		fake_mmio_queue(mmio, q, &env.vq[q]);
	}
	for (unsigned int i = 0; i < 48; i++) /* 64 KiB: the guest takes TSO */
		add_rx(1536, i == 0 ? &buf : NULL);
	REQUIRE(fake_mmio_driver_ok(mmio) == FAKE_STATUS_DRIVER_OK);

	fill_frame(frame, sizeof(frame), 17);
	add_tx(&h, frame, sizeof(frame));
	fake_mmio_write(mmio, VIRTIO_MMIO_REG_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	CHECK(recv(env.peer, got, sizeof(got), MSG_DONTWAIT) == 72);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1);
	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	fake_mmio_write(mmio, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	CHECK(memcmp(gp(buf + 12, sizeof(frame)), frame, sizeof(frame)) == 0);
	CHECK(fake_mmio_read(mmio, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);

	fake_mmio_write(mmio, VIRTIO_MMIO_REG_STATUS, 0); /* reset: no more frames taken */
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	CHECK(pump() == 0);

	virtio_mmio_free(mmio);
	env.d = &env.dev;
	teardown();
}

/* ------------------------------------------------------------ real tap */

#define TAP_NAME "ptrl0"

/* The device's tap fd, found through /proc (the device keeps it private). */
static int find_tun_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		char path[300], target[64];
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l > 0 && (target[l] = 0, strcmp(target, "/dev/net/tun") == 0))
			fd = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return fd;
}

static bool link_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;
	int fd;

	/* No IPv6 on the test tap, so the kernel sends nothing of its own. */
	fd = open("/proc/sys/net/ipv6/conf/" TAP_NAME "/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "could not disable IPv6 on " TAP_NAME "\n");
		close(fd);
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP;
	ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

static void net_real_tap(void)
{
	struct net_config cfg = { .tap = TAP_NAME, .mac_set = true };
	struct ifreq ifr = { 0 };
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t frame[100], big[300], got[2000];
	struct hdr h = { 0 }, out;
	uint32_t id, len;
	int fd, hdrsz = 0, pkt = -1;
	unsigned int ifindex;
	gpa_t buf;
	ssize_t n;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP("/dev/net/tun is not available");
	close(fd);
	if (unshare(CLONE_NEWNET))
		SKIP("cannot make a network namespace (needs CAP_SYS_ADMIN)");
	env_clear();
	REQUIRE(fake_gm_init(&env.gm, 0, RAM_SIZE));
	pthread_mutex_init(&env.d->lock, NULL);
	REQUIRE(evloop_init(&env.ev) == 0);
	CHECK(tap_open("an-overlong-interface-name", 12) == -EINVAL);
	memcpy(cfg.mac, test_mac, 6);
	strcpy(cfg.tap, "lo"); /* exists, but is not a tap */
	CHECK(virtio_net_create(env.d, &env.ev, &env.gm, &cfg) == -EINVAL);
	cfg.mac[0] = 1; /* multicast */
	strcpy(cfg.tap, TAP_NAME);
	CHECK(virtio_net_create(env.d, &env.ev, &env.gm, &cfg) == -EINVAL);
	CHECK(if_nametoindex(TAP_NAME) == 0);
	cfg.mac[0] = test_mac[0];
	REQUIRE(virtio_net_create(env.d, &env.ev, &env.gm, &cfg) == 0);
	fake_transport_attach(env.d, &env.ft);

	/* Created, as a single-queue tap with 12-byte virtio-net headers. */
	ifindex = if_nametoindex(TAP_NAME);
	CHECK(ifindex != 0);
	fd = find_tun_fd();
	REQUIRE(fd >= 0);
	REQUIRE(ioctl(fd, TUNGETIFF, &ifr) == 0);
	CHECK(strcmp(ifr.ifr_name, TAP_NAME) == 0);
	CHECK((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE)) ==
	      (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
	CHECK(ioctl(fd, TUNGETVNETHDRSZ, &hdrsz) == 0 && hdrsz == 12);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);

	/* Offloads from the negotiated features are accepted by the tap. */
	REQUIRE(start(F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) | F(CSUM) |
			  F(HOST_TSO4) | F(HOST_TSO6),
		      QSIZE));
	CHECK(env.ft.needs_reset == 0);

	/* Frames both ways, seen by a packet socket on the host side. */
	REQUIRE(link_up(TAP_NAME));
	pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	REQUIRE(pkt >= 0);
	ll.sll_ifindex = (int)ifindex;
	REQUIRE(bind(pkt, (struct sockaddr *)&ll, sizeof(ll)) == 0);

	memset(frame, 0xff, 6); /* broadcast */
	memcpy(frame + 6, test_mac, 6);
	frame[12] = 0x88; /* IEEE 802 local experimental EtherType */
	frame[13] = 0xb5;
	fill_frame(frame + 14, sizeof(frame) - 14, 13);
	add_tx(&h, frame, sizeof(frame));
	kick(VIRTIO_NET_TXQ);
	CHECK(stats().tx_frames == 1);
	do
		n = recv(pkt, got, sizeof(got), MSG_DONTWAIT);
	while (n > 0 && !(got[12] == 0x88 && got[13] == 0xb5));
	CHECK(n == sizeof(frame) && memcmp(got, frame, sizeof(frame)) == 0);

	/* A TCPv4 segmentation request: the kernel checks the header against
	 * the frame and takes it whole. */
	{
		static uint8_t tso[14 + 20 + 20 + 4000];
		struct hdr th = { .flags = 1,
				  .gso_type = 1,
				  .hdr_len = 54,
				  .gso_size = 1448,
				  .csum_start = 34,
				  .csum_offset = 16 };
		uint16_t tot = htons(sizeof(tso) - 14);

		memcpy(tso, frame, 12);
		tso[12] = 0x08; /* IPv4 */
		tso[14] = 0x45;
		memcpy(tso + 16, &tot, 2);
		tso[22] = 64;
		tso[23] = 6; /* TCP */
		memcpy(tso + 26, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		tso[46] = 0x50; /* data offset 5 */
		tso[47] = 0x18; /* PSH ACK */
		add_tx(&th, tso, sizeof(tso));
		kick(VIRTIO_NET_TXQ);
		CHECK(stats().tx_frames == 2 && stats().tx_dropped == 0);
		th.gso_type = 4; /* TCPv6 metadata on an IPv4 frame: refused */
		add_tx(&th, tso, sizeof(tso));
		kick(VIRTIO_NET_TXQ);
		CHECK(stats().tx_frames == 2 && stats().tx_dropped == 1);
	}

	/* Into the guest; a frame too big for its buffer is dropped (the tap
	 * truncates it silently) and the buffer kept. */
	add_rx(200, &buf);
	kick(VIRTIO_NET_RXQ);
	memcpy(big, frame, 14);
	fill_frame(big + 14, sizeof(big) - 14, 14);
	REQUIRE(sendto(pkt, big, sizeof(big), 0, (struct sockaddr *)&ll, sizeof(ll)) ==
		sizeof(big));
	usleep(10000);
	pump();
	CHECK(stats().rx_dropped == 1);
	CHECK(used_idx(VIRTIO_NET_RXQ) == 0);
	REQUIRE(sendto(pkt, frame, sizeof(frame), 0, (struct sockaddr *)&ll, sizeof(ll)) ==
		sizeof(frame));
	usleep(10000);
	pump();
	REQUIRE(used_idx(VIRTIO_NET_RXQ) == 1);
	used_elem(VIRTIO_NET_RXQ, 0, &id, &len);
	CHECK(len == 12 + sizeof(frame));
	memcpy(&out, gp(buf, 12), 12);
	CHECK(out.num_buffers == 1 && out.gso_type == 0);
	CHECK(memcmp(gp(buf + 12, sizeof(frame)), frame, sizeof(frame)) == 0);
	CHECK(env.ft.used[VIRTIO_NET_RXQ] == 1);
	close(pkt);

	env.d->ops->destroy(env.d);
	env.d->ops = NULL;
	CHECK(if_nametoindex(TAP_NAME) == 0); /* created by petrel: gone with it */
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
	RUN(net_through_mmio);
	RUN(net_real_tap); /* last: it moves the process into a new network namespace */
	return harness_exit();
}
