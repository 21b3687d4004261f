/* SPDX-License-Identifier: MIT */
/*
 * Snapshot streams and the container: every field kind saved and loaded
 * back byte for byte, sticky errors, truncated loads, out-of-range values,
 * the save limit, trailing bytes; CRC32C against its definition and check
 * value; the container's round trip (in memory, through a file, a pipe), and
 * each way a decode refuses hostile bytes with its one line, every prefix
 * of a valid file included; reads over the size limit from a sparse file
 * and a pipe; sections opened twice, missing or never opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "le.h"
#include "log.h"
#include "snapshot/crc32c.h"
#include "snapshot/file.h"
#include "snapshot/snap.h"
#include "snap_raw.h"

static char why[SNAP_WHY_MAX];

/* ---- streams ---- */

struct fields {
	uint8_t u8;
	uint16_t u16;
	uint32_t u32, lim;
	uint64_t u64;
	int64_t i64;
	bool yes, no;
	uint8_t mac[6];
};

static void fields_walk(struct snap *s, struct fields *f)
{
	snap_u8(s, &f->u8);
	snap_u16(s, &f->u16);
	snap_u32(s, &f->u32);
	snap_u64(s, &f->u64);
	snap_i64(s, &f->i64);
	snap_bool(s, &f->yes);
	snap_bool(s, &f->no);
	snap_bytes(s, f->mac, sizeof(f->mac));
	snap_u32_max(s, &f->lim, 9, "queue");
}

static const struct fields sample = {
	.u8 = 0xa1,
	.u16 = 0xb2c3,
	.u32 = 0xd4e5f607,
	.lim = 9,
	.u64 = 0x1122334455667788ULL,
	.i64 = -2,
	.yes = true,
	.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
};

/* The encoding, field by field: explicit little-endian, nothing else. */
static const uint8_t sample_bytes[] = {
	0xa1,						/* u8 */
	0xc3, 0xb2,					/* u16 */
	0x07, 0xf6, 0xe5, 0xd4,				/* u32 */
	0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* u64 */
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* i64 -2 */
	1,    0,					/* bools */
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56,		/* bytes */
	9,    0,    0,	  0,				/* u32_max */
};

static void snap_round_trip(void)
{
	struct fields in = sample, out;
	struct snap s;

	snap_init_save(&s, 1024);
	CHECK(snap_saving(&s));
	fields_walk(&s, &in);
	CHECK(snap_finish(&s) == 0);
	REQUIRE(s.len == sizeof(sample_bytes));
	CHECK(!memcmp(s.buf, sample_bytes, sizeof(sample_bytes)));
	CHECK(!memcmp(&in, &sample, sizeof(in))); /* saving leaves the fields alone */

	struct snap l;

	memset(&out, 0x5a, sizeof(out));
	out.yes = out.no = true; /* (a bool's bytes must be 0 or 1) */
	snap_init_load(&l, s.buf, s.len);
	CHECK(!snap_saving(&l));
	fields_walk(&l, &out);
	CHECK(snap_finish(&l) == 0 && l.why[0] == 0);
	CHECK(out.u8 == sample.u8 && out.u16 == sample.u16 && out.u32 == sample.u32);
	CHECK(out.u64 == sample.u64 && out.i64 == sample.i64 && out.lim == sample.lim);
	CHECK(out.yes && !out.no && !memcmp(out.mac, sample.mac, 6));
	snap_free(&l); /* does not own the payload */
	CHECK(s.buf != NULL);
	snap_free(&s);
	CHECK(s.buf == NULL && s.len == 0);
}

/* Cut before every field boundary and inside every field: the load fails
 * as "truncated", and every field from the cut on reads zero. */
static void snap_truncated(void)
{
	for (size_t cut = 0; cut < sizeof(sample_bytes); cut++) {
		struct fields out;
		struct snap l;

		memset(&out, 0x5a, sizeof(out));
		out.yes = out.no = true; /* (a bool's bytes must be 0 or 1) */
		snap_init_load(&l, sample_bytes, cut);
		fields_walk(&l, &out);
		CHECK(snap_error(&l) == -EINVAL);
		CHECK(!strncmp(l.why, "truncated", 9));
		CHECK(snap_finish(&l) == -EINVAL);
		CHECK(out.lim == 0); /* the last field is always past the cut */
		if (cut < 1)
			CHECK(out.u8 == 0);
		if (cut < 3)
			CHECK(out.u16 == 0);
		if (cut < 15)
			CHECK(out.u64 == 0);
		if (cut < 31)
			CHECK(!memcmp(out.mac, "\0\0\0\0\0\0", 6));
		if (cut >= 7)
			CHECK(out.u32 == sample.u32); /* before the cut: read */
	}
}

