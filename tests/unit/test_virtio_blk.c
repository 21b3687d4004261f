/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk against a temporary image file: the test plays the driver,
 * building split-ring chains in fake guest memory, kicking the device
 * through its ops and running the event loop (the real completion path:
 * ring or worker -> eventfd -> evloop callback) until nothing is in
 * flight. Every case runs twice: on io_uring ("[uring]") and with
 * PETREL_BLK_NO_URING=1 on the worker threads alone ("[pool]").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "le.h"
#include "virtio/blk_io.h"
#include "virtio_blk_env.h"

static void put_seg(struct bench *t, unsigned int i, uint64_t sector, uint32_t n, uint32_t flags)
{
	uint8_t *s = gptr(t, DATA_GPA + 16u * i, 16);

	le_put(s, sector, 8);
	le_put(s + 8, n, 4);
	le_put(s + 12, flags, 4);
}

/* ---- cases ---- */

static void blk_config_space(void)
{
	struct bench t;
	uint8_t *c = t.dev.config;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	CHECK(t.dev.ops->device_id == VIRTIO_ID_BLOCK);
	CHECK(le_get(c + VIRTIO_BLK_CFG_CAPACITY, 8) == DISK_SECTORS);
	CHECK(le_get(c + VIRTIO_BLK_CFG_SEG_MAX, 4) == VIRTQ_MAX_SIZE - 2);
	CHECK(le_get(c + VIRTIO_BLK_CFG_BLK_SIZE, 4) == 512);
	CHECK(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	CHECK(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX));
	CHECK(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
	CHECK(!(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_RO)));
	/* ext4 punches holes. */
	CHECK(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	CHECK(le_get(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4) >= 1);
	/* The driver cannot change the capacity. */
	memset(c, 0xff, 8);
	t.dev.ops->config_write(&t.dev, 0, 8);
	CHECK(le_get(c + VIRTIO_BLK_CFG_CAPACITY, 8) == DISK_SECTORS);
	bench_close(&t);
}

static void blk_read_write_round_trip(void)
{
	struct bench t;
	uint8_t *data;
	uint32_t used = 0;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	data = gptr(&t, DATA_GPA, 8192);
	/* Read what the file holds. */
	memset(data, 0, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 5, 4096, true, &used) == VIRTIO_BLK_S_OK);
	CHECK(used == 4097);
	for (unsigned int i = 0; i < 4096; i++)
		if (data[i] != pattern(5 * 512 + i)) {
			CHECK(!"read data differs");
			break;
		}
	/* Write, see it in the file, read it back. */
	memset(data, 0x5a, 8192);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 100, 8192, false, &used) == VIRTIO_BLK_S_OK);
	CHECK(used == 1);
	CHECK(file_is(&t, 100 * 512, 8192, 0x5a));
	CHECK(file_is(&t, 99 * 512, 512, -1));
	CHECK(file_is(&t, 116 * 512, 512, -1));
	memset(data, 0, 8192);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 100, 8192, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(data[0] == 0x5a && data[8191] == 0x5a);
	/* The last sector is in range. */
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(bench_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used) == VIRTIO_BLK_S_OK);
	CHECK(used == 1);
	bench_close(&t);
}

/* Header split over two buffers, data over three odd-sized ones, the last
 * of which also holds the status byte. */
