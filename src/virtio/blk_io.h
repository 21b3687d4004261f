/* SPDX-License-Identifier: MIT */
/*
 * The backing store of a virtio-blk disk (a raw image file or a host block
 * device) and the worker threads that run its requests: plain preadv /
 * pwritev / fdatasync / fallocate / BLKDISCARD / BLKZEROOUT syscalls, off
 * the vCPU and event-loop threads. The submitter learns of finished
 * requests through an eventfd.
 *
 * Why threads and not io_uring: io_uring is often refused by container
 * seccomp profiles (Docker's default blocks it), and its operations run in
 * the kernel on the ring's behalf, beyond the reach of the per-thread
 * seccomp filters petrel installs. A few threads doing plain syscalls are
 * filtered like any other.
 *
 * Locking: the pool's own mutex only; callers serialise submit, finished
 * and cancel among themselves (virtio-blk holds dev->lock).
 */
#ifndef PETREL_VIRTIO_BLK_IO_H
#define PETREL_VIRTIO_BLK_IO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"
#include "virtio/queue.h"

#define BLK_IO_WORKERS 2
#define BLK_IO_MAX_SEG 32

enum blk_io_op { BLK_IO_READ, BLK_IO_WRITE, BLK_IO_FLUSH, BLK_IO_DISCARD, BLK_IO_ZEROES };

struct blk_io_seg {
	uint64_t off, len; /* bytes, inside the backing */
	bool unmap;	   /* zeroes: a hole will do */
};

/* One request. The submitter sets op and, for reads and writes, off, iov
 * and n (buffers it keeps valid until the request is back), for discard
 * and zeroes seg and n; everything already checked against the size. */
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

	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	struct blk_io_req *work, **work_tail, *fin, **fin_tail;
	unsigned int running;
	bool stop;
	pthread_t worker[BLK_IO_WORKERS];
	unsigned int nworkers;
};

/* Open `path` (read-only or read-write), learn its size, block size and
 * whether it can punch holes / discard, and start the workers (which take
 * no signals). 0 or -errno: -EISDIR / -ENOTBLK for what is neither a
 * regular file nor a block device; nothing is left open. */
int blk_io_open(struct blk_io *io, const char *path, bool read_only) MUST_CHECK;

/* Stop and join the workers (a running request finishes first; queued
 * ones are dropped), close the fds. */
void blk_io_close(struct blk_io *io);

/* Queue a request for a worker. */
void blk_io_submit(struct blk_io *io, struct blk_io_req *r);

/* Take the finished requests, oldest first (NULL if none). Read done_fd
 * before, so a request finishing meanwhile signals it again. */
struct blk_io_req *blk_io_finished(struct blk_io *io);

/* Take back every request: queued ones unrun, running ones once they end,
 * finished ones. On return no worker holds a request. */
struct blk_io_req *blk_io_cancel(struct blk_io *io);

#endif
