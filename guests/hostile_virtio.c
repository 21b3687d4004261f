/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against the virtqueue walker and the virtio-mmio
 * transport (tests/hostile/virtio.cases), aimed at the entropy device,
 * which petrel always has and which turns any chain it accepts into a
 * write of random bytes into guest RAM: the simplest way to see a chain
 * that should have been refused being acted on.
 *
 * Each case attacks, then checks what petrel documents (src/virtio/queue.h,
 * mmio.c): a malformed chain or ring sets DEVICE_NEEDS_RESET and nothing is
 * used or written; a bad register access is ignored (reads 0, the write
 * dropped). Then it checks that petrel still serves: after a reset (or
 * without one where the access had to be ignored) one good read completes,
 * and the guards around every buffer are intact.
 */
#include "hostile.h"
#include "rt.h"
#include "virtio.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define QSIZE 64 /* the rng's QueueNumMax */
#define BUF 256
#define FILL 0xcc

static struct virtio_dev dev;
static struct virtq vq;
static uint64_t want = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
static uint8_t *buf; /* a writable buffer attacks point at: must stay FILL */

/* ------------------------------------------------------------- helpers */

static void queue_raw(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used);

static void rng_up(void)
{
	hostile_up(&dev, VIRTIO_ID_RNG, want, &vq, 1, QSIZE);
	if (!buf)
		buf = hostile_guarded(BUF, FILL);
}

/* One read of 64 random bytes through the driver; fails the case if the
 * device does not serve it properly. */
static void good_read(const char *after)
{
	uint8_t *b = hostile_guarded(64, 0);
	struct virtq_buf vb = { b, 64 };
	uint32_t len = 0;
	int head = -1;

	if (virtq_add(&vq, &vb, 0, 1, false) >= 0) {
		virtq_kick(&vq);
		head = virtq_wait(&vq, &len);
	}
	hostile_check(head >= 0 && len >= 1 && len <= 64,
		      "%s: a good request then failed (head %d, len %u, status %#x)", after, head,
		      len, virtio_status(&dev));
	hostile_check(!hostile_filled(b, 64, 0), "%s: a good read wrote nothing", after);
	hostile_check(hostile_guard_ok(b, 64), "%s: a good read wrote past its buffer", after);
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "%s: NEEDS_RESET after a good read",
		      after);
}

/* Reset, set up again and read. */
static void recover(const char *after)
{
	virtio_reset(&dev);
	hostile_check(virtio_status(&dev) == 0, "%s: status %#x after a reset", after,
		      virtio_status(&dev));
	rng_up();
	good_read(after);
}

/* Whether the attack buffer and what it was put among are untouched. */
static void check_untouched(const char *what)
{
	hostile_check(hostile_filled(buf, BUF, FILL) && hostile_guard_ok(buf, BUF),
		      "%s: the device wrote guest memory for a refused chain", what);
}

/* The chain or avail state the caller wrote is malformed: after a kick the
 * device must set NEEDS_RESET, use nothing and write nothing. Recovers. */
static void kick_expect_reset(const char *what)
{
	uint16_t used = vq.used[1];
	uint32_t s;

	hostile_notify(&vq);
	s = hostile_wait_status(&dev, NEEDS_RESET);
	hostile_check(s & NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what, s);
	hostile_check(vq.used[1] == used, "%s: the device used the chain", what);
	check_untouched(what);
	recover(what);
}

static void publish_expect_reset(const char *what, uint16_t head)
{
	hostile_publish(&vq, head);
	kick_expect_reset(what);
}

/* A one-descriptor chain at `head` pointing at (addr, len), writable. */
static void bad_buffer(const char *what, uint64_t addr, uint32_t len)
{
	hostile_desc(&vq, 5, addr, len, F_WRITE, 0);
	publish_expect_reset(what, 5);
}

/* A valid first buffer (buf), then one at (addr, len): the device must
 * not fill the first before finding the second bad. */
static void bad_second(const char *what, uint64_t addr, uint32_t len)
{
	hostile_desc(&vq, 9, (uint64_t)buf, 64, F_WRITE | F_NEXT, 10);
	hostile_desc(&vq, 10, addr, len, F_WRITE, 0);
	publish_expect_reset(what, 9);
}

