/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's rate limiters, each direction its own, over the socket
 * pair of virtio_net_env.h with real timers: over the tx limit frames stay
 * on the ring, over the rx limit they stay in the backend's queue (the
 * device stops reading it), and the timer brings the device back; nothing
 * is dropped. Bytes count the 12-byte header, as in Firecracker. Timing
 * checks are bounds no slow test host can break (see
 * test_virtio_ratelimit.c).
 */
#include "throttle_env.h"
#include "virtio_net_env.h"

static const struct ratelimit_config none;

static uint16_t add_tx_frames(unsigned int n, size_t len)
{
	struct hdr h = { 0 };
	uint8_t frame[6000];
	uint16_t head = 0;

	for (unsigned int i = 0; i < n; i++) {
		fill_frame(frame, len, (uint8_t)i);
		head = add_tx(&h, frame, (uint32_t)len);
	}
	return head;
}

static unsigned int peer_frames(void)
{
	uint8_t buf[8192];
	unsigned int n = 0;

	while (recv(env.peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* One frame per 40 ms out: the rest wait on the ring for the timer. */
static void net_limit_tx_ops(void)
{
	struct ratelimit_config tx = { .ops = { 1, 0, 40 } };
	uint64_t t0, dt;
	uint16_t sent;

	REQUIRE(setup(0, QSIZE));
	t0 = now_ns();
	virtio_net_set_ratelimit(env.d, &none, &tx);
	add_tx_frames(4, 60);
	kick(VIRTIO_NET_TXQ);
	dt = now_ns() - t0;
	sent = used_idx(VIRTIO_NET_TXQ);
	CHECK(sent >= 1 && sent <= 1 + dt / (40 * MS));
	CHECK(env.d->vq[VIRTIO_NET_TXQ].last_avail == sent);
	CHECK(peer_frames() == sent);
	CHECK(run_until(&env.ev, &env.vq[VIRTIO_NET_TXQ], 4));
	CHECK(now_ns() - t0 >= 120 * MS);
	CHECK(peer_frames() == 4u - sent);
	CHECK(stats().tx_frames == 4 && stats().tx_dropped == 0);
	CHECK(stats().tx_throttled >= 1 && stats().tx_throttled <= 3);
	CHECK(stats().rx_throttled == 0 && env.ft.needs_reset == 0);
	teardown();
}

/* 130 bytes: one 72-byte chain (60 + the header) and not two; without
 * the header two would fit. */
static void net_limit_tx_bytes(void)
{
	struct ratelimit_config tx = { .bandwidth = { 130, 0, 100000 } };

	REQUIRE(setup(0, QSIZE));
	virtio_net_set_ratelimit(env.d, &none, &tx);
	add_tx_frames(3, 60);
	kick(VIRTIO_NET_TXQ);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1 && peer_frames() == 1);
	virtio_net_set_ratelimit(env.d, &none, &none);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 3 && peer_frames() == 2);
	teardown();
}

/* One frame per 40 ms in: the rest wait in the backend's queue. */
static void net_limit_rx_ops(void)
{
	struct ratelimit_config rx = { .ops = { 1, 0, 40 } };
	struct hdr h = { 0 };
	uint8_t frame[60];
	uint64_t t0, dt;
	uint16_t got;

	REQUIRE(setup(0, QSIZE));
	t0 = now_ns();
	virtio_net_set_ratelimit(env.d, &rx, &none);
	for (unsigned int i = 0; i < 8; i++)
		add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 3);
	for (unsigned int i = 0; i < 4; i++)
		REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	dt = now_ns() - t0;
	got = used_idx(VIRTIO_NET_RXQ);
	CHECK(got >= 1 && got <= 1 + dt / (40 * MS));
	CHECK(run_until(&env.ev, &env.vq[VIRTIO_NET_RXQ], 4));
	CHECK(now_ns() - t0 >= 120 * MS);
	CHECK(stats().rx_frames == 4 && stats().rx_dropped == 0);
	/* Pauses of the reader: one per frame at most, the last one found
	 * nothing more to read. */
	CHECK(stats().rx_throttled >= 1 && stats().rx_throttled <= 4);
	teardown();
}

/* A received frame is charged whole once read, header included, and the
 * debt delays the next: 5012 bytes on a 1000-byte bucket refilling 100
 * bytes per ms leave 4012 owed, so the next frame waits 40 ms. */
