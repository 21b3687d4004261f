/* SPDX-License-Identifier: MIT */
/*
 * Data safety of virtio-blk (virtio 1.2, 5.2), driven from CPL3 through
 * guests/lib/virtio.c; tests/guest/run checks the image file on the host.
 *
 * "mode=kill" (read-write disk): writes the pattern P(seed) to sectors
 * FLUSHED_FIRST.. in several requests in flight at once, waits for all of
 * them, FLUSHes and waits for that, prints "blk_safety: flushed"; writes
 * sectors WRITTEN_FIRST.. (completed, never flushed), prints
 * "blk_safety: written"; then rewrites sectors SCRATCH_FIRST.. forever
 * without a flush, printing "blk_safety: writing unflushed" once. The test
 * kills petrel with SIGKILL somewhere in that loop and compares the first
 * two regions of the file with P(seed) byte for byte. P(seed) of sector s:
 * "SAFE", s as LE32, then byte i >= 8 is the low byte of
 * mix(seed ^ s << 16 ^ i >> 3) >> 8 * (i & 7) (tests/guest/blkimage.py).
 *
 * "mode=ro" (read-only disk): F_RO offered, DISCARD and WRITE_ZEROES not
 * (and their config fields zero), FEATURES_OK refused when the driver
 * claims them anyway; then every request that could change the disk, each
 * of which must end with the status petrel documents (docs/virtio-blk.md):
 * IOERR for WRITE (in range, out of range, empty, odd length, data in the
 * writable part), DISCARD and WRITE_ZEROES (with and without UNMAP),
 * UNSUPP for every other type that would write on some device (secure
 * erase, zoned commands, legacy types, flag bits); FLUSH completes OK, as
 * it changes no data. A read still works. With "hold=1" the guest spins
 * after its verdict, so the test can look at petrel's open file.
 * Last line: "blk_safety: done, N failures".
 */
#include "rt.h"
#include "virtio.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_DISCARD 11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_F_RO 5
#define BLK_F_FLUSH 9
#define BLK_F_DISCARD 13
#define BLK_F_WRITE_ZEROES 14
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_MAX_DISCARD_SECTORS 36
#define BLK_CFG_MAX_ZEROES_SECTORS 48
#define SEG_F_UNMAP 1
#define SECTOR 512

#define FLUSHED_FIRST 64 /* 64 sectors, 8 requests */
#define WRITTEN_FIRST 256
#define REGION_SECTORS 64
#define SCRATCH_FIRST 1024
#define REQ_SECTORS 8
#define NREQ (REGION_SECTORS / REQ_SECTORS)

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_seg {
	uint64_t sector;
	uint32_t nsectors;
	uint32_t flags;
};

struct slot {
	struct blk_hdr hdr;
	struct blk_seg seg;
	uint8_t status;
};

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq vq;
static struct slot *slots; /* NREQ + 1 */
static uint8_t *data;	   /* REGION_SECTORS sectors */
static uint64_t capacity;

