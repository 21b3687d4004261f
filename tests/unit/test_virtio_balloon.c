/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon behind the real virtio-mmio transport (no KVM: kicks run
 * inline), with the test as the driver: it negotiates features through
 * the registers, builds rings and buffers in guest memory and kicks.
 * Guest memory is an anonymous mapping, so MADV_DONTNEED really drops
 * pages and they read back as zeroes.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_virtq.h"
#include "harness.h"
#include "le.h"
#include "virtio/balloon.h"
#include "virtio/mmio.h"

#define RAM_SIZE (4u << 20)
#define RING_BASE 0x10000 /* queue q's rings at RING_BASE + q * 0x1000 */
#define QSIZE 16
#define DATA 0x100000 /* buffers from 1 MiB */
#define PAGE VIRTIO_BALLOON_PAGE_SIZE

#define F_STATS VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ)
#define F_REPORTING VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_REPORTING)

struct rig {
	struct gm gm;
	uint8_t *ram;
	struct evloop ev;
	struct virtio_mmio *m;
	struct fake_vq q[VIRTIO_MAX_QUEUES];
};

/* Every feature the balloon can offer, statistics every second. */
static const struct balloon_config all_features = {
	.present = true,
	.deflate_on_oom = true,
	.stats_polling_interval_s = 1,
	.free_page_reporting = true,
};

static bool rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->ram == MAP_FAILED)
		return false;
	if (gm_add_region(&r->gm, 0, RAM_SIZE, r->ram) || evloop_init(&r->ev))
		return false;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		gpa_t base = RING_BASE + q * 0x1000;

		fake_vq_init(&r->q[q], &r->gm, QSIZE, base, base + 0x100, base + 0x200);
	}
	r->m = virtio_mmio_new();
	if (!r->m || virtio_balloon_create(&r->m->dev, &r->ev, &r->gm, &all_features))
		return false;
	return virtio_mmio_attach(r->m, &r->ev, -1, 0xd0000000, 5) == 0;
}

static void rig_free(struct rig *r)
{
	virtio_mmio_free(r->m);
	evloop_destroy(&r->ev);
	munmap(r->ram, RAM_SIZE);
}

/* The driver's side of 3.1.1 up to DRIVER_OK: negotiate VERSION_1 plus
 * `features`, set up `nq` queues. */
static bool rig_setup(struct rig *r, uint64_t features, unsigned int nq)
{
	features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	if (!rig_init(r) || !(fake_mmio_negotiate(r->m, features) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned int q = 0; q < nq; q++)
		fake_mmio_queue(r->m, q, &r->q[q]);
	return true;
}

static bool rig_driver_ok(struct rig *r)
{
	return fake_mmio_driver_ok(r->m) & VIRTIO_STATUS_DRIVER_OK;
}

static bool rig_start(struct rig *r, uint64_t features, unsigned int nq)
{
	return rig_setup(r, features, nq) && rig_driver_ok(r);
}

static void drv_kick(struct rig *r, unsigned int q)
{
	fake_mmio_write(r->m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, q);
}

/* Buffers the device used on queue q since the last call; the last
 * one's head and length in *head, *len. */
static unsigned int drv_used(struct rig *r, unsigned int q, uint16_t *head, uint32_t *len)
{
	struct fake_vq *fq = &r->q[q];
	uint16_t idx = fake_vq_used_idx(fq);
	unsigned int n = (uint16_t)(idx - fq->used_seen);
	uint32_t id, l;

	if (n) {
		fake_vq_used_elem(fq, (uint16_t)(idx - 1), &id, &l);
		if (head)
			*head = (uint16_t)id;
		if (len)
			*len = l;
	}
	fq->used_seen = idx;
	return n;
}

static void put_pfns(struct rig *r, gpa_t at, const uint32_t *pfn, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		le_put(r->ram + at + 4 * i, pfn[i], 4);
}

static bool page_is(const struct rig *r, uint32_t pfn, uint8_t v)
{
	const uint8_t *p = r->ram + (size_t)pfn * PAGE;

	for (size_t i = 0; i < PAGE; i++)
		if (p[i] != v)
			return false;
	return true;
}

static struct balloon_stats stats(struct rig *r)
{
	struct balloon_stats st;

	memset(&st, 0xee, sizeof(st));
	if (virtio_balloon_stats(&r->m->dev, &st))
		memset(&st, 0xee, sizeof(st));
	return st;
}

static void put_stat(struct rig *r, gpa_t at, unsigned int i, uint16_t tag, uint64_t val)
{
	le_put(r->ram + at + 10 * i, tag, 2);
	le_put(r->ram + at + 10 * i + 2, val, 8);
}

/* ----------------------------------------------------------------- tests */

static void balloon_identity(void)
{
	struct rig r;
	uint64_t offered;

	REQUIRE(rig_init(&r));
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_DEVICE_ID) == VIRTIO_ID_BALLOON);
	offered = fake_mmio_features(r.m);
	CHECK(offered & F_STATS);
	CHECK(offered & F_REPORTING);
	CHECK(offered & VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	CHECK(!(offered & VIRTIO_BIT(VIRTIO_BALLOON_F_MUST_TELL_HOST)));
	CHECK(!(offered & VIRTIO_BIT(VIRTIO_BALLOON_F_FREE_PAGE_HINT)));
	CHECK(!(offered & VIRTIO_BIT(VIRTIO_BALLOON_F_PAGE_POISON)));
	for (unsigned int off = 0; off < 16; off += 4)
		CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + off) == 0);
	rig_free(&r);
}

