/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against the virtio devices' request parsing
 * (tests/hostile/virtio.cases): blk, net, vsock, balloon, console, the
 * config space, a reset in the middle of requests, and four vCPUs racing
 * on one queue. Each case checks the outcome petrel documents (a request
 * completed with an error status, a frame or packet dropped or answered
 * with a reset, DEVICE_NEEDS_RESET for a chain the device cannot use at
 * all), that nothing was written outside what the chain allowed (guards
 * around every buffer), and that the device then serves a good request.
 */
#include "hostile.h"
#include "rt.h"
#include "virtio.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define FILL 0xcc

static struct virtio_dev dev;
static struct virtq vq[3];
static uint64_t want;
static unsigned int nq;
static uint32_t id;

static void up(uint32_t device_id, uint64_t wanted, unsigned int queues)
{
	id = device_id;
	want = wanted;
	nq = queues;
	hostile_up(&dev, id, want, vq, nq, 64);
}

/* Adds a chain (nout readable, then nin writable buffers), kicks, and
 * waits for it to be used; returns the used length, or -1. */
static long roundtrip(struct virtq *q, struct virtq_buf *b, unsigned int nout, unsigned int nin)
{
	uint32_t len;

	if (virtq_add(q, b, nout, nin, false) < 0)
		return -1;
	hostile_notify(q);
	return virtq_wait(q, &len) < 0 ? -1 : (long)len;
}

/* A chain the device cannot use at all: NEEDS_RESET, nothing used. */
static void expect_reset(struct virtq *q, struct virtq_buf *b, unsigned int nout, unsigned int nin,
			 const char *what)
{
	uint16_t used = q->used[1];
	uint32_t s;

	hostile_check(virtq_add(q, b, nout, nin, false) >= 0, "%s: virtq_add", what);
	hostile_notify(q);
	s = hostile_wait_status(&dev, NEEDS_RESET);
	hostile_check(s & NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what, s);
	hostile_check(q->used[1] == used, "%s: the device used the chain", what);
	virtio_reset(&dev);
	hostile_up(&dev, id, want, vq, nq, 64);
}

static void alive(const char *after)
{
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "%s: status %#x", after,
		      virtio_status(&dev));
}

/* ------------------------------------------------------------------ blk */

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_CFG_SIZE 60
#define BLK_SECTORS 2048 /* the suite's 1 MiB @DISK */

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct blk_hdr *hdr;
static uint8_t *status, *data;
#define DATA 4096

static void blk_up(void)
{
	up(VIRTIO_ID_BLOCK, 0, 1);
	if (!hdr) {
		hdr = hostile_guarded(sizeof(*hdr), 0);
		status = hostile_guarded(1, 0xff);
		data = hostile_guarded(DATA, FILL);
	}
	hostile_check(virtio_cfg_read64(&dev, 0) == BLK_SECTORS, "capacity %lu, not %u sectors",
		      (unsigned long)virtio_cfg_read64(&dev, 0), BLK_SECTORS);
}

/* One request: header, `len` bytes of data (device-writable for reads),
 * status. Returns the status byte, or -1 when nothing was used. */
static int blk_req(uint32_t type, uint64_t sector, uint32_t len)
{
	struct virtq_buf b[3] = { { hdr, sizeof(*hdr) }, { data, len }, { status, 1 } };
	bool in = type == BLK_T_IN;

	*hdr = (struct blk_hdr){ .type = type, .sector = sector };
	*status = 0xff;
	if (!len) {
		b[1] = b[2];
		return roundtrip(&vq[0], b, 1, 1) < 0 ? -1 : *status;
	}
	return roundtrip(&vq[0], b, in ? 1 : 2, in ? 2 : 1) < 0 ? -1 : *status;
}

static void blk_intact(const char *what)
{
	hostile_check(hostile_filled(data, DATA, FILL), "%s: the data buffer was written", what);
	hostile_check(hostile_guard_ok(data, DATA) && hostile_guard_ok(status, 1) &&
			  hostile_guard_ok(hdr, sizeof(*hdr)),
		      "%s: a write past a buffer", what);
}

static void blk_expect(const char *what, uint32_t type, uint64_t sector, uint32_t len, int st)
{
	int got = blk_req(type, sector, len);

	hostile_check(got == st, "%s: status %d, expected %d", what, got, st);
	blk_intact(what);
	alive(what);
}

/* The device still serves: sector 0 reads back what the case wrote. */
static void blk_good(const char *after)
{
	int st;

	memset(data, FILL, DATA);
	st = blk_req(BLK_T_IN, 0, 512);
	hostile_check(st == BLK_S_OK, "%s: a good read then failed (%d)", after, st);
	hostile_check(hostile_filled(data, 512, 0x5e), "%s: sector 0 changed", after);
	hostile_check(hostile_guard_ok(data, DATA), "%s: a good read wrote past its buffer", after);
	memset(data, FILL, DATA);
}

/* Sector 0 holds 0x5e bytes: a misdirected write or read shows. */
static void blk_prepare(void)
{
	int st;

	blk_up();
	memset(data, 0x5e, 512);
	st = blk_req(BLK_T_OUT, 0, 512);
	hostile_check(st == BLK_S_OK, "writing sector 0: status %d", st);
	memset(data, FILL, DATA);
}

static void blk_bad_type(void)
{
	blk_prepare();
	blk_expect("type 0x99", 0x99, 0, 512, BLK_S_UNSUPP);
	blk_expect("type 0xffffffff", 0xffffffff, 0, 512, BLK_S_UNSUPP);
	blk_expect("DISCARD, not negotiated", BLK_T_DISCARD, 0, 16, BLK_S_UNSUPP);
	blk_expect("WRITE_ZEROES, not negotiated", BLK_T_WRITE_ZEROES, 0, 16, BLK_S_UNSUPP);
	blk_good("bad request types");
}

static void blk_past_end(void)
{
	blk_prepare();
	blk_expect("read at the capacity", BLK_T_IN, BLK_SECTORS, 512, BLK_S_IOERR);
	blk_expect("read across the end", BLK_T_IN, BLK_SECTORS - 1, 1024, BLK_S_IOERR);
	blk_expect("write at the capacity", BLK_T_OUT, BLK_SECTORS, 512, BLK_S_IOERR);
	blk_expect("write across the end", BLK_T_OUT, BLK_SECTORS - 2, 4096, BLK_S_IOERR);
	blk_expect("read of 100 bytes", BLK_T_IN, 0, 100, BLK_S_IOERR);
	blk_expect("write of 513 bytes", BLK_T_OUT, 0, 513, BLK_S_IOERR);
	blk_good("requests past the end");
}

