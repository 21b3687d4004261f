/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk throughput for `bench/run blk`, driven from CPL3 with
 * "depth=" requests in flight (default 1, at most 8; interrupts
 * suppressed, completions polled), the same patterns bench/hostio.c runs
 * on the host:
 *   seqread, seqwrite    "seq=" KiB requests (default 1024) walking the
 *                        first "mb=" MiB of the disk (default 64), "passes="
 *                        times (default 16)
 *   randread, randwrite  "count=" (default 8192) 4 KiB requests at
 *                        4 KiB-aligned offsets in those "mb=" MiB, drawn by
 *                        bench_lcg (shared with hostio.c)
 * Output: "blk: NAME BYTES CYCLES" per pattern (TSC cycles, converted by
 * the host) and "blk: done"; exit 1 if any request failed. No flush: the
 * host side writes into its page cache without fsync, as this does.
 */
#include "rt.h"
#include "virtio.h"

#include "../bench/pattern.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_F_SIZE_MAX 1
#define BLK_F_SEG_MAX 2
#define BLK_F_FLUSH 9
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SIZE_MAX 8
#define SECTOR 512

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
	uint8_t status;
};

/* A request slot: header, status and its own data buffer. */
struct slot {
	struct blk_req *hdr;
	uint8_t *buf;
	bool busy;
};

#define MAX_DEPTH 8

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq vq;
static struct slot slots[MAX_DEPTH];
static int slot_of_head[VIRTQ_MAX_SIZE];
static unsigned int depth = 1, inflight;
static uint32_t size_max;
static unsigned int errors;

/* Waits for one completion and frees its slot. */
static void reap(void)
{
	uint32_t w;
	int h = virtq_wait(&vq, &w);

	if (h < 0)
		guest_exit(1); /* virtq_wait said why */
	if (slots[slot_of_head[h]].hdr->status != 0)
		errors++;
	slots[slot_of_head[h]].busy = false;
	inflight--;
}

/* Issues one request of `len` bytes at byte offset `off` once a slot is
 * free (with depth 1: after the previous one completed): the data in
 * segments of at most size_max bytes (a device may limit them), kicked. */
static void issue(uint32_t type, uint64_t off, uint32_t len)
{
	struct virtq_buf b[VIRTQ_MAX_CHAIN];
	uint32_t seg = size_max ? size_max : len;
	unsigned int n = 0, s;
	int h;

	while (inflight == depth)
		reap();
	for (s = 0; slots[s].busy; s++)
		;
	*slots[s].hdr = (struct blk_req){ .type = type, .sector = off / SECTOR, .status = 0xff };
	b[n++] = (struct virtq_buf){ slots[s].hdr, 16 };
	for (uint32_t o = 0; o < len && n < VIRTQ_MAX_CHAIN - 1; o += seg)
		b[n++] = (struct virtq_buf){ slots[s].buf + o, len - o < seg ? len - o : seg };
	b[n++] = (struct virtq_buf){ &slots[s].hdr->status, 1 };
	h = virtq_add(&vq, b, type == BLK_T_IN ? 1 : n - 1, type == BLK_T_IN ? n - 1 : 1, true);
	if (h < 0) {
		errors++;
		return;
	}
	slot_of_head[h] = (int)s;
	slots[s].busy = true;
	inflight++;
	virtq_kick(&vq);
}

static void drain(void)
{
	while (inflight)
		reap();
}

static void report(const char *name, uint64_t bytes, uint64_t cycles)
{
	printf("blk: %s %lu %lu\n", name, (unsigned long)bytes, (unsigned long)cycles);
}

static void seq_pass(const char *name, uint32_t type, uint64_t region, uint32_t req,
		     unsigned long passes)
{
	uint64_t t0 = rdtsc(), bytes = 0;

	for (unsigned long p = 0; p < passes; p++)
		for (uint64_t off = 0; off + req <= region; off += req, bytes += req)
			issue(type, off, req);
	drain();
	report(name, bytes, rdtsc() - t0);
}

static void rand_pass(const char *name, uint32_t type, uint64_t region, unsigned long count)
{
	uint64_t t0 = rdtsc(), state = BENCH_LCG_SEED;

	for (unsigned long i = 0; i < count; i++)
		issue(type, bench_lcg(&state, region / BENCH_RAND_BLOCK) * BENCH_RAND_BLOCK,
		      BENCH_RAND_BLOCK);
	drain();
	report(name, (uint64_t)count * BENCH_RAND_BLOCK, rdtsc() - t0);
}

static unsigned long opt(const char *key, unsigned long def)
{
	char val[24];

	if (cmdline_get(key, val, sizeof(val)) == 0 && parse_ulong(val) > 0)
		return (unsigned long)parse_ulong(val);
	return def;
}

static void user_main(void)
{
	uint64_t region = (uint64_t)opt("mb", 64) << 20, capacity;
	uint32_t req = (uint32_t)opt("seq", 1024) << 10;
	unsigned long passes = opt("passes", 16), count = opt("count", 8192);

	printf("blk: running at cpl=%u\n", current_cpl());
	if (virtio_find(VIRTIO_ID_BLOCK, 0, &dev) ||
	    virtio_negotiate(&dev, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
				       VIRTIO_BIT(BLK_F_SIZE_MAX) | VIRTIO_BIT(BLK_F_SEG_MAX) |
				       VIRTIO_BIT(BLK_F_FLUSH)) ||
	    virtq_setup(&dev, &vq, 0, 64) || virtio_driver_ok(&dev)) {
		printf("blk: no usable block device\n");
		guest_exit(2);
	}
	virtq_interrupts(&vq, false);
	capacity = virtio_cfg_read64(&dev, BLK_CFG_CAPACITY) * SECTOR;
	if (dev.features & VIRTIO_BIT(BLK_F_SIZE_MAX))
		size_max = virtio_cfg_read32(&dev, BLK_CFG_SIZE_MAX);
	depth = (unsigned int)opt("depth", 1);
	for (unsigned int i = 0; i < depth && i < MAX_DEPTH; i++) {
		slots[i].hdr = virtio_alloc(sizeof(struct blk_req), 16);
		slots[i].buf = virtio_alloc(req, 4096);
		if (!slots[i].hdr || !slots[i].buf)
			depth = 0;
		for (uint32_t k = 0; slots[i].buf && k < req; k++)
			slots[i].buf[k] = (uint8_t)(k * 7 + 1);
	}
	if (depth < 1 || depth > MAX_DEPTH || region > capacity || req > region || req % SECTOR ||
	    (size_max && req / size_max >= VIRTQ_MAX_CHAIN - 2)) {
		printf(
		    "blk: bad sizes: mb=%lu seq=%u KiB depth=%u (1..%u, memory), disk %lu bytes, "
		    "size_max %u\n",
		    (unsigned long)(region >> 20), req >> 10, depth, MAX_DEPTH,
		    (unsigned long)capacity, size_max);
		guest_exit(2);
	}
	seq_pass("seqread", BLK_T_IN, region, req, passes);
	seq_pass("seqwrite", BLK_T_OUT, region, req, passes);
	rand_pass("randread", BLK_T_IN, region, count);
	rand_pass("randwrite", BLK_T_OUT, region, count);
	if (errors) {
		printf("blk: %u requests failed\n", errors);
		guest_exit(1);
	}
	printf("blk: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