static void snap_sticky(void)
{
	static const uint8_t b[] = { 1, 2, 3, 4, 5, 6 };
	uint32_t v32 = 0;
	uint16_t v16 = 7;
	uint64_t v64 = 7;
	struct snap l;

	snap_init_load(&l, b, sizeof(b));
	snap_u32(&l, &v32);
	CHECK(v32 == 0x04030201 && l.off == 4);
	snap_u64(&l, &v64); /* 2 bytes left */
	CHECK(v64 == 0 && l.err == -EINVAL);
	CHECK(!strcmp(l.why, "truncated (8 bytes wanted, 2 left)"));
	/* Later calls read zero although the bytes are there, and the first
	 * reason stays. */
	snap_u16(&l, &v16);
	CHECK(v16 == 0 && l.off == 4);
	snap_fail(&l, -ENOMEM, "another");
	CHECK(snap_check(&l, false, "and another") == false);
	CHECK(l.err == -EINVAL && !strcmp(l.why, "truncated (8 bytes wanted, 2 left)"));
	CHECK(snap_finish(&l) == -EINVAL);

	/* A save stream fails for good too. */
	struct snap s;

	snap_init_save(&s, 64);
	snap_fail(&s, -ENODEV, "device %s gone", "uart");
	snap_u32(&s, &v32);
	CHECK(s.len == 0 && s.err == -ENODEV && !strcmp(s.why, "device uart gone"));
	CHECK(snap_finish(&s) == -ENODEV);
	snap_free(&s);
}

static void snap_bool_range(void)
{
	static const uint8_t b[] = { 0, 1, 2 };
	bool v = true;
	struct snap l;

	snap_init_load(&l, b, sizeof(b));
	snap_bool(&l, &v);
	CHECK(!v && !l.err);
	snap_bool(&l, &v);
	CHECK(v && !l.err);
	snap_bool(&l, &v);
	CHECK(!v && l.err == -EINVAL && !strcmp(l.why, "boolean 2 is not 0 or 1"));

	static const uint8_t ff[] = { 0xff };

	snap_init_load(&l, ff, 1);
	v = true;
	snap_bool(&l, &v);
	CHECK(!v && !strcmp(l.why, "boolean 255 is not 0 or 1"));
}

static void snap_max(void)
{
	uint8_t b[8];
	uint32_t v;
	struct snap l;

	le_put(b, 4, 4);
	le_put(b + 4, 5, 4);
	snap_init_load(&l, b, sizeof(b));
	snap_u32_max(&l, &v, 4, "queues");
	CHECK(v == 4 && !l.err);
	snap_u32_max(&l, &v, 4, "queues");
	CHECK(v == 0 && l.err == -EINVAL && !strcmp(l.why, "queues 5 out of range (max 4)"));

	le_put(b, UINT32_MAX, 4);
	snap_init_load(&l, b, 4);
	snap_u32_max(&l, &v, UINT32_MAX, "x");
	CHECK(v == UINT32_MAX && !l.err);

	/* snap_check guards on LOAD only. */
	struct snap s;

	snap_init_save(&s, 8);
	CHECK(snap_check(&s, false, "never"));
	CHECK(!s.err);
	snap_free(&s);
}

static void snap_save_limit(void)
{
	uint64_t v64 = 1;
	uint16_t v16 = 2;
	uint32_t v32 = 3;
	struct snap s;

	/* Exactly the limit fits. */
	snap_init_save(&s, 10);
	snap_u64(&s, &v64);
	snap_u16(&s, &v16);
	CHECK(s.len == 10 && snap_finish(&s) == 0);
	snap_free(&s);

	snap_init_save(&s, 10);
	snap_u64(&s, &v64);
	snap_u32(&s, &v32);
	CHECK(s.err == -EFBIG && s.len == 8 && !strcmp(s.why, "state larger than 10 bytes"));
	snap_u8(&s, (uint8_t *)&v32); /* would fit, but the stream has failed */
	CHECK(s.len == 8 && snap_finish(&s) == -EFBIG);
	snap_free(&s);

	/* Growth by doubling up to a limit that is no power of two. */
	static uint8_t big[300000];

	memset(big, 0x6b, sizeof(big));
	snap_init_save(&s, sizeof(big) + 3);
	snap_bytes(&s, big, 1000);
	snap_bytes(&s, big, sizeof(big) - 1000);
	snap_u16(&s, &v16);
	CHECK(!s.err && s.len == sizeof(big) + 2 && s.cap <= sizeof(big) + 3);
	CHECK(!memcmp(s.buf, big, sizeof(big)));
	snap_u16(&s, &v16);
	CHECK(s.err == -EFBIG);
	snap_free(&s);

	/* A byte count that would overflow the length. */
	snap_init_save(&s, 64);
	snap_u8(&s, (uint8_t *)&v16);
	snap_bytes(&s, big, SIZE_MAX);
	CHECK(s.err == -EFBIG && s.len == 1);
	snap_free(&s);
}

