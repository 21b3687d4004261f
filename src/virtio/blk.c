/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over a raw image file or a host block device.
 *
 * Where the work happens. A kick (ops->notify, under dev->lock, on the
 * event-loop thread or a vCPU thread) pops chains, copies each request
 * header and segment list out of guest memory once, validates them and
 * either completes the request at once (errors, GET_ID) or hands it to a
 * worker thread. Workers run preadv/pwritev/fdatasync/fallocate directly
 * on the chain's iovecs, which the walker produced with gm_ptr, so they
 * only ever touch guest RAM. A finished request goes on the done list and
 * the completion eventfd wakes the event-loop thread, which takes
 * dev->lock, writes the status byte and publishes the chain.
 *
 * Why threads and not io_uring: io_uring is often refused by container
 * seccomp profiles (docker's default blocks it), and its operations run
 * in the kernel on the ring's behalf, beyond the reach of the per-thread
 * seccomp filters petrel installs. A few threads doing plain syscalls
 * are filtered like any other.
 *
 * Lifetimes. A request slot is in flight from the pop until the event-loop
 * thread publishes or drops it; at most queue-size slots are in flight (a
 * guest that offers more heads waits until some complete). Reset drops
 * queued requests, waits for the ones a worker is running and drops the
 * finished ones, so nothing is published into a reset queue and no worker
 * writes guest memory after the reset returns. Destroy joins the workers
 * before freeing anything.
 *
 * Locks: dev->lock, then b->mu. Workers take only b->mu.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "le.h"

/* ---- state ---- */

#define BLK_WORKERS 2
#define BLK_MAX_DISCARD_SEG 32
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */
#define BLK_MAX_ZEROES_SEG 1
/* Bounds the time a worker spends writing zeroes where the backing
 * cannot zero a range itself. */
#define BLK_MAX_ZEROES_SECTORS (1u << 18) /* 128 MiB */

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH, BLK_DISCARD, BLK_ZEROES };

static const char *const blk_op_name[] = {
	[BLK_READ] = "read",	   [BLK_WRITE] = "write",	  [BLK_FLUSH] = "flush",
	[BLK_DISCARD] = "discard", [BLK_ZEROES] = "write zeroes",
};

struct blk_seg {
	uint64_t off, len; /* bytes, inside the disk */
	bool unmap;
};

struct blk_req {
	struct blk_req *next; /* on the work or done list */
	enum blk_op op;
	uint16_t head;
	uint8_t status;
	uint8_t *status_byte; /* last byte of the chain's writable part */
	uint32_t in_len;      /* writable bytes, status byte included */
	uint32_t filled;      /* leading writable bytes the device wrote (reads) */
	uint64_t off;	      /* byte offset of a read or write */
	unsigned int n;	      /* entries used in iov or seg */
	union {
		struct iovec iov[VIRTQ_MAX_SIZE]; /* data buffers in guest RAM */
		struct blk_seg seg[BLK_MAX_DISCARD_SEG];
	};
};

struct blk {
	struct virtio_dev *dev;
	struct virtio_ops ops; /* a copy per disk: the features depend on the backing */
	struct evloop *ev;
	char *path;
	int fd, efd;
	bool read_only, bdev, discard;
	uint64_t capacity; /* 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CFG_SIZE]; /* what the guest must read back */

	/* Under dev->lock. */
	struct virtq_chain chain; /* virtq_pop's scratch */
	struct blk_req *slot;	  /* VIRTQ_MAX_SIZE; pages touched only when used */
	uint16_t free_slot[VIRTQ_MAX_SIZE];
	unsigned int nfree, inflight;
	bool more; /* chains may be left in the ring: pop again after completions */