static void blk_odd_layout(void)
{
	struct bench t;
	struct fake_buf w[] = { { HDR_GPA, 10, false },
				{ HDR_GPA + 10, 6, false },
				{ DATA_GPA, 100, false },
				{ DATA_GPA + 0x1000, 412, false },
				{ DATA_GPA + 0x2000, 512, false },
				{ STATUS_GPA, 1, true } };
	struct fake_buf r[] = { { HDR_GPA, 16, false },
				{ DATA_GPA + 0x3000, 700, true },
				{ DATA_GPA + 0x4000, 325, true } };

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	put_hdr(&t, 0, VIRTIO_BLK_T_OUT, 40);
	memset(gptr(&t, DATA_GPA, 100), 1, 100);
	memset(gptr(&t, DATA_GPA + 0x1000, 412), 2, 412);
	memset(gptr(&t, DATA_GPA + 0x2000, 512), 3, 512);
	fake_vq_add(&t.vq, w, ARRAY_SIZE(w));
	fake_kick(&t.dev, 0);
	REQUIRE(bench_wait(&t) && used_idx(&t) == 1);
	CHECK(*gptr(&t, STATUS_GPA, 1) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 40 * 512, 100, 1));
	CHECK(file_is(&t, 40 * 512 + 100, 412, 2));
	CHECK(file_is(&t, 41 * 512, 512, 3));

	put_hdr(&t, 0, VIRTIO_BLK_T_IN, 40);
	*gptr(&t, DATA_GPA + 0x4000 + 324, 1) = 0xee;
	fake_vq_add(&t.vq, r, ARRAY_SIZE(r));
	fake_kick(&t.dev, 0);
	REQUIRE(bench_wait(&t) && used_idx(&t) == 2);
	CHECK(used_len(&t, 1) == 1025);
	CHECK(*gptr(&t, DATA_GPA + 0x4000 + 324, 1) == VIRTIO_BLK_S_OK);
	CHECK(gptr(&t, DATA_GPA + 0x3000, 700)[99] == 1);
	CHECK(gptr(&t, DATA_GPA + 0x3000, 700)[100] == 2);
	CHECK(gptr(&t, DATA_GPA + 0x3000, 700)[512] == 3);
	CHECK(gptr(&t, DATA_GPA + 0x4000, 325)[323] == 3);
	bench_close(&t);
}

static void blk_get_id(void)
{
	struct bench t;
	char id[VIRTIO_BLK_ID_BYTES], again[VIRTIO_BLK_ID_BYTES];
	uint32_t used = 0;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	memset(gptr(&t, DATA_GPA, 32), 0xff, 32);
	CHECK(bench_req(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &used) ==
	      VIRTIO_BLK_S_OK);
	CHECK(used == VIRTIO_BLK_ID_BYTES + 1);
	memcpy(id, gptr(&t, DATA_GPA, sizeof(id)), sizeof(id));
	CHECK(memcmp(id, "petrel-", 7) == 0);
	for (unsigned int i = 7; i < sizeof(id); i++)
		CHECK((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
	/* Stable: the same again, also for a shorter buffer (cut short). */
	memset(gptr(&t, DATA_GPA, 32), 0, 32);
	CHECK(bench_req(&t, VIRTIO_BLK_T_GET_ID, 0, 8, true, &used) == VIRTIO_BLK_S_OK);
	CHECK(used == 9);
	memcpy(again, gptr(&t, DATA_GPA, sizeof(again)), sizeof(again));
	CHECK(memcmp(again, id, 8) == 0 && again[8] == 0);
	/* No data buffer at all. */
	CHECK(bench_req(&t, VIRTIO_BLK_T_GET_ID, 0, 0, true, NULL) == VIRTIO_BLK_S_IOERR);
	bench_close(&t);
}

static void blk_discard_and_zeroes(void)
{
	struct bench t;
	struct stat before, after;

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	REQUIRE(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	REQUIRE(fsync(t.fd) == 0 && fstat(t.fd, &before) == 0);
	put_seg(&t, 0, 256, 256, 0);
	put_seg(&t, 1, 1024, 8, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 32, false, NULL) == VIRTIO_BLK_S_OK);
	/* Punched: the range reads as zeroes and frees blocks; the size stays. */
	CHECK(file_is(&t, 256 * 512, 256 * 512, 0));
	CHECK(file_is(&t, 1024 * 512, 8 * 512, 0));
	CHECK(file_is(&t, 255 * 512, 512, -1) && file_is(&t, 512 * 512, 512, -1));
	REQUIRE(fstat(t.fd, &after) == 0);
	CHECK(after.st_size == before.st_size && after.st_blocks < before.st_blocks);
	/* The unmap flag is for write zeroes only; other flags are unknown. */
	put_seg(&t, 0, 0, 8, VIRTIO_BLK_SEG_F_UNMAP);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	CHECK(file_is(&t, 0, 8 * 512, -1));
	put_seg(&t, 0, 0, 8, 2);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	/* Out of range, overflowing, malformed lists. */
	put_seg(&t, 0, DISK_SECTORS - 4, 8, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	put_seg(&t, 0, UINT64_MAX - 2, 8, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 24, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 0, false, NULL) == VIRTIO_BLK_S_IOERR);
	for (unsigned int i = 0; i < 64; i++)
		put_seg(&t, i, i, 1, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 64 * 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(file_is(&t, 0, 64 * 512, -1));
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false, NULL) ==
	      VIRTIO_BLK_S_IOERR); /* one segment at most */

	/* Write zeroes, with and without unmap. */
	put_seg(&t, 0, 10, 3, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 10 * 512, 3 * 512, 0) && file_is(&t, 13 * 512, 512, -1));
	put_seg(&t, 0, 20, 1, VIRTIO_BLK_SEG_F_UNMAP);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 20 * 512, 512, 0) && file_is(&t, 21 * 512, 512, -1));
	bench_close(&t);
}