static void snap_trailing(void)
{
	static const uint8_t b[] = { 1, 0, 0, 0, 9, 9 };
	uint32_t v;
	struct snap l;

	snap_init_load(&l, b, sizeof(b));
	snap_u32(&l, &v);
	CHECK(!l.err);
	CHECK(snap_finish(&l) == -EINVAL && !strcmp(l.why, "2 trailing bytes"));

	snap_init_load(&l, b, 4);
	snap_u32(&l, &v);
	CHECK(snap_finish(&l) == 0);
	snap_init_load(&l, NULL, 0); /* an empty payload is consumed exactly */
	CHECK(snap_finish(&l) == 0);
}

/* Zero bytes, to streams that have no buffer (UBSan: no NULL + 0). */
static void snap_zero_bytes(void)
{
	uint8_t x = 7;
	struct snap s;

	snap_init_save(&s, 16);
	snap_bytes(&s, &x, 0);
	CHECK(s.len == 0 && !s.err && snap_finish(&s) == 0);
	snap_free(&s);
	snap_init_load(&s, NULL, 0);
	snap_bytes(&s, &x, 0);
	CHECK(x == 7 && !s.err && snap_finish(&s) == 0);
	snap_bytes(&s, &x, 1);
	CHECK(x == 0 && s.err == -EINVAL);
}

/* ---- CRC32C ---- */

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void crc32c_vectors(void)
{
	uint8_t buf[1024];
	uint32_t x = 12345;

	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(crc32c(0, "", 0) == 0);
	CHECK(crc32c(crc32c(0, "1234", 4), "56789", 5) == 0xe3069283u);
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t n = 0; n <= sizeof(buf); n += 37)
		CHECK(crc32c(0, buf, n) == crc_bitwise(buf, n));
	/* every byte value through the table */
	for (unsigned int i = 0; i < 256; i++) {
		uint8_t c = (uint8_t)i;

		CHECK(crc32c(0, &c, 1) == crc_bitwise(&c, 1));
	}
}

/* ---- the container ---- */

/* A saving container with sections "cpu.0" (v3: u32 + u64), "uart" (v1:
 * 16 bytes) and "empty-1_x" (v0, no payload). */
static void three_sections(struct snap_file *f)
{
	uint32_t a = 0xcafe;
	uint64_t b = 42;
	uint8_t fifo[16];
	struct snap s;

	snap_file_init(f);
	for (int i = 0; i < 16; i++)
		fifo[i] = (uint8_t)(i * 7);
	snap_init_save(&s, 4096);
	snap_u32(&s, &a);
	snap_u64(&s, &b);
	CHECK(snap_file_add(f, "cpu.0", 3, &s, why) == 0);
	CHECK(s.buf == NULL && s.len == 0 && s.op == SNAP_SAVE);
	snap_bytes(&s, fifo, sizeof(fifo)); /* the emptied stream saves again */
	CHECK(snap_file_add(f, "uart", 1, &s, why) == 0);
	CHECK(snap_file_add(f, "empty-1_x", 0, &s, why) == 0);
	snap_free(&s);
}

static int encode_three(uint8_t **out, size_t *len)
{
	struct snap_file f;
	int ret;

	three_sections(&f);
	ret = snap_file_encode(&f, out, len, why);
	snap_file_free(&f);
	return ret;
}

/* Decode, keep the reason, free; the container is empty after a refusal. */
static int decode(const uint8_t *b, size_t len)
{
	struct snap_file f;
	int ret;

	snap_file_init(&f);
	why[0] = 0;
	ret = snap_file_decode(&f, b, len, why);
	if (ret)
		CHECK(f.n == 0 && f.sec == NULL && f.data == NULL && why[0]);
	snap_file_free(&f);
	return ret;
}

