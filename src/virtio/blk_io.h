/* SPDX-License-Identifier: MIT */
/*
 * The backing store of a virtio-blk disk (a raw image file or a host block
 * device) and what runs its requests off the vCPU and event-loop threads:
 * an io_uring for READ, WRITE and FLUSH (readv / writev / fsync with
 * IORING_FSYNC_DATASYNC), and two worker threads for the rare DISCARD and
 * WRITE_ZEROES (fallocate / BLKDISCARD / BLKZEROOUT ioctls). Both signal
 * one eventfd.
 *
 * Why io_uring: measured with bench/blk_backend.c (depth 32, file in the
 * page cache), requests/s worker pool vs io_uring: 4k random read 81k vs
 * 1.12M, 4k random write 49k vs 82k, 128k sequential read 32k vs 95k:
 * handing each request to a thread and back (futex wake-ups, context
 * switches) costs more than a read from the page cache.
 *
 * Containment: ring operations run in the kernel on the ring's behalf,
 * unseen by seccomp filters (which see syscalls). So the ring is created
 * disabled, the disk fd registered as its only fixed file, and restricted
 * (IORING_REGISTER_RESTRICTIONS) before it is enabled: opcodes READV,
 * WRITEV and FSYNC only, IOSQE_FIXED_FILE required, no further register
 * operations. It can do nothing but read, write and sync this disk, which
 * the workers could do anyway.
 *
 * Fallback: where io_uring cannot be set up (ENOSYS / EPERM: old kernels,
 * Docker's default seccomp profile, kernel.io_uring_disabled) the workers
 * run every request, and petrel says so once. PETREL_BLK_NO_URING=1 in the
 * environment forces the workers (tests run both).
 *
 * Locking: the pool's own mutex; the ring is not locked, callers serialise
 * submit, finished and cancel among themselves (virtio-blk holds
 * dev->lock).
 */
#ifndef PETREL_VIRTIO_BLK_IO_H
#define PETREL_VIRTIO_BLK_IO_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"
#include "virtio/queue.h"

struct sandbox_filter;

#define BLK_IO_WORKERS 2
#define BLK_IO_MAX_SEG 32
#define BLK_IO_RING_ENTRIES VIRTQ_MAX_SIZE /* >= the requests virtio-blk has in flight */

enum blk_io_op { BLK_IO_READ, BLK_IO_WRITE, BLK_IO_FLUSH, BLK_IO_DISCARD, BLK_IO_ZEROES };

struct blk_io_seg {
	uint64_t off, len; /* bytes, inside the backing */
	bool unmap;	   /* zeroes: a hole will do */
};

/* One request. The submitter sets op and, for reads and writes, off, iov
 * and n (buffers it keeps valid until the request is back), for discard
 * and zeroes seg and n; everything already checked against the size. The
 * backend consumes off, iov and n as the transfer advances. */
struct blk_io_req {
	struct blk_io_req *next;
	enum blk_io_op op;
	int err;       /* result: 0 or -errno */
	uint64_t done; /* bytes a read stored, from the start of iov */
	uint64_t off;
	unsigned int n;
	union {
		struct iovec iov[VIRTQ_MAX_SIZE];
		struct blk_io_seg seg[BLK_IO_MAX_SEG];
	};
};

struct blk_io {
	const char *path; /* for messages; the caller's, must outlive the pool */
	int fd;
	int done_fd; /* eventfd, readable once requests have finished */
	bool read_only, bdev, discard;
	uint64_t size;		/* bytes */
	uint32_t blk_size;	/* logical block size, bytes */
	uint32_t discard_align; /* bytes; 0 if unknown */
	uint64_t id;		/* identifies the backing (device, inode) */
	/* Guest RAM, whose pages a read marks dirty as it stores them
	 * (dirty-page tracking, mem.h); NULL: none. Set after blk_io_open. */
	const struct gm *gm;

	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	struct blk_io_req *work, **work_tail, *fin, **fin_tail;
	unsigned int running;
	bool stop;
	pthread_t worker[BLK_IO_WORKERS];
	unsigned int nworkers;

	/* blk_io_sandbox: each worker installs *filter, then counts itself in
	 * nfiltered; filter_err is the first failure. */
	const struct sandbox_filter *filter;
	unsigned int nfiltered;
	int filter_err;

	bool uring; /* READ, WRITE and FLUSH go through ring */
	struct io_uring ring;
	unsigned int ring_inflight; /* requests with an SQE whose CQE is not reaped */
};

/* Open `path` (read-only or read-write), learn its size, block size and
 * whether it can punch holes / discard and, with `ring` (io_engine Async),
 * set up the ring (or log why not and do without). Starts no thread (blk_io_start does): petrel enters its
 * jail between the two, while it is single-threaded. 0 or -errno: -EISDIR /
 * -ENOTBLK for what is neither a regular file nor a block device; nothing
 * is left open. */
int blk_io_open(struct blk_io *io, const char *path, bool read_only, bool ring) MUST_CHECK;

/* Put the backing at `path` in place of the current one (same access
 * mode), for a media change. Nothing may be in flight (the caller has
 * drained). Opens and probes on the calling thread; the ring's fixed file
 * is updated (the one register operation its restrictions allow). 0, or
 * -errno with the old backing still in place: -EMEDIUMTYPE when the new
 * one's logical block size differs (a driver reads it once). `path` must
 * outlive the pool, as blk_io_open's. */
int blk_io_reopen(struct blk_io *io, const char *path) MUST_CHECK;

/* Start the workers (which take no signals). Once, after blk_io_open and
 * before the first blk_io_submit. 0 or -errno (no worker left running). */
int blk_io_start(struct blk_io *io) MUST_CHECK;

/* Make every worker install `filter` (its seccomp filter, see
 * sandbox/seccomp.h) on itself, and wait until they have: call before the
 * guest can submit anything. 0, or the first worker's -errno. */
int blk_io_sandbox(struct blk_io *io, const struct sandbox_filter *filter) MUST_CHECK;

/* Stop and join the workers (a running request finishes first; queued
 * ones are dropped), wait for every ring request to end, close the ring
 * and the fds. */
void blk_io_close(struct blk_io *io);

/* Start a request: queued for the ring (submitted by blk_io_kick) or for a
 * worker (which starts at once). */
void blk_io_submit(struct blk_io *io, struct blk_io_req *r);

/* Submit the ring requests queued since the last kick, in one syscall.
 * Call after a batch of blk_io_submit and after blk_io_finished (short
 * transfers are requeued for their rest). Submitting per batch, not per
 * request, matters for buffered writes, which the kernel hands to one
 * io-wq worker per file: 4k random writes at depth 32 (bench/blk_backend)
 * ran 19k/s submitted one by one, 67k/s in batches, the pool 54k/s. */
void blk_io_kick(struct blk_io *io);

/* Take the finished requests, oldest first (NULL if none). Read done_fd
 * before, so a request finishing meanwhile signals it again. */
struct blk_io_req *blk_io_finished(struct blk_io *io);

/* Take back every request: queued ones unrun, running ones (worker or
 * ring) once they end, finished ones. On return no worker and no kernel
 * I/O holds a request or its buffers. */
struct blk_io_req *blk_io_cancel(struct blk_io *io);

#endif
