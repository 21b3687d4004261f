/* SPDX-License-Identifier: MIT */
/* The device bus: registration rules, lookup and dispatch. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "harness.h"

struct rec {
	unsigned int calls;
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t seen[8]; /* data as the handler received it */
};

static void rec_fn(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rec *r = opaque;

	r->calls++;
	r->offset = offset;
	r->len = len;
	r->is_write = is_write;
	memcpy(r->seen, data, len < 8 ? len : 8);
	if (!is_write)
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xc0 + i);
}

static void bus_register_and_find(void)
{
	struct bus bus = { 0 };
	struct rec rec = { 0 };
	const struct bus_range *r;

	REQUIRE(bus_register(&bus, 0x3f8, 8, rec_fn, &rec, "com1") == 0);
	r = bus_find(&bus, 0x3f8, 1);
	CHECK(r && r->base == 0x3f8 && r->len == 8 && r->opaque == &rec);
	CHECK(r && strcmp(r->name, "com1") == 0);
	CHECK(bus_find(&bus, 0x3ff, 1) == r);
	CHECK(bus_find(&bus, 0x3f8, 8) == r);
	CHECK(bus_find(&bus, 0x400, 1) == NULL);
	CHECK(bus_find(&bus, 0x3f7, 1) == NULL);
	CHECK(bus_find(&bus, 0, 1) == NULL);
	CHECK(bus_find(&bus, ~0ULL, 1) == NULL);
	bus_destroy(&bus);
	CHECK(bus.nranges == 0 && bus.range == NULL);
}

static void bus_register_rejects_len0(void)
{
	struct bus bus = { 0 };

	CHECK(bus_register(&bus, 0x100, 0, rec_fn, NULL, "x") == -EINVAL);
	CHECK(bus.nranges == 0);
	bus_destroy(&bus);
}

static void bus_register_rejects_wrap(void)
{
	struct bus bus = { 0 };

	CHECK(bus_register(&bus, ~0ULL - 3, 8, rec_fn, NULL, "x") == -EINVAL);
	CHECK(bus_register(&bus, ~0ULL, 2, rec_fn, NULL, "x") == -EINVAL);
	CHECK(bus_register(&bus, 1, ~0ULL, rec_fn, NULL, "x") == -EINVAL);
	CHECK(bus.nranges == 0);
	bus_destroy(&bus);
}