/* tmpfs has holes but no FALLOC_FL_ZERO_RANGE: zeroes are written. */
static void blk_zeroes_written(void)
{
	struct bench t;

	if (access("/dev/shm", W_OK))
		SKIP("no /dev/shm");
	REQUIRE(bench_open(&t, "/dev/shm", false, 16));
	put_seg(&t, 0, 30, 300, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 30 * 512, 300 * 512, 0));
	CHECK(file_is(&t, 29 * 512, 512, -1) && file_is(&t, 330 * 512, 512, -1));
	bench_close(&t);
}

static void blk_read_only(void)
{
	struct bench t;

	REQUIRE(bench_open(&t, "/tmp", true, 16));
	CHECK(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	CHECK(!(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
	CHECK(!(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES)));
	memset(gptr(&t, DATA_GPA, 4096), 0x77, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 0, 4096, false, NULL) == VIRTIO_BLK_S_IOERR);
	/* Even if the driver claims the features. */
	t.dev.features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	put_seg(&t, 0, 0, 8, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(file_is(&t, 0, DISK_SECTORS * 512, -1));
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 4096, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(gptr(&t, DATA_GPA, 1)[0] == pattern(0));
	CHECK(bench_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL) == VIRTIO_BLK_S_OK);
	bench_close(&t);
}

static void blk_bad_requests(void)
{
	struct bench t;
	const uint64_t far[] = { DISK_SECTORS,	 DISK_SECTORS + 1,     UINT64_MAX,
				 UINT64_MAX - 1, UINT64_MAX / 512 + 1, (UINT64_MAX >> 9) - 1 };

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	memset(gptr(&t, DATA_GPA, 1024), 0x33, 1024);
	for (unsigned int i = 0; i < ARRAY_SIZE(far); i++) {
		CHECK(bench_req(&t, VIRTIO_BLK_T_IN, far[i], 1024, true, NULL) ==
		      VIRTIO_BLK_S_IOERR);
		CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, far[i], 1024, false, NULL) ==
		      VIRTIO_BLK_S_IOERR);
	}
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, false, NULL) ==
	      VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 511, true, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 0, 513, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 0, 1, false, NULL) == VIRTIO_BLK_S_IOERR);
	CHECK(file_is(&t, 0, DISK_SECTORS * 512, -1));
	/* Zero-length transfers are fine inside the disk. */
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, DISK_SECTORS, 0, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, DISK_SECTORS + 1, 0, true, NULL) ==
	      VIRTIO_BLK_S_IOERR);
	CHECK(bench_req(&t, 99, 0, 0, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	CHECK(bench_req(&t, 10 /* GET_LIFETIME */, 0, 8, true, NULL) == VIRTIO_BLK_S_UNSUPP);
	CHECK(bench_req(&t, 0x80000001u, 0, 512, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	/* A header too short for its fields. */
	{
		struct fake_buf b[] = { { HDR_GPA, 8, false }, { STATUS_GPA, 1, true } };

		uint16_t before = used_idx(&t);

		fake_vq_add(&t.vq, b, 2);
		fake_kick(&t.dev, 0);
		CHECK(bench_wait(&t) && used_idx(&t) == (uint16_t)(before + 1));
		CHECK(*gptr(&t, STATUS_GPA, 1) == VIRTIO_BLK_S_IOERR);
	}
	/* Still serving good requests after all that. */
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 512, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(!(t.dev.status & VIRTIO_STATUS_NEEDS_RESET));
	bench_close(&t);
}

static void blk_no_status_byte(void)
{
	struct bench t;
	struct fake_buf b[] = { { HDR_GPA, 16, false }, { DATA_GPA, 512, false } };

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	put_hdr(&t, 0, VIRTIO_BLK_T_OUT, 0);
	fake_vq_add(&t.vq, b, 2);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t));
	CHECK(t.dev.status & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(used_idx(&t) == 0);
	CHECK(file_is(&t, 0, 512, -1));
	bench_close(&t);
}

static void blk_malformed_chain(void)
{
	struct bench t;
	struct fake_buf b[] = { { HDR_GPA, 16, false }, { GM_SIZE - 256, 512, true } };

	REQUIRE(bench_open(&t, "/tmp", false, 16));
	put_hdr(&t, 0, VIRTIO_BLK_T_IN, 0);
	fake_vq_add(&t.vq, b, 2);
	fake_kick(&t.dev, 0);
	CHECK(bench_wait(&t));
	CHECK(t.dev.status & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(used_idx(&t) == 0);
	bench_close(&t);
}

/* A driver that offers one chain (head 0, a flush) over and over: four
 * fill a queue of four; four more wait in the ring until completions free
 * slots. */
static void blk_inflight_bounded(void)
{
	struct bench t;
	struct fake_buf b[] = { { HDR_GPA, 16, false }, { STATUS_GPA, 1, true } };

	REQUIRE(bench_open(&t, "/tmp", false, 4));
	put_hdr(&t, 0, VIRTIO_BLK_T_FLUSH, 0);
	for (unsigned int i = 0; i < 8; i++) {
		if (i == 4) {
			fake_kick(&t.dev, 0); /* not waiting: nothing is published yet */
			CHECK(virtio_blk_inflight(&t.dev) == 4);
		}
		t.vq.next_desc = 0;
		fake_vq_add(&t.vq, b, 2);
	}
	fake_kick(&t.dev, 0);
	CHECK(virtio_blk_inflight(&t.dev) == 4);
	CHECK(t.dev.vq[0].last_avail == 4);
	CHECK(used_idx(&t) == 0);
	CHECK(bench_wait(&t));
	CHECK(used_idx(&t) == 8);
	CHECK(*gptr(&t, STATUS_GPA, 1) == VIRTIO_BLK_S_OK);
	bench_close(&t);
}

/* Sixteen requests, not waited for: 64 KiB writes, each followed by a
 * flush that has dirty data to sync (slow enough to be running when the
 * test resets or tears down the device). */
static void submit_writes(struct bench *t)
{
	memset(gptr(t, DATA_GPA, 64 * 1024), 0x44, 64 * 1024);
	for (unsigned int i = 0; i < 16; i++) {
		struct fake_buf b[] = { { HDR_GPA + 32u * i, 16, false },
					{ DATA_GPA, 64 * 1024, false },
					{ STATUS_GPA + i, 1, true } };

		put_hdr(t, i, i % 2 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_OUT, 128u * i);
		if (i % 2)
			b[1] = b[2];
		fake_vq_add(&t->vq, b, i % 2 ? 2 : 3);
	}
	fake_kick(&t->dev, 0);
}

/* A reset with requests in flight publishes none of them, returns with
 * none left, and the device works again once the driver sets it up. */
static void blk_reset_in_flight(void)
{
	struct bench t;
	struct virtq *q = &t.dev.vq[0];

	REQUIRE(bench_open(&t, "/tmp", false, 64));
	submit_writes(&t);
	usleep(500);
	virtio_lock(&t.dev);
	t.dev.ops->reset(&t.dev);
	virtq_reset(q);
	t.dev.status = 0;
	virtio_unlock(&t.dev);
	CHECK(virtio_blk_inflight(&t.dev) == 0);
	/* Nothing shows up later either (completions already signalled). */
	fake_evloop_pass(&t.ev, 50);
	CHECK(used_idx(&t) == 0);

	memset(gptr(&t, USED_GPA, 0x1000), 0, 0x1000);
	fake_vq_init(&t.vq, &t.gm, 64, DESC_GPA, AVAIL_GPA, USED_GPA);
	REQUIRE(fake_vq_start(&t.dev, 0, &t.vq));
	le_put(gptr(&t, AVAIL_GPA + 2, 2), 0, 2);
	t.dev.status = VIRTIO_STATUS_DRIVER_OK;
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 512, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(gptr(&t, DATA_GPA, 1)[0] == pattern(0) || gptr(&t, DATA_GPA, 1)[0] == 0x44);
	bench_close(&t);
}

/* Teardown with requests queued and running (ASan checks the rest). */
static void blk_destroy_in_flight(void)
{
	struct bench t;

	REQUIRE(bench_open(&t, "/tmp", false, 64));
	submit_writes(&t);
	CHECK(virtio_blk_inflight(&t.dev) == 16);
	bench_close(&t);
}

/* A host block device (a scratch one: its first MiB is overwritten), named
 * by PETREL_TEST_BLOCK_DEVICE, e.g. a loop device. */
static void blk_block_device(void)
{
	const char *path = getenv("PETREL_TEST_BLOCK_DEVICE");
	struct bench t = { .fd = -1 };
	uint64_t size;

	if (!path)
		SKIP("set PETREL_TEST_BLOCK_DEVICE to a scratch block device to run");
	snprintf(t.path, sizeof(t.path), "%s", path);
	t.fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(t.fd >= 0 && ioctl(t.fd, BLKGETSIZE64, &size) == 0 && size >= DISK_SECTORS * 512);
	REQUIRE(bench_attach(&t, false, 16));
	CHECK(le_get(t.dev.config + VIRTIO_BLK_CFG_CAPACITY, 8) == size / 512);
	memset(gptr(&t, DATA_GPA, 4096), 0x6b, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 8, 4096, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(bench_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 8 * 512, 4096, 0x6b) && file_is(&t, 7 * 512, 512, -1));
	memset(gptr(&t, DATA_GPA, 4096), 0, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 8, 4096, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(gptr(&t, DATA_GPA, 4096)[4095] == 0x6b);
	put_seg(&t, 0, 64, 16, 0);
	CHECK(bench_req(&t, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL) == VIRTIO_BLK_S_OK);
	CHECK(file_is(&t, 64 * 512, 16 * 512, 0) && file_is(&t, 80 * 512, 512, -1));
	if (t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
		put_seg(&t, 0, 256, 256, 0);
		CHECK(bench_req(&t, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL) == VIRTIO_BLK_S_OK);
	}
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, size / 512, 512, true, NULL) == VIRTIO_BLK_S_IOERR);
	bench_close(&t);
}

static int create_error(const char *path, bool read_only)
{
	struct disk_config cfg = { .read_only = read_only };
	struct virtio_dev dev = { 0 };
	struct evloop ev;
	struct gm gm = { 0 };
	int err;

	if (evloop_init(&ev))
		return 0;
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	err = virtio_blk_create(&dev, &ev, &gm, &cfg);
	if (!err)
		dev.ops->destroy(&dev);
	evloop_destroy(&ev);
	return err;
}

static void blk_create_errors(void)
{
	CHECK(create_error("/nonexistent/disk.img", false) == -ENOENT);
	CHECK(create_error("/nonexistent/disk.img", true) == -ENOENT);
	CHECK(create_error("/tmp", false) == -EISDIR);
	CHECK(create_error("/tmp", true) == -EISDIR);
	CHECK(create_error("/dev/null", true) == -ENOTBLK);
}

/* The backend asked for is the one running: a disk has a ring unless
 * PETREL_BLK_NO_URING=1. */
static void blk_backend(void)
{
	bool pool = getenv("PETREL_BLK_NO_URING") != NULL;
	int before = uring_fds();
	struct io_uring probe;
	struct bench t;

	if (!pool) {
		if (io_uring_queue_init(1, &probe, 0))
			SKIP("io_uring unavailable here (the pool runs everything)");
		io_uring_queue_exit(&probe);
	}

	REQUIRE(before >= 0 && bench_open(&t, "/tmp", false, 16));
	CHECK(uring_fds() == before + (pool ? 0 : 1));
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 512, true, NULL) == VIRTIO_BLK_S_OK);
	bench_close(&t);
	CHECK(uring_fds() == before);
}

