/* SPDX-License-Identifier: MIT */
/*
 * The rate limiters of virtio-blk and virtio-rng against fake guest
 * memory, with the real timers and event loop: a queue over its limit is
 * served only in part, the rest stays on the ring and is served when the
 * limiter's timer fires, nothing is failed; a new limit applies at once;
 * a reset or teardown leaves no timer behind. Times are real: each check
 * allows for a test host slower than the limit (served counts are bounded
 * by the time that passed), and rates are checked as lower bounds on the
 * time taken, which no delay can break.
 */
#include <string.h>

#include "harness.h"
#include "throttle_env.h"
#include "virtio/rng.h"
#include "virtio_blk_env.h"

/* ------------------------------------------------------------ virtio-blk */

/* n reads of `len` bytes, request i (from `first`) with its own header,
 * data and status byte; not kicked. */
static void blk_queue_reads(struct bench *t, unsigned int first, unsigned int n, uint32_t len)
{
	for (unsigned int i = first; i < first + n; i++) {
		struct fake_buf b[] = { { HDR_GPA + 32u * i, 16, false },
					{ DATA_GPA + 0x10000u * i, len, true },
					{ STATUS_GPA + i, 1, true } };

		put_hdr(t, i, VIRTIO_BLK_T_IN, i);
		*gptr(t, STATUS_GPA + i, 1) = 0xee;
		fake_vq_add(&t->vq, b, 3);
	}
}

static bool blk_all_ok(struct bench *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (*gptr(t, STATUS_GPA + i, 1) != VIRTIO_BLK_S_OK)
			return false;
	return !(t->dev.status & VIRTIO_STATUS_NEEDS_RESET);
}

static uint64_t blk_throttled(struct bench *t)
{
	struct virtio_blk_stats s;

	virtio_blk_get_stats(&t->dev, &s);
	return s.throttled;
}

/* One op per 40 ms: one of four reads at once, the others one by one as
 * the timer fires, all of them OK. */
static void blk_limit_ops_timer(void)
{
	struct ratelimit_config c = { .ops = { 1, 0, 40 } };
	struct bench t;
	uint64_t t0, dt;
	uint16_t served;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	t0 = now_ns();
	virtio_blk_set_ratelimit(&t.dev, &c);
	blk_queue_reads(&t, 0, 4, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t));
	dt = now_ns() - t0;
	served = used_idx(&t);
	CHECK(served >= 1 && served <= 1 + dt / (40 * MS));
	/* The rest were given back to the ring, untouched. */
	CHECK(t.dev.vq[0].last_avail == served);
	CHECK(served == 4 || blk_throttled(&t) == 1);
	CHECK(run_until(&t.ev, &t.vq, 4));
	CHECK(now_ns() - t0 >= 120 * MS);
	CHECK(blk_all_ok(&t, 4) && used_len(&t, 3) == 513);
	CHECK(blk_throttled(&t) >= 1 && blk_throttled(&t) <= 3);
	bench_close(&t);
}

/* Bandwidth 4 KiB per 100 ms: a 16 KiB read passes on the full bucket
 * (overconsumption), and the 512-byte one behind it waits out the debt:
 * (12288 + 512) bytes at 40960 B/s. */
static void blk_limit_bandwidth(void)
{
	struct ratelimit_config c = { .bandwidth = { 4096, 0, 100 } };
	struct bench t;
	uint64_t t0;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	t0 = now_ns();
	virtio_blk_set_ratelimit(&t.dev, &c);
	blk_queue_reads(&t, 0, 1, 16384);
	blk_queue_reads(&t, 1, 1, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t));
	CHECK(used_idx(&t) == 1 || now_ns() - t0 >= 312 * MS);
	CHECK(run_until(&t.ev, &t.vq, 2));
	CHECK(now_ns() - t0 >= 312 * MS);
	CHECK(blk_all_ok(&t, 2) && used_len(&t, 0) == 16385);
	bench_close(&t);
}

/* A held request waits for the limit, not for kicks; a new limit applies
 * at once: none releases the queue, a new bucket starts full. */
