/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over a raw image file or a host block device (blk_io.c).
 *
 * Where the work happens. A kick (ops->notify, under dev->lock, on the
 * event-loop thread or a vCPU thread) pops chains, copies each request
 * header and segment list out of guest memory once, validates them and
 * either completes the request at once (errors, GET_ID) or submits it to
 * the backing's worker threads. They run the I/O directly on the chain's
 * iovecs, which the walker produced with gm_ptr, so they only ever touch
 * guest RAM. When requests finish, the backing's eventfd wakes the
 * event-loop thread (blk_on_done), which takes dev->lock, writes the
 * status bytes and publishes the chains.
 *
 * Rate limit (virtio/throttle.h). A request over the limit is not failed:
 * it goes back to the ring untouched, popping stops, and the limiter's
 * timer (or the next kick, or a new limit) looks at it again.
 *
 * Lifetimes. A request slot is in flight from the pop until the event-loop
 * thread publishes or drops it; at most queue-size slots are in flight (a
 * guest that offers more chains waits until some complete). Reset cancels
 * queued requests, waits for running ones and drops them all unpublished,
 * so nothing reaches a reset queue and no worker writes guest memory
 * after the reset returns. Destroy joins the workers before freeing.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "le.h"
#include "metrics.h"
#include "virtio/blk_dev.h"
#include "virtio/iov.h"

/* ---- state ---- */

#define BLK_MAX_DISCARD_SEG BLK_IO_MAX_SEG
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */
#define BLK_MAX_ZEROES_SEG 1
/* Bounds the time a worker spends where zeroes have to be written. */
#define BLK_MAX_ZEROES_SECTORS (1u << 18) /* 128 MiB */

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

/* ---- config space ---- */