/* An indirect head at ring slot 3 whose table is (table, len). */
static void bad_indirect(const char *what, uint64_t table, uint32_t len, uint16_t flags)
{
	hostile_desc(&vq, 3, table, len, F_INDIRECT | flags, 4);
	hostile_desc(&vq, 4, (uint64_t)buf, 64, F_WRITE, 0);
	publish_expect_reset(what, 3);
}

static struct virtq_desc *table_new(unsigned int n)
{
	struct virtq_desc *t = virtio_alloc(16ULL * n + 64, 16);

	if (!t) {
		hostile_check(false, "out of memory for an indirect table");
		hostile_done();
	}
	for (unsigned int i = 0; i < n; i++)
		t[i] = (struct virtq_desc){ .addr = (uint64_t)buf + 16 * (i % 8),
					    .len = 16,
					    .flags = F_WRITE | (i + 1 < n ? F_NEXT : 0),
					    .next = (uint16_t)(i + 1) };
	return t;
}

/* ----------------------------------------------------- descriptor chains */

static void desc_loop(void)
{
	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE | F_NEXT, 1);
	hostile_desc(&vq, 1, (uint64_t)buf + 64, 64, F_WRITE | F_NEXT, 0);
	publish_expect_reset("two-descriptor loop", 0);
	hostile_desc(&vq, 7, (uint64_t)buf, 64, F_WRITE | F_NEXT, 7);
	publish_expect_reset("descriptor pointing at itself", 7);
	/* A loop through every descriptor: the hop limit, not a revisit. */
	for (unsigned int i = 0; i < QSIZE; i++)
		hostile_desc(&vq, i, (uint64_t)buf + 4 * (i % 16), 4, F_WRITE | F_NEXT,
			     (uint16_t)((i + 1) % QSIZE));
	publish_expect_reset("a loop through the whole table", 0);
}

/* The descriptor a masked index (i & (size - 1)) would reach is a valid
 * last one, so following it instead of failing would show as a use. */
static void desc_next_oob(void)
{
	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE, 0);
	hostile_desc(&vq, QSIZE - 1, (uint64_t)buf + 128, 64, F_WRITE, 0);
	hostile_desc(&vq, 1, (uint64_t)buf + 64, 64, F_WRITE | F_NEXT, QSIZE);
	publish_expect_reset("next = queue size", 1);
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE, 0);
	hostile_desc(&vq, QSIZE - 1, (uint64_t)buf + 128, 64, F_WRITE, 0);
	hostile_desc(&vq, 1, (uint64_t)buf + 64, 64, F_WRITE | F_NEXT, 0xffff);
	publish_expect_reset("next = 0xffff", 1);
}

static void desc_hole(void)
{
	rng_up();
	bad_buffer("buffer at the start of the MMIO hole", PETREL_RAM_HOLE_START, 64);
	bad_buffer("buffer on the virtio registers", PETREL_VIRTIO_MMIO_BASE, 256);
	bad_buffer("buffer on the local APIC", PETREL_LAPIC_ADDR, 64);
	bad_second("second buffer in the MMIO hole", PETREL_RAM_HOLE_START + 0x1000, 64);
}

static void desc_above_ram(void)
{
	rng_up();
	bad_buffer("buffer at the end of RAM", HOSTILE_RAM_END, 64);
	bad_buffer("buffer straddling the end of RAM", HOSTILE_RAM_END - 32, 64);
	bad_buffer("buffer at 4 GiB", PETREL_RAM_HOLE_END, 64);
	bad_buffer("buffer at 2^63", 1ULL << 63, 64);
	bad_second("second buffer above RAM", 1ULL << 40, 4096);
}

static void desc_addr_wrap(void)
{
	rng_up();
	bad_buffer("buffer at 2^64-1", ~0ULL, 1);
	bad_buffer("buffer at 2^64-16 of 32 bytes", ~0ULL - 15, 32);
	bad_buffer("buffer at 2^64-4096 of 8192 bytes", ~0ULL - 4095, 8192);
	bad_buffer("buffer of 0xffffffff bytes in RAM", (uint64_t)buf, 0xffffffffU);
	bad_second("second buffer wrapping", ~0ULL - 7, 64);
}

