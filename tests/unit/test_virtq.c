/* SPDX-License-Identifier: MIT */
/* The split-virtqueue walker against a hostile driver: rings built by hand
 * in fake guest memory. */
#include <errno.h>
#include <string.h>

#include "fake_gm.h"
#include "harness.h"
#include "virtio/queue.h"

#define RAM (1u << 20)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define BUF 0x10000
#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

static struct gm gm;
static struct virtq q;
static struct virtq_chain c;

static uint8_t *g(gpa_t a)
{
	return gm_ptr(&gm, a, 1);
}

static void desc_set(gpa_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = g(table + 16 * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer `head` as the next available chain. */
static void avail_add(uint16_t head)
{
	uint16_t idx;

	memcpy(&idx, g(AVAIL + 2), 2);
	memcpy(g(AVAIL + 4 + 2 * (idx % q.size)), &head, 2);
	idx++;
	memcpy(g(AVAIL + 2), &idx, 2);
}

static uint16_t rd16(gpa_t a)
{
	uint16_t v;

	memcpy(&v, g(a), 2);
	return v;
}

static bool setup(uint16_t size, bool indirect, bool event_idx)
{
	fake_gm_free(&gm);
	if (!fake_gm_init(&gm, 0, RAM))
		return false;
	q = (struct virtq){ .size = size,
			    .desc_gpa = DESC,
			    .avail_gpa = AVAIL,
			    .used_gpa = USED,
			    .indirect = indirect,
			    .event_idx = event_idx };
	return virtq_start(&q, &gm) == 0;
}

static void virtq_good_chain(void)
{
	REQUIRE(setup(8, false, false));
	desc_set(DESC, 3, BUF, 16, F_NEXT, 5);
	desc_set(DESC, 5, BUF + 100, 512, F_NEXT, 1);
	desc_set(DESC, 1, BUF + 1000, 1, F_WRITE, 0);
	avail_add(3);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(c.head == 3 && c.nout == 2 && c.nin == 1);
	CHECK(c.out_len == 528 && c.in_len == 1);
	CHECK(c.iov[0].iov_base == g(BUF) && c.iov[2].iov_base == g(BUF + 1000));
	CHECK(virtq_pop(&q, &c) == 0);
	virtq_push(&q, 3, 1);
	CHECK(rd16(USED + 2) == 1);
	CHECK(*(uint32_t *)g(USED + 4) == 3 && *(uint32_t *)g(USED + 8) == 1);
}

/* A chain given back is popped again, walked afresh: a driver that
 * rewrote it meanwhile gets the new chain checked, not the old copy. */
static void virtq_unpop_again(void)
{
	REQUIRE(setup(8, false, false));
	desc_set(DESC, 2, BUF, 16, F_NEXT, 4);
	desc_set(DESC, 4, BUF + 100, 1, F_WRITE, 0);
	avail_add(2);
	desc_set(DESC, 6, BUF + 200, 8, 0, 0);
	avail_add(6);
	REQUIRE(virtq_pop(&q, &c) == 1 && c.head == 2);
	virtq_unpop(&q);
	CHECK(q.last_avail == 0);
	desc_set(DESC, 4, BUF + 100, 64, F_WRITE, 0);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(c.head == 2 && c.nout == 1 && c.nin == 1 && c.in_len == 64);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(c.head == 6 && c.out_len == 8);
	CHECK(virtq_pop(&q, &c) == 0);
}

static void virtq_bad_rings(void)
{
	REQUIRE(setup(8, false, false));
	q.size = 6; /* not a power of 2 */
	CHECK(virtq_start(&q, &gm) == -EINVAL);
	q.size = 512; /* over VIRTQ_MAX_SIZE */
	CHECK(virtq_start(&q, &gm) == -EINVAL);
	q.size = 8;
	q.desc_gpa = DESC + 8; /* misaligned */
	CHECK(virtq_start(&q, &gm) == -EINVAL);
	q.desc_gpa = RAM - 64; /* runs past the end of RAM */
	CHECK(virtq_start(&q, &gm) == -EINVAL);
	q.desc_gpa = DESC;
	q.used_gpa = 0xfffffffffffffffcULL; /* wraps */
	CHECK(virtq_start(&q, &gm) == -EINVAL);
}

/* Each row: one hostile chain at head 0 that must be refused. */
static void virtq_hostile_chains(void)
{
	static const struct {
		const char *name;
		uint64_t addr0;
		uint32_t len0;
		uint16_t flags0, next0;
		uint64_t addr1;
		uint32_t len1;
		uint16_t flags1, next1;
	} rows[] = {
		{ "loop", BUF, 8, F_NEXT, 1, BUF, 8, F_NEXT, 0 },
		{ "self-loop", BUF, 8, F_NEXT, 0, 0, 0, 0, 0 },
		{ "next out of range", BUF, 8, F_NEXT, 8, 0, 0, 0, 0 },
		{ "zero length", BUF, 0, 0, 0, 0, 0, 0, 0 },
		{ "outside RAM", RAM, 8, 0, 0, 0, 0, 0, 0 },
		{ "straddles end of RAM", RAM - 4, 8, 0, 0, 0, 0, 0, 0 },
		{ "address wraps", 0xfffffffffffffff0ULL, 0x20, 0, 0, 0, 0, 0, 0 },
		{ "readable after writable", BUF, 8, F_WRITE | F_NEXT, 1, BUF, 8, 0, 0 },
		{ "indirect not negotiated", BUF, 16, F_INDIRECT, 0, 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		harness_begin(rows[i].name);
		if (setup(8, false, false)) {
			desc_set(DESC, 0, rows[i].addr0, rows[i].len0, rows[i].flags0,
				 rows[i].next0);
			desc_set(DESC, 1, rows[i].addr1, rows[i].len1, rows[i].flags1,
				 rows[i].next1);
			avail_add(0);
			CHECK(virtq_pop(&q, &c) == -EINVAL);
		} else {
			CHECK(!"setup");
		}
		harness_end();
	}
}

static void virtq_head_out_of_range(void)
{
	REQUIRE(setup(8, false, false));
	avail_add(8);
	CHECK(virtq_pop(&q, &c) == -EINVAL);
}

static void virtq_avail_idx_jump(void)
{
	uint16_t idx = 9; /* claims 9 buffers in an 8-entry ring */

	REQUIRE(setup(8, false, false));
	memcpy(g(AVAIL + 2), &idx, 2);
	CHECK(virtq_pop(&q, &c) == -EINVAL);
}

static void virtq_indirect(void)
{
	const gpa_t table = 0x5000;

	REQUIRE(setup(8, true, false));
	desc_set(DESC, 2, table, 3 * 16, F_INDIRECT | F_WRITE, 0); /* WRITE is ignored */
	desc_set(table, 0, BUF, 16, F_NEXT, 2);
	desc_set(table, 2, BUF + 16, 32, F_NEXT, 1);
	desc_set(table, 1, BUF + 64, 1, F_WRITE, 0);
	avail_add(2);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(c.head == 2 && c.nout == 2 && c.nin == 1 && c.out_len == 48);

	/* Nested: an indirect descriptor inside the table. */
	desc_set(table, 1, table, 16, F_INDIRECT, 0);
	avail_add(2);
	CHECK(virtq_pop(&q, &c) == -EINVAL);
}

static void virtq_indirect_hostile(void)
{
	static const struct {
		const char *name;
		uint32_t len;
		uint16_t flags;
	} rows[] = {
		{ "indirect length not a multiple of 16", 40, F_INDIRECT },
		{ "indirect empty", 0, F_INDIRECT },
		{ "indirect with NEXT", 32, F_INDIRECT | F_NEXT },
		{ "indirect longer than the queue", 9 * 16, F_INDIRECT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		harness_begin(rows[i].name);
		if (setup(8, true, false)) {
			desc_set(DESC, 0, 0x5000, rows[i].len, rows[i].flags, 1);
			desc_set(DESC, 1, BUF, 8, 0, 0);
			for (unsigned int j = 0; j < 9; j++)
				desc_set(0x5000, j, BUF, 8, F_NEXT, (uint16_t)(j + 1));
			avail_add(0);
			CHECK(virtq_pop(&q, &c) == -EINVAL);
		} else {
			CHECK(!"setup");
		}
		harness_end();
	}
}

/* An indirect table whose chain loops back on itself. */
static void virtq_indirect_loop(void)
{
	REQUIRE(setup(8, true, false));
	desc_set(DESC, 0, 0x5000, 2 * 16, F_INDIRECT, 0);
	desc_set(0x5000, 0, BUF, 8, F_NEXT, 1);
	desc_set(0x5000, 1, BUF, 8, F_NEXT, 0);
	avail_add(0);
	CHECK(virtq_pop(&q, &c) == -EINVAL);
}

/* 256 descriptors of 16 MiB each: 4 GiB in total, past UINT32_MAX. */
static void virtq_total_length_overflow(void)
{
	const uint32_t big = 16u << 20;

	fake_gm_free(&gm);
	REQUIRE(fake_gm_init(&gm, 0, 2 * big));
	q = (struct virtq){ .size = 256, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED };
	REQUIRE(virtq_start(&q, &gm) == 0);
	for (unsigned int i = 0; i < 256; i++)
		desc_set(DESC, i, big, big, i < 255 ? F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	CHECK(virtq_pop(&q, &c) == -EINVAL);
}

static void virtq_event_idx(void)
{
	uint16_t used_event = 1;

	REQUIRE(setup(8, false, true));
	/* An empty pop asks for a kick at the next buffer: avail_event. */
	CHECK(virtq_pop(&q, &c) == 0);
	CHECK(rd16(USED + 4 + 8 * 8) == 0);
	desc_set(DESC, 0, BUF, 8, F_WRITE, 0);
	avail_add(0);
	avail_add(0);
	REQUIRE(virtq_pop(&q, &c) == 1);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(virtq_pop(&q, &c) == 0);
	CHECK(rd16(USED + 4 + 8 * 8) == 2);
	/* The driver wants an interrupt once used idx passes used_event. */
	memcpy(g(AVAIL + 4 + 2 * 8), &used_event, 2);
	virtq_push(&q, 0, 8);
	CHECK(virtq_need_interrupt(&q)); /* the first one always interrupts */
	virtq_push(&q, 0, 8);		 /* used idx 1 -> 2 crosses used_event 1 */
	CHECK(virtq_need_interrupt(&q));
	virtq_push(&q, 0, 8); /* 2 -> 3 does not */
	CHECK(!virtq_need_interrupt(&q));
}

static void virtq_no_interrupt_flag(void)
{
	uint16_t flags = 1;

	REQUIRE(setup(8, false, false));
	virtq_push(&q, 0, 0);
	CHECK(virtq_need_interrupt(&q));
	memcpy(g(AVAIL), &flags, 2);
	virtq_push(&q, 0, 0);
	CHECK(!virtq_need_interrupt(&q));
}

static void virtq_chain_copy(void)
{
	uint8_t out[8];

	REQUIRE(setup(8, false, false));
	memcpy(g(BUF), "abc", 3);
	memcpy(g(BUF + 100), "defgh", 5);
	desc_set(DESC, 0, BUF, 3, F_NEXT, 1);
	desc_set(DESC, 1, BUF + 100, 5, F_NEXT, 2);
	desc_set(DESC, 2, BUF + 200, 2, F_WRITE | F_NEXT, 3);
	desc_set(DESC, 3, BUF + 300, 4, F_WRITE, 0);
	avail_add(0);
	REQUIRE(virtq_pop(&q, &c) == 1);
	CHECK(virtq_chain_read(&c, 2, out, 8) == 6 && !memcmp(out, "cdefgh", 6));
	CHECK(virtq_chain_write(&c, 1, "XYZW", 4) == 4);
	CHECK(!memcmp(g(BUF + 201), "X", 1) && !memcmp(g(BUF + 300), "YZW", 3));
	CHECK(virtq_chain_write(&c, 0, "123456789", 9) == 6);
}

int main(void)
{
	RUN(virtq_good_chain);
	RUN(virtq_unpop_again);
	RUN(virtq_bad_rings);
	virtq_hostile_chains();
	RUN(virtq_head_out_of_range);
	RUN(virtq_avail_idx_jump);
	RUN(virtq_indirect);
	virtq_indirect_hostile();
	RUN(virtq_indirect_loop);
	RUN(virtq_total_length_overflow);
	RUN(virtq_event_idx);
	RUN(virtq_no_interrupt_flag);
	RUN(virtq_chain_copy);
	fake_gm_free(&gm);
	return harness_exit();
}