static void blk_limit_patch(void)
{
	struct ratelimit_config slow = { .ops = { 1, 0, 100000 } }, none = { 0 };
	struct ratelimit_config two = { .ops = { 2, 0, 100000 } };
	struct bench t;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	virtio_blk_set_ratelimit(&t.dev, &slow);
	blk_queue_reads(&t, 0, 3, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 1);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 1);
	CHECK(blk_throttled(&t) == 1); /* one wait, however often re-checked */
	virtio_blk_set_ratelimit(&t.dev, &none);
	CHECK(bench_wait(&t) && used_idx(&t) == 3);
	virtio_blk_set_ratelimit(&t.dev, &two);
	blk_queue_reads(&t, 3, 3, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 5);
	CHECK(blk_all_ok(&t, 5) && *gptr(&t, STATUS_GPA + 5, 1) == 0xee);
	bench_close(&t);
}

/* Requests failed by their checks are answered at once and cost nothing;
 * a FLUSH costs an op like a read (as in Firecracker). */
static void blk_limit_what_counts(void)
{
	struct ratelimit_config c = { .ops = { 2, 0, 100000 } };
	struct fake_buf flush[] = { { HDR_GPA + 32, 16, false }, { STATUS_GPA + 1, 1, true } };
	struct bench t;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	virtio_blk_set_ratelimit(&t.dev, &c);
	blk_queue_reads(&t, 0, 1, 512);
	put_hdr(&t, 0, VIRTIO_BLK_T_IN, DISK_SECTORS); /* beyond the end */
	fake_vq_add(&t.vq, flush, 2);
	put_hdr(&t, 1, VIRTIO_BLK_T_FLUSH, 0);
	*gptr(&t, STATUS_GPA + 1, 1) = 0xee;
	blk_queue_reads(&t, 2, 2, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 3);
	CHECK(*gptr(&t, STATUS_GPA, 1) == VIRTIO_BLK_S_IOERR);
	CHECK(*gptr(&t, STATUS_GPA + 1, 1) == VIRTIO_BLK_S_OK);
	CHECK(*gptr(&t, STATUS_GPA + 2, 1) == VIRTIO_BLK_S_OK);
	CHECK(*gptr(&t, STATUS_GPA + 3, 1) == 0xee);
	bench_close(&t);
}

/* What the driver and the transport do for a reset and a new start:
 * queue empty, nothing used. */
static bool blk_restart(struct bench *t)
{
	virtio_lock(&t->dev);
	t->dev.ops->reset(&t->dev);
	virtq_reset(&t->dev.vq[0]);
	t->dev.status = 0;
	virtio_unlock(&t->dev);
	memset(gptr(t, AVAIL_GPA, 0x2000), 0, 0x2000); /* avail and used rings */
	fake_vq_init(&t->vq, &t->gm, 16, DESC_GPA, AVAIL_GPA, USED_GPA);
	if (!fake_vq_start(&t->dev, 0, &t->vq))
		return false;
	t->dev.status = FAKE_STATUS_DRIVER_OK;
	return true;
}

/* A reset disarms the timer (no event comes) and does not refill the
 * bucket; teardown with a request held leaves no descriptor behind. */
static void blk_limit_reset(void)
{
	struct ratelimit_config slow = { .ops = { 1, 0, 100000 } };
	int fds = open_fds();
	struct bench t;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	virtio_blk_set_ratelimit(&t.dev, &slow);
	blk_queue_reads(&t, 0, 2, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 1);
	CHECK(armed_timers() == 1);
	REQUIRE(blk_restart(&t));
	CHECK(armed_timers() == 0);
	blk_queue_reads(&t, 0, 1, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 0); /* still empty after the reset */
	CHECK(armed_timers() == 1);
	bench_close(&t);
	CHECK(open_fds() == fds);
}

/* ------------------------------------------------------------ virtio-rng */

#define RNG_BUF 0x10000

static struct rng_env {
	struct gm gm;
	struct evloop ev;
	struct virtio_dev dev;
	struct fake_transport ft;
	struct fake_vq vq;
} r;

