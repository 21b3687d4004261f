/* SPDX-License-Identifier: MIT */
/* The virtio-mmio transport driven through its registers, as a hostile
 * driver would, with the real rng device behind it (no KVM: kicks are
 * handled inline, interrupts signal irq_fd). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "harness.h"
#include "virtio/mmio.h"
#include "virtio/rng.h"

#define RAM (1u << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define BUF 0x10000

static struct gm gm;
static struct evloop ev;
static struct virtio_mmio *m;

/* Offsets are written as numbers here, from the spec's table, so that
 * they check the transport's names for them (which fake_virtq.h uses). */
static uint32_t rd(uint64_t off)
{
	return fake_mmio_read(m, off);
}

static void wr(uint64_t off, uint32_t v)
{
	fake_mmio_write(m, off, v);
}

static bool open_rng(void)
{
	if (!fake_gm_init(&gm, 0, RAM) || evloop_init(&ev))
		return false;
	m = virtio_mmio_new();
	return m && !virtio_rng_create(&m->dev, &ev, &gm, &(struct rng_config){ 0 }) &&
	       !virtio_mmio_attach(m, &ev, -1, 0xd1000000, 5);
}

static void close_rng(void)
{
	virtio_mmio_free(m);
	m = NULL;
	evloop_destroy(&ev);
	fake_gm_free(&gm);
}

/* Reset, then the handshake of 3.1.1 up to FEATURES_OK; returns the
 * status read back. */
static uint32_t negotiate(uint64_t features)
{
	wr(0x70, 0);
	return fake_mmio_negotiate(m, features);
}

/* Queue 0 with `num` entries, its descriptors at `desc`. */
static void queue_setup(uint16_t num, gpa_t desc, struct fake_vq *fq)
{
	fake_vq_init(fq, &gm, num, desc, AVAIL, USED);
	fake_mmio_queue(m, 0, fq);
}

static void mmio_identity(void)
{
	REQUIRE(open_rng());
	CHECK(rd(0x00) == 0x74726976 && rd(0x04) == 2 && rd(0x08) == 4);
	wr(0x14, 1);
	CHECK(rd(0x10) & 1); /* VERSION_1 is bit 32 */
	wr(0x14, 7);
	CHECK(rd(0x10) == 0);
	wr(0x30, 0);
	CHECK(rd(0x34) == 64);
	wr(0x30, 1); /* rng has one queue */
	CHECK(rd(0x34) == 0);
	close_rng();
}

static void mmio_features_ok_rules(void)
{
	REQUIRE(open_rng());
	CHECK(!(negotiate(0) & 8));			 /* legacy drivers are refused */
	CHECK(!(negotiate(1ULL << 32 | 1ULL << 5) & 8)); /* a feature not offered */
	CHECK(negotiate(1ULL << 32) & 8);
	close_rng();
}

static void mmio_rng_request(void)
{
	struct fake_vq fq;
	uint32_t head, len;
	uint8_t *buf;
	uint64_t n = 0;

	REQUIRE(open_rng());
	REQUIRE(negotiate(1ULL << 32) & 8);
	queue_setup(16, DESC, &fq);
	CHECK(rd(0x44) == 1);
	wr(0x70, 1 | 2 | 8 | 4);
	REQUIRE(rd(0x70) == (1 | 2 | 8 | 4));
	fake_vq_add(&fq, &(struct fake_buf){ BUF, 64, true }, 1);
	wr(0x50, 0);
	CHECK(fake_vq_next_used(&fq, &head, &len) && head == 0 && len == 64);
	buf = gm_ptr(&gm, BUF, 64);
	CHECK(memcmp(buf, buf + 32, 32) != 0); /* not all zero, or 2^-256 */
	CHECK(read(m->irq_fd, &n, 8) == 8 && n == 1);
	CHECK(rd(0x60) == 1);
	wr(0x64, 1);
	CHECK(rd(0x60) == 0);
	close_rng();
}

static void mmio_hostile_registers(void)
{
	uint8_t b[2] = { 0xff, 0xff };
	struct fake_vq fq;

	REQUIRE(open_rng());
	/* A kick before DRIVER_OK and one for a queue that does not exist. */
	wr(0x50, 0);
	wr(0x50, 7);
	CHECK(rd(0x70) == 0);
	/* Non-32-bit register accesses do nothing; reads stay zero. */
	virtio_mmio_access(m, 0x70, b, 2, true);
	CHECK(rd(0x70) == 0);
	virtio_mmio_access(m, 0x00, b, 2, false);
	CHECK(b[0] == 0xff); /* untouched: the bus had zero-filled a real read */
	/* Config space past the device's (rng has none) reads zero. */
	CHECK(rd(0x100) == 0 && rd(0x1fc) == 0);
	/* A bad queue size or ring address makes the device need a reset. */
	REQUIRE(negotiate(1ULL << 32) & 8);
	queue_setup(3, DESC, &fq);
	CHECK(rd(0x44) == 0 && (rd(0x70) & 64));
	REQUIRE(negotiate(1ULL << 32) & 8);
	CHECK(!(rd(0x70) & 64)); /* reset clears it */
	queue_setup(16, RAM - 16, &fq);
	CHECK(rd(0x44) == 0 && (rd(0x70) & 64));
	/* DRIVER_OK without FEATURES_OK. */
	wr(0x70, 0);
	wr(0x70, 1 | 2 | 4);
	CHECK(rd(0x70) & 64);
	/* Clearing bits other than by reset is ignored. */
	REQUIRE(negotiate(1ULL << 32) & 8);
	wr(0x70, 1);
	CHECK(rd(0x70) == (1 | 2 | 8));
	/* Queue registers of an out-of-range selector are ignored. */
	wr(0x30, 0x10000);
	wr(0x38, 16);
	wr(0x44, 1);
	CHECK(rd(0x44) == 0);
	close_rng();
}

int main(void)
{
	RUN(mmio_identity);
	RUN(mmio_features_ok_rules);
	RUN(mmio_rng_request);
	RUN(mmio_hostile_registers);
	return harness_exit();
}