/* Sectors whose byte offset, or whose end, wraps 64 bits: read as sector
 * 0 (or anything else) they would hit data they must not. */
static void blk_sector_overflow(void)
{
	blk_prepare();
	blk_expect("read at sector 2^64-1", BLK_T_IN, ~0ULL, 512, BLK_S_IOERR);
	blk_expect("read of 2 at sector 2^64-1", BLK_T_IN, ~0ULL, 1024, BLK_S_IOERR);
	blk_expect("read at sector 2^55 (offset 2^64)", BLK_T_IN, 1ULL << 55, 512, BLK_S_IOERR);
	blk_expect("write at sector 2^55 (offset 2^64)", BLK_T_OUT, 1ULL << 55, 512, BLK_S_IOERR);
	blk_expect("write at sector 2^64-8", BLK_T_OUT, ~0ULL - 7, 4096, BLK_S_IOERR);
	blk_good("sector overflow");
}

static void blk_short_header(void)
{
	struct virtq_buf b[3];
	long used;

	blk_prepare();
	*hdr = (struct blk_hdr){ .type = BLK_T_IN };
	/* 8 header bytes, data, status. */
	b[0] = (struct virtq_buf){ hdr, 8 };
	b[1] = (struct virtq_buf){ data, 512 };
	b[2] = (struct virtq_buf){ status, 1 };
	*status = 0xff;
	used = roundtrip(&vq[0], b, 1, 2);
	hostile_check(used >= 0 && *status == BLK_S_IOERR, "8-byte header: status %d", *status);
	blk_intact("8-byte header");
	/* The header in a device-writable buffer: the device has nothing to
	 * read, and must not write the header either. */
	*hdr = (struct blk_hdr){ .type = BLK_T_OUT, .sector = 0 };
	b[0] = (struct virtq_buf){ hdr, sizeof(*hdr) };
	b[1] = (struct virtq_buf){ status, 1 };
	*status = 0xff;
	used = roundtrip(&vq[0], b, 0, 2);
	hostile_check(used >= 0 && *status == BLK_S_IOERR, "writable header: status %d", *status);
	hostile_check(hdr->type == BLK_T_OUT && hdr->sector == 0 && hdr->reserved == 0,
		      "writable header: the device wrote it");
	/* Split in two is valid (no framing assumptions, 2.6.4). */
	*hdr = (struct blk_hdr){ .type = BLK_T_IN };
	b[0] = (struct virtq_buf){ hdr, 4 };
	b[1] = (struct virtq_buf){ (uint8_t *)hdr + 4, 12 };
	b[2] = (struct virtq_buf){ data, 512 };
	struct virtq_buf b4[4] = { b[0], b[1], b[2], { status, 1 } };
	*status = 0xff;
	used = roundtrip(&vq[0], b4, 2, 2);
	hostile_check(used == 513 && *status == BLK_S_OK && hostile_filled(data, 512, 0x5e),
		      "split header: used %ld status %d", used, *status);
	memset(data, FILL, DATA);
	blk_good("short headers");
}

static void blk_no_status(void)
{
	struct virtq_buf b[2] = { { hdr, sizeof(*hdr) }, { status, 1 } };

	blk_prepare();
	*hdr = (struct blk_hdr){ .type = BLK_T_IN };
	*status = 0xff;
	expect_reset(&vq[0], b, 2, 0, "status byte device-readable");
	hostile_check(*status == 0xff, "a read-only status byte was written");
	expect_reset(&vq[0], b, 1, 0, "no status byte");
	blk_intact("no status byte");
	blk_good("no status byte");
}

#define BLK_F_DISCARD 13
#define BLK_F_WRITE_ZEROES 14

/* DISCARD / WRITE_ZEROES with `n` segments (sector, sectors, flags). */
static int blk_segs(uint32_t type, const uint32_t (*seg)[4], unsigned int n, uint32_t bytes)
{
	uint8_t *segs = data;

	for (unsigned int i = 0; i < n; i++) {
		memcpy(segs + 16 * i, &seg[i][0], 8);
		memcpy(segs + 16 * i + 8, &seg[i][2], 4);
		memcpy(segs + 16 * i + 12, &seg[i][3], 4);
	}
	return blk_req(type, 0, bytes ? bytes : 16 * n);
}

/* Segment lists (5.2.6): too many, too long, past the end, unknown flags,
 * UNMAP on a discard, not whole segments. Sector 0 must survive them all;
 * a good WRITE_ZEROES then zeroes it. */
static void blk_segments(void)
{
	static const uint32_t two[2][4] = { { 0, 0, 1, 0 }, { 1, 0, 1, 0 } };
	static const uint32_t huge[1][4] = { { 0, 0, 0xffffffff, 0 } };
	static const uint32_t end[1][4] = { { BLK_SECTORS, 0, 1, 0 } };
	static const uint32_t wrap[1][4] = { { 0xffffffff, 0xffffffff, 2, 0 } };
	static const uint32_t flags[1][4] = { { 0, 0, 1, 2 } };
	static const uint32_t unmap[1][4] = { { 0, 0, 1, 1 } };
	static const uint32_t good[1][4] = { { 0, 0, 1, 1 } };
	int st;

	blk_up();
	hostile_check(virtio_negotiate(&dev, VIRTIO_BIT(BLK_F_DISCARD) |
						 VIRTIO_BIT(BLK_F_WRITE_ZEROES)) == 0 &&
			  virtq_setup(&dev, vq, 0, 64) == 0 && virtio_driver_ok(&dev) == 0,
		      "negotiating DISCARD and WRITE_ZEROES");
	hostile_check(dev.features & VIRTIO_BIT(BLK_F_WRITE_ZEROES), "WRITE_ZEROES not offered");
	memset(data, 0x5e, 512);
	hostile_check(blk_req(BLK_T_OUT, 0, 512) == BLK_S_OK, "writing sector 0");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, two, 2, 0) == BLK_S_IOERR,
		      "WRITE_ZEROES with 2 segments (max 1)");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, huge, 1, 0) == BLK_S_IOERR,
		      "WRITE_ZEROES of 2^32-1 sectors");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, end, 1, 0) == BLK_S_IOERR,
		      "WRITE_ZEROES at the capacity");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, wrap, 1, 0) == BLK_S_IOERR,
		      "WRITE_ZEROES at sector 2^64-1");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, flags, 1, 0) == BLK_S_UNSUPP,
		      "WRITE_ZEROES with unknown flags");
	hostile_check(blk_segs(BLK_T_WRITE_ZEROES, good, 1, 15) == BLK_S_IOERR,
		      "WRITE_ZEROES with 15 bytes of segments");
	if (dev.features & VIRTIO_BIT(BLK_F_DISCARD)) {
		hostile_check(blk_segs(BLK_T_DISCARD, unmap, 1, 0) == BLK_S_UNSUPP,
			      "DISCARD with UNMAP");
		hostile_check(blk_segs(BLK_T_DISCARD, end, 1, 0) == BLK_S_IOERR,
			      "DISCARD at the capacity");
	}
	hostile_check(hostile_guard_ok(data, DATA), "a write past the segment list");
	blk_good("bad segment lists");
	st = blk_segs(BLK_T_WRITE_ZEROES, good, 1, 0);
	hostile_check(st == BLK_S_OK, "a good WRITE_ZEROES: status %d", st);
	memset(data, FILL, DATA);
	st = blk_req(BLK_T_IN, 0, 512);
	hostile_check(st == BLK_S_OK && hostile_filled(data, 512, 0),
		      "sector 0 after WRITE_ZEROES: status %d", st);
}