/* 33 buffers of 128 MiB each (all the same RAM): more than 4 GiB in all. */
static void desc_4g(void)
{
	uint8_t *ram = (uint8_t *)0x1000000; /* 16 MiB: unused RAM */

	rng_up();
	memset(ram, FILL, 4096);
	for (unsigned int i = 0; i < 33; i++)
		hostile_desc(&vq, 20 + i, (uint64_t)ram, 128U << 20,
			     F_WRITE | (i < 32 ? F_NEXT : 0), (uint16_t)(21 + i));
	hostile_publish(&vq, 20);
	kick_expect_reset("chain of 33 x 128 MiB");
	hostile_check(hostile_filled(ram, 4096, FILL),
		      "the device wrote into a chain over 4 GiB it had to refuse");
}

static void desc_zero_len(void)
{
	rng_up();
	bad_buffer("a zero-length buffer", (uint64_t)buf, 0);
	bad_second("zero-length second buffer", (uint64_t)buf + 64, 0);
}

/* 2.7.4.2: device-readable buffers come before device-writable ones. */
static void desc_direction(void)
{
	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE | F_NEXT, 1);
	hostile_desc(&vq, 1, (uint64_t)buf + 64, 64, 0, 0);
	publish_expect_reset("readable buffer after a writable one", 0);
}

/* The rng only writes: a chain of readable buffers is used with nothing
 * written; a readable one before a writable one is left alone. */
static void rng_readonly(void)
{
	uint8_t *w = hostile_guarded(64, 0);
	uint16_t used;

	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, 0, 0);
	used = vq.used[1];
	hostile_publish(&vq, 0);
	hostile_notify(&vq);
	hostile_check(hostile_wait_used(&vq, (uint16_t)(used + 1), HOSTILE_WAIT),
		      "a readable-only chain was not used");
	hostile_check(vq.used_ring[used % QSIZE].len == 0,
		      "readable-only chain: used length %u, not 0", vq.used_ring[used % QSIZE].len);
	hostile_desc(&vq, 1, (uint64_t)buf, 64, F_NEXT, 2);
	hostile_desc(&vq, 2, (uint64_t)w, 64, F_WRITE, 0);
	hostile_publish(&vq, 1);
	hostile_notify(&vq);
	hostile_check(hostile_wait_used(&vq, (uint16_t)(used + 2), HOSTILE_WAIT),
		      "a readable-then-writable chain was not used");
	hostile_check(vq.used_ring[(used + 1) % QSIZE].len <= 64 && hostile_guard_ok(w, 64),
		      "the device wrote past the writable buffer");
	check_untouched("readable buffers");
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "NEEDS_RESET for a valid chain");
	recover("readable-only chains");
}

/*
 * The device writing its own rings: the first chain's buffer is the
 * descriptor table and avail ring, so the random bytes it gets become the
 * next chains the walker reads (and avail->idx). Whatever those say, the
 * device must stay inside guest RAM: it may use them or fail, and the used
 * ring (placed elsewhere) and the guards must show nothing else.
 */
static void desc_self_dma(void)
{
	uint8_t *ring = hostile_guarded(8192, 0);

	rng_up();
	for (int round = 0; round < 8; round++) {
		virtio_reset(&dev);
		queue_raw(QSIZE, (uint64_t)ring, (uint64_t)ring + 1024, (uint64_t)ring + 4096);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
			     virtio_status(&dev) | VIRTIO_STATUS_DRIVER_OK);
		vq = (struct virtq){ .dev = &dev,
				     .size = QSIZE,
				     .desc = (volatile struct virtq_desc *)ring,
				     .avail = (volatile uint16_t *)(ring + 1024),
				     .used = (volatile uint16_t *)(ring + 4096) };
		hostile_desc(&vq, 0, (uint64_t)ring, 1024 + 134, F_WRITE, 0);
		for (unsigned int i = 1; i < 8; i++) {
			hostile_desc(&vq, i, (uint64_t)buf, 64, F_WRITE, 0);
			hostile_publish(&vq, (uint16_t)(i - 1));
		}
		hostile_notify(&vq);
		for (uint64_t end = rdtsc() + HOSTILE_QUIET; rdtsc() < end;)
			;
		hostile_check(vq.used[1] >= 1, "round %d: the first chain was not used", round);
		hostile_check(hostile_guard_ok(ring, 8192) && hostile_guard_ok(buf, BUF),
			      "round %d: a write outside guest buffers", round);
		memset(ring, 0, 8192);
	}
	recover("chains the device wrote itself");
}

/* ------------------------------------------------------ indirect tables */

/* Every chain here is readable only, so a walker that let the indirect
 * descriptor through as a plain buffer would use it (with length 0). */
