/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against the virtqueue walker (src/virtio/queue.c),
 * aimed at the entropy device (tests/hostile/virtio.cases;
 * hostile_virtio_rng.h). Each case attacks, then checks what petrel
 * documents: a malformed chain or ring sets DEVICE_NEEDS_RESET and nothing
 * is used or written. Then it checks that petrel still serves: after a
 * reset one good read completes, and the guards around every buffer are
 * intact.
 */
#include "hostile_virtio_rng.h"

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

/*
 * With more than 3 GiB (the case gives 3136 MiB) guest RAM is two regions,
 * below the MMIO hole and from 4 GiB up: a buffer must lie inside one of
 * them, not across the hole or off the end of either. One wholly above
 * 4 GiB is good (the guest cannot read it back: its page tables map only
 * the low 4 GiB, so the used length is what is checked).
 */
static void desc_ram_split(void)
{
	const uint64_t high_end = PETREL_RAM_HOLE_END + (64ULL << 20);
	uint16_t used;

	rng_up();
	bad_buffer("buffer across the end of low RAM", PETREL_RAM_HOLE_START - 32, 64);
	bad_buffer("buffer from low RAM over the hole into high RAM", PETREL_RAM_HOLE_START - 4096,
		   0x40002000);
	bad_buffer("buffer from the hole into high RAM", PETREL_RAM_HOLE_END - 16, 32);
	bad_buffer("buffer across the end of high RAM", high_end - 32, 64);
	bad_buffer("buffer past the end of high RAM", high_end, 64);
	hostile_desc(&vq, 5, PETREL_RAM_HOLE_END + 4096, 64, F_WRITE, 0);
	used = vq.used[1];
	hostile_publish(&vq, 5);
	hostile_notify(&vq);
	hostile_check(hostile_wait_used(&vq, (uint16_t)(used + 1), HOSTILE_WAIT) &&
			  vq.used_ring[used % QSIZE].len == 64,
		      "a buffer in RAM above 4 GiB was not filled");
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "NEEDS_RESET for RAM above 4 GiB");
	check_untouched("buffers across RAM's two regions");
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
	{ "virtio-desc-ram-split", desc_ram_split, false },
	{ "virtio-indirect-nested", indirect_nested, false },
	{ "virtio-indirect-misaligned", indirect_misaligned, false },
	{ "virtio-indirect-oob", indirect_oob, false },
	{ "virtio-indirect-unneg", indirect_unneg, false },
	{ "virtio-avail-jump", avail_jump, false },
	{ "virtio-avail-oob", avail_oob, false },
	{ "virtio-used-bad", used_bad, false },
	{ "virtio-used-overlap", used_overlap, false },
	{ "virtio-queue-live", queue_live, false },
};

int guest_main(void)
{
	hostile_vq_main(cases, sizeof(cases) / sizeof(cases[0]));
}
