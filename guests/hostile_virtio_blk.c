/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against virtio-blk's request parsing, the config
 * space, a reset with requests in flight, a queue kept full next to the
 * disk, and four vCPUs racing on one queue (tests/hostile/virtio.cases).
 * Each case checks the outcome petrel documents (a request completed with
 * an error status, DEVICE_NEEDS_RESET for a chain the device cannot use
 * at all), that nothing was written outside what the chain allowed (guards
 * around every buffer), and that the device then serves a good request.
 */
#include "hostile_virtio_dev.h"

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

/* Once the device has used half of q's ring, publishes the used chains
 * again (each in its old slot) and kicks; how many it published. */
static uint64_t refill(struct virtq *q)
{
	uint16_t used = q->used[1];
	uint64_t n = 0;

	if ((uint16_t)(q->avail_idx - used) >= q->size / 2)
		return 0;
	for (; (uint16_t)(q->avail_idx - used) < q->size; n++)
		hostile_publish(q, (uint16_t)(q->avail_idx & (q->size - 1)));
	hostile_notify(q);
	return n;
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
	for (uint64_t t = rdtsc() + HOSTILE_QUIET; rdtsc() < t;)
		fed += refill(&rq);
	*hdr = (struct blk_hdr){ .type = BLK_T_IN };
	*status = 0xff;
	blk_used = vq[0].used[1];
	hostile_check(virtq_add(&vq[0], b, 1, 2, false) >= 0, "virtq_add");
	hostile_notify(&vq[0]);
	start = rdtsc();
	end = start + HOSTILE_WAIT;
	while (rdtsc() < end) {
		fed += refill(&rq);
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
	{ "virtio-smp-race", smp_race, true },
	{ "virtio-smp-race-blk", smp_race_blk, true },
};

int guest_main(void)
{
	hostile_vq_main(cases, sizeof(cases) / sizeof(cases[0]));
}