/* Inflated pages go back to the host and read back as zeroes; others,
 * deflated ones included, keep their contents. */
static void balloon_inflate_discards(void)
{
	static const uint32_t in[] = { 0x300, 0x301, 0x303, 0x302 + 0x10 };
	static const uint32_t out[] = { 0x305 };
	uint16_t head;
	uint32_t len;
	struct balloon_stats st;
	struct rig r;

	REQUIRE(rig_start(&r, 0, 2));
	memset(r.ram + 0x300 * PAGE, 0x5a, 0x20 * PAGE);
	put_pfns(&r, DATA, in, 4);
	fake_vq_add(&r.q[0], &(struct fake_buf){ DATA, sizeof(in), false }, 1);
	drv_kick(&r, 0);
	CHECK(drv_used(&r, 0, &head, &len) == 1 && head == 0 && len == 0);
	CHECK(page_is(&r, 0x300, 0) && page_is(&r, 0x301, 0) && page_is(&r, 0x303, 0));
	CHECK(page_is(&r, 0x312, 0));
	CHECK(page_is(&r, 0x302, 0x5a) && page_is(&r, 0x304, 0x5a) && page_is(&r, 0x305, 0x5a));

	put_pfns(&r, DATA + PAGE, out, 1);
	fake_vq_add(&r.q[1], &(struct fake_buf){ DATA + PAGE, 4, false }, 1);
	drv_kick(&r, 1);
	CHECK(drv_used(&r, 1, NULL, NULL) == 1);
	CHECK(page_is(&r, 0x305, 0x5a));
	st = stats(&r);
	CHECK(st.inflated == 4 && st.deflated == 1 && st.bad_pfns == 0);
	rig_free(&r);
}

/* PFNs are the guest's word: outside RAM they are ignored (and counted),
 * the request still completes, a trailing partial PFN is dropped. */