	/* Under mu: shared with the workers. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	struct blk_req *work, **work_tail;
	struct blk_req *done, **done_tail;
	unsigned int running;
	bool stop;
	pthread_t worker[BLK_WORKERS];
	unsigned int nworkers;
};

static struct log_limit blk_guest_limit = LOG_LIMIT_INIT(16);
static struct log_limit blk_io_limit = LOG_LIMIT_INIT(16);

static struct blk_req *blk_req_get(struct blk *b)
{
	b->inflight++;
	return &b->slot[b->free_slot[--b->nfree]];
}

static void blk_req_put(struct blk *b, struct blk_req *r)
{
	b->free_slot[b->nfree++] = (uint16_t)(r - b->slot);
	b->inflight--;
}

/* Wake the event-loop side (blk_on_done). Cannot block: the eventfd is
 * non-blocking and a full counter means a wake-up is already pending. */
static void blk_wake(struct blk *b)
{
	uint64_t one = 1;

	if (write(b->efd, &one, sizeof(one)) < 0)
		return;
}

/* ---- config space ---- */

static void blk_config_fill(struct blk *b, uint32_t blk_size, uint32_t discard_align)
{
	uint8_t *c = b->config;

	le_put(c + VIRTIO_BLK_CFG_CAPACITY, b->capacity, 8);
	/* Two descriptors of every chain are header and status. */
	le_put(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTQ_MAX_SIZE - 2, 4);
	le_put(c + VIRTIO_BLK_CFG_BLK_SIZE, blk_size, 4);
	if (b->discard) {
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS, 4);
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG, 4);
		le_put(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, discard_align, 4);
	}
	if (!b->read_only) {
		le_put(c + VIRTIO_BLK_CFG_MAX_ZEROES_SECTORS, BLK_MAX_ZEROES_SECTORS, 4);
		le_put(c + VIRTIO_BLK_CFG_MAX_ZEROES_SEG, BLK_MAX_ZEROES_SEG, 4);
		/* A punched hole in a file reads back as zeroes. */
		c[VIRTIO_BLK_CFG_ZEROES_MAY_UNMAP] = b->discard && !b->bdev;
	}
}

/* Every field is read-only: undo whatever the driver stored. */
static void blk_config_write(struct virtio_dev *dev, uint32_t off, uint32_t len)
{
	struct blk *b = dev->priv;

	if (off < VIRTIO_BLK_CFG_SIZE)
		memcpy(dev->config + off, b->config + off,
		       len < VIRTIO_BLK_CFG_SIZE - off ? len : VIRTIO_BLK_CFG_SIZE - off);
}

/* ---- backing I/O (worker threads) ---- */

/* Read or write r->iov at r->off to the end. Short transfers continue
 * where they stopped; end of file (the image shrank under us) is EIO. */
static int blk_rw(struct blk *b, struct blk_req *r, bool write)
{
	struct iovec *iov = r->iov;
	unsigned int n = r->n;
	off_t off = (off_t)r->off;

	while (n > 0) {
		ssize_t got =
		    write ? pwritev(b->fd, iov, (int)n, off) : preadv(b->fd, iov, (int)n, off);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO;
		off += got;
		if (!write)
			r->filled += (uint32_t)got;
		while (got > 0) {
			if ((size_t)got >= iov->iov_len) {
				got -= (ssize_t)iov->iov_len;
				iov++;
				n--;
			} else {
				iov->iov_base = (uint8_t *)iov->iov_base + got;
				iov->iov_len -= (size_t)got;
				got = 0;
			}
		}
	}
	return 0;
}

static int blk_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[4096];
	struct iovec iov[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(iov); i++)
		iov[i] = (struct iovec){ (void *)zeroes, sizeof(zeroes) };
	while (len > 0) {
		uint64_t chunk =
		    len < sizeof(zeroes) * ARRAY_SIZE(iov) ? len : sizeof(zeroes) * ARRAY_SIZE(iov);
		unsigned int n = (unsigned int)((chunk + sizeof(zeroes) - 1) / sizeof(zeroes));
		ssize_t got;

		iov[n - 1].iov_len = chunk - (uint64_t)(n - 1) * sizeof(zeroes);
		got = pwritev(fd, iov, (int)n, (off_t)off);
		iov[n - 1].iov_len = sizeof(zeroes);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO;
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	return 0;
}