static void file_round_trip(void)
{
	struct snap_file f;
	uint8_t *b, fifo[16];
	uint32_t ver, a;
	uint64_t v;
	size_t len;
	struct snap s;

	REQUIRE(encode_three(&b, &len) == 0);
	/* header 20, sections (13 + name + payload): 5 + 12, 4 + 16, 9 + 0, checksum 4 */
	REQUIRE(len == 20 + 30 + 33 + 22 + 4);
	CHECK(!memcmp(b, "PETRELSN", 8));
	CHECK(le_get(b + 8, 4) == 1 && le_get(b + 12, 4) == 0 && le_get(b + 16, 4) == 3);
	CHECK(b[20] == 5 && !memcmp(b + 21, "cpu.0", 5) && le_get(b + 26, 4) == 3);
	CHECK(le_get(b + 30, 8) == 12 && le_get(b + 38, 4) == 0xcafe);
	CHECK(le_get(b + len - 4, 4) == crc32c(0, b, len - 4));

	snap_file_init(&f);
	REQUIRE(snap_file_decode(&f, b, len, why) == 0);
	memset(b, 0, len); /* the container kept its own copy */
	free(b);
	CHECK(f.n == 3 && f.len == len);
	CHECK(snap_file_has(&f, "uart") && snap_file_has(&f, "empty-1_x"));
	CHECK(!snap_file_has(&f, "cpu") && !snap_file_has(&f, "uart2"));

	REQUIRE(snap_file_section(&f, "uart", &s, &ver, why) == 0);
	snap_bytes(&s, fifo, sizeof(fifo));
	CHECK(ver == 1 && snap_finish(&s) == 0 && fifo[15] == 105);
	CHECK(snap_file_unused(&f, why) == -EINVAL && !strcmp(why, "unknown section 'cpu.0'"));
	REQUIRE(snap_file_section(&f, "cpu.0", &s, &ver, why) == 0);
	snap_u32(&s, &a);
	snap_u64(&s, &v);
	CHECK(ver == 3 && snap_finish(&s) == 0 && a == 0xcafe && v == 42);
	CHECK(snap_file_unused(&f, why) == -EINVAL && !strcmp(why, "unknown section 'empty-1_x'"));
	REQUIRE(snap_file_section(&f, "empty-1_x", &s, &ver, why) == 0);
	CHECK(ver == 0 && s.len == 0 && snap_finish(&s) == 0);
	CHECK(snap_file_unused(&f, why) == 0);
	snap_file_free(&f);
	CHECK(f.n == 0 && f.data == NULL);

	/* No sections at all is a valid container. */
	snap_file_init(&f);
	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	CHECK(len == 24 && decode(b, len) == 0);
	free(b);
}

static void file_section_twice_missing(void)
{
	struct snap_file f;
	struct snap s;
	uint32_t ver;
	uint8_t *b;
	size_t len;

	REQUIRE(encode_three(&b, &len) == 0);
	snap_file_init(&f);
	REQUIRE(snap_file_decode(&f, b, len, why) == 0);
	free(b);
	CHECK(snap_file_section(&f, "rtc", &s, &ver, why) == -ENOENT);
	CHECK(!strcmp(why, "section 'rtc' missing"));
	CHECK(snap_file_section(&f, "uart", &s, &ver, why) == 0);
	CHECK(snap_file_section(&f, "uart", &s, &ver, why) == -EINVAL);
	CHECK(!strcmp(why, "section 'uart' opened twice"));
	CHECK(snap_file_has(&f, "uart")); /* still there, still opened once */
	CHECK(snap_file_unused(&f, why) == -EINVAL && !strcmp(why, "unknown section 'cpu.0'"));
	snap_file_free(&f);
}