static void indirect_nested(void)
{
	struct virtq_desc *t;

	rng_up();
	t = table_new(2);
	t[0].flags = F_NEXT;
	t[1] =
	    (struct virtq_desc){ .addr = (uint64_t)table_new(2), .len = 32, .flags = F_INDIRECT };
	bad_indirect("an indirect table inside an indirect table", (uint64_t)t, 32, 0);
	t = table_new(1);
	t[0] =
	    (struct virtq_desc){ .addr = (uint64_t)table_new(2), .len = 32, .flags = F_INDIRECT };
	bad_indirect("an indirect table holding only an indirect one", (uint64_t)t, 16, 0);
	bad_indirect("an indirect descriptor with NEXT", (uint64_t)table_new(2), 32, F_NEXT);
	/* An indirect descriptor that is not the head. */
	hostile_desc(&vq, 6, (uint64_t)buf, 64, F_NEXT, 7);
	hostile_desc(&vq, 7, (uint64_t)table_new(2), 32, F_INDIRECT, 0);
	publish_expect_reset("an indirect descriptor in the middle of a chain", 6);
}

/* The first entry of each table ends the chain: a table whose length is
 * not whole descriptors would otherwise be usable as its whole part. */
static void indirect_misaligned(void)
{
	struct virtq_desc *t = table_new(2);

	rng_up();
	t[0].flags = F_WRITE;
	bad_indirect("indirect table of 24 bytes", (uint64_t)t, 24, 0);
	bad_indirect("indirect table of 17 bytes", (uint64_t)t, 17, 0);
	bad_indirect("indirect table of 0 bytes", (uint64_t)t, 0, 0);
	bad_indirect("indirect table longer than the queue", (uint64_t)table_new(QSIZE + 1),
		     16 * (QSIZE + 1), 0);
}

static void indirect_oob(void)
{
	struct virtq_desc *t;

	rng_up();
	bad_indirect("indirect table in the MMIO hole", PETREL_RAM_HOLE_START, 32, 0);
	bad_indirect("indirect table straddling the end of RAM", HOSTILE_RAM_END - 16, 32, 0);
	bad_indirect("indirect table at 2^64-16", ~0ULL - 15, 32, 0);
	t = table_new(4);
	t[2].next = 4;
	bad_indirect("indirect next past the table", (uint64_t)t, 64, 0);
	t = table_new(4);
	t[3] = (struct virtq_desc){ .addr = HOSTILE_RAM_END, .len = 16, .flags = F_WRITE };
	bad_indirect("indirect buffer above RAM", (uint64_t)t, 64, 0);
	t = table_new(3);
	t[2].flags |= F_NEXT;
	t[2].next = 0;
	bad_indirect("indirect table that loops", (uint64_t)t, 48, 0);
}

static void indirect_unneg(void)
{
	want = 0;
	rng_up();
	hostile_check(!(dev.features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)), "INDIRECT negotiated");
	bad_indirect("indirect descriptor without INDIRECT_DESC", (uint64_t)table_new(2), 32, 0);
}

/* ----------------------------------------------------------- avail ring */

static void avail_jump(void)
{
	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE, 0);
	vq.avail[2] = 0;
	vq.avail[1] = (uint16_t)(vq.avail_idx + QSIZE + 1);
	kick_expect_reset("avail->idx ahead by queue size + 1");
	vq.avail[1] = (uint16_t)(vq.avail_idx + 0x8000);
	kick_expect_reset("avail->idx ahead by 0x8000");
	vq.avail[1] = (uint16_t)(vq.avail_idx - 1);
	kick_expect_reset("avail->idx moved back by one");
}

/* As in desc_next_oob: a masked head would reach a valid chain. */
static void avail_oob(void)
{
	rng_up();
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE, 0);
	hostile_desc(&vq, QSIZE - 1, (uint64_t)buf + 64, 64, F_WRITE, 0);
	publish_expect_reset("avail entry = queue size", QSIZE);
	hostile_desc(&vq, 0, (uint64_t)buf, 64, F_WRITE, 0);
	hostile_desc(&vq, QSIZE - 1, (uint64_t)buf + 64, 64, F_WRITE, 0);
	publish_expect_reset("avail entry = 0xffff", 0xffff);
}

/* -------------------------------------------------------- ring placement */

/* Sets up queue 0 by hand at the given addresses; returns with QueueReady
 * written (DRIVER_OK not set). */