static void balloon_bad_pfns(void)
{
	static const uint32_t pfn[] = { RAM_SIZE / PAGE, 0x310, 0xffffffff, RAM_SIZE / PAGE - 1 };
	struct balloon_stats st;
	struct rig r;

	REQUIRE(rig_start(&r, 0, 2));
	memset(r.ram + 0x310 * PAGE, 0x11, PAGE);
	memset(r.ram + RAM_SIZE - PAGE, 0x22, PAGE);
	put_pfns(&r, DATA, pfn, 4);
	/* Two buffers, the PFN array split mid-entry, plus 2 stray bytes. */
	fake_vq_add(&r.q[0], (struct fake_buf[]){ { DATA, 6, false }, { DATA + 6, 12, false } }, 2);
	drv_kick(&r, 0);
	CHECK(drv_used(&r, 0, NULL, NULL) == 1);
	CHECK(page_is(&r, 0x310, 0));
	CHECK(page_is(&r, RAM_SIZE / PAGE - 1, 0));
	st = stats(&r);
	CHECK(st.inflated == 2 && st.bad_pfns == 2);
	CHECK(!(r.m->dev.status & VIRTIO_STATUS_NEEDS_RESET));

	put_pfns(&r, DATA, pfn, 4);
	fake_vq_add(&r.q[1], &(struct fake_buf){ DATA, 16, false }, 1);
	drv_kick(&r, 1);
	CHECK(drv_used(&r, 1, NULL, NULL) == 1);
	st = stats(&r);
	CHECK(st.deflated == 2 && st.bad_pfns == 4);
	/* A writable-only chain holds no PFNs: completed, nothing done. */
	fake_vq_add(&r.q[0], &(struct fake_buf){ DATA, 16, true }, 1);
	drv_kick(&r, 0);
	CHECK(drv_used(&r, 0, NULL, NULL) == 1);
	CHECK(stats(&r).inflated == 2);
	rig_free(&r);
}

/* `actual` is the driver's; num_pages and the rest are not. */
static void balloon_config_space(void)
{
	struct rig r;

	REQUIRE(rig_start(&r, 0, 2));
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_CONFIG + 4, 123);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + 4) == 123);
	CHECK(stats(&r).actual_pages == 123);
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_CONFIG + 0, 999);
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_CONFIG + 8, 7);
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_CONFIG + 12, 7);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + 0) == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + 8) == 0 &&
	      fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + 12) == 0);
	CHECK(stats(&r).actual_pages == 123 && stats(&r).target_pages == 0);
	/* After a reset the driver starts with an empty balloon. */
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_STATUS, 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG + 4) == 0 && stats(&r).actual_pages == 0);
	rig_free(&r);
}

static void balloon_set_target(void)
{
	struct rig r;
	uint32_t gen;

	REQUIRE(rig_init(&r));
	/* Before the driver is up: the value is there, no interrupt. */
	CHECK(virtio_balloon_set_target(&r.m->dev, 1 << 20) == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG) == 256);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_INTERRUPT_STATUS) == 0);
	rig_free(&r);

	REQUIRE(rig_start(&r, 0, 2));
	gen = fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG_GENERATION);
	CHECK(virtio_balloon_set_target(&r.m->dev, (2u << 20) + 4095) == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG) == 512);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG_GENERATION) != gen);
	CHECK(stats(&r).target_pages == 512);
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	/* All of RAM is allowed, one page more is not (nothing changes). */
	CHECK(virtio_balloon_set_target(&r.m->dev, RAM_SIZE) == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG) == RAM_SIZE / PAGE);
	fake_mmio_write(r.m, VIRTIO_MMIO_REG_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK(virtio_balloon_set_target(&r.m->dev, RAM_SIZE + PAGE) == -ERANGE);
	CHECK(virtio_balloon_set_target(&r.m->dev, UINT64_MAX) == -ERANGE);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG) == RAM_SIZE / PAGE);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_INTERRUPT_STATUS) == 0);
	CHECK(virtio_balloon_set_target(&r.m->dev, 0) == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_CONFIG) == 0);
	rig_free(&r);
}

/* The stats queue runs backwards: the device keeps the driver's buffer
 * and hands it back to ask for fresh numbers. */