/* ------------------------------------------------------------ pattern */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void pattern(uint8_t *p, uint64_t seed, uint64_t s)
{
	p[0] = 'S', p[1] = 'A', p[2] = 'F', p[3] = 'E';
	for (unsigned int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(s >> (8 * i));
	for (unsigned int i = 8; i < SECTOR; i += 8) {
		uint64_t w = mix(seed ^ s << 16 ^ i >> 3);

		for (unsigned int b = 0; b < 8; b++)
			p[i + b] = (uint8_t)(w >> (8 * b));
	}
}

/* ------------------------------------------------------------ requests */

/* Queues one request in slot k: header, then the data buffer (device-
 * readable for `out`, else writable) unless len is 0, then the status. */
static int submit(unsigned int k, uint32_t type, uint64_t sector, void *buf, uint32_t len, bool out)
{
	struct virtq_buf b[3];
	unsigned int n = 0;

	slots[k].hdr = (struct blk_hdr){ .type = type, .sector = sector };
	slots[k].status = 0xff;
	b[n++] = (struct virtq_buf){ &slots[k].hdr, sizeof(slots[k].hdr) };
	if (len)
		b[n++] = (struct virtq_buf){ buf, len };
	b[n++] = (struct virtq_buf){ &slots[k].status, 1 };
	return virtq_add(&vq, b, out || !len ? n - 1 : 1, out || !len ? 1 : n - 1, false);
}

/* Waits for `n` completions; 0, or -1 when one did not come. */
static int wait_all(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (virtq_wait(&vq, NULL) < 0)
			return -1;
	return 0;
}

/* One request in slot 0, synchronously: its status, or -1. */
static int req_sync(uint32_t type, uint64_t sector, void *buf, uint32_t len, bool out)
{
	if (submit(0, type, sector, buf, len, out) < 0)
		return -1;
	virtq_kick(&vq);
	if (wait_all(1))
		return -1;
	return slots[0].status;
}

/* REGION_SECTORS sectors of P(seed) from `first`, NREQ requests at once;
 * 0 if every one completed OK. */
static int write_region(uint64_t first, uint64_t seed)
{
	for (unsigned int s = 0; s < REGION_SECTORS; s++)
		pattern(data + s * SECTOR, seed, first + s);
	for (unsigned int k = 0; k < NREQ; k++)
		if (submit(k, BLK_T_OUT, first + k * REQ_SECTORS, data + k * REQ_SECTORS * SECTOR,
			   REQ_SECTORS * SECTOR, true) < 0)
			return -1;
	virtq_kick(&vq);
	if (wait_all(NREQ))
		return -1;
	for (unsigned int k = 0; k < NREQ; k++)
		if (slots[k].status != BLK_S_OK)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ mode=kill */

static void mode_kill(uint64_t seed)
{
	uint64_t gen = 0;
	int st;

	if (!(dev.features & VIRTIO_BIT(BLK_F_FLUSH)) ||
	    capacity < SCRATCH_FIRST + REGION_SECTORS) {
		test_fail("setup (FLUSH not offered, or the disk is too small)");
		test_done();
	}
	if (write_region(FLUSHED_FIRST, seed))
		test_fail("write of the flushed region");
	st = req_sync(BLK_T_FLUSH, 0, NULL, 0, true);
	if (st != BLK_S_OK)
		test_fail("flush");
	printf("blk_safety: flushed sectors %u..%u seed %lu, flush status %d\n", FLUSHED_FIRST,
	       FLUSHED_FIRST + REGION_SECTORS - 1, (unsigned long)seed, st);
	if (write_region(WRITTEN_FIRST, seed))
		test_fail("write of the unflushed region");
	printf("blk_safety: written sectors %u..%u, not flushed, %u failures\n", WRITTEN_FIRST,
	       WRITTEN_FIRST + REGION_SECTORS - 1, test_failures);
	for (;;) {
		if (write_region(SCRATCH_FIRST, ++gen)) {
			test_fail("write of the scratch region");
			test_done();
		}
		if (gen == 1)
			printf("blk_safety: writing unflushed\n");
	}
}

/* ------------------------------------------------------------ mode=ro */

static void expect(const char *what, int st, int want)
{
	printf("blk_safety: %s: status %d\n", what, st);
	if (st != want)
		test_fail(what);
}

/* The driver claims DISCARD and WRITE_ZEROES, which were not offered:
 * FEATURES_OK must not stick (3.1.1, 4.2.2.1). */
static void claim_unoffered(void)
{
	uint64_t claim = dev.offered | VIRTIO_BIT(BLK_F_DISCARD) | VIRTIO_BIT(BLK_F_WRITE_ZEROES);
	uint32_t st;

	virtio_reset(&dev);
	mmio_write32(dev.base + VIRTIO_MMIO_REG_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_write32(dev.base + VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	mmio_write32(dev.base + VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)claim);
	mmio_write32(dev.base + VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	mmio_write32(dev.base + VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(claim >> 32));
	mmio_write32(dev.base + VIRTIO_MMIO_REG_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	st = virtio_status(&dev);
	printf("blk_safety: claiming discard and write-zeroes: status %#x\n", st);
	if (st & VIRTIO_STATUS_FEATURES_OK)
		test_fail("FEATURES_OK accepted with features that were not offered");
}

/* A DISCARD or WRITE_ZEROES request over sectors 0..7. */
static int req_segs(uint32_t type, uint32_t flags)
{
	slots[1].seg = (struct blk_seg){ .sector = 0, .nsectors = 8, .flags = flags };
	return req_sync(type, 0, &slots[1].seg, sizeof(slots[1].seg), true);
}

static void mode_ro(void)
{
	/* Types that write, erase or change zones on some device: secure
	 * erase, zone append/open/close/finish/reset/reset-all; the legacy
	 * SCSI command and flush-out types; OUT with the legacy barrier flag. */
	static const uint32_t unsupp[] = { 14, 15, 18, 20, 22, 24, 26, 2, 5, 0x80000001 };
	int st;

	printf("blk_safety: offered %#lx max_discard_sectors %u max_write_zeroes_sectors %u\n",
	       (unsigned long)dev.offered, virtio_cfg_read32(&dev, BLK_CFG_MAX_DISCARD_SECTORS),
	       virtio_cfg_read32(&dev, BLK_CFG_MAX_ZEROES_SECTORS));
	if (!(dev.offered & VIRTIO_BIT(BLK_F_RO)))
		test_fail("F_RO not offered");
	if (dev.offered & (VIRTIO_BIT(BLK_F_DISCARD) | VIRTIO_BIT(BLK_F_WRITE_ZEROES)))
		test_fail("DISCARD or WRITE_ZEROES offered on a read-only disk");
	if (virtio_cfg_read32(&dev, BLK_CFG_MAX_DISCARD_SECTORS) ||
	    virtio_cfg_read32(&dev, BLK_CFG_MAX_ZEROES_SECTORS))
		test_fail("discard or write-zeroes limits in config space");

	pattern(data, 1, 0);
	expect("write sector 0", req_sync(BLK_T_OUT, 0, data, SECTOR, true), BLK_S_IOERR);
	expect("write 8 sectors at 8", req_sync(BLK_T_OUT, 8, data, 8 * SECTOR, true), BLK_S_IOERR);
	expect("write the last sector", req_sync(BLK_T_OUT, capacity - 1, data, SECTOR, true),
	       BLK_S_IOERR);
	expect("write past the end", req_sync(BLK_T_OUT, capacity, data, SECTOR, true),
	       BLK_S_IOERR);
	expect("write at sector 2^63", req_sync(BLK_T_OUT, 1ULL << 63, data, SECTOR, true),
	       BLK_S_IOERR);
	expect("write of 0 bytes", req_sync(BLK_T_OUT, 0, NULL, 0, true), BLK_S_IOERR);
	expect("write of 100 bytes", req_sync(BLK_T_OUT, 0, data, 100, true), BLK_S_IOERR);
	expect("write with writable data", req_sync(BLK_T_OUT, 0, data, SECTOR, false),
	       BLK_S_IOERR);
	expect("discard", req_segs(BLK_T_DISCARD, 0), BLK_S_IOERR);
	expect("discard with unmap", req_segs(BLK_T_DISCARD, SEG_F_UNMAP), BLK_S_IOERR);
	expect("write zeroes", req_segs(BLK_T_WRITE_ZEROES, 0), BLK_S_IOERR);
	expect("write zeroes with unmap", req_segs(BLK_T_WRITE_ZEROES, SEG_F_UNMAP), BLK_S_IOERR);
	for (unsigned int i = 0; i < sizeof(unsupp) / sizeof(unsupp[0]); i++) {
		st = req_sync(unsupp[i], 0, data, SECTOR, true);
		printf("blk_safety: type %#x: status %d\n", unsupp[i], st);
		if (st != BLK_S_UNSUPP)
			test_fail("a write-like type not refused with UNSUPP");
	}
	expect("flush", req_sync(BLK_T_FLUSH, 0, NULL, 0, true), BLK_S_OK);
	/* Still a working disk: sector 8 holds the host pattern (LE64 8). */
	st = req_sync(BLK_T_IN, 8, data, SECTOR, false);
	expect("read sector 8", st, BLK_S_OK);
	if (data[0] != 8 || data[1] || data[8] != 16)
		test_fail("sector 8 does not hold the host pattern");
	virtio_check_status(&dev);
}

/* ------------------------------------------------------------ main */

static void user_main(void)
{
	char mode[8] = "";
	uint64_t want = VIRTIO_BIT(BLK_F_RO) | VIRTIO_BIT(BLK_F_FLUSH) | VIRTIO_BIT(BLK_F_DISCARD) |
			VIRTIO_BIT(BLK_F_WRITE_ZEROES);

	test_name = "blk_safety";
	cmdline_get("mode", mode, sizeof(mode));
	printf("blk_safety: running at cpl=%u\n", current_cpl());
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &dev) || virtio_negotiate(&dev, 0)) {
		printf("blk_safety: no usable block device\n");
		guest_exit(2);
	}
	if (!memcmp(mode, "ro", 3))
		claim_unoffered();
	if (virtio_negotiate(&dev, want) || virtq_setup(&dev, &vq, 0, 64) ||
	    virtio_driver_ok(&dev)) {
		printf("blk_safety: no usable block device\n");
		guest_exit(2);
	}
	slots = virtio_alloc((NREQ + 1) * sizeof(struct slot), 64);
	data = virtio_alloc(REGION_SECTORS * SECTOR, 4096);
	if (!slots || !data) {
		test_fail("memory");
		test_done();
	}
	capacity = virtio_cfg_read64(&dev, BLK_CFG_CAPACITY);
	printf("blk_safety: mode %s capacity %lu sectors negotiated %#lx\n", mode,
	       (unsigned long)capacity, (unsigned long)dev.features);
	if (!memcmp(mode, "kill", 5)) {
		mode_kill((uint64_t)cmdline_long("seed", 0, 1));
	} else if (!memcmp(mode, "ro", 3)) {
		mode_ro();
	} else {
		test_fail("mode= is kill or ro");
	}
	if (!cmdline_long("hold", 0, 0))
		test_done();
	printf("blk_safety: done, %u failures\n", test_failures);
	for (;;)
		__asm__ volatile("pause");
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