/* A read running into the end of a file that shrank after open: the short
 * transfer continues where it stopped (iov advanced), then ends with EIO,
 * and done counts the bytes stored. */
static void blk_io_short_read(void)
{
	static struct blk_io io;
	static struct blk_io_req r;
	char path[] = "/tmp/petrel-blk-XXXXXX";
	uint8_t data[8192], buf[8192];
	struct pollfd pfd;
	struct blk_io_req *got = NULL;
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3 + 1);
	REQUIRE(pwrite(fd, data, sizeof(data), 0) == (ssize_t)sizeof(data));
	REQUIRE(blk_io_open(&io, path, true, true) == 0);
	REQUIRE(blk_io_start(&io) == 0);
	CHECK(ftruncate(fd, 5000) == 0);
	memset(buf, 0xee, sizeof(buf));
	r = (struct blk_io_req){ .op = BLK_IO_READ, .off = 100, .n = 3 };
	r.iov[0] = (struct iovec){ buf, 2000 };
	r.iov[1] = (struct iovec){ buf + 2000, 4000 };
	r.iov[2] = (struct iovec){ buf + 6000, 2000 };
	blk_io_submit(&io, &r);
	blk_io_kick(&io);
	pfd = (struct pollfd){ .fd = io.done_fd, .events = POLLIN };
	for (int i = 0; i < 100 && !got; i++) {
		uint64_t v;

		if (poll(&pfd, 1, 50) == 1 && read(io.done_fd, &v, sizeof(v)) < 0)
			break;
		got = blk_io_finished(&io);
	}
	if (!got)
		got = blk_io_cancel(&io);
	CHECK(got == &r && !r.next);
	CHECK(r.err == -EIO && r.done == 4900);
	CHECK(!memcmp(buf, data + 100, 4900) && buf[4900] == 0xee);
	blk_io_close(&io);
	close(fd);
	unlink(path);
}