static void queue_raw(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM, num);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
}

/* A queue set up at these addresses must be refused at QueueReady. */
static void bad_rings(const char *what, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	uint32_t s;

	queue_raw(num, desc, avail, used);
	s = virtio_status(&dev);
	hostile_check(s & NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what, s);
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0, "%s: QueueReady reads 1",
		      what);
	check_untouched(what);
	recover(what);
}

static void used_bad(void)
{
	uint8_t *r;

	rng_up();
	r = virtio_alloc(8192, 4096);
	bad_rings("used ring in the MMIO hole", QSIZE, (uint64_t)r, (uint64_t)r + 1024,
		  PETREL_RAM_HOLE_START);
	bad_rings("used ring straddling the end of RAM", QSIZE, (uint64_t)r, (uint64_t)r + 1024,
		  HOSTILE_RAM_END - 256);
	bad_rings("used ring at 2^64-4", QSIZE, (uint64_t)r, (uint64_t)r + 1024, ~0ULL - 3);
	bad_rings("used ring misaligned", QSIZE, (uint64_t)r, (uint64_t)r + 1024,
		  (uint64_t)r + 4096 + 2);
	bad_rings("descriptor table in the MMIO hole", QSIZE, PETREL_VIRTIO_MMIO_BASE,
		  (uint64_t)r + 1024, (uint64_t)r + 4096);
	bad_rings("descriptor table misaligned", QSIZE, (uint64_t)r + 8, (uint64_t)r + 2048,
		  (uint64_t)r + 4096);
	bad_rings("avail ring above RAM", QSIZE, (uint64_t)r, 1ULL << 40, (uint64_t)r + 4096);
}

/*
 * The used ring on top of the descriptor table: nothing in the spec
 * petrel can check cheaply forbids it, and it only costs the guest its own
 * descriptors (the walker copied the chain before the device used it).
 * What petrel must do: serve the request, writing only the used ring and
 * the chain's buffer.
 */
static void used_overlap(void)
{
	uint8_t *ring, *b;
	uint16_t used_idx;
	uint32_t id, len;

	rng_up();
	virtio_reset(&dev);
	ring = hostile_guarded(4096, 0);
	b = hostile_guarded(64, 0);
	queue_raw(QSIZE, (uint64_t)ring, (uint64_t)ring + 2048, (uint64_t)ring);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, virtio_status(&dev) | VIRTIO_STATUS_DRIVER_OK);
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "overlapping rings refused (%#x)",
		      virtio_status(&dev));
	vq = (struct virtq){ .dev = &dev,
			     .size = QSIZE,
			     .desc = (volatile struct virtq_desc *)ring,
			     .avail = (volatile uint16_t *)(ring + 2048),
			     .used = (volatile uint16_t *)ring };
	/* Descriptor 40 lies past the used ring (4 + 8 * 64 + 2 bytes). */
	hostile_desc(&vq, 40, (uint64_t)b, 64, F_WRITE, 0);
	hostile_publish(&vq, 40);
	hostile_notify(&vq);
	hostile_check(hostile_wait_used(&vq, 1, HOSTILE_WAIT), "overlapping rings: not served");
	used_idx = vq.used[1];
	id = *(volatile uint32_t *)(ring + 4);
	len = *(volatile uint32_t *)(ring + 8);
	hostile_check(used_idx == 1 && id == 40 && len >= 1 && len <= 64,
		      "overlapping rings: used idx %u id %u len %u", used_idx, id, len);
	hostile_check(hostile_guard_ok(ring, 4096) && hostile_guard_ok(b, 64),
		      "overlapping rings: a write outside the rings and the buffer");
	recover("overlapping rings");
}

/* Queue registers written while the queue is live must be ignored. */
static void queue_live(void)
{
	rng_up();
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM, 1);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)PETREL_RAM_HOLE_START);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_HIGH, 1);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)(uint64_t)buf);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH, 0xffffffff);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)(uint64_t)buf);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH, 0);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 1,
		      "QueueReady 0 took effect on a live queue");
	for (int i = 0; i < 3; i++)
		good_read("queue addresses rewritten while live");
	check_untouched("queue addresses rewritten while live");
	recover("queue addresses rewritten while live");
}

/* ------------------------------------------------------------ registers */

