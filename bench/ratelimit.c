/* SPDX-License-Identifier: MIT */
/*
 * Rate limiter benchmark (bench/run ratelimit): the real virtio-blk,
 * virtio-net and virtio-rng code petrel runs, driven through fake guest
 * memory (tests/unit/fake_virtq.h) by a driver that keeps a queue full,
 * with the limit set through the devices' setters as the control plane
 * does. No KVM: the driver and the event loop share this thread, kicks are
 * handled inline as for a vCPU without ioeventfd, completions and the
 * limiters' timers arrive through the event loop.
 *
 *   bench-ratelimit CASE RATE SECONDS
 *
 * CASE         what is limited, counted in the limiter's own units
 *   blk-bw     bandwidth, bytes: 64 KiB reads, 16 in flight
 *   blk-ops    ops, requests: 4 KiB reads, 16 in flight
 *   net-tx-bw  tx bandwidth, bytes with the 12-byte header: 1514-byte frames
 *   net-rx-bw  rx bandwidth, the same, frames from a socket pair peer
 *   rng-bw     bandwidth, bytes: 4 KiB requests, 32 in flight
 *   rng-ops    ops, requests: 64-byte requests, 32 in flight
 * RATE: units per second (0: no limit); the bucket holds 1 s of it and
 * refills in 1000 ms (a stall of the whole host shorter than that loses
 * no credit), no one-time burst. The achieved rate is measured over
 * SECONDS from the first request the limiter holds back, when the
 * bucket's initial fill is spent and it is empty; if none is held back
 * within 5 s (the device cannot reach the rate), and without a limit, from
 * 0.5 s after the start. Prints "RESULT CASE RATE ACHIEVED UNITS
 * LIMITED", LIMITED 1 if the window began at a held-back request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "le.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/rng.h"

#define RAM (64u << 20)
#define DISK (64u << 20)
#define WARMUP_NS 500000000ULL
#define DRAIN_MAX_NS 5000000000ULL
#define FRAME 1514
#define CHAIN_NET (VIRTIO_NET_HDR_LEN + FRAME)

enum kind { BLK, NET_TX, NET_RX, RNG };

struct bench_case {
	const char *name;
	enum kind kind;
	bool ops;	    /* the ops bucket (else bandwidth) */
	uint32_t len;	    /* request or buffer size */
	unsigned int depth; /* chains kept posted */
	uint16_t qsize;
};

static const struct bench_case cases[] = {
	{ "blk-bw", BLK, false, 65536, 16, 64 },
	{ "blk-ops", BLK, true, 4096, 16, 64 },
	{ "net-tx-bw", NET_TX, false, CHAIN_NET, 128, 256 },
	{ "net-rx-bw", NET_RX, false, CHAIN_NET, 128, 256 },
	{ "rng-bw", RNG, false, 4096, 32, 64 },
	{ "rng-ops", RNG, true, 64, 32, 64 },
};

static struct {
	const struct bench_case *c;
	struct gm gm;
	struct evloop ev;
	struct virtio_dev dev;
	struct fake_transport ft;
	struct fake_vq vq;  /* the queue driven */
	struct fake_vq vq2; /* net: the other one */
	unsigned int q;	    /* its index */
	int peer;	    /* net: the other end of the backend */
	uint64_t seq;	    /* blk: next sector */
} b = { .peer = -1 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "bench-ratelimit: %s\n", what);
	exit(1);
}

/* Guest layout: the driven queue's rings at 0x1000.., the other's at
 * 0x10000.., slot i's buffers at 0x100000 + i * 0x10000 (headers and
 * status bytes at 0x80000 + 32 * i). */
#define HDR(i) (0x80000u + 32u * (i))
#define BUF(i) (0x100000u + 0x10000u * (i))