static void blk_config_fill(struct blk *b)
{
	uint8_t *c = b->config;

	le_put(c + VIRTIO_BLK_CFG_CAPACITY, b->capacity, 8);
	/* Two descriptors of a chain are header and status. */
	le_put(c + VIRTIO_BLK_CFG_SEG_MAX, VIRTQ_MAX_SIZE - 2, 4);
	le_put(c + VIRTIO_BLK_CFG_BLK_SIZE, b->io.blk_size, 4);
	if (b->io.discard) {
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS, 4);
		le_put(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG, 4);
		le_put(c + VIRTIO_BLK_CFG_DISCARD_ALIGN, b->io.discard_align / VIRTIO_BLK_SECTOR,
		       4);
	}
	if (!b->io.read_only) {
		le_put(c + VIRTIO_BLK_CFG_MAX_ZEROES_SECTORS, BLK_MAX_ZEROES_SECTORS, 4);
		le_put(c + VIRTIO_BLK_CFG_MAX_ZEROES_SEG, BLK_MAX_ZEROES_SEG, 4);
		/* Files: an unmap request punches a hole (blk_io_zero). */
		c[VIRTIO_BLK_CFG_ZEROES_MAY_UNMAP] = b->io.discard && !b->io.bdev;
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

/* ---- queue handlers ---- */

/* Publish one request: status byte, then the used ring. `filled` is how
 * many leading writable bytes hold data the device wrote. */
static void blk_publish(struct blk *b, uint16_t head, uint8_t *status_byte, uint8_t status,
			uint32_t in_len, uint64_t filled)
{
	*status_byte = status;
	gm_mark_dirty_host(b->dev->gm, status_byte, 1);
	/* Used length: the prefix of the writable part the device wrote,
	 * all of it when the data before the status byte was filled. */
	virtio_complete(b->dev, 0, head, filled == in_len - 1 ? in_len : (uint32_t)filled);
}

static struct log_limit guest_log = LOG_LIMIT_INIT(16);

static void blk_reject(struct blk *b, const struct virtq_chain *c, uint8_t *status_byte,
		       uint8_t status, const char *why, uint32_t type)
{
	b->st.invalid_reqs++;
	log_limited(&guest_log, "disk '%s': request type %u: %s", b->path, type, why);
	blk_publish(b, c->head, status_byte, status, c->in_len, 0);
}

static bool blk_in_range(const struct blk *b, uint64_t sector, uint64_t nsectors)
{
	return sector <= b->capacity && nsectors <= b->capacity - sector;
}

/* DISCARD / WRITE_ZEROES segments, copied once, checked, into r->io.seg.
 * Returns OK, or the status the request fails with (and *why). */
static uint8_t blk_parse_segs(struct blk *b, const struct virtq_chain *c, struct blk_req *r,
			      unsigned int max_seg, uint32_t max_sectors, uint32_t flags_ok,
			      const char **why)
{
	uint8_t raw[BLK_IO_MAX_SEG * VIRTIO_BLK_SEG_SIZE];
	size_t len = c->out_len - VIRTIO_BLK_HDR_SIZE;

	if (len == 0 || len % VIRTIO_BLK_SEG_SIZE || len / VIRTIO_BLK_SEG_SIZE > max_seg) {
		*why = "bad segment list length";
		return VIRTIO_BLK_S_IOERR;
	}
	virtq_chain_read(c, VIRTIO_BLK_HDR_SIZE, raw, len);
	r->io.n = (unsigned int)(len / VIRTIO_BLK_SEG_SIZE);
	for (unsigned int i = 0; i < r->io.n; i++) {
		const uint8_t *s = raw + i * VIRTIO_BLK_SEG_SIZE;
		uint64_t sector = le_get(s, 8);
		uint32_t nsectors = (uint32_t)le_get(s + 8, 4), flags = (uint32_t)le_get(s + 12, 4);

		/* 5.2.6.2: unknown flags, and unmap on a discard, are UNSUPP. */
		if (flags & ~flags_ok) {
			*why = "unsupported segment flags";
			return VIRTIO_BLK_S_UNSUPP;
		}
		if (nsectors > max_sectors || !blk_in_range(b, sector, nsectors)) {
			*why = "segment out of range";
			return VIRTIO_BLK_S_IOERR;
		}
		r->io.seg[i] = (struct blk_io_seg){ .off = sector * VIRTIO_BLK_SECTOR,
						    .len = (uint64_t)nsectors * VIRTIO_BLK_SECTOR,
						    .unmap = flags & VIRTIO_BLK_SEG_F_UNMAP };
	}
	return VIRTIO_BLK_S_OK;
}

/* Check one request and submit it, or complete it now. Guest-controlled:
 * everything in the chain; the header and segments are copied once and
 * only the copies are used. 0; -EAGAIN when the rate limit holds it back
 * (nothing done: the caller gives the chain back to the ring, the
 * limiter's timer is armed); -EINVAL when the chain cannot even carry a
 * status (the device was failed). */
static int blk_request(struct blk *b, const struct virtq_chain *c)
{
	const struct iovec *win = c->iov + c->nout;
	uint8_t hdr[VIRTIO_BLK_HDR_SIZE], *status_byte, st = VIRTIO_BLK_S_OK;
	const char *why = NULL;
	uint64_t sector, len = 0;
	struct blk_req *r;
	uint32_t type;

	if (c->in_len == 0) {
		virtio_fail(b->dev, "block request without a status byte");
		return -EINVAL;
	}
	/* The walker returns no empty buffers: the last one holds it. */
	status_byte = (uint8_t *)win[c->nin - 1].iov_base + win[c->nin - 1].iov_len - 1;
	if (virtq_chain_read(c, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		b->st.invalid_reqs++;
		log_limited(&guest_log, "disk '%s': request header too short", b->path);
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
		len = c->out_len - VIRTIO_BLK_HDR_SIZE;
		/* fall through */
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (b->io.read_only) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "read-only disk", type);
			return 0;
		}
		if (type != VIRTIO_BLK_T_OUT &&
		    !virtio_has(b->dev, type == VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD
								     : VIRTIO_BLK_F_WRITE_ZEROES)) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_UNSUPP, "not negotiated", type);
			return 0;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!virtio_has(b->dev, VIRTIO_BLK_F_FLUSH)) { /* cache_type Unsafe */
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_UNSUPP, "not negotiated", type);
			return 0;
		}
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (c->in_len == 1) {
			blk_reject(b, c, status_byte, VIRTIO_BLK_S_IOERR, "no ID buffer", type);
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
	}

	/* The rate limit, as Firecracker's: one op per request that passed
	 * the checks above (they cost nothing: answered at once), and the
	 * data bytes of reads and writes. Nothing is written to the guest
	 * before this. */
	if (!throttle_take(&b->limit, len, 1))
		return -EAGAIN;
	if (type == VIRTIO_BLK_T_GET_ID) {
		len = c->in_len - 1 < VIRTIO_BLK_ID_BYTES ? c->in_len - 1 : VIRTIO_BLK_ID_BYTES;
		virtq_chain_write(c, 0, b->serial, len);
		iov_mark_dirty(b->dev->gm, c->iov + c->nout, c->nin, len);
		blk_publish(b, c->head, status_byte, VIRTIO_BLK_S_OK, c->in_len, len);
		return 0;
	}
	if (len == 0 && (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT)) {
		blk_publish(b, c->head, status_byte, VIRTIO_BLK_S_OK, c->in_len, 0);
		return 0;
	}

	/* Fields set one by one: zeroing the whole slot would touch its 4 KiB
	 * of iovecs on every request. */
	r = blk_req_get(b);
	r->head = c->head;
	r->status_byte = status_byte;
	r->in_len = c->in_len;
	r->len = len;
	r->io.done = 0;
	r->io.n = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		r->io.op = BLK_IO_READ;
		r->io.off = sector * VIRTIO_BLK_SECTOR;
		r->io.n = iov_slice(r->io.iov, win, c->nin, 0, len);
		break;
	case VIRTIO_BLK_T_OUT:
		r->io.op = BLK_IO_WRITE;
		r->io.off = sector * VIRTIO_BLK_SECTOR;
		r->io.n = iov_slice(r->io.iov, c->iov, c->nout, VIRTIO_BLK_HDR_SIZE, len);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r->io.op = BLK_IO_FLUSH;
		break;
	case VIRTIO_BLK_T_DISCARD:
		r->io.op = BLK_IO_DISCARD;
		st = blk_parse_segs(b, c, r, BLK_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SECTORS, 0, &why);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r->io.op = BLK_IO_ZEROES;
		st = blk_parse_segs(b, c, r, BLK_MAX_ZEROES_SEG, BLK_MAX_ZEROES_SECTORS,
				    VIRTIO_BLK_SEG_F_UNMAP, &why);
		break;
	}
	if (why) {
		blk_req_put(b, r);
		blk_reject(b, c, status_byte, st, why, type);
		return 0;
	}
	blk_io_submit(&b->io, &r->io);
	return 0;
}