/* One SQE on the disk's ring, submitted alone (a refused one ends the
 * submission): a readv of /dev/zero's fd (kind 0), a read (1) or a readv
 * (2) of fixed file 0. The CQE's result. */
static int ring_try(struct blk_io *io, int kind, bool fixed)
{
	static uint8_t buf[512];
	static struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	struct io_uring_cqe *cqe;
	int fd = kind ? 0 : open("/dev/zero", O_RDONLY | O_CLOEXEC), res;

	if (!sqe || fd < 0)
		return -1000;
	if (kind == 1)
		io_uring_prep_read(sqe, fd, buf, sizeof(buf), 0);
	else
		io_uring_prep_readv(sqe, fd, &iov, 1, 0);
	if (fixed)
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	res = io_uring_submit_and_wait(&io->ring, 1) == 1 && io_uring_peek_cqe(&io->ring, &cqe) == 0
		  ? cqe->res
		  : -1000;
	if (res != -1000)
		io_uring_cqe_seen(&io->ring, cqe);
	if (kind == 0)
		close(fd);
	return res;
}

/* The ring serves this disk only: an unregistered fd, an opcode outside
 * READV / WRITEV / FSYNC and any further registration are refused. */
static void blk_io_ring_restricted(void)
{
	static struct blk_io io;
	char path[] = "/tmp/petrel-blk-XXXXXX";
	int fd = mkstemp(path), other = open("/dev/zero", O_RDONLY | O_CLOEXEC);

	REQUIRE(fd >= 0 && other >= 0 && ftruncate(fd, 4096) == 0);
	REQUIRE(blk_io_open(&io, path, false, true) == 0);
	if (!io.uring) {
		harness.skip = "no ring (PETREL_BLK_NO_URING=1, or io_uring unavailable)";
	} else {
		CHECK(ring_try(&io, 0, false) == -EACCES); /* not a fixed file */
		CHECK(ring_try(&io, 1, true) == -EACCES);  /* IORING_OP_READ */
		CHECK(ring_try(&io, 2, true) == 512);
		CHECK(io_uring_register_files(&io.ring, &other, 1) == -EACCES);
	}
	blk_io_close(&io);
	close(other);
	close(fd);
	unlink(path);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
#define CASE(fn)                                                                                   \
	{                                                                                          \
#fn, fn                                                                            \
	}
	CASE(blk_backend),
	CASE(blk_config_space),
	CASE(blk_read_write_round_trip),
	CASE(blk_odd_layout),
	CASE(blk_get_id),
	CASE(blk_discard_and_zeroes),
	CASE(blk_zeroes_written),
	CASE(blk_read_only),
	CASE(blk_bad_requests),
	CASE(blk_no_status_byte),
	CASE(blk_malformed_chain),
	CASE(blk_inflight_bounded),
	CASE(blk_reset_in_flight),
	CASE(blk_destroy_in_flight),
	CASE(blk_block_device),
	CASE(blk_create_errors),
	CASE(blk_io_short_read),
	CASE(blk_io_ring_restricted),
#undef CASE
};

int main(void)
{
	for (int pool = 0; pool < 2; pool++) {
		if (pool)
			setenv("PETREL_BLK_NO_URING", "1", 1);
		else
			unsetenv("PETREL_BLK_NO_URING");
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			char name[64];

			snprintf(name, sizeof(name), "%s[%s]", cases[i].name,
				 pool ? "pool" : "uring");
			harness_begin(name);
			cases[i].fn();
			harness_end();
		}
	}
	return harness_exit();
}
