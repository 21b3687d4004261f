/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2, 5.4) from CPL3: two 64-byte reads that must not
 * be all one value and must differ from each other, then "kb=" KiB
 * (default 1024) in 4 KiB requests, up to 16 in flight, whose byte
 * histogram must be plausible for uniform random bytes (every value seen,
 * each count within 6 standard deviations of the mean). A device may fill
 * less than a buffer; the used length counts, and more than the buffer is
 * a failure. Last line: "virtio_rng: done, N failures"; exit 0 iff N = 0.
 */
#include "rt.h"
#include "virtio.h"

#define SMALL 64
#define CHUNK 4096
#define DEPTH 16

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq vq;
static uint64_t hist[256];

/* One synchronous read into buf; returns the used length or -1. */
static long rng_read(uint8_t *buf, uint32_t len)
{
	struct virtq_buf b = { buf, len };
	uint32_t w;

	if (virtq_add(&vq, &b, 0, 1, false) < 0)
		return -1;
	virtq_kick(&vq);
	if (virtq_wait(&vq, &w) < 0)
		return -1;
	return w > len ? -1 : (long)w;
}

static bool all_equal(const uint8_t *p, long n)
{
	for (long i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static void small_reads(uint8_t *a, uint8_t *b)
{
	long na = rng_read(a, SMALL), nb = rng_read(b, SMALL);

	printf("virtio_rng: read 1: %ld bytes, %02x%02x%02x%02x...\n", na, a[0], a[1], a[2], a[3]);
	printf("virtio_rng: read 2: %ld bytes, %02x%02x%02x%02x...\n", nb, b[0], b[1], b[2], b[3]);
	if (na <= 0 || nb <= 0) {
		test_fail("small read");
		return;
	}
	if (na >= 8 && all_equal(a, na))
		test_fail("read 1 is one value repeated");
	if (na == nb && memcmp(a, b, (size_t)na) == 0)
		test_fail("the two reads are equal");
}

static void bulk(uint64_t total)
{
	uint8_t *bufs = virtio_alloc(DEPTH * CHUNK, 4096);
	uint64_t got = 0, asked = 0, reqs = 0, t0 = rdtsc(), lo = ~0ULL, hi = 0, mean, dev6;
	unsigned int inflight = 0, seen = 0;
	int head_buf[VIRTQ_MAX_SIZE];
	bool busy[DEPTH] = { false };

	if (!bufs) {
		test_fail("bulk buffer");
		return;
	}
	virtq_interrupts(&vq, false);
	while (got < total) {
		for (unsigned int i = 0; i < DEPTH && asked < total; i++) {
			struct virtq_buf b = { bufs + (uint64_t)i * CHUNK, CHUNK };
			int h;

			if (busy[i])
				continue;
			h = virtq_add(&vq, &b, 0, 1, false);
			if (h < 0)
				break;
			head_buf[h] = (int)i;
			busy[i] = true;
			inflight++;
			asked += CHUNK;
			reqs++;
		}
		virtq_kick(&vq);
		do {
			uint32_t w;
			int h = virtq_wait(&vq, &w);
			const uint8_t *p;

			if (h < 0 || w > CHUNK) {
				test_fail("bulk read");
				return;
			}
			busy[head_buf[h]] = false;
			p = bufs + (uint64_t)head_buf[h] * CHUNK;
			for (uint32_t k = 0; k < w; k++)
				hist[p[k]]++;
			got += w;
			/* A short read leaves more to ask for. */
			asked -= CHUNK - w;
			inflight--;
		} while (inflight && virtq_has_used(&vq));
	}
	for (int v = 0; v < 256; v++) {
		seen += hist[v] != 0;
		lo = hist[v] < lo ? hist[v] : lo;
		hi = hist[v] > hi ? hist[v] : hi;
	}
	/* Counts are binomial(got, 1/256): sd ~ sqrt(got/256). */
	mean = got / 256;
	for (dev6 = 1; dev6 * dev6 < mean; dev6++)
		;
	dev6 *= 6;
	printf("virtio_rng: bulk %lu bytes in %lu requests, %lu cycles; values seen %u, counts "
	       "%lu..%lu (mean %lu)\n",
	       (unsigned long)got, (unsigned long)reqs, (unsigned long)(rdtsc() - t0), seen,
	       (unsigned long)lo, (unsigned long)hi, (unsigned long)mean);
	if (seen != 256 || lo + dev6 < mean || hi > mean + dev6)
		test_fail("byte histogram");
}

static void user_main(void)
{
	uint64_t want = 0;
	uint8_t *small = virtio_alloc(2 * SMALL, 64);
	long kb = cmdline_long("kb", 0, 1024);

	test_name = "virtio_rng";
	if (cmdline_long("event_idx", 0, 1))
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	printf("virtio_rng: running at cpl=%u\n", current_cpl());
	virtio_list();
	if (!small || virtio_find(VIRTIO_ID_RNG, 0, &dev) || virtio_negotiate(&dev, want) ||
	    virtq_setup(&dev, &vq, 0, 64) || virtio_driver_ok(&dev)) {
		printf("virtio_rng: no usable entropy device\n");
		guest_exit(2);
	}
	printf("virtio_rng: offered %#lx negotiated %#lx queue %u\n", (unsigned long)dev.offered,
	       (unsigned long)dev.features, vq.size);
	small_reads(small, small + SMALL);
	if (kb)
		bulk((uint64_t)kb << 10);
	virtio_check_status(&dev);
	test_done();
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