/* The device, limited by `limit` from its creation. */
static bool rng_open_limited(const struct ratelimit_config *limit)
{
	struct rng_config cfg = { .present = true, .limit = *limit };

	memset(&r, 0, sizeof(r));
	if (!fake_gm_init(&r.gm, 0, 1u << 20) || evloop_init(&r.ev))
		return false;
	pthread_mutex_init(&r.dev.lock, NULL);
	if (virtio_rng_create(&r.dev, &r.ev, &r.gm, &cfg))
		return false;
	fake_transport_attach(&r.dev, &r.ft);
	r.dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	fake_vq_init(&r.vq, &r.gm, 16, DESC_GPA, AVAIL_GPA, USED_GPA);
	if (!fake_vq_start(&r.dev, 0, &r.vq))
		return false;
	r.dev.status = FAKE_STATUS_DRIVER_OK;
	return true;
}

static bool rng_open(void)
{
	return rng_open_limited(&(struct ratelimit_config){ 0 });
}

static void rng_close(void)
{
	if (r.dev.ops)
		r.dev.ops->destroy(&r.dev);
	pthread_mutex_destroy(&r.dev.lock);
	evloop_destroy(&r.ev);
	fake_gm_free(&r.gm);
}

static void rng_queue(unsigned int n, uint32_t len)
{
	for (unsigned int i = 0; i < n; i++)
		fake_vq_add(&r.vq, &(struct fake_buf){ RNG_BUF + 0x2000u * i, len, true }, 1);
}

static uint64_t rng_throttled(void)
{
	struct virtio_rng_stats s;

	virtio_rng_get_stats(&r.dev, &s);
	return s.throttled;
}

/* One request per 40 ms, then 128 bytes per 40 ms: the rest waits for the
 * timer, and every request gets all its bytes. */
static void rng_limit_timer(void)
{
	struct ratelimit_config ops = { .ops = { 1, 0, 40 } };
	struct ratelimit_config bw = { .bandwidth = { 128, 0, 40 } };
	uint64_t t0, dt;
	uint16_t served;
	uint32_t id, len;

	REQUIRE(rng_open());
	t0 = now_ns();
	virtio_rng_set_ratelimit(&r.dev, &ops);
	rng_queue(4, 64);
	fake_kick(&r.dev, 0);
	dt = now_ns() - t0;
	served = fake_vq_used_idx(&r.vq);
	CHECK(served >= 1 && served <= 1 + dt / (40 * MS));
	CHECK(r.dev.vq[0].last_avail == served);
	CHECK(run_until(&r.ev, &r.vq, 4));
	CHECK(now_ns() - t0 >= 120 * MS);
	CHECK(rng_throttled() >= 1 && rng_throttled() <= 3);

	/* 64-byte requests, two per 40 ms. */
	t0 = now_ns();
	virtio_rng_set_ratelimit(&r.dev, &bw);
	rng_queue(4, 64);
	fake_kick(&r.dev, 0);
	dt = now_ns() - t0;
	served = (uint16_t)(fake_vq_used_idx(&r.vq) - 4);
	CHECK(served >= 2 && served <= 2 + dt / (20 * MS));
	CHECK(run_until(&r.ev, &r.vq, 8));
	CHECK(now_ns() - t0 >= 40 * MS);
	for (uint16_t i = 0; i < 8; i++) {
		fake_vq_used_elem(&r.vq, i, &id, &len);
		CHECK(len == 64);
	}
	CHECK(!r.ft.needs_reset);
	rng_close();
}

/* A request counts the bytes it gets: a 64 KiB one 4 KiB (the most one
 * gets), so 4096 + 64 bytes pass it and one 64-byte request. */
static void rng_limit_what_counts(void)
{
	struct ratelimit_config c = { .bandwidth = { 4096 + 64, 0, 100000 } };
	uint32_t id, len;

	REQUIRE(rng_open());
	virtio_rng_set_ratelimit(&r.dev, &c);
	rng_queue(1, 0x10000);
	fake_vq_add(&r.vq, &(struct fake_buf){ RNG_BUF + 0x10000, 64, true }, 1);
	fake_vq_add(&r.vq, &(struct fake_buf){ RNG_BUF + 0x11000, 64, true }, 1);
	fake_kick(&r.dev, 0);
	CHECK(fake_vq_used_idx(&r.vq) == 2);
	fake_vq_used_elem(&r.vq, 0, &id, &len);
	CHECK(len == 4096);
	fake_vq_used_elem(&r.vq, 1, &id, &len);
	CHECK(len == 64);
	CHECK(rng_throttled() == 1 && !r.ft.needs_reset);
	rng_close();
}