/* Config space: reads past its end (or straddling it) return 0; writes
 * there, and to the read-only fields, are dropped. */
static void config_oob(void)
{
	uint64_t b;
	struct virtio_dev rng;

	blk_up();
	b = dev.base + VIRTIO_MMIO_REG_CONFIG;
	hostile_check(virtio_cfg_read32(&dev, BLK_CFG_SIZE) == 0, "read at the config end");
	hostile_check(virtio_cfg_read32(&dev, BLK_CFG_SIZE - 2) == 0, "read straddling the end");
	hostile_check(*(volatile uint64_t *)(b + BLK_CFG_SIZE - 4) == 0,
		      "64-bit read straddling the end");
	hostile_check(virtio_cfg_read16(&dev, 0xfe) == 0, "read at the end of the window");
	hostile_check(*(volatile uint64_t *)b == BLK_SECTORS, "64-bit read of the capacity");
	virtio_cfg_write32(&dev, 0, 0xdeadbeef);
	virtio_cfg_write32(&dev, BLK_CFG_SIZE - 2, 0xdeadbeef);
	virtio_cfg_write32(&dev, 0xfc, 0xdeadbeef);
	*(volatile uint64_t *)b = ~0ULL;
	*(volatile uint8_t *)(b + 7) = 0x80;
	hostile_check(virtio_cfg_read64(&dev, 0) == BLK_SECTORS, "capacity now %#lx",
		      (unsigned long)virtio_cfg_read64(&dev, 0));
	hostile_check(virtio_cfg_read32(&dev, 0xfc) == 0, "a write past the end stuck");
	hostile_check(virtio_find(VIRTIO_ID_RNG, 0, &rng) == 0, "no rng");
	virtio_cfg_write32(&rng, 0, 0x12345678);
	hostile_check(virtio_cfg_read32(&rng, 0) == 0, "rng (no config): read 0 is not 0");
	memset(data, 0x5e, 512);
	hostile_check(blk_req(BLK_T_OUT, 0, 512) == BLK_S_OK, "write after config writes");
	blk_good("config-space abuse");
}

static void fill(void *p, uint8_t v, uint64_t n)
{
	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(v) : "memory");
}

#define MID_REQS 16
#define MID_LEN (256u << 10)

/* A reset (Status 0) with requests in flight: once the write returns, the
 * device must not write the old buffers or rings (the case overwrites
 * them at once, natively fast, and looks again later), and must serve
 * again. The rng, kicked just before, holds the event loop meanwhile, so
 * completions are still unpublished when the reset comes. */
static void reset_midreq(void)
{
	static struct blk_hdr h[MID_REQS];
	static uint8_t st[MID_REQS];
	static struct virtio_dev r;
	static struct virtq rq;
	uint8_t *big = hostile_guarded(MID_REQS * MID_LEN, FILL);
	uint8_t *rb = hostile_guarded(4096, 0);
	uint32_t ring_bytes;
	uint8_t *ring;

	blk_prepare();
	hostile_up(&r, VIRTIO_ID_RNG, 0, &rq, 1, 64);
	virtq_interrupts(&rq, false);
	for (int round = 0; round < 4; round++) {
		ring = (uint8_t *)vq[0].desc;
		ring_bytes = (uint32_t)((uint8_t *)vq[0].used - ring) + 6 + 8 * vq[0].size;
		for (unsigned int i = 0; i < MID_REQS; i++) {
			struct virtq_buf b[3] = { { &h[i], sizeof(h[i]) },
						  { big + MID_LEN * i, MID_LEN },
						  { &st[i], 1 } };
			bool out = round & 1 && i & 1;

			h[i] =
			    (struct blk_hdr){ .type = out ? BLK_T_OUT : BLK_T_IN,
					      .sector = (i * 128) % (BLK_SECTORS - MID_LEN / 512) };
			hostile_check(virtq_add(&vq[0], b, out ? 2 : 1, out ? 1 : 2, false) >= 0,
				      "virtq_add");
		}
		hostile_notify(&vq[0]);
		/* Keep the event loop busy on the rng, so that what the disk
		 * finished is still to be published when the reset comes. */
		for (unsigned int i = 0; i < rq.size; i++) {
			hostile_desc(&rq, i, (uint64_t)rb, 4096, F_WRITE, 0);
			hostile_publish(&rq, (uint16_t)i);
		}
		hostile_notify(&rq);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0);
		/* From here nothing may touch them; the small things first,
		 * so the check has the widest window. */
		fill(st, 0x77, sizeof(st));
		fill(ring, 0x77, ring_bytes);
		fill(big, 0x77, MID_REQS * MID_LEN);
		hostile_check(virtio_status(&dev) == 0, "status %#x after a reset",
			      virtio_status(&dev));
		for (uint64_t end = rdtsc() + HOSTILE_QUIET; rdtsc() < end;)
			;
		hostile_check(hostile_filled(big, MID_REQS * MID_LEN, 0x77) &&
				  hostile_guard_ok(big, MID_REQS * MID_LEN),
			      "round %d: buffers written after the reset", round);
		hostile_check(hostile_filled(ring, ring_bytes, 0x77),
			      "round %d: ring written after "
			      "the reset",
			      round);
		hostile_check(hostile_filled(st, sizeof(st), 0x77),
			      "round %d: a status byte written after the reset", round);
		fill(big, FILL, MID_REQS * MID_LEN);
		hostile_wait_used(&rq, rq.avail_idx, HOSTILE_WAIT);
		hostile_up(&dev, id, want, vq, nq, 64);
	}
	blk_good("resets with requests in flight");
}