static void queue_sel(void)
{
	static const uint32_t sel[] = { 1, 7, 8, 16, 0xffff, 0xffffffff };
	uint8_t *r;

	rng_up();
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	r = virtio_alloc(8192, 4096);
	for (unsigned int i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, sel[i]);
		hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == 0,
			      "QueueNumMax of queue %#x is not 0", sel[i]);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM, QSIZE);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)(uint64_t)r);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)(uint64_t)r + 1024);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)(uint64_t)r + 4096);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
		hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0,
			      "queue %#x, which does not exist, became ready", sel[i]);
		hostile_check(!(virtio_status(&dev) & NEEDS_RESET),
			      "setting up queue %#x: NEEDS_RESET (it should be ignored)", sel[i]);
	}
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0,
		      "queue 0 became ready through another selector");
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == QSIZE,
		      "QueueNumMax of queue 0 changed");
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0 && virtio_driver_ok(&dev) == 0,
		      "queue 0 set up after bad selectors");
	good_read("writes to queues that do not exist");
	recover("bad queue selectors");
}

static void queue_num(void)
{
	static const uint32_t num[] = { 0, 3, 48, QSIZE * 2, 0x10000, 0x10040, 0xffffffff };
	char what[48];

	rng_up();
	for (unsigned int i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		uint8_t *r = virtio_alloc(8192, 4096);

		what[fmt_num(what, fmt_str(what, 0, "QueueNum 0x"), num[i], 16, 1)] = 0;
		bad_rings(what, num[i], (uint64_t)r, (uint64_t)r + 1024, (uint64_t)r + 4096);
	}
}

static uint8_t rd8(uint64_t a)
{
	return *(volatile uint8_t *)a;
}
static uint16_t rd16(uint64_t a)
{
	return *(volatile uint16_t *)a;
}
static uint64_t rd64(uint64_t a)
{
	return *(volatile uint64_t *)a;
}

/* 4.2.2.2: registers take aligned 32-bit accesses only; others are
 * ignored (reads 0). */
static void access_width(void)
{
	uint64_t b;
	uint32_t s;

	rng_up();
	b = dev.base;
	s = virtio_status(&dev);
	hostile_check(rd8(b) == 0, "8-bit read of MagicValue is not 0");
	hostile_check(rd16(b) == 0, "16-bit read of MagicValue is not 0");
	hostile_check(rd64(b) == 0, "64-bit read of MagicValue is not 0");
	hostile_check(mmio_read32(b + 2) == 0, "misaligned 32-bit read is not 0");
	hostile_check(rd8(b + VIRTIO_MMIO_REG_STATUS) == 0, "8-bit read of Status is not 0");
	hostile_check(rd16(b + VIRTIO_MMIO_REG_DEVICE_ID) == 0, "16-bit read of DeviceID is not 0");
	*(volatile uint8_t *)(b + VIRTIO_MMIO_REG_STATUS) = 0;
	*(volatile uint16_t *)(b + VIRTIO_MMIO_REG_STATUS) = 0;
	*(volatile uint64_t *)(b + VIRTIO_MMIO_REG_STATUS) = 0;
	mmio_write32(b + VIRTIO_MMIO_REG_STATUS + 1, 0);
	*(volatile uint64_t *)(b + VIRTIO_MMIO_REG_QUEUE_DESC_LOW) = PETREL_RAM_HOLE_START;
	*(volatile uint8_t *)(b + VIRTIO_MMIO_REG_QUEUE_NOTIFY) = 0;
	*(volatile uint16_t *)(b + VIRTIO_MMIO_REG_QUEUE_SEL) = 5;
	hostile_check(virtio_status(&dev) == s,
		      "a narrow or wide write changed Status from %#x to %#x", s,
		      virtio_status(&dev));
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == QSIZE,
		      "a 16-bit write moved QueueSel");
	good_read("bad access widths");
}