static void balloon_stats_queue(void)
{
	struct balloon_stats st;
	uint16_t head;
	struct rig r;

	REQUIRE(rig_start(&r, F_STATS, 3));
	st = stats(&r);
	CHECK(st.have == 0 && st.nreports == 0);

	put_stat(&r, DATA, 0, VIRTIO_BALLOON_S_MEMFREE, 1000);
	put_stat(&r, DATA, 1, 42, 5); /* unknown tag: ignored */
	put_stat(&r, DATA, 2, VIRTIO_BALLOON_S_MEMTOT, 4000);
	put_stat(&r, DATA, 3, VIRTIO_BALLOON_S_AVAIL, UINT64_MAX);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 40, false }, 1);
	drv_kick(&r, 2);
	CHECK(drv_used(&r, 2, NULL, NULL) == 0); /* held */
	st = stats(&r);
	CHECK(st.nreports == 1);
	CHECK(st.have == (1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT |
			  1u << VIRTIO_BALLOON_S_AVAIL));
	CHECK(st.val[VIRTIO_BALLOON_S_MEMFREE] == 1000 && st.val[VIRTIO_BALLOON_S_MEMTOT] == 4000);
	CHECK(st.val[VIRTIO_BALLOON_S_AVAIL] == UINT64_MAX);
	/* That call asked for fresh statistics: the buffer came back. */
	CHECK(drv_used(&r, 2, &head, NULL) == 1 && head == 0);
	CHECK(fake_mmio_read(r.m, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	st = stats(&r);
	CHECK(st.nreports == 1 && drv_used(&r, 2, NULL, NULL) == 0);

	/* The driver answers with a different subset. */
	put_stat(&r, DATA, 0, VIRTIO_BALLOON_S_SWAP_IN, 7);
	put_stat(&r, DATA, 1, VIRTIO_BALLOON_S_MEMFREE, 2000);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 20, false }, 1);
	drv_kick(&r, 2);
	st = stats(&r);
	CHECK(st.nreports == 2);
	CHECK(st.have == (1u << VIRTIO_BALLOON_S_SWAP_IN | 1u << VIRTIO_BALLOON_S_MEMFREE));
	CHECK(st.val[VIRTIO_BALLOON_S_SWAP_IN] == 7 && st.val[VIRTIO_BALLOON_S_MEMFREE] == 2000);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);
	rig_free(&r);
}

/* Linux primes the stats queue and kicks before DRIVER_OK; the transport
 * ignores the kick and serves the queue at DRIVER_OK. */
static void balloon_stats_primed_early(void)
{
	struct balloon_stats st;
	struct rig r;

	REQUIRE(rig_setup(&r, F_STATS, 3));
	put_stat(&r, DATA, 0, VIRTIO_BALLOON_S_MEMTOT, 123);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 10, false }, 1);
	drv_kick(&r, 2);
	CHECK(stats(&r).nreports == 0);
	REQUIRE(rig_driver_ok(&r));
	st = stats(&r);
	CHECK(st.nreports == 1 && st.val[VIRTIO_BALLOON_S_MEMTOT] == 123);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);
	rig_free(&r);
}

/* Lengths and counts in the stats buffer are the guest's. */
static void balloon_stats_hostile(void)
{
	struct balloon_stats st;
	struct rig r;

	REQUIRE(rig_start(&r, F_STATS, 3));
	/* A partial entry at the end, split across two buffers. */
	put_stat(&r, DATA, 0, VIRTIO_BALLOON_S_CACHES, 9);
	put_stat(&r, DATA, 1, VIRTIO_BALLOON_S_MAJFLT, 8);
	fake_vq_add(&r.q[2], (struct fake_buf[]){ { DATA, 7, false }, { DATA + 7, 8, false } }, 2);
	drv_kick(&r, 2);
	st = stats(&r);
	CHECK(st.have == 1u << VIRTIO_BALLOON_S_CACHES && st.val[VIRTIO_BALLOON_S_CACHES] == 9);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);

	/* A huge buffer: only the first 64 entries count; the 65th sets a
	 * tag nothing else does. */
	memset(r.ram + DATA, 0xff, 0x10000); /* tag 0xffff: unknown */
	put_stat(&r, DATA, 3, VIRTIO_BALLOON_S_MINFLT, 1);
	put_stat(&r, DATA, 64, VIRTIO_BALLOON_S_HTLB_PGFAIL, 1);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 0x10000, false }, 1);
	drv_kick(&r, 2);
	st = stats(&r);
	CHECK(st.have == 1u << VIRTIO_BALLOON_S_MINFLT);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);

	/* Nothing readable: a report with no statistics. */
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 10, true }, 1);
	drv_kick(&r, 2);
	st = stats(&r);
	CHECK(st.have == 0 && st.nreports == 3);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);

	/* Two buffers at once break the rule: the older comes straight back. */
	put_stat(&r, DATA, 0, VIRTIO_BALLOON_S_SWAP_OUT, 1);
	put_stat(&r, DATA + 0x100, 0, VIRTIO_BALLOON_S_SWAP_OUT, 2);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA, 10, false }, 1);
	fake_vq_add(&r.q[2], &(struct fake_buf){ DATA + 0x100, 10, false }, 1);
	drv_kick(&r, 2);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);
	st = stats(&r);
	CHECK(st.val[VIRTIO_BALLOON_S_SWAP_OUT] == 2);
	CHECK(drv_used(&r, 2, NULL, NULL) == 1);
	rig_free(&r);
}