/*
 * One queue kept full: after a single kick the guest re-publishes every
 * rng chain as soon as it is used (natively fast at CPL3) for up to
 * HOSTILE_WAIT, and meanwhile asks the disk for one read. One event-loop
 * thread serves every device's doorbells (and petrel's signals, console
 * and control socket): a device that took the whole stream in one notify
 * would keep the disk's request waiting for as long as the guest likes.
 */
static void rng_flood(void)
{
	static struct virtio_dev r;
	static struct virtq rq;
	uint8_t *rb = hostile_guarded(64, 0);
	struct virtq_buf b[3];
	uint64_t fed = 0, start, end, took = 0;
	uint16_t blk_used;

	blk_prepare();
	b[0] = (struct virtq_buf){ hdr, sizeof(*hdr) };
	b[1] = (struct virtq_buf){ data, 512 };
	b[2] = (struct virtq_buf){ status, 1 };
	hostile_up(&r, VIRTIO_ID_RNG, 0, &rq, 1, 64);
	virtq_interrupts(&rq, false);
	for (unsigned int i = 0; i < rq.size; i++) {
		hostile_desc(&rq, i, (uint64_t)rb, 64, F_WRITE, 0);
		hostile_publish(&rq, (uint16_t)i);
	}
	hostile_notify(&rq);
	/* Let the rng get going before the disk read is asked for. */
	for (uint64_t t = rdtsc() + HOSTILE_QUIET; rdtsc() < t;) {
		uint16_t used = rq.used[1];

		if ((uint16_t)(rq.avail_idx - used) < rq.size / 2) {
			while ((uint16_t)(rq.avail_idx - used) < rq.size) {
				hostile_publish(&rq, (uint16_t)(rq.avail_idx & (rq.size - 1)));
				fed++;
			}
			hostile_notify(&rq);
		}
	}
	*hdr = (struct blk_hdr){ .type = BLK_T_IN };
	*status = 0xff;
	blk_used = vq[0].used[1];
	hostile_check(virtq_add(&vq[0], b, 1, 2, false) >= 0, "virtq_add");
	hostile_notify(&vq[0]);
	start = rdtsc();
	end = start + HOSTILE_WAIT;
	while (rdtsc() < end) {
		uint16_t used = rq.used[1];

		if ((uint16_t)(rq.avail_idx - used) < rq.size / 2) {
			while ((uint16_t)(rq.avail_idx - used) < rq.size) {
				hostile_publish(&rq, (uint16_t)(rq.avail_idx & (rq.size - 1)));
				fed++;
			}
			hostile_notify(&rq);
		}
		if (vq[0].used[1] != blk_used) {
			took = rdtsc() - start;
			break;
		}
	}
	printf("hostile: %lu rng chains fed; the disk read took %lu cycles\n", (unsigned long)fed,
	       (unsigned long)took);
	hostile_check(took != 0,
		      "a disk read did not complete while another device's ring was "
		      "kept full (%lu chains fed)",
		      (unsigned long)fed);
	hostile_check(fed > rq.size, "the rng used only %lu chains", (unsigned long)fed);
	hostile_wait_used(&vq[0], (uint16_t)(blk_used + 1), HOSTILE_WAIT);
	hostile_check(*status == BLK_S_OK && hostile_filled(data, 512, 0x5e),
		      "the disk read: status %d", *status);
	hostile_check(hostile_guard_ok(rb, 64), "the rng wrote past its buffer");
	memset(data, FILL, DATA);
	virtq_get(&vq[0], &(uint32_t){ 0 });
	blk_good("a flooded queue");
}

/* ------------------------------------------------------------------ net */

#define NET_HDR 12
#define NET_F_CSUM 0
#define NET_F_HOST_TSO4 11

static void net_bad_tx(void)
{
	uint8_t *f = hostile_guarded(128, 0);
	struct virtq_buf b[2] = { { f, 4 } };

	up(VIRTIO_ID_NET, 0, 2);
	expect_reset(&vq[1], b, 1, 0, "tx shorter than the virtio-net header");
	b[0] = (struct virtq_buf){ f, 64 };
	b[1] = (struct virtq_buf){ f + 64, 64 };
	expect_reset(&vq[1], b, 1, 1, "tx with a device-writable buffer");
	expect_reset(&vq[1], b, 0, 1, "tx of only a device-writable buffer");
	hostile_check(hostile_filled(f + 64, 64, 0) && hostile_guard_ok(f, 128),
		      "a tx chain's writable buffer was written");
	/* rx buffers the device could only read from. */
	b[0] = (struct virtq_buf){ f, 128 };
	expect_reset(&vq[0], b, 1, 0, "rx with a device-readable buffer");
	b[0] = (struct virtq_buf){ f, 32 };
	b[1] = (struct virtq_buf){ f + 64, 64 };
	expect_reset(&vq[0], b, 1, 1, "rx with a device-readable buffer first");
	b[0] = (struct virtq_buf){ f, 60 + NET_HDR };
	memset(f, 0xff, NET_HDR + 6); /* broadcast */
	memset(f, 0, NET_HDR);
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good frame after bad tx chains");
	alive("bad tx chains");
}