static int blk_discard_seg(struct blk *b, const struct blk_seg *s)
{
	uint64_t range[2] = { s->off, s->len };

	if (b->bdev)
		return ioctl(b->fd, BLKDISCARD, range) ? -errno : 0;
	return fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->off,
			 (off_t)s->len)
		   ? -errno
		   : 0;
}

static int blk_zero_seg(struct blk *b, const struct blk_seg *s)
{
	uint64_t range[2] = { s->off, s->len };

	if (b->bdev)
		return ioctl(b->fd, BLKZEROOUT, range) ? -errno : 0;
	if (s->unmap && b->discard)
		return blk_discard_seg(b, s);
	if (!fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)s->off,
		       (off_t)s->len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return blk_write_zeroes(b->fd, s->off, s->len);
}

static void blk_execute(struct blk *b, struct blk_req *r)
{
	int err = 0;

	switch (r->op) {
	case BLK_READ:
	case BLK_WRITE:
		err = blk_rw(b, r, r->op == BLK_WRITE);
		break;
	case BLK_FLUSH:
		err = fdatasync(b->fd) ? -errno : 0;
		break;
	case BLK_DISCARD:
	case BLK_ZEROES:
		for (unsigned int i = 0; i < r->n && !err; i++)
			if (r->seg[i].len)
				err = r->op == BLK_DISCARD ? blk_discard_seg(b, &r->seg[i])
							   : blk_zero_seg(b, &r->seg[i]);
		break;
	}
	r->status = err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	if (err) {
		char why[64];

		log_limited(&blk_io_limit, "disk '%s': %s failed: %s", b->path, blk_op_name[r->op],
			    strerror_r(-err, why, sizeof(why)));
	}
}