static void bus_register_rejects_overlap(void)
{
	static const struct {
		uint64_t base, len;
	} bad[] = {
		{ 0x100, 0x10 }, /* exact */
		{ 0xf8, 0x10 },	 /* partial, left */
		{ 0x108, 0x10 }, /* partial, right */
		{ 0xf0, 0x40 },	 /* containing */
		{ 0x104, 0x4 },	 /* contained */
		{ 0x10f, 0x1 },	 /* last byte */
		{ 0x0, 0x101 },	 /* first byte */
	};
	struct bus bus = { 0 };

	REQUIRE(bus_register(&bus, 0x100, 0x10, rec_fn, NULL, "a") == 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(bus_register(&bus, bad[i].base, bad[i].len, rec_fn, NULL, "b") == -EEXIST);
	CHECK(bus.nranges == 1);
	/* and with a neighbour on each side, overlap with either is caught */
	REQUIRE(bus_register(&bus, 0x200, 0x10, rec_fn, NULL, "c") == 0);
	CHECK(bus_register(&bus, 0x10f, 0xf2, rec_fn, NULL, "d") == -EEXIST);
	CHECK(bus_register(&bus, 0x110, 0xf1, rec_fn, NULL, "d") == -EEXIST);
	CHECK(bus.nranges == 2);
	bus_destroy(&bus);
}

static void bus_register_adjacent_ok(void)
{
	struct bus bus = { 0 };
	struct rec a, b, c;

	REQUIRE(bus_register(&bus, 0x100, 0x10, rec_fn, &b, "b") == 0);
	CHECK(bus_register(&bus, 0xf0, 0x10, rec_fn, &a, "a") == 0);
	CHECK(bus_register(&bus, 0x110, 0x10, rec_fn, &c, "c") == 0);
	CHECK(bus.nranges == 3);
	CHECK(bus_find(&bus, 0xff, 1) && bus_find(&bus, 0xff, 1)->opaque == &a);
	CHECK(bus_find(&bus, 0x100, 1) && bus_find(&bus, 0x100, 1)->opaque == &b);
	CHECK(bus_find(&bus, 0x10f, 1) && bus_find(&bus, 0x10f, 1)->opaque == &b);
	CHECK(bus_find(&bus, 0x110, 1) && bus_find(&bus, 0x110, 1)->opaque == &c);
	CHECK(bus_find(&bus, 0x10e, 4) == NULL); /* straddles b and c */
	bus_destroy(&bus);
}

static void bus_many_ranges_stay_sorted(void)
{
	enum { N = 300 };
	static unsigned int order[N], tag[N];
	struct bus bus = { 0 };
	uint32_t seed = 12345;

	for (unsigned int i = 0; i < N; i++)
		order[i] = i;
	for (unsigned int i = N - 1; i > 0; i--) { /* Fisher-Yates with an LCG */
		unsigned int j, t;

		seed = seed * 1103515245u + 12345u;
		j = (seed >> 8) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned int i = 0; i < N; i++) {
		unsigned int k = order[i];

		tag[k] = k;
		REQUIRE(bus_register(&bus, 0x1000 + 16ULL * k, 4 + k % 12, rec_fn, &tag[k], "r") ==
			0);
	}
	CHECK(bus.nranges == N);
	for (unsigned int i = 0; i + 1 < bus.nranges; i++)
		CHECK(bus.range[i].base + bus.range[i].len <= bus.range[i + 1].base);
	for (unsigned int k = 0; k < N; k++) {
		const struct bus_range *r = bus_find(&bus, 0x1000 + 16ULL * k + 3, 1);

		CHECK(r && r->opaque == &tag[k]);
		CHECK(bus_find(&bus, 0x1000 + 16ULL * k + 15, 1) == NULL);
	}
	/* overlaps are still found among many */
	CHECK(bus_register(&bus, 0x1000 + 16 * 150 + 2, 1, rec_fn, NULL, "x") == -EEXIST);
	CHECK(bus.nranges == N);
	bus_destroy(&bus);
}

static void bus_access_dispatches_with_offset(void)
{
	struct bus bus = { 0 };
	struct rec rec = { 0 };
	uint8_t data[4] = { 1, 2, 3, 4 };

	REQUIRE(bus_register(&bus, 0x1000, 0x100, rec_fn, &rec, "dev") == 0);
	CHECK(bus_access(&bus, 0x1010, data, 4, true));
	CHECK(rec.calls == 1 && rec.offset == 0x10 && rec.len == 4 && rec.is_write);
	CHECK(memcmp(rec.seen, "\1\2\3\4", 4) == 0);
	CHECK(bus_access(&bus, 0x10ff, data, 1, false));
	CHECK(rec.calls == 2 && rec.offset == 0xff && rec.len == 1 && !rec.is_write);
	CHECK(data[0] == 0xc0);
	bus_destroy(&bus);
}

static void bus_unclaimed_read_all_ones(void)
{
	struct bus bus = { 0 };
	struct rec rec = { 0 };
	uint8_t data[8];

	REQUIRE(bus_register(&bus, 0x1000, 0x100, rec_fn, &rec, "dev") == 0);
	memset(data, 0x12, sizeof(data));
	CHECK(!bus_access(&bus, 0x5000, data, 8, false));
	CHECK(memcmp(data, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
	memset(data, 0x12, sizeof(data));
	CHECK(!bus_access(&bus, 0x5000, data, 4, true));
	CHECK(data[0] == 0x12 && data[3] == 0x12);
	CHECK(rec.calls == 0);
	bus_destroy(&bus);
}

static void bus_straddling_access_unhandled(void)
{
	struct bus bus = { 0 };
	struct rec rec = { 0 };
	uint8_t data[4];

	REQUIRE(bus_register(&bus, 0x1000, 0x100, rec_fn, &rec, "dev") == 0);
	memset(data, 0, sizeof(data));
	CHECK(!bus_access(&bus, 0x10fe, data, 4, false));
	CHECK(memcmp(data, "\xff\xff\xff\xff", 4) == 0);
	CHECK(!bus_access(&bus, 0xffe, data, 4, true));
	CHECK(rec.calls == 0);
	CHECK(bus_find(&bus, 0x10fc, 4) != NULL);
	CHECK(bus_find(&bus, 0x10fd, 4) == NULL);
	bus_destroy(&bus);
}

static void bus_claimed_read_zero_filled(void)
{
	struct bus bus = { 0 };
	struct rec rec = { 0 };
	uint8_t data[8];

	REQUIRE(bus_register(&bus, 0x70, 2, rec_fn, &rec, "dev") == 0);
	memset(data, 0xab, sizeof(data));
	CHECK(bus_access(&bus, 0x70, data, 2, false));
	CHECK(rec.calls == 1 && rec.seen[0] == 0 && rec.seen[1] == 0);
	CHECK(data[0] == 0xc0 && data[1] == 0xc1);
	CHECK(data[2] == 0xab); /* beyond len: untouched */
	bus_destroy(&bus);
}

int main(void)
{
	RUN(bus_register_and_find);
	RUN(bus_register_rejects_len0);
	RUN(bus_register_rejects_wrap);
	RUN(bus_register_rejects_overlap);
	RUN(bus_register_adjacent_ok);
	RUN(bus_many_ranges_stay_sorted);
	RUN(bus_access_dispatches_with_offset);
	RUN(bus_unclaimed_read_all_ones);
	RUN(bus_straddling_access_unhandled);
	RUN(bus_claimed_read_zero_filled);
	return harness_exit();
}
