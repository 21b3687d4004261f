/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk test environment shared by test_virtio_blk.c and
 * test_virtio_ratelimit.c: the device over a temporary image file, its
 * queue built in fake guest memory, requests made and run to the end.
 */
#ifndef PETREL_TEST_VIRTIO_BLK_ENV_H
#define PETREL_TEST_VIRTIO_BLK_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "le.h"
#include "proc_fds.h"
#include "virtio/blk.h"

#define GM_SIZE (4u << 20)
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define HDR_GPA 0x10000 /* request i's header at HDR_GPA + 32 * i */
#define STATUS_GPA 0x18000
#define DATA_GPA 0x100000
#define DISK_SECTORS 2048 /* 1 MiB */

struct bench {
	struct gm gm;
	struct evloop ev;
	struct virtio_dev dev;
	char path[CONFIG_PATH_MAX];
	int fd; /* the test's own view of the image */
	struct fake_vq vq;
	bool created, temp;
	/* The disk's configured limit, cache type and I/O engine. */
	struct ratelimit_config limit;
	enum disk_cache cache;
	enum disk_io_engine io_engine;
};

static inline uint8_t *gptr(struct bench *t, gpa_t gpa, size_t len)
{
	return gm_ptr(&t->gm, gpa, len);
}

/* A byte pattern that differs per sector. */
static inline uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512 * 13 + 1);
}

/* Fill the image at t->fd (DISK_SECTORS of pattern()), create the device
 * over t->path and set up its queue as a driver would. */
static inline bool bench_attach(struct bench *t, bool read_only, uint16_t qsize)
{
	struct disk_config cfg = { .read_only = read_only,
				   .limit = t->limit,
				   .cache = t->cache,
				   .io_engine = t->io_engine };
	uint8_t sector[512];

	for (uint64_t s = 0; s < DISK_SECTORS; s++) {
		for (unsigned int i = 0; i < sizeof(sector); i++)
			sector[i] = pattern(s * 512 + i);
		if (pwrite(t->fd, sector, sizeof(sector), (off_t)(s * 512)) != sizeof(sector))
			return false;
	}
	if (!fake_gm_init(&t->gm, 0, GM_SIZE) || evloop_init(&t->ev))
		return false;
	pthread_mutex_init(&t->dev.lock, NULL);
	snprintf(cfg.path, sizeof(cfg.path), "%s", t->path);
	if (virtio_blk_create(&t->dev, &t->ev, &t->gm, &cfg))
		return false;
	t->created = true;
	if (t->dev.ops->start(&t->dev, NULL))
		return false;
	/* What the transport does for a driver that accepts every feature. */
	t->dev.features = t->dev.offered | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	fake_vq_init(&t->vq, &t->gm, qsize, DESC_GPA, AVAIL_GPA, USED_GPA);
	if (!fake_vq_start(&t->dev, 0, &t->vq))
		return false;
	t->dev.status = FAKE_STATUS_DRIVER_OK;
	return true;
}

/* A device over a new temporary image in `dir`, with the limit, cache type
 * and I/O engine the caller put in *t (the rest of *t zero). */
static inline bool bench_open_cfg(struct bench *t, const char *dir, bool read_only, uint16_t qsize)
{
	t->temp = true;
	snprintf(t->path, sizeof(t->path), "%s/petrel-blk-XXXXXX", dir);
	t->fd = mkstemp(t->path);
	return t->fd >= 0 && bench_attach(t, read_only, qsize);
}

/* A device over a new temporary image in `dir`, limited by `limit` from
 * its creation. */
static inline bool bench_open_limited(struct bench *t, const char *dir, bool read_only,
				      uint16_t qsize, const struct ratelimit_config *limit)
{
	*t = (struct bench){ .limit = *limit };
	return bench_open_cfg(t, dir, read_only, qsize);
}

static inline bool bench_open(struct bench *t, const char *dir, bool read_only, uint16_t qsize)
{
	return bench_open_limited(t, dir, read_only, qsize, &(struct ratelimit_config){ 0 });
}

static inline void bench_close(struct bench *t)
{
	if (t->created)
		t->dev.ops->destroy(&t->dev);
	pthread_mutex_destroy(&t->dev.lock);
	evloop_destroy(&t->ev);
	fake_gm_free(&t->gm);
	if (t->fd >= 0)
		close(t->fd);
	if (t->temp)
		unlink(t->path);
}

/* Run the event loop's callbacks until nothing is in flight (or 5 s). */
static inline bool bench_wait(struct bench *t)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (virtio_blk_inflight(&t->dev) > 0) {
		fake_evloop_pass(&t->ev, 100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5)
			return false;
	}
	return true;
}

static inline uint16_t used_idx(struct bench *t)
{
	return fake_vq_used_idx(&t->vq);
}

static inline uint32_t used_len(struct bench *t, uint16_t i)
{
	uint32_t id, len;

	fake_vq_used_elem(&t->vq, i, &id, &len);
	return len;
}

static inline void put_hdr(struct bench *t, unsigned int i, uint32_t type, uint64_t sector)
{
	uint8_t *h = gptr(t, HDR_GPA + 32u * i, 16);

	le_put(h, type, 4);
	le_put(h + 4, 0, 4);
	le_put(h + 8, sector, 8);
}

/* One request in the usual layout (header, data, status), run to the end.
 * Returns the status byte, or -1 if the chain was not used. */
static inline int bench_req(struct bench *t, uint32_t type, uint64_t sector, uint32_t len,
			    bool write_data, uint32_t *used)
{
	struct fake_buf b[3] = { { HDR_GPA, 16, false } };
	unsigned int n = 1;
	uint16_t before = used_idx(t);

	put_hdr(t, 0, type, sector);
	if (len)
		b[n++] = (struct fake_buf){ DATA_GPA, len, write_data };
	b[n++] = (struct fake_buf){ STATUS_GPA, 1, true };
	*gptr(t, STATUS_GPA, 1) = 0xee;
	fake_vq_add(&t->vq, b, n);
	fake_kick(&t->dev, 0);
	if (!bench_wait(t) || used_idx(t) != (uint16_t)(before + 1))
		return -1;
	if (used)
		*used = used_len(t, before);
	return *gptr(t, STATUS_GPA, 1);
}

/* The image holds `byte` (-1: pattern()) at off..off+len. */
static inline bool file_is(struct bench *t, uint64_t off, size_t len, int byte)
{
	uint8_t buf[4096];

	while (len > 0) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (pread(t->fd, buf, n, (off_t)off) != (ssize_t)n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (buf[i] != (byte < 0 ? pattern(off + i) : (uint8_t)byte))
				return false;
		off += n;
		len -= n;
	}
	return true;
}

/* io_uring instances this process has open. */
static inline int uring_fds(void)
{
	return proc_fds_count("anon_inode:[io_uring]", NULL);
}

#endif