static void *blk_worker(void *arg)
{
	struct blk *b = arg;

	pthread_setname_np(pthread_self(), "petrel-blk");
	pthread_mutex_lock(&b->mu);
	for (;;) {
		struct blk_req *r;
		bool was_empty;

		while (!b->stop && !b->work)
			pthread_cond_wait(&b->work_cv, &b->mu);
		if (b->stop)
			break;
		r = b->work;
		b->work = r->next;
		if (!b->work)
			b->work_tail = &b->work;
		b->running++;
		pthread_mutex_unlock(&b->mu);

		blk_execute(b, r);

		pthread_mutex_lock(&b->mu);
		b->running--;
		/* The mutex orders this worker's writes to guest RAM before
		 * the event-loop thread's publication of the chain. */
		r->next = NULL;
		was_empty = !b->done;
		*b->done_tail = r;
		b->done_tail = &r->next;
		if (!b->running)
			pthread_cond_broadcast(&b->idle_cv);
		if (was_empty)
			blk_wake(b);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static void blk_workers_stop(struct blk *b)
{
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_broadcast(&b->work_cv);
	pthread_mutex_unlock(&b->mu);
	for (unsigned int i = 0; i < b->nworkers; i++)
		pthread_join(b->worker[i], NULL);
	b->nworkers = 0;
}

static int blk_workers_start(struct blk *b)
{
	sigset_t all, old;
	int err = 0;

	/* Workers take no signals: they are meant for the main and vCPU
	 * threads (the mask is inherited at creation). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (b->nworkers < BLK_WORKERS && !err) {
		err = -pthread_create(&b->worker[b->nworkers], NULL, blk_worker, b);
		if (!err)
			b->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		blk_workers_stop(b);
	return err;
}

/* ---- queue handlers ---- */

/* Publish one request: status byte, then the used ring. `filled` is how
 * many leading writable bytes hold data the device wrote. */
static void blk_publish(struct blk *b, uint16_t head, uint8_t *status_byte, uint8_t status,
			uint32_t in_len, uint32_t filled)
{
	*status_byte = status;
	/* Used length: the prefix of the writable part the device wrote,
	 * all of it when the data before the status byte was filled. */
	virtio_complete(b->dev, 0, head, filled == in_len - 1 ? in_len : filled);
}

static void blk_reject(struct blk *b, const struct virtq_chain *c, uint8_t *status_byte,
		       uint8_t status, const char *why, uint32_t type)
{
	log_limited(&blk_guest_limit, "disk '%s': request type %u: %s", b->path, type, why);
	blk_publish(b, c->head, status_byte, status, c->in_len, 0);
}

static bool blk_in_range(const struct blk *b, uint64_t sector, uint64_t nsectors)
{
	return sector <= b->capacity && nsectors <= b->capacity - sector;
}

/* The iovecs covering bytes [off, off + len) of iov[0, n), into dst.
 * The range lies inside the buffers. Returns the number of entries. */
static unsigned int blk_iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len,
				  struct iovec *dst)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len > 0; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		dst[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return k;
}

/* Parse DISCARD / WRITE_ZEROES segments (copied once) into r->seg.
 * Returns a status: OK, or the one the request fails with. */
static uint8_t blk_parse_segs(struct blk *b, const struct virtq_chain *c, struct blk_req *r,
			      unsigned int max_seg, uint32_t max_sectors, uint32_t flags_ok,
			      const char **why)
{
	uint8_t raw[BLK_MAX_DISCARD_SEG * VIRTIO_BLK_SEG_SIZE];
	size_t len = c->out_len - VIRTIO_BLK_HDR_SIZE;

	if (len == 0 || len % VIRTIO_BLK_SEG_SIZE || len / VIRTIO_BLK_SEG_SIZE > max_seg) {
		*why = "bad segment list length";
		return VIRTIO_BLK_S_IOERR;
	}
	virtq_chain_read(c, VIRTIO_BLK_HDR_SIZE, raw, len);
	r->n = (unsigned int)(len / VIRTIO_BLK_SEG_SIZE);
	for (unsigned int i = 0; i < r->n; i++) {
		const uint8_t *s = raw + i * VIRTIO_BLK_SEG_SIZE;
		uint64_t sector = le_get(s, 8);
		uint32_t nsectors = (uint32_t)le_get(s + 8, 4), flags = (uint32_t)le_get(s + 12, 4);

		if (flags & ~flags_ok) {
			*why = "unsupported segment flags";
			return VIRTIO_BLK_S_UNSUPP;
		}
		if (nsectors > max_sectors || !blk_in_range(b, sector, nsectors)) {
			*why = "segment out of range";
			return VIRTIO_BLK_S_IOERR;
		}
		r->seg[i] = (struct blk_seg){ .off = sector * VIRTIO_BLK_SECTOR,
					      .len = (uint64_t)nsectors * VIRTIO_BLK_SECTOR,
					      .unmap = flags & VIRTIO_BLK_SEG_F_UNMAP };
	}
	return VIRTIO_BLK_S_OK;
}

/* Check one request and queue it for a worker, or complete it now.
 * Guest-controlled: everything in the chain. The header and segments are
 * copied once and only the copies are used. 0, or -EINVAL when the chain
 * cannot even carry a status (the device was failed). */
static int blk_request(struct blk *b, const struct virtq_chain *c)
{
	const struct iovec *win = c->iov + c->nout;
	uint8_t hdr[VIRTIO_BLK_HDR_SIZE], *status_byte;
	const char *why = NULL;
	uint64_t sector, len = 0;
	struct blk_req *r;
	uint32_t type;
	uint8_t st = VIRTIO_BLK_S_OK;

	if (c->in_len == 0) {
		virtio_fail(b->dev, "block request without a status byte");
		return -EINVAL;
	}
	/* The walker never returns empty buffers: the last one holds it. */
	status_byte = (uint8_t *)win[c->nin - 1].iov_base + win[c->nin - 1].iov_len - 1;
	if (virtq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		log_limited(&blk_guest_limit, "disk '%s': request header shorter than %u bytes",
			    b->path, VIRTIO_BLK_HDR_SIZE);
		blk_publish(b, c->head, status_byte, VIRTIO_BLK_S_IOERR, c->in_len, 0);
		return 0;
	}
	type = (uint32_t)le_get(hdr, 4);
	sector = le_get(hdr + 8, 8);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = c->in_len - 1;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->read_only) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "read-only disk", type);
			return 0;
		}
		len = c->out_len - VIRTIO_BLK_HDR_SIZE;
		break;
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (c->in_len == 1) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "no ID buffer", type);
			return 0;
		}
		len = c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 : VIRTIO_BLK_ID_BYTES;
		virtq_chain_write(c, 0, b->serial, len);
		blk_publish(b, c->head, status_byte, VIRTIO_BLK_S_OK, c->in_len, (uint32_t)len);
		return 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (b->read_only) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "read-only disk", type);
			return 0;
		}
		if (!virtio_has(b->dev, type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD
								     : VIRTIO_BLK_F_WRITE_ZEROES)) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_UNSUPP, "not negotiated", type);
			return 0;
		}
		break;
	default:
		blk_reject(b, c, status_byte, VIRTIO_BLK_S_UNSUPP, "unsupported type", type);
		return 0;
	}

	if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT) {
		if (len % VIRTIO_BLK_SECTOR) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR,
				   "data length not a multiple of 512", type);
			return 0;
		}
		if (!blk_in_range(b, sector, len / VIRTIO_BLK_SECTOR)) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "beyond the disk's end",
				   type);
			return 0;
		}
		if (len == 0) {
			blk_publish(b, c->head, status_byte, VIRTIO_BLK_S_OK, c->in_len, 0);
			return 0;
		}
	}

	/* Fields set one by one: zeroing the whole slot would touch its 4 KiB
	 * of iovecs on every request. */
	r = blk_req_get(b);
	r->head = c->head;
	r->status_byte = status_byte;
	r->in_len = c->in_len;
	r->filled = 0;
	r->n = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		r->op = BLK_READ;
		r->off = sector * VIRTIO_BLK_SECTOR;
		r->n = blk_iov_slice(win, c->nin, 0, len, r->iov);
		break;
	case VIRTIO_BLK_T_OUT:
		r->op = BLK_WRITE;
		r->off = sector * VIRTIO_BLK_SECTOR;
		r->n = blk_iov_slice(c->iov, c->nout, VIRTIO_BLK_HDR_SIZE, len, r->iov);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->op = BLK_FLUSH;
		break;
	case VIRTIO_BLK_T_DISCARD:
		r->op = BLK_DISCARD;
		st = blk_parse_segs(b, c, r, BLK_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SECTORS, 0, &why);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->op = BLK_ZEROES;
		st = blk_parse_segs(b, c, r, BLK_MAX_ZEROES_SEG, BLK_MAX_ZEROES_SECTORS,
				    VIRTIO_BLK_SEG_F_UNMAP, &why);
		break;
	}
	if (why) {
		blk_req_put(b, r);
		blk_reject(b, c, status_byte, st, why, type);
		return 0;
	}

	pthread_mutex_lock(&b->mu);
	r->next = NULL;
	*b->work_tail = r;
	b->work_tail = &r->next;
	pthread_cond_signal(&b->work_cv);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