/* Write-only registers read 0; writes to read-only ones are dropped. */
static void wo_reads(void)
{
	static const uint32_t wo[] = {
		VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL,
		VIRTIO_MMIO_REG_DRIVER_FEATURES,
		VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_REG_QUEUE_SEL,
		VIRTIO_MMIO_REG_QUEUE_NUM,
		VIRTIO_MMIO_REG_QUEUE_NOTIFY,
		VIRTIO_MMIO_REG_INTERRUPT_ACK,
		VIRTIO_MMIO_REG_QUEUE_DESC_LOW,
		VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW,
		VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW,
		0x018,
		0x0ac,
		0x0c0,
		0x0f8,
	};
	static const uint32_t ro[] = {
		VIRTIO_MMIO_REG_MAGIC_VALUE,	   VIRTIO_MMIO_REG_VERSION,
		VIRTIO_MMIO_REG_DEVICE_ID,	   VIRTIO_MMIO_REG_VENDOR_ID,
		VIRTIO_MMIO_REG_DEVICE_FEATURES,   VIRTIO_MMIO_REG_QUEUE_NUM_MAX,
		VIRTIO_MMIO_REG_CONFIG_GENERATION,
	};
	uint32_t before[sizeof(ro) / sizeof(ro[0])];

	virtio_find(VIRTIO_ID_RNG, 0, &dev);
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	/* Leave values in the write-only registers, then read them. */
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0, "queue setup");
	for (unsigned int i = 0; i < sizeof(wo) / sizeof(wo[0]); i++)
		hostile_check(hostile_reg(&dev, wo[i]) == 0, "register %#x reads %#x, not 0", wo[i],
			      hostile_reg(&dev, wo[i]));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	for (unsigned int i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		before[i] = hostile_reg(&dev, ro[i]);
		hostile_wreg(&dev, ro[i], ~before[i]);
		hostile_check(hostile_reg(&dev, ro[i]) == before[i],
			      "a write changed read-only register %#x", ro[i]);
	}
	hostile_check(virtio_driver_ok(&dev) == 0, "DRIVER_OK");
	good_read("writes to read-only registers");
}

/* --------------------------------------------------------- status machine */

static void status_order(void)
{
	rng_up();
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	hostile_check(virtio_status(&dev) & NEEDS_RESET, "DRIVER_OK alone: no NEEDS_RESET (%#x)",
		      virtio_status(&dev));
	recover("DRIVER_OK alone");
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	hostile_check(virtio_status(&dev) & NEEDS_RESET,
		      "DRIVER_OK before FEATURES_OK: no NEEDS_RESET (%#x)", virtio_status(&dev));
	recover("DRIVER_OK before FEATURES_OK");
	/* Everything in one write, with no features accepted (no VERSION_1):
	 * FEATURES_OK must not stick, so DRIVER_OK fails the device. */
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0f);
	hostile_check(virtio_status(&dev) & NEEDS_RESET,
		      "status 0xf without VERSION_1: no NEEDS_RESET (%#x)", virtio_status(&dev));
	hostile_check(!(virtio_status(&dev) & VIRTIO_STATUS_FEATURES_OK),
		      "FEATURES_OK stuck without VERSION_1");
	recover("status 0xf in one write");
}

static void status_clear(void)
{
	uint32_t s;

	rng_up();
	s = virtio_status(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s & ~(uint32_t)VIRTIO_STATUS_DRIVER_OK);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s & ~(uint32_t)VIRTIO_STATUS_ACKNOWLEDGE);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_FEATURES_OK);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | 0x100);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0xffffffff);
	hostile_check(virtio_status(&dev) == s, "a write clearing bits changed status %#x to %#x",
		      s, virtio_status(&dev));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | NEEDS_RESET);
	hostile_check(virtio_status(&dev) == s, "the driver set NEEDS_RESET itself (%#x)",
		      virtio_status(&dev));
	good_read("status bits cleared");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | VIRTIO_STATUS_FAILED);
	hostile_check(virtio_status(&dev) == (s | VIRTIO_STATUS_FAILED),
		      "FAILED did not stick (%#x)", virtio_status(&dev));
	recover("FAILED set");
}

/* Features written after FEATURES_OK are ignored: INDIRECT added late is
 * not negotiated, so an indirect chain still fails the device. */
static void features_late(void)
{
	want = 0;
	virtio_find(VIRTIO_ID_RNG, 0, &dev);
	hostile_check(virtio_negotiate(&dev, 0) == 0, "negotiation");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	hostile_wreg(
	    &dev, VIRTIO_MMIO_REG_DRIVER_FEATURES,
	    (uint32_t)(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0);
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0 && virtio_driver_ok(&dev) == 0,
		      "device refused after late feature writes (%#x)", virtio_status(&dev));
	if (!buf)
		buf = hostile_guarded(BUF, FILL);
	good_read("features written after FEATURES_OK");
	bad_indirect("indirect after INDIRECT was written late", (uint64_t)table_new(2), 32, 0);
}