static void file_add_refused(void)
{
	struct snap_file f;
	struct snap s;
	static const char *const bad[] = {
		"",	  "a b",	 "x/y",
		"uart\n", "caf\xc3\xa9", "0123456789012345678901234567890123456789abcdefgh",
	};

	snap_file_init(&f);
	snap_init_save(&s, 64);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(snap_file_add(&f, bad[i], 1, &s, why) == -EINVAL);
		CHECK(!strncmp(why, "bad section name '", 18));
	}
	/* 47 characters is the longest name. */
	CHECK(snap_file_add(&f, "0123456789012345678901234567890123456789abcdefg", 1, &s, why) ==
	      0);
	CHECK(snap_file_add(&f, "uart", 1, &s, why) == 0);
	CHECK(snap_file_add(&f, "uart", 2, &s, why) == -EEXIST);
	CHECK(!strcmp(why, "section 'uart' repeated"));
	/* A failed stream's own error, and its buffer stays with it. */
	snap_u32(&s, &(uint32_t){ 7 });
	snap_fail(&s, -ERANGE, "fifo level 99");
	CHECK(snap_file_add(&f, "rtc", 1, &s, why) == -ERANGE);
	CHECK(!strcmp(why, "section 'rtc': fifo level 99") && s.len == 4);
	CHECK(f.n == 2 && !snap_file_has(&f, "rtc"));
	snap_free(&s);
	/* A loading stream is not a section to add. */
	snap_init_load(&s, NULL, 0);
	CHECK(snap_file_add(&f, "load", 1, &s, why) == -EINVAL);

	/* At most SNAP_SECTIONS_MAX sections. */
	char name[16];

	snap_init_save(&s, 64);
	for (unsigned int i = f.n; i < SNAP_SECTIONS_MAX; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		REQUIRE(snap_file_add(&f, name, 1, &s, why) == 0);
	}
	CHECK(snap_file_add(&f, "one-more", 1, &s, why) == -E2BIG);
	snap_free(&s);

	/* ... which encode and decode. */
	uint8_t *b;
	size_t len;

	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	CHECK(decode(b, len) == 0);
	free(b);
	snap_file_free(&f);
}

/* The encoder refuses what the decoder would (more than SNAP_FILE_MAX). */
static void file_encode_too_big(void)
{
	struct snap_file f;
	struct snap s;
	uint8_t *b = NULL, *big = calloc(1, SNAP_FILE_MAX);
	size_t len = 0;

	REQUIRE(big);
	snap_file_init(&f);
	snap_init_save(&s, SNAP_FILE_MAX);
	/* header 20 + section header 13 + a 1-byte name + payload + checksum 4 */
	snap_bytes(&s, big, SNAP_FILE_MAX - 38);
	CHECK(snap_file_add(&f, "m", 1, &s, why) == 0);
	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	CHECK(len == SNAP_FILE_MAX && decode(b, len) == 0);
	free(b);
	snap_file_free(&f);

	snap_bytes(&s, big, SNAP_FILE_MAX - 37);
	CHECK(snap_file_add(&f, "m", 1, &s, why) == 0);
	CHECK(snap_file_encode(&f, &b, &len, why) == -EFBIG);
	CHECK(!strcmp(why, "state larger than 67108864 bytes (at 'm')"));
	snap_file_free(&f);
	snap_free(&s);
	free(big);
}

/* ---- hostile containers, built byte by byte ---- */

/* A section with name length `nlen` (the name's bytes from `name`),
 * payload length `plen`, and `have` bytes of payload actually present. */
static void raw_section(struct raw *r, const char *name, size_t nlen, uint64_t plen, size_t have)
{
	raw_section_head(r, name, nlen, 1, plen);
	memset(r->b + r->len, 0xa5, have);
	r->len += have;
}

static int raw_decode(struct raw *r)
{
	raw_sum(r);
	return decode(r->b, r->len);
}

static void file_bad_header(void)
{
	uint8_t *b;
	size_t len;

	REQUIRE(encode_three(&b, &len) == 0);
	b[0] = 'X';
	CHECK(decode(b, len) == -EINVAL && !strcmp(why, "not a petrel snapshot (bad magic)"));
	b[0] = 'P';
	/* Version, flags: refused before the checksum is even looked at. */
	le_put(b + 8, 7, 4);
	CHECK(decode(b, len) == -EINVAL &&
	      !strcmp(why, "format version 7 is newer than this petrel's (1)"));
	le_put(b + 8, UINT32_MAX, 4);
	CHECK(decode(b, len) == -EINVAL &&
	      !strcmp(why, "format version 4294967295 is newer than this petrel's (1)"));
	le_put(b + 8, 0, 4);
	CHECK(decode(b, len) == -EINVAL && !strcmp(why, "format version 0 is not valid"));
	le_put(b + 8, 1, 4);
	le_put(b + 12, 0x80, 4);
	CHECK(decode(b, len) == -EINVAL && !strcmp(why, "unknown flags 0x80"));
	le_put(b + 12, 0, 4);
	CHECK(decode(b, len) == 0);
	/* One flipped bit anywhere, the checksum included. */
	for (size_t i = 16; i < len; i += 7) {
		b[i] ^= 0x10;
		CHECK(decode(b, len) == -EINVAL && !strcmp(why, "bad checksum"));
		b[i] ^= 0x10;
	}
	free(b);
}