/* Pop and start requests while slots last. At most one queue's worth per
 * call, so a guest refilling the ring from another vCPU cannot hold this
 * thread; the rest continues from blk_on_done. */
static void blk_process(struct blk *b)
{
	struct virtq *q = &b->dev->vq[0];

	b->more = false;
	if (!q->ready)
		return;
	for (unsigned int budget = q->size; budget > 0; budget--) {
		int got;

		if (b->inflight >= q->size) {
			b->more = true; /* a completion frees a slot and comes back */
			return;
		}
		got = virtq_pop(q, &b->chain);
		if (got == 0)
			return;
		if (got < 0) {
			virtio_fail(b->dev, "malformed chain on the request queue");
			return;
		}
		if (blk_request(b, &b->chain))
			return;
	}
	b->more = true;
	blk_wake(b);
}

static void blk_notify(struct virtio_dev *dev, unsigned int q)
{
	(void)q; /* one queue */
	blk_process(dev->priv);
}

/* Event-loop thread: publish what the workers finished. */
static void blk_on_done(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	struct blk_req *r, *next;
	uint64_t count;

	(void)events;
	if (read(b->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_msg("disk '%s': completion eventfd: %m", b->path);
	virtio_lock(b->dev);
	pthread_mutex_lock(&b->mu);
	r = b->done;
	b->done = NULL;
	b->done_tail = &b->done;
	pthread_mutex_unlock(&b->mu);
	for (; r; r = next) {
		next = r->next;
		/* A failed device (NEEDS_RESET) publishes nothing more. */
		if (virtio_active(b->dev))
			blk_publish(b, r->head, r->status_byte, r->status, r->in_len, r->filled);
		blk_req_put(b, r);
	}
	if (b->more && virtio_active(b->dev))
		blk_process(b);
	virtio_unlock(b->dev);
}

/* Drop queued and finished requests; wait for running ones. Blocks the
 * caller (a vCPU writing the status register) for at most the longest
 * single request in a worker, which is what a real disk's reset costs. */
static void blk_reset(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;
	struct blk_req *lists[2], *r, *next;

	pthread_mutex_lock(&b->mu);
	lists[0] = b->work;
	b->work = NULL;
	b->work_tail = &b->work;
	while (b->running)
		pthread_cond_wait(&b->idle_cv, &b->mu);
	lists[1] = b->done;
	b->done = NULL;
	b->done_tail = &b->done;
	pthread_mutex_unlock(&b->mu);
	for (unsigned int i = 0; i < ARRAY_SIZE(lists); i++)
		for (r = lists[i]; r; r = next) {
			next = r->next;
			blk_req_put(b, r);
		}
	b->more = false;
}

unsigned int virtio_blk_inflight(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;
	unsigned int n;

	virtio_lock(dev);
	n = b->inflight;
	virtio_unlock(dev);
	return n;
}

/* ---- ops table ---- */

static void blk_free(struct blk *b)
{
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd >= 0)
		close(b->fd);
	pthread_cond_destroy(&b->idle_cv);
	pthread_cond_destroy(&b->work_cv);
	pthread_mutex_destroy(&b->mu);
	free(b->slot);
	free(b->path);
	free(b);
}

static void blk_destroy(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;

	blk_workers_stop(b);
	evloop_del(b->ev, b->efd);
	blk_free(b);
	dev->priv = NULL;
}

static const struct virtio_ops blk_ops_template = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_size = VIRTIO_BLK_CFG_SIZE,
	.config_write = blk_config_write,
	.notify = blk_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

/* ---- setup ---- */

/* One number from the disk's queue/ directory in sysfs, for a whole disk
 * or (one level up) a partition. 0 when unknown. */
static uint64_t blk_sysfs_queue(dev_t rdev, const char *attr)
{
	static const char *const where[] = { "", "../" };
	unsigned long long v = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(where); i++) {
		char path[128];
		FILE *f;
		int ok;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%squeue/%s", major(rdev),
			 minor(rdev), where[i], attr);
		f = fopen(path, "re");
		if (!f)
			continue;
		ok = fscanf(f, "%llu", &v) == 1;
		fclose(f);
		if (ok)
			return v;
	}
	return 0;
}