static void features_unoffered(void)
{
	static const unsigned int bits[] = { 0, 27, 31, 40, 63 };

	rng_up();
	for (unsigned int i = 0; i < sizeof(bits) / sizeof(bits[0]) + 1; i++) {
		uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

		if (i < sizeof(bits) / sizeof(bits[0]))
			f |= VIRTIO_BIT(bits[i]);
		else
			f = VIRTIO_BIT(VIRTIO_F_EVENT_IDX); /* no VERSION_1 */
		virtio_reset(&dev);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
			     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)f);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0b);
		hostile_check(virtio_status(&dev) == 0x03,
			      "features %#lx: status %#x after FEATURES_OK, not 0x3",
			      (unsigned long)f, virtio_status(&dev));
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0f);
		hostile_check(virtio_status(&dev) & NEEDS_RESET,
			      "features %#lx: DRIVER_OK without FEATURES_OK: status %#x",
			      (unsigned long)f, virtio_status(&dev));
	}
	recover("unoffered features");
}

/* ----------------------------------------------------------------- kicks */

static void notify_bogus(void)
{
	static const uint32_t q[] = { 1, 7, 8, 64, 0xffff, 0x10000, 0xffffffff };

	rng_up();
	for (unsigned int i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NOTIFY, q[i]);
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "a kick of a bogus queue: status %#x",
		      virtio_status(&dev));
	for (int i = 0; i < 3; i++)
		good_read("kicks of bogus queues");
	check_untouched("kicks of bogus queues");
}

/* A kick before DRIVER_OK: nothing is used until DRIVER_OK. */
static void notify_early(void)
{
	uint8_t *b = hostile_guarded(64, FILL);
	struct virtq_buf vb = { b, 64 };

	rng_up();
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0, "queue setup");
	hostile_check(virtq_add(&vq, &vb, 0, 1, false) >= 0, "virtq_add");
	hostile_notify(&vq);
	hostile_check(!hostile_wait_used(&vq, 1, HOSTILE_QUIET),
		      "a buffer was used before DRIVER_OK");
	hostile_check(hostile_filled(b, 64, FILL), "the device wrote before DRIVER_OK");
	hostile_check(virtio_driver_ok(&dev) == 0, "DRIVER_OK");
	hostile_check(hostile_wait_used(&vq, 1, HOSTILE_WAIT),
		      "the early buffer was not used after DRIVER_OK");
	hostile_check(hostile_guard_ok(b, 64), "the device wrote past the early buffer");
}

static const struct hostile_case cases[] = {
	{ "virtio-desc-loop", desc_loop, false },
	{ "virtio-desc-next-oob", desc_next_oob, false },
	{ "virtio-desc-hole", desc_hole, false },
	{ "virtio-desc-above-ram", desc_above_ram, false },
	{ "virtio-desc-addr-wrap", desc_addr_wrap, false },
	{ "virtio-desc-4g", desc_4g, false },
	{ "virtio-desc-zero-len", desc_zero_len, false },
	{ "virtio-desc-direction", desc_direction, false },
	{ "virtio-rng-readonly", rng_readonly, false },
	{ "virtio-desc-self-dma", desc_self_dma, false },
	{ "virtio-indirect-nested", indirect_nested, false },
	{ "virtio-indirect-misaligned", indirect_misaligned, false },
	{ "virtio-indirect-oob", indirect_oob, false },
	{ "virtio-indirect-unneg", indirect_unneg, false },
	{ "virtio-avail-jump", avail_jump, false },
	{ "virtio-avail-oob", avail_oob, false },
	{ "virtio-used-bad", used_bad, false },
	{ "virtio-used-overlap", used_overlap, false },
	{ "virtio-queue-live", queue_live, false },
	{ "virtio-queue-sel", queue_sel, false },
	{ "virtio-queue-num", queue_num, false },
	{ "virtio-access-width", access_width, false },
	{ "virtio-wo-reads", wo_reads, false },
	{ "virtio-status-order", status_order, false },
	{ "virtio-status-clear", status_clear, false },
	{ "virtio-features-late", features_late, false },
	{ "virtio-features-unoffered", features_unoffered, false },
	{ "virtio-notify-bogus", notify_bogus, false },
	{ "virtio-notify-early", notify_early, false },
};

int guest_main(void)
{
	virtio_timeout_cycles = HOSTILE_WAIT;
	hostile_main(cases, sizeof(cases) / sizeof(cases[0]));
}