/* Every prefix of a valid file is refused with a reason, and none reads
 * outside (ASan: each prefix is decoded from its own exact-size buffer). */
static void file_every_prefix(void)
{
	uint8_t *b, *cut;
	size_t len;

	REQUIRE(encode_three(&b, &len) == 0);
	for (size_t n = 0; n < len; n++) {
		cut = malloc(n ? n : 1);
		REQUIRE(cut);
		memcpy(cut, b, n);
		CHECK(decode(cut, n) == -EINVAL);
		if (n < 24)
			CHECK(!strncmp(why, "truncated (", 11));
		else
			CHECK(!strcmp(why, "bad checksum"));
		free(cut);
	}
	/* A valid checksum on the prefix does not help: the framing is short. */
	struct raw r;

	for (size_t n = 20; n < len - 4; n++) {
		memcpy(r.b, b, n);
		r.len = n;
		CHECK(raw_decode(&r) == -EINVAL);
	}
	free(b);
}

static void file_bad_sections(void)
{
	struct raw r;

	raw_header(&r, 1, 0, 2);
	raw_section(&r, "uart", 4, 1, 1);
	raw_section(&r, "uart", 4, 0, 0);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "section 'uart' repeated"));

	static const char badc[] = { ' ', '/', 0, '\x80', '\xff', '\n', '*' };

	for (unsigned int i = 0; i < sizeof(badc); i++) {
		char name[3] = { 'a', badc[i], 'b' };
		char want[80];

		raw_header(&r, 1, 0, 1);
		raw_section(&r, name, 3, 0, 0);
		snprintf(want, sizeof(want),
			 "section 0: byte 0x%02x in its name (allowed: A-Z a-z 0-9 _ . -)",
			 (uint8_t)badc[i]);
		CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, want));
	}

	raw_header(&r, 1, 0, 2);
	raw_section(&r, "ok", 2, 0, 0);
	raw_section(&r, "", 0, 0, 0);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "section 1: name length 0 (1 to 47)"));
	raw_header(&r, 1, 0, 1);
	raw_section(&r, "0123456789012345678901234567890123456789abcdefgh", 48, 0, 0);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "section 0: name length 48 (1 to 47)"));
	raw_header(&r, 1, 0, 1);
	raw_section(&r, "0123456789012345678901234567890123456789abcdefg", 47, 0, 0);
	CHECK(raw_decode(&r) == 0);

	/* Payload lengths past the end, up to ones that would wrap a size_t. */
	static const uint64_t over[] = {
		3, 4, 1000, UINT64_MAX, UINT64_MAX - 3, 1ULL << 63, SIZE_MAX - 40
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(over); i++) {
		raw_header(&r, 1, 0, 1);
		raw_section(&r, "blk", 3, over[i], 2);
		CHECK(raw_decode(&r) == -EINVAL && strstr(why, "section 'blk': ") &&
		      strstr(why, "bytes, only 2 left"));
	}
	/* The second of two: the first's payload is not the second's header. */
	raw_header(&r, 1, 0, 2);
	raw_section(&r, "a", 1, 2, 2);
	raw_section(&r, "b", 1, UINT64_MAX, 0);
	CHECK(raw_decode(&r) == -EINVAL &&
	      !strcmp(why, "section 'b': 18446744073709551615 bytes, only 0 left"));

	/* Counts: over the maximum, more than the bytes can hold, fewer than
	 * the sections present. */
	raw_header(&r, 1, 0, SNAP_SECTIONS_MAX + 1);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "513 sections, more than 512"));
	raw_header(&r, 1, 0, UINT32_MAX);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "4294967295 sections, more than 512"));
	raw_header(&r, 1, 0, 3);
	raw_section(&r, "a", 1, 0, 0);
	raw_section(&r, "b", 1, 0, 0);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "truncated (3 sections in 28 bytes)"));
	raw_header(&r, 1, 0, 1);
	raw_section(&r, "a", 1, 0, 0);
	raw_section(&r, "b", 1, 0, 0);
	CHECK(raw_decode(&r) == -EINVAL &&
	      !strcmp(why, "14 trailing bytes after the last section"));
	raw_header(&r, 1, 0, 0);
	r.b[r.len++] = 0;
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "1 trailing bytes after the last section"));

	/* A section header cut short by the checksum's position. */
	raw_header(&r, 1, 0, 2);
	raw_section(&r, "abcdefghijklmn", 14, 0, 0);
	r.b[r.len++] = 2;
	r.b[r.len++] = 'z';
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "section 1: truncated name"));
	raw_header(&r, 1, 0, 2);
	raw_section(&r, "abcdefghijklmn", 14, 0, 0);
	r.b[r.len++] = 1;
	r.b[r.len++] = 'z';
	raw_put(&r, 0, 4);
	CHECK(raw_decode(&r) == -EINVAL && !strcmp(why, "section 'z': truncated"));
}