static void net_limit_rx_bytes(void)
{
	struct ratelimit_config rx = { .bandwidth = { 1000, 0, 10 } };
	struct hdr h = { 0 };
	static uint8_t frame[5000];
	uint64_t t0;

	REQUIRE(setup(0, QSIZE));
	t0 = now_ns();
	virtio_net_set_ratelimit(env.d, &rx, &none);
	for (unsigned int i = 0; i < 4; i++)
		add_rx(6000, NULL);
	kick(VIRTIO_NET_RXQ);
	fill_frame(frame, sizeof(frame), 9);
	REQUIRE(peer_send(&h, frame, sizeof(frame)));
	REQUIRE(peer_send(&h, frame, 60));
	pump();
	CHECK(used_idx(VIRTIO_NET_RXQ) == 1 || now_ns() - t0 >= 40 * MS);
	CHECK(run_until(&env.ev, &env.vq[VIRTIO_NET_RXQ], 2));
	CHECK(now_ns() - t0 >= 40 * MS);
	CHECK(stats().rx_bytes == 5060 && stats().rx_dropped == 0);
	teardown();
}

/* Frames the tx limit held back while the VM was paused (the timer fired
 * meanwhile, and serves nothing then) go out on resume; the rx side reads
 * nothing while paused. */
static void net_limit_pause(void)
{
	struct ratelimit_config one = { .ops = { 1, 0, 20 } };
	struct hdr h = { 0 };
	uint8_t frame[60] = { 0 };
	uint64_t end;

	REQUIRE(setup(0, QSIZE));
	virtio_net_set_ratelimit(env.d, &one, &one);
	add_tx_frames(2, 60);
	kick(VIRTIO_NET_TXQ);
	add_rx(1526, NULL);
	add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	REQUIRE(peer_send(&h, frame, sizeof(frame)) && peer_send(&h, frame, sizeof(frame)));
	pump();
	REQUIRE(used_idx(VIRTIO_NET_TXQ) == 1 && used_idx(VIRTIO_NET_RXQ) == 1);
	virtio_lock(env.d);
	env.d->paused = true; /* as the transport's pause does, then net_pause */
	virtio_unlock(env.d);
	env.d->ops->pause(env.d);
	end = now_ns() + 100 * MS;
	while (now_ns() < end)
		pump();
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1 && used_idx(VIRTIO_NET_RXQ) == 1);
	virtio_lock(env.d);
	env.d->paused = false;
	virtio_unlock(env.d);
	env.d->ops->resume(env.d);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 2 && peer_frames() == 2);
	pump();
	CHECK(used_idx(VIRTIO_NET_RXQ) == 2);
	teardown();
}

/* A new limit applies to what waits, both ways; a reset disarms both
 * timers; teardown leaves no descriptor behind. */
static void net_limit_patch_and_reset(void)
{
	struct ratelimit_config slow = { .ops = { 1, 0, 100000 } };
	struct ratelimit_config slower = { .ops = { 1, 0, 200000 } };
	struct hdr h = { 0 };
	uint8_t frame[60] = { 0 };
	int fds = open_fds();

	REQUIRE(setup(0, QSIZE));
	virtio_net_set_ratelimit(env.d, &slow, &slow);
	add_tx_frames(3, 60);
	kick(VIRTIO_NET_TXQ);
	for (unsigned int i = 0; i < 4; i++)
		add_rx(1526, NULL);
	kick(VIRTIO_NET_RXQ);
	for (unsigned int i = 0; i < 3; i++)
		REQUIRE(peer_send(&h, frame, sizeof(frame)));
	pump();
	CHECK(used_idx(VIRTIO_NET_TXQ) == 1 && used_idx(VIRTIO_NET_RXQ) == 1);
	CHECK(armed_timers() == 2);
	virtio_net_set_ratelimit(env.d, &none, &none);
	CHECK(armed_timers() == 0);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 3);
	pump();
	CHECK(used_idx(VIRTIO_NET_RXQ) == 3);
	CHECK(peer_frames() == 3);

	virtio_net_set_ratelimit(env.d, &slower, &slower);
	add_tx_frames(2, 60);
	kick(VIRTIO_NET_TXQ);
	CHECK(used_idx(VIRTIO_NET_TXQ) == 4 && armed_timers() == 1);
	virtio_lock(env.d);
	env.d->ops->reset(env.d);
	for (unsigned int q = 0; q < 2; q++)
		virtq_reset(&env.d->vq[q]);
	env.d->status = 0;
	virtio_unlock(env.d);
	CHECK(armed_timers() == 0);
	CHECK(stats().tx_dropped == 0 && stats().rx_dropped == 0);
	teardown();
	CHECK(open_fds() == fds);
}

int main(void)
{
	RUN(net_limit_tx_ops);
	RUN(net_limit_tx_bytes);
	RUN(net_limit_rx_ops);
	RUN(net_limit_rx_bytes);
	RUN(net_limit_pause);
	RUN(net_limit_patch_and_reset);
	return harness_exit();
}