/* While the VM is paused a limiter's timer that fires serves nothing;
 * resume serves what it let through. */
static void rng_limit_pause(void)
{
	struct ratelimit_config c = { .ops = { 1, 0, 20 } };
	uint64_t end;

	REQUIRE(rng_open());
	virtio_rng_set_ratelimit(&r.dev, &c);
	rng_queue(3, 64);
	fake_kick(&r.dev, 0);
	REQUIRE(fake_vq_used_idx(&r.vq) == 1);
	virtio_lock(&r.dev);
	r.dev.paused = true; /* as the transport's pause does */
	virtio_unlock(&r.dev);
	end = now_ns() + 100 * MS;
	while (now_ns() < end)
		fake_evloop_pass(&r.ev, 10);
	CHECK(fake_vq_used_idx(&r.vq) == 1 && armed_timers() == 0);
	virtio_lock(&r.dev);
	r.dev.paused = false;
	virtio_unlock(&r.dev);
	r.dev.ops->resume(&r.dev);
	CHECK(fake_vq_used_idx(&r.vq) == 2); /* one token: the bucket holds one */
	CHECK(run_until(&r.ev, &r.vq, 3));
	rng_close();
}

/* A new limit applies to what waits; a reset disarms the timer. */
static void rng_limit_patch_and_reset(void)
{
	struct ratelimit_config slow = { .ops = { 1, 0, 100000 } }, none = { 0 };
	struct ratelimit_config slower = { .ops = { 1, 0, 200000 } };
	int fds = open_fds();

	REQUIRE(rng_open());
	virtio_rng_set_ratelimit(&r.dev, &slow);
	rng_queue(3, 64);
	fake_kick(&r.dev, 0);
	CHECK(fake_vq_used_idx(&r.vq) == 1);
	virtio_rng_set_ratelimit(&r.dev, &none);
	CHECK(fake_vq_used_idx(&r.vq) == 3);

	virtio_rng_set_ratelimit(&r.dev, &slower);
	rng_queue(2, 64);
	fake_kick(&r.dev, 0);
	CHECK(fake_vq_used_idx(&r.vq) == 4);
	CHECK(armed_timers() == 1);
	virtio_lock(&r.dev);
	r.dev.ops->reset(&r.dev);
	virtq_reset(&r.dev.vq[0]);
	r.dev.status = 0;
	virtio_unlock(&r.dev);
	CHECK(armed_timers() == 0);
	CHECK(fake_vq_used_idx(&r.vq) == 4);
	rng_close();
	CHECK(open_fds() == fds);
}

/* ------------------------------------------------------------- both */

/* The limits a disk and an entropy device are configured with hold from
 * their creation. */
static void limit_from_config(void)
{
	struct ratelimit_config slow = { .ops = { 1, 0, 100000 } };
	struct bench t;

	REQUIRE(bench_open_limited(&t, "/tmp", false, 16, &slow));
	blk_queue_reads(&t, 0, 2, 512);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t) && used_idx(&t) == 1 && blk_throttled(&t) == 1);
	bench_close(&t);

	REQUIRE(rng_open_limited(&slow));
	fake_vq_add(&r.vq, &(struct fake_buf){ 0x10000, 64, true }, 1);
	fake_vq_add(&r.vq, &(struct fake_buf){ 0x12000, 64, true }, 1);
	fake_kick(&r.dev, 0);
	CHECK(fake_vq_used_idx(&r.vq) == 1);
	rng_close();
}

int main(void)
{
	RUN(blk_limit_ops_timer);
	RUN(blk_limit_bandwidth);
	RUN(blk_limit_patch);
	RUN(limit_from_config);
	RUN(blk_limit_what_counts);
	RUN(blk_limit_reset);
	RUN(rng_limit_timer);
	RUN(rng_limit_what_counts);
	RUN(rng_limit_pause);
	RUN(rng_limit_patch_and_reset);
	return harness_exit();
}
