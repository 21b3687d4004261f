/* SPDX-License-Identifier: MIT */
/* Snapshot memory files: write (full or diff) and merge (memfile.h). */
#include "snapshot/memfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define PAGE GM_PAGE_SIZE
/* Written in runs of at most this; the merge copies through a buffer of
 * this size. */
#define MEM_RUN_MAX (4u << 20)

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static bool bit(const uint64_t *bits, uint64_t i)
{
	return bits[i / 64] >> (i % 64) & 1;
}

/* Is page `p` (bytes of region `g` from p, RAM page `page`) one the file
 * holds as data? */
static bool page_wanted(const struct gm_region *g, uint64_t p, uint64_t page, const uint64_t *dirty)
{
	return dirty ? bit(dirty, page) : !gm_page_zero(g->host + p);
}

/* A diff needs holes of one page: a file system with bigger blocks would
 * turn a dirty page's neighbours into data (zeros) that the merge copies
 * over the base. */
static int diff_fs_check(int fd, char why[MEMFILE_WHY_MAX])
{
	struct statfs sf;

	if (fstatfs(fd, &sf)) {
		snprintf(why, MEMFILE_WHY_MAX, "%s", strerror(errno));
		return -errno;
	}
	if (sf.f_bsize > (long)PAGE) {
		snprintf(why, MEMFILE_WHY_MAX,
			 "its file system's blocks are %ld bytes: a diff snapshot needs holes of "
			 "one 4 KiB page",
			 (long)sf.f_bsize);
		return -EOPNOTSUPP;
	}
	return 0;
}

int memfile_write(const struct gm *gm, int fd, uint64_t size, const uint64_t *dirty,
		  char why[MEMFILE_WHY_MAX])
{
	uint64_t off = 0, clean = 0;
	int err;

	if (dirty && (err = diff_fs_check(fd, why)))
		return err;
	if (ftruncate(fd, (off_t)size)) {
		snprintf(why, MEMFILE_WHY_MAX, "%s", strerror(errno));
		return -errno;
	}
	for (unsigned int r = 0; r < gm->nregions; r++) {
		const struct gm_region *g = &gm->region[r];
		uint64_t first = off / PAGE;

		for (uint64_t p = 0; p < g->size;) {
			uint64_t run = 0;

			while (p + run < g->size && run < MEM_RUN_MAX &&
			       page_wanted(g, p + run, first + (p + run) / PAGE, dirty))
				run += PAGE;
			if (!run) {
				clean++;
				p += PAGE;
				continue;
			}
			err = write_all(fd, g->host + p, run, (off_t)(off + p));
			if (err) {
				snprintf(why, MEMFILE_WHY_MAX, "%s", strerror(-err));
				return err;
			}
			p += run;
		}
		off += g->size;
	}
	/* A file system without holes (SEEK_HOLE finds none before the end
	 * although pages were left out) would make the diff's clean pages
	 * zeros over the base. */
	if (dirty && clean && lseek(fd, 0, SEEK_HOLE) >= (off_t)size) {
		snprintf(why, MEMFILE_WHY_MAX,
			 "its file system keeps no holes: a diff snapshot needs a sparse file");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* [from, to) of the diff onto the base. */
static int merge_extent(int base_fd, int diff_fd, uint64_t from, uint64_t to, uint8_t *buf,
			char why[MEMFILE_WHY_MAX])
{
	while (from < to) {
		size_t want = to - from < MEM_RUN_MAX ? (size_t)(to - from) : MEM_RUN_MAX;
		ssize_t n = pread(diff_fd, buf, want, (off_t)from);
		int err;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, MEMFILE_WHY_MAX, "the diff: %s at byte %llu",
				 n < 0 ? strerror(errno) : "shorter than it was",
				 (unsigned long long)from);
			return n < 0 ? -errno : -EIO;
		}
		err = write_all(base_fd, buf, (size_t)n, (off_t)from);
		if (err) {
			snprintf(why, MEMFILE_WHY_MAX, "the base: %s", strerror(-err));
			return err;
		}
		from += (uint64_t)n;
	}
	return 0;
}

int memfile_merge(int base_fd, int diff_fd, char why[MEMFILE_WHY_MAX])
{
	struct stat bs, ds;
	uint64_t size, pos = 0;
	uint8_t *buf;
	int err = 0;

	if (fstat(base_fd, &bs) || fstat(diff_fd, &ds)) {
		snprintf(why, MEMFILE_WHY_MAX, "%s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(bs.st_mode) || !S_ISREG(ds.st_mode)) {
		snprintf(why, MEMFILE_WHY_MAX, "the %s is not a regular file",
			 S_ISREG(bs.st_mode) ? "diff" : "base");
		return -EINVAL;
	}
	if (bs.st_dev == ds.st_dev && bs.st_ino == ds.st_ino) {
		snprintf(why, MEMFILE_WHY_MAX, "the base and the diff are the same file");
		return -EINVAL;
	}
	if (bs.st_size != ds.st_size) {
		snprintf(why, MEMFILE_WHY_MAX,
			 "the base has %llu bytes, the diff %llu: not a diff of this base",
			 (unsigned long long)bs.st_size, (unsigned long long)ds.st_size);
		return -EINVAL;
	}
	size = (uint64_t)bs.st_size;
	if (size == 0 || size % PAGE) {
		snprintf(why, MEMFILE_WHY_MAX,
			 "%llu bytes: a memory file is a whole number of 4 KiB pages",
			 (unsigned long long)size);
		return -EINVAL;
	}
	buf = malloc(MEM_RUN_MAX);
	if (!buf) {
		snprintf(why, MEMFILE_WHY_MAX, "out of memory");
		return -ENOMEM;
	}
	while (!err && pos < size) {
		off_t data = lseek(diff_fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break; /* no data from pos on */
		hole = data < 0 ? -1 : lseek(diff_fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {
			err = -errno;
			snprintf(why, MEMFILE_WHY_MAX, "the diff: finding its data: %s",
				 strerror(errno));
			break;
		}
		/* What lseek says is the diff's word: only forward, only
		 * inside the size both files had. */
		if ((uint64_t)data < pos) {
			err = -EIO;
			snprintf(why, MEMFILE_WHY_MAX, "the diff changed while being read");
			break;
		}
		if ((uint64_t)data >= size)
			break;
		if (hole <= data || (uint64_t)hole > size)
			hole = (off_t)size;
		err = merge_extent(base_fd, diff_fd, (uint64_t)data, (uint64_t)hole, buf, why);
		pos = (uint64_t)hole;
	}
	free(buf);
	return err;
}