static void file_decode_too_big(void)
{
	size_t len = (size_t)SNAP_FILE_MAX + 1;
	uint8_t *b = calloc(1, len);
	struct raw r;

	REQUIRE(b);
	raw_header(&r, 1, 0, 0);
	memcpy(b, r.b, r.len);
	CHECK(decode(b, len) == -EFBIG &&
	      !strcmp(why, "67108865 bytes, more than the limit of 67108864"));
	free(b);
}

/* ---- files and pipes ---- */

static int tmp_fd(void)
{
	char path[] = "/tmp/petrel-test-snapshot-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

static void file_write_read(void)
{
	struct snap_file f, g;
	struct snap s;
	uint32_t ver;
	int fd = tmp_fd();

	REQUIRE(fd >= 0);
	three_sections(&f);
	CHECK(snap_file_write(&f, fd, why) == 0);
	snap_file_free(&f);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	snap_file_init(&g);
	REQUIRE(snap_file_read(&g, fd, why) == 0);
	CHECK(g.n == 3 && g.len == 20 + 30 + 33 + 22 + 4);
	CHECK(snap_file_section(&g, "cpu.0", &s, &ver, why) == 0 && ver == 3 && s.len == 12);
	snap_file_free(&g);

	/* A file that is not a snapshot; an empty one. */
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, "#!/bin/sh\nexit 0\n0123456789", 27, 0) == 27);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(snap_file_read(&g, fd, why) == -EINVAL);
	CHECK(!strcmp(why, "not a petrel snapshot (bad magic)") && g.data == NULL);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(snap_file_read(&g, fd, why) == -EINVAL &&
	      !strcmp(why, "truncated (0 bytes, a snapshot has 24 or more)"));

	/* Over the limit: refused on its size, nothing read (sparse: costs no disk). */
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(ftruncate(fd, (off_t)SNAP_FILE_MAX + 1) == 0);
	CHECK(snap_file_read(&g, fd, why) == -EFBIG);
	CHECK(!strcmp(why, "67108865 bytes, more than the limit of 67108864"));
	CHECK(lseek(fd, 0, SEEK_CUR) == 0 && g.data == NULL);
	close(fd);

	/* Errors from the descriptor itself. */
	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	REQUIRE(fd >= 0);
	CHECK(snap_file_read(&g, fd, why) == -EISDIR &&
	      !strcmp(why, "cannot read: Is a directory"));
	close(fd);
	CHECK(snap_file_read(&g, -1, why) == -EBADF &&
	      !strcmp(why, "cannot stat: Bad file descriptor"));
	fd = open("/dev/full", O_WRONLY);
	REQUIRE(fd >= 0);
	three_sections(&f);
	CHECK(snap_file_write(&f, fd, why) == -ENOSPC);
	CHECK(!strcmp(why, "cannot write: No space left on device"));
	close(fd);
	snap_file_free(&f);
}

/* A child writes `len` bytes of `b` into a pipe, then `extra` bytes more
 * (until the reader closes). */
static pid_t pipe_writer(int fds[2], const uint8_t *b, size_t len, size_t extra)
{
	static uint8_t zero[65536];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid != 0) {
		close(fds[1]);
		return pid;
	}
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	for (size_t done = 0, n; done < len + extra; done += n) {
		const uint8_t *p = done < len ? b + done : zero;
		size_t want = done < len ? len - done : len + extra - done;
		ssize_t w = write(fds[1], p, want < sizeof(zero) ? want : sizeof(zero));

		if (w <= 0)
			_exit(w < 0 && errno == EPIPE ? 3 : 2);
		n = (size_t)w;
	}
	_exit(0);
}