/* (Re)post slot i as chain head i (blk: descriptors 3i..3i+2). */
static void post(unsigned int i)
{
	struct fake_vq *fq = &b.vq;

	switch (b.c->kind) {
	case BLK: {
		uint8_t *h = gm_ptr(&b.gm, HDR(i), 16);
		uint16_t d = (uint16_t)(3 * i);

		le_put(h, VIRTIO_BLK_T_IN, 4);
		le_put(h + 4, 0, 4);
		le_put(h + 8, b.seq, 8);
		b.seq = (b.seq + b.c->len / 512) % (DISK / 512 - b.c->len / 512);
		fake_vq_desc(fq, d, HDR(i), 16, FAKE_DESC_F_NEXT, (uint16_t)(d + 1));
		fake_vq_desc(fq, (uint16_t)(d + 1), BUF(i), b.c->len,
			     FAKE_DESC_F_NEXT | FAKE_DESC_F_WRITE, (uint16_t)(d + 2));
		fake_vq_desc(fq, (uint16_t)(d + 2), HDR(i) + 16, 1, FAKE_DESC_F_WRITE, 0);
		fake_vq_publish(fq, d);
		return;
	}
	case NET_TX:
		fake_vq_desc(fq, (uint16_t)i, BUF(i % 64) + (i / 64) * 0x4000u, b.c->len, 0, 0);
		break;
	case NET_RX:
	case RNG:
		fake_vq_desc(fq, (uint16_t)i, BUF(i % 64) + (i / 64) * 0x4000u, b.c->len,
			     FAKE_DESC_F_WRITE, 0);
		break;
	}
	fake_vq_publish(fq, (uint16_t)i);
}

static void setup(uint64_t rate)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 1, 2, 3 };
	struct token_bucket_config tb = { rate, 0, 1000 };
	struct ratelimit_config limit = { 0 }, none = { 0 };
	int sv[2];

	if (!fake_gm_init(&b.gm, 0, RAM) || evloop_init(&b.ev))
		die("guest memory or event loop");
	pthread_mutex_init(&b.dev.lock, NULL);
	*(b.c->ops ? &limit.ops : &limit.bandwidth) = tb;
	switch (b.c->kind) {
	case BLK: {
		struct disk_config cfg = { 0 };
		int fd;

		snprintf(cfg.path, sizeof(cfg.path), "%s/petrel-bench-rl-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		fd = mkstemp(cfg.path);
		if (fd < 0 || ftruncate(fd, DISK))
			die("image file");
		if (virtio_blk_create(&b.dev, &b.ev, &b.gm, &cfg) || b.dev.ops->start(&b.dev, NULL))
			die("virtio-blk");
		unlink(cfg.path);
		close(fd);
		virtio_blk_set_ratelimit(&b.dev, &limit);
		break;
	}
	case NET_TX:
	case NET_RX:
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			die("socketpair");
		/* Room for the bucket's first fill: a tap never refuses a
		 * writer, a full socket would drop frames (as tx_dropped). */
		if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &(int){ 16 << 20 }, sizeof(int)))
			(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 16 << 20 },
					 sizeof(int));
		b.peer = sv[1];
		if (virtio_net_create_fd(&b.dev, &b.ev, &b.gm, sv[0], false, mac))
			die("virtio-net");
		if (b.c->kind == NET_TX)
			virtio_net_set_ratelimit(&b.dev, &none, &limit);
		else
			virtio_net_set_ratelimit(&b.dev, &limit, &none);
		break;
	case RNG:
		if (virtio_rng_create(&b.dev, &b.ev, &b.gm, &(struct rng_config){ 0 }))
			die("virtio-rng");
		virtio_rng_set_ratelimit(&b.dev, &limit);
		break;
	}
	fake_transport_attach(&b.dev, &b.ft);
	b.dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	b.q = b.c->kind == NET_TX ? VIRTIO_NET_TXQ : 0;
	fake_vq_init(&b.vq, &b.gm, b.c->qsize, 0x1000, 0x3000, 0x5000);
	if (!fake_vq_start(&b.dev, b.q, &b.vq))
		die("queue");
	if (b.c->kind == NET_TX || b.c->kind == NET_RX) {
		fake_vq_init(&b.vq2, &b.gm, 16, 0x10000, 0x11000, 0x12000);
		if (!fake_vq_start(&b.dev, b.q ^ 1, &b.vq2))
			die("queue");
	}
	b.dev.status = FAKE_STATUS_DRIVER_OK;
	if (b.dev.ops->activate && b.dev.ops->activate(&b.dev))
		die("activate");
}

