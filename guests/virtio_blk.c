/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2, 5.2) driven from CPL3 through guests/lib/virtio.c.
 *
 * Functional part (tests/guest/run checks the disk image afterwards):
 *   - GET_ID, and a read of sectors 8..15, which the test filled with the
 *     host pattern H: bytes 0..7 the sector number (LE64), byte i >= 8
 *     (s + i) & 0xff;
 *   - writes of the guest pattern G (bytes 0..3 "PTRL", 4..7 the sector
 *     number LE32, byte i >= 8 (3s + 5i + 1) & 0xff) to sectors 0, 1, 33,
 *     64..71 (one request, two data descriptors), 200..207 (an indirect
 *     table) and capacity-1, read back and compared;
 *   - FLUSH, a read past the end and an unknown request type (both must
 *     fail), and InterruptStatus showing the used-buffer notification.
 * Stress part: the region of "mb=" MiB (default 4) from sector 2048 is
 * written and read several times with up to "depth=" (default 32) requests
 * in flight, 4 KiB to 1 MiB each, direct and indirect, every read checked
 * against the generator; the last pass prints the CRC-32 (zlib's) of the
 * region, which the test compares with the image file.
 * "ro=1": the disk is read-only: F_RO must be offered and a write must
 * fail; nothing else is written. "stress=0" skips the stress part.
 * Last line: "virtio_blk: done, N failures" and exit status 0 only if N=0.
 */
#include "rt.h"
#include "virtio.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SIZE_MAX 8
#define BLK_CFG_SEG_MAX 12
#define BLK_CFG_BLK_SIZE 20
#define BLK_ID_BYTES 20
#define SECTOR 512

#define REGION_START 2048 /* sectors */
#define MAX_DEPTH 64
#define MAX_REQ (1U << 20)

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* Header and status of one request, in memory the device reads/writes. */
struct slot {
	struct blk_hdr hdr;
	uint8_t status;
	uint8_t pad[15];
	/* Driver-side bookkeeping. */
	uint8_t *buf;
	uint32_t len;
	int busy;
};

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq vq;
static struct slot *slots;
static int slot_of_head[VIRTQ_MAX_SIZE];
static uint64_t capacity;
static uint32_t size_max, seg_max_data;

/* --------------------------------------------------------- requests */

/*
 * Builds header, data split into segments of `seg` bytes (at most), and
 * status; makes it available. The segment size grows while the chain
 * would be longer than the device (seg_max) or this driver allows.
 * Returns the slot, or -1 when the ring or the slots are full.
 */
static int req_submit(uint32_t type, uint64_t sector, uint8_t *buf, uint32_t len, uint32_t seg,
		      bool indirect)
{
	struct virtq_buf b[VIRTQ_MAX_CHAIN];
	unsigned int nseg = 0, maxseg = VIRTQ_MAX_CHAIN - 2, s;
	int head;

	if (seg_max_data && seg_max_data < maxseg)
		maxseg = seg_max_data;
	if (!indirect || !vq.indirect) {
		unsigned int room = virtq_room(&vq);

		if (room < 3)
			return -1;
		if (room - 2 < maxseg)
			maxseg = room - 2;
	}
	if (seg == 0)
		seg = len ? len : 1;
	while (len && (len + seg - 1) / seg > maxseg)
		seg *= 2;
	if (size_max && seg > size_max)
		seg = size_max;
	if (len && (len + seg - 1) / seg > maxseg)
		return -1;

	for (s = 0; s < MAX_DEPTH && slots[s].busy; s++)
		;
	if (s == MAX_DEPTH)
		return -1;
	slots[s].hdr = (struct blk_hdr){ .type = type, .sector = sector };
	slots[s].status = 0xff;
	slots[s].buf = buf;
	slots[s].len = len;
	b[nseg++] = (struct virtq_buf){ &slots[s].hdr, sizeof(struct blk_hdr) };
	for (uint32_t off = 0; off < len; off += seg)
		b[nseg++] = (struct virtq_buf){ buf + off, len - off < seg ? len - off : seg };
	b[nseg++] = (struct virtq_buf){ &slots[s].status, 1 };
	/* OUT/FLUSH/unknown: data device-readable; IN/GET_ID: writable. */
	if (type == BLK_T_IN || type == BLK_T_GET_ID)
		head = virtq_add(&vq, b, 1, nseg - 1, indirect);
	else
		head = virtq_add(&vq, b, nseg - 1, 1, indirect);
	if (head < 0)
		return -1;
	slots[s].busy = 1;
	slot_of_head[head] = (int)s;
	return (int)s;
}

/* Waits for one completion; returns its slot or -1. */
static int req_complete(uint32_t *written)
{
	int head = virtq_wait(&vq, written);

	if (head < 0)
		return -1;
	slots[slot_of_head[head]].busy = 0;
	return slot_of_head[head];
}

/* One request, synchronously. Returns the status byte, or -1. */
static int req_sync(uint32_t type, uint64_t sector, void *buf, uint32_t len, uint32_t seg,
		    bool indirect, uint32_t *written)
{
	uint32_t w;
	int s = req_submit(type, sector, buf, len, seg, indirect);

	if (s < 0)
		return -1;
	virtq_kick(&vq);
	if (req_complete(&w) != s)
		return -1;
	if (written)
		*written = w;
	return slots[s].status;
}

/* --------------------------------------------------------- patterns */

static uint8_t host_byte(uint64_t s, unsigned int i)
{
	return i < 8 ? (uint8_t)(s >> (8 * i)) : (uint8_t)(s + i);
}

static void guest_sector(uint8_t *p, uint64_t s)
{
	p[0] = 'P', p[1] = 'T', p[2] = 'R', p[3] = 'L';
	for (unsigned int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(s >> (8 * i));
	for (unsigned int i = 8; i < SECTOR; i++)
		p[i] = (uint8_t)(s * 3 + i * 5 + 1);
}

static bool guest_sector_ok(const uint8_t *p, uint64_t s)
{
	uint8_t want[SECTOR];

	guest_sector(want, s);
	return memcmp(p, want, SECTOR) == 0;
}

/* Stress data: 64-bit words of splitmix64(word index ^ generation). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void gen_fill(uint64_t *w, uint64_t nwords, uint64_t gen)
{
	for (uint64_t i = 0; i < nwords; i++)
		w[i] = mix(i ^ (gen << 40));
}

static uint64_t gen_check(const uint64_t *w, uint64_t nwords, uint64_t gen)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < nwords; i++)
		bad += w[i] != mix(i ^ (gen << 40));
	return bad;
}

/* --------------------------------------------------------- functional */

static void check_status(const char *what, int st, int want)
{
	if (st == want) {
		printf("virtio_blk: %s ok\n", what);
	} else {
		printf("virtio_blk: %s: status %d, want %d\n", what, st, want);
		test_fail(what);
	}
}

static void functional(uint8_t *buf, bool ro)
{
	static const uint64_t singles[] = { 0, 1, 33, 1000 };
	uint32_t isr, written = 0;
	char id[BLK_ID_BYTES + 1];
	int st;

	st = req_sync(BLK_T_GET_ID, 0, buf, BLK_ID_BYTES, 0, false, &written);
	for (int i = 0; i < BLK_ID_BYTES; i++)
		id[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : (buf[i] ? '?' : 0);
	id[BLK_ID_BYTES] = 0;
	printf("virtio_blk: get-id status %d written %u id '%s'\n", st, written, id);
	check_status("get-id", st, BLK_S_OK);
	isr = virtio_isr_ack(&dev);
	printf("virtio_blk: interrupt status after a request: %#x\n", isr);
	if (!(isr & VIRTIO_MMIO_INT_VRING))
		test_fail("used-buffer interrupt status");

	memset(buf, 0, 8 * SECTOR);
	st = req_sync(BLK_T_IN, 8, buf, 8 * SECTOR, 0, false, &written);
	check_status("read of sectors 8..15", st, BLK_S_OK);
	for (uint64_t s = 8; s < 16; s++)
		for (unsigned int i = 0; i < SECTOR; i++)
			if (buf[(s - 8) * SECTOR + i] != host_byte(s, i)) {
				printf("virtio_blk: sector %lu byte %u: %#x, host wrote %#x\n",
				       (unsigned long)s, i, buf[(s - 8) * SECTOR + i],
				       host_byte(s, i));
				test_fail("host pattern");
				s = 16;
				break;
			}
	if (written != 8 * SECTOR + 1)
		printf("virtio_blk: note: read used len %u (data + status = %u)\n", written,
		       8 * SECTOR + 1);

	if (ro) {
		guest_sector(buf, 0);
		st = req_sync(BLK_T_OUT, 0, buf, SECTOR, 0, false, NULL);
		printf("virtio_blk: write to a read-only disk: status %d\n", st);
		if (st != BLK_S_IOERR)
			test_fail("write to a read-only disk");
		return;
	}

	for (unsigned int k = 0; k < sizeof(singles) / sizeof(singles[0]); k++) {
		guest_sector(buf, singles[k]);
		if (req_sync(BLK_T_OUT, singles[k], buf, SECTOR, 0, false, NULL) != BLK_S_OK)
			test_fail("single-sector write");
	}
	guest_sector(buf, capacity - 1);
	check_status("write of the last sector",
		     req_sync(BLK_T_OUT, capacity - 1, buf, SECTOR, 0, false, NULL), BLK_S_OK);
	for (uint64_t s = 0; s < 8; s++)
		guest_sector(buf + s * SECTOR, 64 + s);
	check_status("write of 64..71 in two descriptors",
		     req_sync(BLK_T_OUT, 64, buf, 8 * SECTOR, 4 * SECTOR, false, NULL), BLK_S_OK);
	for (uint64_t s = 0; s < 8; s++)
		guest_sector(buf + s * SECTOR, 200 + s);
	check_status("write of 200..207, indirect",
		     req_sync(BLK_T_OUT, 200, buf, 8 * SECTOR, SECTOR, true, NULL), BLK_S_OK);

	for (unsigned int k = 0; k < sizeof(singles) / sizeof(singles[0]); k++) {
		memset(buf, 0, SECTOR);
		if (req_sync(BLK_T_IN, singles[k], buf, SECTOR, 0, false, NULL) != BLK_S_OK ||
		    !guest_sector_ok(buf, singles[k]))
			test_fail("single-sector read back");
	}
	memset(buf, 0, SECTOR);
	if (req_sync(BLK_T_IN, capacity - 1, buf, SECTOR, 0, false, NULL) != BLK_S_OK ||
	    !guest_sector_ok(buf, capacity - 1))
		test_fail("last sector read back");
	memset(buf, 0, 16 * SECTOR);
	if (req_sync(BLK_T_IN, 64, buf, 8 * SECTOR, SECTOR, true, NULL) != BLK_S_OK ||
	    req_sync(BLK_T_IN, 200, buf + 8 * SECTOR, 8 * SECTOR, 2 * SECTOR, false, NULL) !=
		BLK_S_OK)
		test_fail("multi-sector read back");
	for (uint64_t s = 0; s < 8; s++)
		if (!guest_sector_ok(buf + s * SECTOR, 64 + s) ||
		    !guest_sector_ok(buf + (8 + s) * SECTOR, 200 + s)) {
			test_fail("multi-sector read back data");
			break;
		}
	printf("virtio_blk: guest pattern read back (%u failures so far)\n", test_failures);

	if (dev.features & VIRTIO_BIT(BLK_F_FLUSH))
		check_status("flush", req_sync(BLK_T_FLUSH, 0, NULL, 0, 0, false, NULL), BLK_S_OK);
	else
		test_fail("flush not offered");

	st = req_sync(BLK_T_IN, capacity, buf, SECTOR, 0, false, NULL);
	printf("virtio_blk: read past the end: status %d\n", st);
	if (st != BLK_S_IOERR)
		test_fail("read past the end");
	st = req_sync(BLK_T_OUT, capacity - 1, buf, 2 * SECTOR, 0, false, NULL);
	printf("virtio_blk: write across the end: status %d\n", st);
	if (st != BLK_S_IOERR)
		test_fail("write across the end");
	st = req_sync(0x7f, 0, buf, SECTOR, 0, false, NULL);
	printf("virtio_blk: unknown type 0x7f: status %d\n", st);
	if (st != BLK_S_UNSUPP)
		test_fail("unknown type");
}

/* --------------------------------------------------------- stress */

static const uint32_t sizes[] = {
	4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576
};

/*
 * One pass over the region: writes (from img, filled with generation
 * `gen`) or reads (into img, then checked) with requests of `size` bytes,
 * or cycling through sizes[] when size is 0, up to `depth` in flight,
 * alternating direct and indirect chains of 4 KiB segments. Kicks once per
 * batch.
 */
static void pass(const char *name, uint32_t type, uint8_t *img, uint64_t bytes, uint32_t size,
		 unsigned int depth, uint64_t gen, uint64_t *nreq)
{
	uint64_t off = 0, t0 = rdtsc(), done = 0, reqs = 0;
	unsigned int inflight = 0, k = 0;
	uint64_t kicks0 = vq.kicks, supp0 = vq.kicks_suppressed;
	bool err = false;

	if (type == BLK_T_OUT)
		gen_fill((uint64_t *)img, bytes / 8, gen);
	else
		memset(img, 0xee, bytes);
	while (done < bytes && !err) {
		while (off < bytes && inflight < depth) {
			uint32_t len = size ? size : sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
			int s;

			if (len > bytes - off)
				len = (uint32_t)(bytes - off);
			s = req_submit(type, REGION_START + off / SECTOR, img + off, len, 4096,
				       k & 1);
			if (s < 0)
				break;
			k++;
			reqs++;
			inflight++;
			off += len;
		}
		virtq_kick(&vq);
		/* Reap all that are done, at least one. */
		do {
			uint32_t w;
			int s = req_complete(&w);

			if (s < 0) {
				err = true;
				break;
			}
			if (slots[s].status != BLK_S_OK) {
				printf("virtio_blk: %s: sector %lu len %u: status %u\n", name,
				       (unsigned long)slots[s].hdr.sector, slots[s].len,
				       slots[s].status);
				err = true;
			}
			inflight--;
			done += slots[s].len;
		} while (inflight && virtq_has_used(&vq));
	}
	if (err) {
		test_fail(name);
		return;
	}
	if (type == BLK_T_IN) {
		uint64_t bad = gen_check((const uint64_t *)img, bytes / 8, gen);

		if (bad) {
			printf("virtio_blk: %s: %lu words differ from generation %lu\n", name,
			       (unsigned long)bad, (unsigned long)gen);
			test_fail(name);
		}
	}
	printf("virtio_blk: stress %-14s %5lu requests %8lu bytes %10lu cycles kicks %lu "
	       "suppressed %lu\n",
	       name, (unsigned long)reqs, (unsigned long)bytes, (unsigned long)(rdtsc() - t0),
	       (unsigned long)(vq.kicks - kicks0), (unsigned long)(vq.kicks_suppressed - supp0));
	*nreq += reqs;
}

static void stress(uint64_t mb, unsigned int depth)
{
	uint64_t bytes = mb << 20, nreq = 0;
	uint8_t *img;

	if (REGION_START + bytes / SECTOR > capacity) {
		printf("virtio_blk: disk too small for a %lu MiB stress region\n",
		       (unsigned long)mb);
		test_fail("stress region");
		return;
	}
	img = virtio_alloc(bytes, 4096);
	if (!img) {
		test_fail("stress buffer");
		return;
	}
	virtq_interrupts(&vq, false);
	pass("write-4k", BLK_T_OUT, img, bytes, 4096, depth, 1, &nreq);
	pass("read-64k", BLK_T_IN, img, bytes, 65536, depth, 1, &nreq);
	pass("write-mixed", BLK_T_OUT, img, bytes, 0, depth, 2, &nreq);
	pass("read-4k", BLK_T_IN, img, bytes, 4096, depth, 2, &nreq);
	pass("write-1m", BLK_T_OUT, img, bytes, MAX_REQ, depth, 3, &nreq);
	pass("read-mixed", BLK_T_IN, img, bytes, 0, depth, 3, &nreq);
	printf("virtio_blk: stress %lu requests region sector %u bytes %lu crc32 %08x\n",
	       (unsigned long)nreq, REGION_START, (unsigned long)bytes, crc32(0, img, bytes));
}

/* --------------------------------------------------------- main */

static void user_main(void)
{
	uint64_t want = VIRTIO_BIT(BLK_F_SIZE_MAX) | VIRTIO_BIT(BLK_F_SEG_MAX) |
			VIRTIO_BIT(BLK_F_RO) | VIRTIO_BIT(BLK_F_BLK_SIZE) | VIRTIO_BIT(BLK_F_FLUSH);
	bool ro = cmdline_long("ro", 0, 0);
	long depth = cmdline_long("depth", 0, 32);
	uint8_t *buf;

	test_name = "virtio_blk";
	if (cmdline_long("event_idx", 0, 1))
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	if (cmdline_long("indirect", 0, 1))
		want |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (depth < 1 || depth > MAX_DEPTH)
		depth = 32;
	printf("virtio_blk: running at cpl=%u\n", current_cpl());
	virtio_list();
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &dev) || virtio_negotiate(&dev, want) ||
	    virtq_setup(&dev, &vq, 0, VIRTQ_MAX_SIZE) || virtio_driver_ok(&dev)) {
		printf("virtio_blk: no usable block device\n");
		guest_exit(2);
	}
	slots = virtio_alloc(MAX_DEPTH * sizeof(struct slot), 64);
	buf = virtio_alloc(64 * 1024, 4096);
	capacity = virtio_cfg_read64(&dev, BLK_CFG_CAPACITY);
	if (dev.features & VIRTIO_BIT(BLK_F_SIZE_MAX))
		size_max = virtio_cfg_read32(&dev, BLK_CFG_SIZE_MAX);
	if (dev.features & VIRTIO_BIT(BLK_F_SEG_MAX))
		seg_max_data = virtio_cfg_read32(&dev, BLK_CFG_SEG_MAX);
	printf("virtio_blk: offered %#lx negotiated %#lx queue %u capacity %lu sectors "
	       "size_max %u seg_max %u blk_size %u\n",
	       (unsigned long)dev.offered, (unsigned long)dev.features, vq.size,
	       (unsigned long)capacity, size_max, seg_max_data,
	       dev.features & VIRTIO_BIT(BLK_F_BLK_SIZE) ? virtio_cfg_read32(&dev, BLK_CFG_BLK_SIZE)
							 : 0);
	if (!slots || !buf || capacity < 2048) {
		test_fail("setup (memory, or a disk under 1 MiB)");
		guest_exit(1);
	}
	if (ro != !!(dev.features & VIRTIO_BIT(BLK_F_RO)))
		test_fail(ro ? "F_RO not offered on a read-only disk"
			     : "F_RO offered on a writable disk");
	functional(buf, ro);
	if (!ro && cmdline_long("stress", 0, 1))
		stress((uint64_t)cmdline_long("mb", 0, 4), (unsigned int)depth);
	virtio_check_status(&dev);
	test_done();
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