/* Pop and submit requests while slots last. At most one queue's worth per
 * call, so a guest refilling the ring from another vCPU cannot hold this
 * thread; blk_on_done carries on. */
static void blk_pop_all(struct blk *b)
{
	struct virtq *q = &b->dev->vq[0];
	uint64_t one = 1;

	b->more = false;
	if (!q->ready || b->dev->paused)
		return;
	for (unsigned int budget = q->size; budget > 0; budget--) {
		int got, err;

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
		err = blk_request(b, &b->chain);
		if (err == -EAGAIN)
			virtq_unpop(q); /* the limiter's timer comes back to it */
		if (err)
			return;
	}
	b->more = true;
	/* Come back through the event loop (a full counter: already due). */
	if (write(b->io.done_fd, &one, sizeof(one)) < 0)
		return;
}

static void blk_process(struct blk *b)
{
	blk_pop_all(b);
	blk_io_kick(&b->io);
}

static void blk_notify(struct virtio_dev *dev, unsigned int q)
{
	(void)q; /* one queue */
	blk_process(dev->priv);
}

/* Event-loop thread: the request the rate limit held back may pass. */
static void blk_on_timer(void *opaque, uint32_t events)
{
	struct blk *b = opaque;

	(void)events;
	virtio_lock(b->dev);
	throttle_expired(&b->limit);
	if (virtio_active(b->dev))
		blk_process(b);
	virtio_unlock(b->dev);
}

/* Count a finished request (a read's bytes are what it stored: all of
 * them, as it was checked to lie inside the disk). */
static void blk_count_done(struct blk *b, const struct blk_req *r)
{
	if (r->io.err) {
		b->st.execute_fails++;
		return;
	}
	switch (r->io.op) {
	case BLK_IO_READ:
		b->st.read_count++;
		b->st.read_bytes += r->io.done;
		break;
	case BLK_IO_WRITE:
		b->st.write_count++;
		b->st.write_bytes += r->len;
		break;
	case BLK_IO_FLUSH:
		b->st.flush_count++;
		break;
	case BLK_IO_DISCARD:
		b->st.discard_count++;
		break;
	case BLK_IO_ZEROES:
		b->st.zeroes_count++;
		break;
	}
}