/* Size, block size, discard support and serial number of the backing. */
static int blk_probe(struct blk *b, uint32_t *blk_size, uint32_t *discard_align)
{
	struct stat st;
	uint64_t bytes, id, hash = 0xcbf29ce484222325ULL; /* FNV-1a */
	char serial[VIRTIO_BLK_ID_BYTES + 1];

	if (fstat(b->fd, &st))
		return -errno;
	*blk_size = VIRTIO_BLK_SECTOR;
	*discard_align = 0;
	if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
		/* Punching a hole at the end of the file changes nothing and
		 * fails with EOPNOTSUPP where holes are not supported. */
		b->discard =
		    !b->read_only && !fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						st.st_size, VIRTIO_BLK_SECTOR);
		*discard_align = (uint32_t)(st.st_blksize / VIRTIO_BLK_SECTOR);
		id = (uint64_t)st.st_dev << 32 ^ (uint64_t)st.st_ino;
	} else if (S_ISBLK(st.st_mode)) {
		int ssz;

		if (ioctl(b->fd, BLKGETSIZE64, &bytes) || ioctl(b->fd, BLKSSZGET, &ssz))
			return -errno;
		b->bdev = true;
		if (ssz >= VIRTIO_BLK_SECTOR)
			*blk_size = (uint32_t)ssz;
		b->discard = !b->read_only && blk_sysfs_queue(st.st_rdev, "discard_max_bytes");
		*discard_align = (uint32_t)(blk_sysfs_queue(st.st_rdev, "discard_granularity") /
					    VIRTIO_BLK_SECTOR);
		id = (uint64_t)st.st_rdev;
	} else {
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTBLK;
	}
	b->capacity = bytes / VIRTIO_BLK_SECTOR;
	for (unsigned int i = 0; i < 8; i++) {
		hash ^= (uint8_t)(id >> (8 * i));
		hash *= 0x100000001b3ULL;
	}
	/* "petrel-" and 13 hex digits: exactly 20 bytes, no NUL needed. */
	snprintf(serial, sizeof(serial), "petrel-%013llx",
		 (unsigned long long)(hash & 0xfffffffffffffULL));
	memcpy(b->serial, serial, VIRTIO_BLK_ID_BYTES);
	return 0;
}