static void net_huge_frame(void)
{
	uint32_t big = 70000;
	uint8_t *f = hostile_guarded(big + NET_HDR, 0);
	struct virtq_buf b[1] = { { f, big + NET_HDR } };
	struct net_hdr {
		uint8_t flags, gso_type;
		uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
	} *h = (struct net_hdr *)f;

	up(VIRTIO_ID_NET, VIRTIO_BIT(NET_F_CSUM) | VIRTIO_BIT(NET_F_HOST_TSO4), 2);
	memset(f + NET_HDR, 0xff, 6);
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 70000-byte frame was not used");
	alive("70000-byte frame");
	b[0].len = NET_HDR + 65551;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 65551-byte frame was not used");
	b[0].len = NET_HDR + 3;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 3-byte frame was not used");
	/* Offload metadata pointing far outside the frame. */
	*h = (struct net_hdr){ .flags = 1,
			       .gso_type = 1,
			       .hdr_len = 0xffff,
			       .gso_size = 1,
			       .csum_start = 0xfff0,
			       .csum_offset = 0xfffe,
			       .num_buffers = 0xffff };
	b[0].len = NET_HDR + 100;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a frame with bogus offloads was not used");
	*h = (struct net_hdr){ .flags = 0xfe, .gso_type = 0x85 };
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a frame with unknown flags was not used");
	hostile_check(hostile_guard_ok(f, big + NET_HDR), "a tx frame's buffer was written past");
	memset(f, 0, NET_HDR);
	b[0].len = NET_HDR + 60;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good frame after bad ones");
	alive("huge and bogus frames");
}

/* ---------------------------------------------------------------- vsock */

#define VS_HDR 44
#define VS_OP_REQUEST 1
#define VS_OP_RESPONSE 2
#define VS_OP_RST 3
#define VS_OP_SHUTDOWN 4
#define VS_OP_RW 5
#define VS_OP_CREDIT_UPDATE 6
#define VS_OP_CREDIT_REQUEST 7
#define GUEST_CID 3

struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static uint8_t *rxbuf; /* 8 buffers of 256 bytes */

static void vs_up(void)
{
	up(VIRTIO_ID_VSOCK, 0, 3);
	if (!rxbuf)
		rxbuf = hostile_guarded(8 * 256, 0);
	for (unsigned int i = 0; i < 8; i++) {
		struct virtq_buf b = { rxbuf + 256 * i, 256 };

		hostile_check(virtq_add(&vq[0], &b, 0, 1, false) >= 0, "rx buffer");
	}
	hostile_notify(&vq[0]);
}

/* Sends one packet: header h, then `len` payload bytes (0x41). */
static void vs_send(const struct vs_hdr *h, uint32_t len)
{
	static uint8_t *pkt;
	struct virtq_buf b = { 0, VS_HDR + len };

	if (!pkt)
		pkt = hostile_guarded(VS_HDR + 70000, 0x41);
	memcpy(pkt, h, VS_HDR);
	b.addr = pkt;
	hostile_check(roundtrip(&vq[1], &b, 1, 0) >= 0, "tx packet op %u not used", h->op);
}

/* Waits for the next rx packet and returns its header (op 0: none). */
static struct vs_hdr vs_recv(uint64_t cycles)
{
	struct vs_hdr h = { 0 };
	uint32_t len;
	uint64_t end = rdtsc() + cycles;
	int head;

	while ((head = virtq_get(&vq[0], &len)) == -1 && rdtsc() < end)
		;
	if (head < 0)
		return h;
	memcpy(&h, rxbuf + 256 * (unsigned int)head, VS_HDR);
	hostile_check(len >= VS_HDR && len <= 256, "rx packet of %u bytes", len);
	struct virtq_buf b = { rxbuf + 256 * (unsigned int)head, 256 };
	virtq_add(&vq[0], &b, 0, 1, false);
	hostile_notify(&vq[0]);
	return h;
}

/* A packet to the host's port 1234, where the cases put a listener
 * (petrel's own control socket, --api PATH_1234): a packet petrel wrongly
 * takes would make a connection, and show as a RESPONSE. */
static struct vs_hdr vs_hdr(uint64_t dst_cid, uint32_t len, uint16_t type, uint16_t op)
{
	return (struct vs_hdr){ .src_cid = GUEST_CID,
				.dst_cid = dst_cid,
				.src_port = 4000 + op,
				.dst_port = 1234,
				.len = len,
				.type = type,
				.op = op,
				.buf_alloc = 65536 };
}

/* The next packet that is not a credit update. */
static struct vs_hdr vs_answer(uint64_t cycles)
{
	struct vs_hdr r;

	do
		r = vs_recv(cycles);
	while (r.op == VS_OP_CREDIT_UPDATE);
	return r;
}

/* The packet must be answered with an RST for the same ports. */
static void vs_expect_rst(const char *what, struct vs_hdr h, uint32_t payload)
{
	struct vs_hdr r;

	vs_send(&h, payload);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RST && r.src_cid == 2 && r.dst_cid == GUEST_CID &&
			  r.src_port == h.dst_port && r.dst_port == h.src_port,
		      "%s: answer op %u ports %u->%u, not an RST for %u->%u", what, r.op,
		      r.src_port, r.dst_port, h.src_port, h.dst_port);
	alive(what);
}

/* Connects guest port `port` to host port 1234. */
static struct vs_hdr vs_connect(uint32_t port)
{
	struct vs_hdr h = vs_hdr(2, 0, 1, VS_OP_REQUEST), r;

	h.src_port = port;
	vs_send(&h, 0);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RESPONSE && r.dst_port == port && r.src_port == 1234,
		      "connect from port %u: answer op %u, not a RESPONSE", port, r.op);
	return h;
}

static void vs_final(void)
{
	hostile_check(hostile_guard_ok(rxbuf, 8 * 256), "an rx packet written past its buffer");
	vs_connect(6000);
}