/* Event-loop thread: publish what the workers finished. */
static void blk_on_done(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	struct blk_io_req *io, *next;
	uint64_t count;

	(void)events;
	if (read(b->io.done_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_msg("disk '%s': completion eventfd: %m", b->path);
	virtio_lock(b->dev);
	for (io = blk_io_finished(&b->io); io; io = next) {
		struct blk_req *r = (struct blk_req *)io;

		next = io->next;
		blk_count_done(b, r);
		/* virtio_complete publishes nothing on a failed device. */
		blk_publish(b, r->head, r->status_byte,
			    io->err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK, r->in_len, io->done);
		blk_req_put(b, r);
	}
	if (b->more && virtio_active(b->dev))
		blk_pop_all(b);
	blk_io_kick(&b->io); /* what was popped, and the rest of short transfers */
	virtio_unlock(b->dev);
}

/* Blocks the caller (a vCPU writing the status register) for at most the
 * longest single request a worker is running, as a real disk's reset
 * would. */
void blk_reset(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;
	struct blk_io_req *io, *next;

	for (io = blk_io_cancel(&b->io); io; io = next) {
		next = io->next;
		blk_req_put(b, (struct blk_req *)io);
	}
	b->more = false;
	throttle_stop(&b->limit);
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

void virtio_blk_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *cfg)
{
	struct blk *b = dev->priv;

	virtio_lock(dev);
	throttle_set(&b->limit, cfg);
	if (virtio_active(dev))
		blk_process(b);
	virtio_unlock(dev);
}

int virtio_blk_change_media(struct virtio_dev *dev, const char *path)
{
	struct blk *b = dev->priv;
	char *old = b->path, *copy = strdup(path);
	int err = copy ? 0 : -ENOMEM;

	virtio_lock(dev);
	if (!err && b->inflight)
		err = -EBUSY;
	if (!err)
		err = blk_io_reopen(&b->io, copy);
	if (err) {
		virtio_unlock(dev);
		free(copy);
		if (err == -EMEDIUMTYPE)
			log_msg("disk '%s': another logical block size than the guest's disk "
				"(%u bytes)",
				path, b->io.blk_size);
		else
			log_msg("disk '%s': %s", path, strerror(-err));
		return err;
	}
	b->path = copy;
	b->capacity = b->io.size / VIRTIO_BLK_SECTOR;
	memset(b->config, 0, sizeof(b->config));
	blk_config_fill(b);
	memcpy(dev->config, b->config, sizeof(b->config));
	virtio_config_changed(dev);
	virtio_unlock(dev);
	free(old);
	return 0;
}

void virtio_blk_get_stats(struct virtio_dev *dev, struct virtio_blk_stats *out)
{
	const struct blk *b = dev->priv;

	virtio_lock(dev);
	*out = (struct virtio_blk_stats){ .throttled = b->limit.throttled };
	virtio_unlock(dev);
}

/* ---- ops table ---- */

static void blk_destroy(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;

	throttle_close(&b->limit, b->ev);
	evloop_del(b->ev, b->io.done_fd);
	blk_io_close(&b->io);
	free(b->slot);
	free(b->path);
	free(b);
	dev->priv = NULL;
}

static int blk_start(struct virtio_dev *dev, const struct sandbox_filter *worker)
{
	struct blk *b = dev->priv;
	int err = blk_io_start(&b->io);

	if (err) {
		log_msg("disk '%s': starting its workers: %s", b->path, strerror(-err));
		return err;
	}
	err = worker ? blk_io_sandbox(&b->io, worker) : 0;
	if (err)
		log_msg("virtio-blk workers: seccomp filter: %s", strerror(-err));
	return err;
}

/* Complete every request in flight: wait for the backend's done_fd and
 * finish as blk_on_done does. With dev->paused set, finishing takes no new
 * requests from the ring and the transport holds the interrupt. The wait
 * is bounded by the host's I/O, not by the guest. */
static void blk_pause(struct virtio_dev *dev)
{
	struct blk *b = dev->priv;

	while (virtio_blk_inflight(dev)) {
		struct pollfd p = { .fd = b->io.done_fd, .events = POLLIN };

		if (poll(&p, 1, -1) < 0 && errno != EINTR) {
			log_msg("disk '%s': waiting for requests in flight: %m", b->path);
			return;
		}
		blk_on_done(b, EPOLLIN);
	}
}

/* Requests the driver queued while paused wait on the ring; its doorbell
 * is still pending, and slots that freed up let blk_process go on. */
static void blk_resume(struct virtio_dev *dev)
{
	virtio_lock(dev);
	if (virtio_active(dev))
		blk_process(dev->priv);
	virtio_unlock(dev);
}

void virtio_blk_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	static const struct blk_stats none;
	const struct blk *b = dev ? dev->priv : NULL;
	const struct blk_stats *st = b ? &b->st : &none;
	const struct virtio_counters *c = virtio_metrics_common(dev, out);

	metrics_counter(out, "queue_event_count", c->kicks[0]);
	metrics_counter(out, "read_count", st->read_count);
	metrics_counter(out, "write_count", st->write_count);
	metrics_counter(out, "flush_count", st->flush_count);
	metrics_counter(out, "discard_count", st->discard_count);
	metrics_counter(out, "write_zeroes_count", st->zeroes_count);
	metrics_counter(out, "read_bytes", st->read_bytes);
	metrics_counter(out, "write_bytes", st->write_bytes);
	metrics_counter(out, "execute_fails", st->execute_fails);
	metrics_counter(out, "invalid_reqs_count", st->invalid_reqs);
	metrics_counter(out, "rate_limiter_throttled_events", b ? b->limit.throttled : 0);
	metrics_gauge(out, "inflight_reqs", b ? b->inflight : 0);
}

static const struct virtio_ops blk_ops = {
	.name = "block",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_size = VIRTIO_BLK_CFG_SIZE,
	.config_write = blk_config_write,
	.start = blk_start,
	.pause = blk_pause,
	.resume = blk_resume,
	.notify = blk_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.metrics = virtio_blk_metrics,
	.snapshot = blk_snapshot,
};

/* ---- setup ---- */

/* "petrel-" and 13 hex digits of a hash (FNV-1a) of the backing's
 * identity: 20 bytes, no NUL, the same on every run. */
static void blk_serial(struct blk *b)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	char s[VIRTIO_BLK_ID_BYTES + 1];

	for (unsigned int i = 0; i < 8; i++) {
		hash ^= (uint8_t)(b->io.id >> (8 * i));
		hash *= 0x100000001b3ULL;
	}
	snprintf(s, sizeof(s), "petrel-%013llx", (unsigned long long)(hash & 0xfffffffffffffULL));
	memcpy(b->serial, s, VIRTIO_BLK_ID_BYTES);
}