/* Free page reporting: the page-aligned part of each buffer is dropped. */
static void report(struct rig *r, unsigned int q)
{
	memset(r->ram + 0x200 * PAGE, 0x77, 0x10 * PAGE);
	fake_vq_add(&r->q[q],
		    (struct fake_buf[]){ { 0x200 * PAGE + 100, 3 * PAGE, true },
					 { 0x208 * PAGE, 2 * PAGE, true } },
		    2);
	drv_kick(r, q);
}

static void balloon_reporting(void)
{
	uint32_t len = 1;
	struct rig r;

	/* Without the stats queue, reporting_vq is queue 2 (the driver set
	 * up a fourth queue anyway). */
	REQUIRE(rig_start(&r, F_REPORTING, 4));
	report(&r, 2);
	CHECK(drv_used(&r, 2, NULL, &len) == 1 && len == 0);
	CHECK(page_is(&r, 0x200, 0x77) && page_is(&r, 0x203, 0x77));
	CHECK(page_is(&r, 0x201, 0) && page_is(&r, 0x202, 0));
	CHECK(page_is(&r, 0x208, 0) && page_is(&r, 0x209, 0) && page_is(&r, 0x20a, 0x77));
	CHECK(stats(&r).reported == 4);
	/* There is no queue 3 then. */
	report(&r, 3);
	CHECK(drv_used(&r, 3, NULL, NULL) == 0 && page_is(&r, 0x201, 0x77));
	rig_free(&r);

	/* With it, statsq is 2 and reporting_vq 3. */
	REQUIRE(rig_start(&r, F_STATS | F_REPORTING, 4));
	report(&r, 3);
	CHECK(drv_used(&r, 3, NULL, NULL) == 1 && page_is(&r, 0x201, 0));
	CHECK(stats(&r).reported == 4 && stats(&r).nreports == 0);
	rig_free(&r);
}

/* A broken ring fails the device, not petrel. */
static void balloon_malformed_chain(void)
{
	uint8_t *desc;
	struct rig r;

	REQUIRE(rig_start(&r, 0, 2));
	fake_vq_add(&r.q[0], (struct fake_buf[]){ { DATA, 4, false }, { DATA + 4, 4, false } }, 2);
	desc = r.ram + RING_BASE;
	le_put(desc + 14, QSIZE + 5, 2); /* next index out of range */
	drv_kick(&r, 0);
	CHECK(drv_used(&r, 0, NULL, NULL) == 0);
	CHECK(r.m->dev.status & VIRTIO_STATUS_NEEDS_RESET);
	rig_free(&r);
}

int main(void)
{
	RUN(balloon_identity);
	RUN(balloon_inflate_discards);
	RUN(balloon_bad_pfns);
	RUN(balloon_config_space);
	RUN(balloon_set_target);
	RUN(balloon_stats_queue);
	RUN(balloon_stats_primed_early);
	RUN(balloon_stats_hostile);
	RUN(balloon_reporting);
	RUN(balloon_malformed_chain);
	return harness_exit();
}
