/* SPDX-License-Identifier: MIT */
/* virtio-blk's settings from the API: a media change (PATCH /drives
 * path_on_host), cache_type Unsafe, io_engine Sync. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "harness.h"
#include "virtio_blk_env.h"

/* A second image of `sectors` sectors, each byte `byte`. */
static bool other_image(char *path, size_t n, uint64_t sectors, int byte)
{
	uint8_t sector[512];
	int fd;

	snprintf(path, n, "/tmp/petrel-blk-media-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	memset(sector, byte, sizeof(sector));
	for (uint64_t s = 0; s < sectors; s++)
		if (pwrite(fd, sector, sizeof(sector), (off_t)(s * 512)) != sizeof(sector)) {
			close(fd);
			return false;
		}
	close(fd);
	return true;
}

/* The guest reads the new media: capacity in config space (and a new
 * configuration generation), data, writes landing in the new file; the
 * serial number stays (same disk, new media). */
static void blk_media_change(void)
{
	char other[64], serial[VIRTIO_BLK_ID_BYTES];
	struct bench t;
	uint8_t *data;
	uint32_t gen;
	int fd;

	REQUIRE(other_image(other, sizeof(other), 4096, 0x42));
	REQUIRE(bench_open(&t, "/tmp", false, 16));
	data = gptr(&t, DATA_GPA, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, NULL) ==
	      VIRTIO_BLK_S_OK);
	memcpy(serial, data, sizeof(serial));
	gen = t.dev.config_generation;

	CHECK(virtio_blk_change_media(&t.dev, other) == 0);
	CHECK(le_get(t.dev.config + VIRTIO_BLK_CFG_CAPACITY, 8) == 4096);
	CHECK(t.dev.config_generation == gen + 1);
	memset(data, 0, 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 3000, 4096, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(data[0] == 0x42 && data[4095] == 0x42);
	memset(data, 0x17, 512);
	CHECK(bench_req(&t, VIRTIO_BLK_T_OUT, 7, 512, false, NULL) == VIRTIO_BLK_S_OK);
	fd = open(other, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && pread(fd, data + 1024, 512, 7 * 512) == 512 && data[1024] == 0x17);
	if (fd >= 0)
		close(fd);
	CHECK(file_is(&t, 7 * 512, 512, -1)); /* the old image is untouched */
	CHECK(bench_req(&t, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, NULL) ==
	      VIRTIO_BLK_S_OK);
	CHECK(memcmp(serial, data, sizeof(serial)) == 0);

	/* A path that does not open leaves the media as it was. */
	CHECK(virtio_blk_change_media(&t.dev, "/nonexistent/petrel.img") == -ENOENT);
	CHECK(virtio_blk_change_media(&t.dev, "/tmp") == -EISDIR);
	CHECK(le_get(t.dev.config + VIRTIO_BLK_CFG_CAPACITY, 8) == 4096);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 4095, 512, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(data[0] == 0x42);
	/* Beyond the new end. */
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 4096, 512, true, NULL) == VIRTIO_BLK_S_IOERR);
	bench_close(&t);
	unlink(other);
}

/* cache_type Unsafe: FLUSH is neither offered nor served. */
static void blk_cache_unsafe(void)
{
	struct bench t = { .cache = DISK_CACHE_UNSAFE };

	REQUIRE(bench_open_cfg(&t, "/tmp", false, 16));
	CHECK(!(t.dev.offered & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)));
	CHECK(bench_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL) == VIRTIO_BLK_S_UNSUPP);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 0, 512, true, NULL) == VIRTIO_BLK_S_OK);
	bench_close(&t);
}

/* io_engine Sync: the workers, no ring; requests still work. */
static void blk_io_engine_sync(void)
{
	struct bench t = { .io_engine = DISK_IO_SYNC };
	int before = uring_fds();
	uint8_t *data;

	REQUIRE(before >= 0 && bench_open_cfg(&t, "/tmp", false, 16));
	CHECK(uring_fds() == before);
	data = gptr(&t, DATA_GPA, 512);
	CHECK(bench_req(&t, VIRTIO_BLK_T_IN, 9, 512, true, NULL) == VIRTIO_BLK_S_OK);
	CHECK(data[0] == pattern(9 * 512));
	CHECK(bench_req(&t, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL) == VIRTIO_BLK_S_OK);
	bench_close(&t);
}

int main(void)
{
	RUN(blk_media_change);
	RUN(blk_cache_unsafe);
	RUN(blk_io_engine_sync);
	return harness_exit();
}