int virtio_blk_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct disk_config *cfg)
{
	struct blk *b = calloc(1, sizeof(*b));
	uint64_t offered;
	int err = -ENOMEM;

	if (!b)
		goto err_msg;
	b->dev = dev;
	b->ev = ev;
	b->path = strdup(cfg->path);
	/* Pages of this array are only allocated once used. */
	b->slot = calloc(VIRTQ_MAX_SIZE, sizeof(*b->slot));
	if (!b->path || !b->slot)
		goto err_free;
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		b->free_slot[b->nfree++] = (uint16_t)(VIRTQ_MAX_SIZE - 1 - i);
	err = blk_io_open(&b->io, b->path, cfg->read_only, cfg->io_engine == DISK_IO_ASYNC);
	if (err)
		goto err_free;
	b->io.gm = dev->gm;
	err = evloop_add(ev, b->io.done_fd, EPOLLIN, blk_on_done, b);
	if (err)
		goto err_io;
	err = throttle_open(&b->limit, ev, blk_on_timer, b);
	if (err)
		goto err_watch;
	throttle_set(&b->limit, &cfg->limit);

	b->capacity = b->io.size / VIRTIO_BLK_SECTOR;
	blk_serial(b);
	blk_config_fill(b);
	/* cache_type Unsafe (Firecracker's default): no FLUSH, so the guest
	 * never waits for the host's disk. */
	offered = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		  (cfg->cache == DISK_CACHE_WRITEBACK ? VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) : 0);
	if (b->io.read_only)
		offered |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		offered |= VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
			   (b->io.discard ? VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) : 0);
	virtio_dev_init(dev, &blk_ops, offered, b, gm);
	memcpy(dev->config, b->config, sizeof(b->config));
	return 0;

err_watch:
	evloop_del(ev, b->io.done_fd);
err_io:
	blk_io_close(&b->io);
err_free:
	free(b->slot);
	free(b->path);
	free(b);
err_msg:
	log_msg("disk '%s': %s", cfg->path, strerror(-err));
	return err;
}