/* Times the device held a request back for its limit. */
static uint64_t throttled(void)
{
	struct virtio_blk_stats bs;
	struct virtio_net_stats ns;
	struct virtio_rng_stats rs;

	switch (b.c->kind) {
	case BLK:
		virtio_blk_get_stats(&b.dev, &bs);
		return bs.throttled;
	case NET_TX:
	case NET_RX:
		virtio_net_get_stats(&b.dev, &ns);
		return b.c->kind == NET_TX ? ns.tx_throttled : ns.rx_throttled;
	case RNG:
		virtio_rng_get_stats(&b.dev, &rs);
		return rs.throttled;
	}
	return 0;
}

/* Units the device has passed so far: for net, the bytes (with their
 * header) of frames that reached the other side; else the bytes or
 * requests completed (`used`, counted by the caller). */
static uint64_t units(uint64_t used)
{
	struct virtio_net_stats st;

	if (b.c->kind != NET_TX && b.c->kind != NET_RX)
		return used;
	virtio_net_get_stats(&b.dev, &st);
	return b.c->kind == NET_TX ? st.tx_bytes + VIRTIO_NET_HDR_LEN * st.tx_frames
				   : st.rx_bytes + VIRTIO_NET_HDR_LEN * st.rx_frames;
}

/* Net: keep the peer's side moving (take what the device sent, give it
 * frames to receive while the socket takes them). */
static void peer(void)
{
	static uint8_t frame[CHAIN_NET];

	if (b.c->kind == NET_TX)
		while (recv(b.peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
			;
	else
		while (send(b.peer, frame, sizeof(frame), MSG_DONTWAIT) > 0)
			;
}

int main(int argc, char **argv)
{
	uint64_t rate, t0, start = 0, end, now, used = 0, base = 0, secs;
	bool kick = true, limited = false;
	unsigned int i;

	if (argc != 4)
		die("usage: bench-ratelimit CASE RATE SECONDS");
	for (i = 0; i < ARRAY_SIZE(cases) && strcmp(cases[i].name, argv[1]); i++)
		;
	if (i == ARRAY_SIZE(cases))
		die("unknown case");
	b.c = &cases[i];
	rate = strtoull(argv[2], NULL, 0);
	setup(rate);
	for (i = 0; i < b.c->depth; i++)
		post(i);
	secs = (uint64_t)(strtod(argv[3], NULL) * 1e9);
	t0 = now_ns();
	end = UINT64_MAX;
	for (now = t0; now < end; now = now_ns()) {
		uint32_t id, len;

		/* The window opens when the bucket is first found empty. */
		if (!start &&
		    ((rate && throttled()) || now >= t0 + (rate ? DRAIN_MAX_NS : WARMUP_NS))) {
			limited = rate && throttled();
			start = now;
			end = start + secs;
			base = units(used);
		}
		if (b.peer >= 0)
			peer();
		if (kick)
			fake_kick(&b.dev, b.q);
		/* Block (1 ms at most) only when there was nothing to do. */
		fake_evloop_pass(&b.ev, kick ? 0 : 1);
		kick = false;
		while (fake_vq_next_used(&b.vq, &id, &len)) {
			used += b.c->ops ? 1 : b.c->kind == BLK ? len - 1 : len;
			post(b.c->kind == BLK ? id / 3 : id);
			kick = true;
		}
		if (b.dev.status & VIRTIO_STATUS_NEEDS_RESET)
			die("the device failed");
	}
	used = units(used) - base;
	printf("RESULT %s %llu %.0f %llu %d\n", b.c->name, (unsigned long long)rate,
	       (double)used / ((double)(now - start) / 1e9), (unsigned long long)used, limited);
	if (b.peer >= 0) {
		struct virtio_net_stats st;

		virtio_net_get_stats(&b.dev, &st);
		if (st.tx_dropped)
			fprintf(stderr, "bench-ratelimit: %llu frames dropped (socket full)\n",
				(unsigned long long)st.tx_dropped);
	}
	b.dev.ops->destroy(&b.dev);
	if (b.peer >= 0)
		close(b.peer);
	evloop_destroy(&b.ev);
	fake_gm_free(&b.gm);
	return 0;
}