int virtio_blk_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct disk_config *cfg)
{
	uint32_t blk_size, discard_align;
	struct blk *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b) {
		err = -ENOMEM;
		goto err_msg;
	}
	*b = (struct blk){ .dev = dev, .ev = ev, .fd = -1, .efd = -1, .read_only = cfg->read_only };
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->work_cv, NULL);
	pthread_cond_init(&b->idle_cv, NULL);
	b->work_tail = &b->work;
	b->done_tail = &b->done;
	b->path = strdup(cfg->path);
	/* Untouched pages of this array stay unallocated. */
	b->slot = calloc(VIRTQ_MAX_SIZE, sizeof(*b->slot));
	if (!b->path || !b->slot) {
		err = -ENOMEM;
		goto err_free;
	}
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		b->free_slot[b->nfree++] = (uint16_t)(VIRTQ_MAX_SIZE - 1 - i);

	b->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		err = -errno;
		goto err_free;
	}
	err = blk_probe(b, &blk_size, &discard_align);
	if (err)
		goto err_free;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		err = -errno;
		goto err_free;
	}
	err = blk_workers_start(b);
	if (err)
		goto err_free;
	err = evloop_add(ev, b->efd, EPOLLIN, blk_on_done, b);
	if (err)
		goto err_workers;

	b->ops = blk_ops_template;
	b->ops.features = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
			  VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (b->read_only)
		b->ops.features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		b->ops.features |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
				   (b->discard ? VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) : 0);
	blk_config_fill(b, blk_size, discard_align);
	virtio_dev_init(dev, &b->ops, b, gm);
	memcpy(dev->config, b->config, sizeof(b->config));
	return 0;

err_workers:
	blk_workers_stop(b);
err_free:
	blk_free(b);
err_msg:
	log_msg("disk '%s': %s", cfg->path, strerror(-err));
	return err;
}