static void vsock_bad_len(void)
{
	struct vs_hdr h;

	vs_up();
	vs_expect_rst("REQUEST with len 100 and no payload", vs_hdr(2, 100, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("REQUEST with len 0 and 64 bytes", vs_hdr(2, 0, 1, VS_OP_REQUEST), 64);
	h = vs_connect(5010);
	h.op = VS_OP_RW;
	h.len = 0;
	vs_expect_rst("RW with len 0 and 64 bytes", h, 64);
	h = vs_connect(5011);
	h.op = VS_OP_RW;
	h.len = 0xffffffff;
	vs_expect_rst("RW with len 0xffffffff and 16 bytes", h, 16);
	vs_final();
}

/* Unknown ops on a live connection reset it; bad types are refused. */
static void vsock_bad_op(void)
{
	static const uint16_t ops[] = { 0, 99, 0xffff, VS_OP_REQUEST, VS_OP_RESPONSE };
	struct vs_hdr h;

	vs_up();
	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = vs_connect(5020 + i);
		h.op = ops[i];
		vs_expect_rst("a bad op on a connection", h, 0);
	}
	vs_expect_rst("type 2 (SEQPACKET)", vs_hdr(2, 0, 2, VS_OP_REQUEST), 0);
	vs_expect_rst("type 0xffff", vs_hdr(2, 0, 0xffff, VS_OP_REQUEST), 0);
	vs_expect_rst("RW without a connection", vs_hdr(2, 8, 1, VS_OP_RW), 8);
	vs_final();
}

static void vsock_unknown_cid(void)
{
	struct vs_hdr h;

	vs_up();
	vs_expect_rst("to CID 77", vs_hdr(77, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to its own CID", vs_hdr(GUEST_CID, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to CID 2^64-1", vs_hdr(~0ULL, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to CID 2 + 2^32", vs_hdr(2 + (1ULL << 32), 0, 1, VS_OP_REQUEST), 0);
	/* From a CID that is not the guest's: dropped without an answer. */
	h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
	h.src_cid = 5;
	vs_send(&h, 0);
	hostile_check(vs_recv(HOSTILE_QUIET).op == 0, "a packet from a spoofed CID was answered");
	vs_final();
}

/* An rx chain the device cannot fill: it takes rx buffers only when it has
 * something to send, so the case makes it owe an RST first. */
static void vs_bad_rx(struct virtq_buf *b, unsigned int nout, unsigned int nin, const char *what)
{
	struct vs_hdr h = vs_hdr(2, 0, 1, VS_OP_RW);
	struct virtq_buf t = { hostile_guarded(VS_HDR, 0), VS_HDR };
	uint16_t used;
	uint32_t s;

	up(VIRTIO_ID_VSOCK, 0, 3);
	hostile_check(virtq_add(&vq[0], b, nout, nin, false) >= 0, "%s: virtq_add", what);
	hostile_notify(&vq[0]);
	used = vq[0].used[1];
	memcpy(t.addr, &h, VS_HDR);
	/* Not waited for: the device may fail before it uses it. */
	hostile_check(virtq_add(&vq[1], &t, 1, 0, false) >= 0, "%s: tx virtq_add", what);
	hostile_notify(&vq[1]);
	s = hostile_wait_status(&dev, NEEDS_RESET);
	hostile_check(s & NEEDS_RESET, "%s: no DEVICE_NEEDS_RESET (status %#x)", what, s);
	hostile_check(vq[0].used[1] == used, "%s: the device used the chain", what);
}

static void vsock_short_hdr(void)
{
	uint8_t *p = hostile_guarded(512, 0);
	struct virtq_buf b[2] = { { p, 20 }, { p + 256, 256 } };

	vs_up();
	expect_reset(&vq[1], b, 1, 0, "tx packet of 20 bytes");
	vs_up();
	expect_reset(&vq[1], &b[1], 0, 1, "tx packet in a device-writable buffer");
	b[0].len = 64;
	vs_bad_rx(b, 1, 0, "rx buffer the device can only read");
	vs_bad_rx(b, 1, 1, "rx buffer with a device-readable part");
	b[0].len = 20;
	vs_bad_rx(b, 0, 1, "rx buffer shorter than a header");
	hostile_check(hostile_filled(p, 512, 0) && hostile_guard_ok(p, 512),
		      "a refused buffer was written");
	vs_up();
	vs_final();
}

/*
 * Connections by the hundred: 300 REQUESTs to the listener at port 1234.
 * Each is answered, by a RESPONSE (petrel holds at most 256 connections)
 * or an RST (the control socket may then talk and shut its side, which
 * shows as RW and SHUTDOWN packets); after the guest resets the ones it
 * got, a new connection still works.
 */
static void vsock_conn_flood(void)
{
	unsigned int resp = 0, rst = 0, other = 0;
	static uint8_t open_port[300];
	struct vs_hdr h, r;

	vs_up();
	for (unsigned int i = 0; i < 300; i++) {
		h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
		h.src_port = 7000 + i;
		vs_send(&h, 0);
		/* Take answers as they come: the rx ring holds only 8. */
		while ((r = vs_recv(resp + rst + other < i ? HOSTILE_QUIET / 100 : 0)).op) {
			if (r.op == VS_OP_RESPONSE && r.dst_port - 7000 < 300) {
				resp++;
				open_port[r.dst_port - 7000] = 1;
			} else if (r.op == VS_OP_RST) {
				rst++;
			} else if (r.op < VS_OP_SHUTDOWN || r.op > VS_OP_CREDIT_REQUEST) {
				other++;
			}
		}
	}
	while (resp + rst + other < 300 && (r = vs_recv(HOSTILE_WAIT)).op) {
		if (r.op == VS_OP_RESPONSE && r.dst_port - 7000 < 300) {
			resp++;
			open_port[r.dst_port - 7000] = 1;
		} else if (r.op == VS_OP_RST) {
			rst++;
		} else if (r.op < VS_OP_SHUTDOWN || r.op > VS_OP_CREDIT_REQUEST) {
			other++;
		}
	}
	hostile_check(resp + rst == 300 && !other,
		      "300 connects: %u responses, %u resets, %u unexpected packets", resp, rst,
		      other);
	hostile_check(resp <= 256, "%u connections accepted, over petrel's 256", resp);
	for (unsigned int i = 0; i < 300; i++) {
		if (!open_port[i])
			continue;
		h = vs_hdr(2, 0, 1, VS_OP_RST);
		h.src_port = 7000 + i;
		vs_send(&h, 0);
	}
	alive("300 connects");
	vs_final();
}

/*
 * Credit: connected to port 1234, the guest sends more than the 64 KiB
 * petrel advertised in one packet: petrel must reset the connection at
 * once (not pass the bytes on, which would bring an answer from the
 * control socket, or a shutdown).
 */
static void vsock_credit(void)
{
	struct vs_hdr h, r;

	vs_up();
	h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
	h.src_port = 5000;
	vs_send(&h, 0);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RESPONSE && r.dst_port == 5000,
		      "connect to port 1234: answer op %u", r.op);
	hostile_check(r.buf_alloc == 65536, "petrel advertised %u bytes of credit", r.buf_alloc);
	/* A credit update claiming we consumed what petrel never sent. */
	h.op = VS_OP_CREDIT_UPDATE;
	h.fwd_cnt = 0x80000000;
	h.buf_alloc = 0xffffffff;
	vs_send(&h, 0);
	h.op = VS_OP_RW;
	h.len = 65537;
	h.fwd_cnt = 0;
	vs_send(&h, 65537);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RST && r.dst_port == 5000,
		      "65537 bytes past a 65536-byte credit: answer op %u, not an RST", r.op);
	alive("sending past the credit");
	vs_final();
}

/* -------------------------------------------------------------- balloon */

/*
 * PFNs outside RAM are skipped. Two of them are P + 2^20 and P | 2^31 for
 * a page P of ours: a PFN shifted in 32 bits would name P, and P would
 * read back as zeroes, which is what a real inflate of P does.
 */
static void balloon_bad_pfn(void)
{
	uint8_t *page = virtio_alloc(4096, 4096);
	uint32_t p = (uint32_t)((uint64_t)page >> 12);
	const uint32_t bad[] = {
		0xffffffff,
		(uint32_t)(PETREL_RAM_HOLE_START >> 12),
		(uint32_t)(HOSTILE_RAM_END >> 12),
		(uint32_t)(PETREL_RAM_HOLE_END >> 12),
		(uint32_t)(PETREL_LAPIC_ADDR >> 12),
		p + 0x100000,
		p | 0x80000000,
	};
	uint32_t *pfns = hostile_guarded(sizeof(bad), 0);
	struct virtq_buf b[2] = { { pfns, sizeof(bad) } };

	up(VIRTIO_ID_BALLOON, 0, 2);
	memset(page, 0xab, 4096);
	memcpy(pfns, bad, sizeof(bad));
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of PFNs outside RAM not used");
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "deflate of PFNs outside RAM not used");
	b[0].len = 6;
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of 6 bytes not used");
	b[0].len = sizeof(bad);
	b[1] = (struct virtq_buf){ pfns, sizeof(bad) };
	hostile_check(roundtrip(&vq[0], &b[1], 0, 1) >= 0, "inflate in a writable buffer not used");
	hostile_check(!memcmp(pfns, bad, sizeof(bad)) && hostile_guard_ok(pfns, sizeof(bad)),
		      "the PFN array was written");
	hostile_check(hostile_filled(page, 4096, 0xab), "a PFN outside RAM discarded a page in it");
	alive("PFNs outside RAM");
	/* A good one: the page goes (and reads back as zeroes) and comes back. */
	pfns[0] = p;
	b[0].len = 4;
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of a good page not used");
	hostile_check(hostile_filled(page, 4096, 0), "an inflated page still holds its data");
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "deflate of a good page not used");
	alive("a good inflate");
}