static void file_read_pipe(void)
{
	struct snap_file f;
	struct snap s;
	uint8_t *b, *big = malloc(200000);
	uint32_t ver;
	size_t len;
	int fds[2], status;
	pid_t pid;

	/* A payload larger than a pipe's buffer: many reads, the buffer grows. */
	REQUIRE(big);
	for (size_t i = 0; i < 200000; i++)
		big[i] = (uint8_t)(i * 31);
	snap_file_init(&f);
	snap_init_save(&s, 1 << 20);
	snap_bytes(&s, big, 200000);
	CHECK(snap_file_add(&f, "ram-ish", 9, &s, why) == 0);
	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	snap_file_free(&f);
	snap_free(&s);

	pid = pipe_writer(fds, b, len, 0);
	REQUIRE(pid > 0);
	CHECK(snap_file_read(&f, fds[0], why) == 0);
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(snap_file_section(&f, "ram-ish", &s, &ver, why) == 0);
	CHECK(ver == 9 && s.len == 200000 && !memcmp(s.buf, big, 200000));
	CHECK(snap_file_unused(&f, why) == 0);
	snap_file_free(&f);

	/* Without end: refused once past the limit; the writer sees EPIPE. */
	pid = pipe_writer(fds, b, len, SNAP_FILE_MAX);
	REQUIRE(pid > 0);
	CHECK(snap_file_read(&f, fds[0], why) == -EFBIG);
	CHECK(!strcmp(why, "more than the limit of 67108864 bytes") && f.data == NULL);
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 3);

	/* Exactly at the limit is read (and refused only as the bytes it is). */
	pid = pipe_writer(fds, b, len, SNAP_FILE_MAX - len);
	REQUIRE(pid > 0);
	CHECK(snap_file_read(&f, fds[0], why) == -EINVAL && !strcmp(why, "bad checksum"));
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(b);
	free(big);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Reads and writes that a signal interrupts (no SA_RESTART): a 2 ms timer
 * fires while the peer sleeps, so read and write see EINTR and short
 * counts, and carry on. */
static void file_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval tick = { { 0, 2000 }, { 0, 2000 } }, off = { 0 };
	struct snap_file f, g;
	uint8_t *b, *back;
	size_t len, got = 0;
	ssize_t n;
	int fds[2], status;
	pid_t pid;

	three_sections(&f);
	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	back = malloc(len);
	REQUIRE(back);
	REQUIRE(sigaction(SIGALRM, &sa, &old) == 0);

	/* Read: the writer pauses halfway. */
	REQUIRE(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (write(fds[1], b, len / 2) != (ssize_t)(len / 2))
			_exit(2);
		usleep(100000);
		_exit(write(fds[1], b + len / 2, len - len / 2) == (ssize_t)(len - len / 2) ? 0
											    : 2);
	}
	close(fds[1]);
	alarms = 0;
	setitimer(ITIMER_REAL, &tick, NULL);
	snap_file_init(&g);
	CHECK(snap_file_read(&g, fds[0], why) == 0 && g.n == 3);
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(alarms > 0);
	snap_file_free(&g);
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Write: more than the pipe holds, to a reader that starts late. */
	snap_file_free(&f);
	snap_file_init(&f);
	struct snap s;
	static uint8_t big[300000];

	snap_init_save(&s, sizeof(big));
	snap_bytes(&s, big, sizeof(big));
	CHECK(snap_file_add(&f, "big", 1, &s, why) == 0);
	free(b);
	free(back);
	REQUIRE(snap_file_encode(&f, &b, &len, why) == 0);
	back = malloc(len);
	REQUIRE(back && pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		usleep(100000);
		while ((n = read(fds[0], back + got, len - got)) > 0)
			got += (size_t)n;
		_exit(got == len && !memcmp(back, b, len) ? 0 : 2);
	}
	close(fds[0]);
	alarms = 0;
	setitimer(ITIMER_REAL, &tick, NULL);
	CHECK(snap_file_write(&f, fds[1], why) == 0);
	setitimer(ITIMER_REAL, &off, NULL);
	CHECK(alarms > 0);
	close(fds[1]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sigaction(SIGALRM, &old, NULL);
	snap_file_free(&f);
	snap_free(&s);
	free(b);
	free(back);
}

int main(void)
{
	RUN(snap_round_trip);
	RUN(snap_truncated);
	RUN(snap_sticky);
	RUN(snap_bool_range);
	RUN(snap_max);
	RUN(snap_save_limit);
	RUN(snap_trailing);
	RUN(snap_zero_bytes);
	RUN(crc32c_vectors);
	RUN(file_round_trip);
	RUN(file_section_twice_missing);
	RUN(file_add_refused);
	RUN(file_encode_too_big);
	RUN(file_bad_header);
	RUN(file_every_prefix);
	RUN(file_bad_sections);
	RUN(file_decode_too_big);
	RUN(file_write_read);
	RUN(file_read_pipe);
	RUN(file_eintr);
	return harness_exit();
}