/* -------------------------------------------------------------- console */

static void console_bad(void)
{
	static const char good[] = "hostile: virtio console still writes\n";
	uint8_t *t = hostile_guarded(64, 'x');
	struct virtq_buf b[2] = { { t, 64 } };

	up(VIRTIO_ID_CONSOLE, 0, 2);
	/* tx in a writable buffer: used, nothing written into it. */
	hostile_check(roundtrip(&vq[1], b, 0, 1) >= 0, "writable tx buffer not used");
	hostile_check(hostile_filled(t, 64, 'x') && hostile_guard_ok(t, 64),
		      "the console wrote into a tx buffer");
	alive("writable tx buffer");
	b[0] = (struct virtq_buf){ (void *)PETREL_RAM_HOLE_START, 64 };
	/* virtq_add takes any address. */
	expect_reset(&vq[1], b, 1, 0, "tx buffer in the MMIO hole");
	b[0] = (struct virtq_buf){ (void *)(HOSTILE_RAM_END - 8), 64 };
	expect_reset(&vq[1], b, 1, 0, "tx buffer straddling the end of RAM");
	memcpy(t, good, sizeof(good) - 1);
	b[0] = (struct virtq_buf){ t, sizeof(good) - 1 };
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good tx after bad ones");
	alive("bad tx buffers");
}

/* ------------------------------------------------------------ lifecycle */

/*
 * Every device through its life many times, also the wrong way: queues
 * set up and DRIVER_OK after the device already needs a reset (so the
 * backend is started on a failed device), and resets with the device
 * running. The backends must start and stop cleanly each time (the
 * sanitizer build reports leaks and double frees at exit), and each device
 * must come up afterwards.
 */
static void status_cycle(void)
{
	static const uint32_t ids[][2] = {
		{ VIRTIO_ID_BLOCK, 1 },	  { VIRTIO_ID_NET, 2 },	  { VIRTIO_ID_CONSOLE, 2 },
		{ VIRTIO_ID_BALLOON, 2 }, { VIRTIO_ID_VSOCK, 3 }, { VIRTIO_ID_RNG, 1 },
	};

	for (unsigned int d = 0; d < sizeof(ids) / sizeof(ids[0]); d++) {
		if (!hostile_check(virtio_find(ids[d][0], 0, &dev) == 0, "no device %u", ids[d][0]))
			continue;
		for (int k = 0; k < 10; k++) {
			virtio_reset(&dev);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
				     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
			if (k & 1)
				hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x07);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1); /* VERSION_1 */
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, virtio_status(&dev) | 0x08);
			for (unsigned int q = 0; q < ids[d][1]; q++)
				virtq_setup(&dev, &vq[q], q, 64);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, virtio_status(&dev) | 0x04);
			hostile_check(!(virtio_status(&dev) & NEEDS_RESET) == !(k & 1),
				      "device %u round %d: status %#x", ids[d][0], k,
				      virtio_status(&dev));
		}
		up(ids[d][0], 0, ids[d][1]);
		alive("status cycles");
	}
	/* The last one is the rng: it still reads. */
	struct virtq_buf vb = { hostile_guarded(64, 0), 64 };
	long len = roundtrip(&vq[0], &vb, 0, 1);

	hostile_check(len >= 1 && len <= 64, "the rng after status cycles: %ld bytes", len);
}

/* ------------------------------------------------------------------ smp */

#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_ALL_BUT_SELF_INIT 0x000c4500u
#define ICR_ALL_BUT_SELF_SIPI 0x000c4600u
#define SMP_CPUS 4

extern const char tramp_start[], tramp_end[];
static volatile uint32_t aps_up, aps_done, stop, kicks;
static volatile uint64_t notify_addr;

static void icr(uint32_t lo)
{
	mmio_write32(PETREL_LAPIC_ADDR + LAPIC_ICR_HI, 0);
	mmio_write32(PETREL_LAPIC_ADDR + LAPIC_ICR_LO, lo);
}

/* Every AP kicks the rng's queue (AP 3 also bogus queues and resets
 * nothing) until the BSP says stop. */
void ap_main(unsigned int index)
{
	uint32_t n = 0;

	__atomic_add_fetch(&aps_up, 1, __ATOMIC_SEQ_CST);
	while (!stop) {
		mmio_write32(notify_addr, index == 3 ? n & 1 : 0);
		n++;
	}
	__atomic_add_fetch(&kicks, n, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&aps_done, 1, __ATOMIC_SEQ_CST);
	halt_forever();
}

/* One round on the rng: good chains and loops, descriptors rewritten
 * under the device, avail->idx thrown ahead. */
static void race_rng(struct virtq *q, unsigned int round, uint8_t *b)
{
	for (unsigned int i = 0; i < 8; i++) {
		hostile_desc(q, i, (uint64_t)b + 32 * i, 32,
			     F_WRITE | (i == 7 && round & 1 ? F_NEXT : 0), 7);
		hostile_publish(q, (uint16_t)i);
	}
	for (unsigned int i = 0; i < 8; i++)
		hostile_desc(q, i, (uint64_t)b + 32 * i, round & 2 ? 0 : 32, F_WRITE, 0);
	q->avail[1] = (uint16_t)(q->avail_idx + (round % 3 == 2 ? 200 : 0));
}

/* One round on the disk: reads and writes in flight, their descriptors
 * then pointed into the MMIO hole (the device must use its copies). */
static void race_blk(struct virtq *q, unsigned int round, uint8_t *b)
{
	static struct blk_hdr h[8];
	static uint8_t st[8];

	for (unsigned int i = 0; i < 8; i++) {
		bool out = (i + round) & 1;
		struct virtq_buf c[3] = { { &h[i], sizeof(h[i]) },
					  { b + 512 * i, 512 },
					  { &st[i], 1 } };

		h[i] = (struct blk_hdr){ .type = out ? BLK_T_OUT : BLK_T_IN, .sector = 8 + i };
		virtq_add(q, c, out ? 2 : 1, out ? 1 : 2, false);
		if (i == 3)
			hostile_notify(q);
	}
	hostile_notify(q);
	for (unsigned int i = 0; i < 24; i++)
		q->desc[i].addr = PETREL_RAM_HOLE_START;
}

/*
 * Four vCPUs on one queue: three APs write QueueNotify as fast as they
 * can while the BSP, round after round, sets the queue up, publishes
 * chains, rewrites them under the device and resets the device in the
 * middle. Emulated CPL0 is slow, so rounds are few and short; what
 * matters is that petrel never crashes, hangs or writes outside the
 * buffers, and serves at the end.
 */
static void smp_race_on(uint32_t device_id)
{
	uint8_t *b = hostile_guarded(4096, 0);
	uint64_t spins = 0;

	if (!hostile_check(virtio_find(device_id, 0, &dev) == 0, "no device %u", device_id))
		return;
	notify_addr = dev.base + VIRTIO_MMIO_REG_QUEUE_NOTIFY;
	memcpy((void *)TRAMP_BASE, tramp_start, (size_t)(tramp_end - tramp_start));
	icr(ICR_ALL_BUT_SELF_INIT);
	icr(ICR_ALL_BUT_SELF_SIPI | (TRAMP_BASE >> 12));
	icr(ICR_ALL_BUT_SELF_SIPI | (TRAMP_BASE >> 12));
	while (aps_up < SMP_CPUS - 1 && ++spins < 4000000)
		__asm__ volatile("pause");
	if (!hostile_check(aps_up == SMP_CPUS - 1, "%u APs up, not %u", aps_up, SMP_CPUS - 1))
		return;
	for (unsigned int round = 0; round < 40; round++) {
		up(device_id, 0, 1);
		if (device_id == VIRTIO_ID_RNG)
			race_rng(&vq[0], round, b);
		else
			race_blk(&vq[0], round, b);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0);
	}
	stop = 1;
	for (spins = 0; aps_done < SMP_CPUS - 1 && spins < 4000000; spins++)
		__asm__ volatile("pause");
	hostile_check(hostile_guard_ok(b, 4096), "a write past the raced buffers");
	hostile_check(kicks > 0, "the APs did not kick");
	printf("hostile: smp race done, %u AP kicks\n", kicks);
}

static void smp_race(void)
{
	uint8_t *b = hostile_guarded(64, 0);
	struct virtq_buf vb = { b, 64 };
	long len;

	smp_race_on(VIRTIO_ID_RNG);
	up(VIRTIO_ID_RNG, 0, 1);
	len = roundtrip(&vq[0], &vb, 0, 1);
	hostile_check(len >= 1 && len <= 64 && !hostile_filled(b, 64, 0) && hostile_guard_ok(b, 64),
		      "after the race: a good read gave %ld bytes", len);
	alive("four vCPUs racing");
}

static void smp_race_blk(void)
{
	smp_race_on(VIRTIO_ID_BLOCK);
	blk_prepare();
	blk_good("four vCPUs racing");
}

static const struct hostile_case cases[] = {
	{ "virtio-blk-bad-type", blk_bad_type, false },
	{ "virtio-blk-past-end", blk_past_end, false },
	{ "virtio-blk-sector-overflow", blk_sector_overflow, false },
	{ "virtio-blk-short-header", blk_short_header, false },
	{ "virtio-blk-no-status", blk_no_status, false },
	{ "virtio-blk-segments", blk_segments, false },
	{ "virtio-config-oob", config_oob, false },
	{ "virtio-reset-midreq", reset_midreq, false },
	{ "virtio-rng-flood", rng_flood, false },
	{ "virtio-net-bad-tx", net_bad_tx, false },
	{ "virtio-net-huge-frame", net_huge_frame, false },
	{ "virtio-vsock-bad-len", vsock_bad_len, false },
	{ "virtio-vsock-bad-op", vsock_bad_op, false },
	{ "virtio-vsock-unknown-cid", vsock_unknown_cid, false },
	{ "virtio-vsock-short-hdr", vsock_short_hdr, false },
	{ "virtio-vsock-credit", vsock_credit, false },
	{ "virtio-vsock-conn-flood", vsock_conn_flood, false },
	{ "virtio-balloon-bad-pfn", balloon_bad_pfn, false },
	{ "virtio-console-bad", console_bad, false },
	{ "virtio-status-cycle", status_cycle, false },
	{ "virtio-smp-race", smp_race, true },
	{ "virtio-smp-race-blk", smp_race_blk, true },
};

int guest_main(void)
{
	virtio_timeout_cycles = HOSTILE_WAIT;
	hostile_main(cases, sizeof(cases) / sizeof(cases[0]));
}
