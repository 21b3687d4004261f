/* SPDX-License-Identifier: MIT */
#include "virtio/blk_io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sandbox/seccomp.h"
#include "virtio/iov.h"

static const char *const blk_io_op_name[] = {
	[BLK_IO_READ] = "read",	      [BLK_IO_WRITE] = "write",		[BLK_IO_FLUSH] = "flush",
	[BLK_IO_DISCARD] = "discard", [BLK_IO_ZEROES] = "write zeroes",
};

/* ---- the operations (worker threads) ---- */

/* Account `got` bytes a ring transfer moved: off moves on, a read's done
 * grows (and the guest pages it stored are marked dirty), finished
 * iovecs leave the front of iov, a partial one is trimmed. */
static void blk_io_advance(const struct blk_io *io, struct blk_io_req *r, uint64_t got)
{
	r->off += got;
	if (r->op == BLK_IO_READ) {
		r->done += got;
		if (io->gm)
			iov_mark_dirty(io->gm, r->iov, r->n, (size_t)got);
	}
	r->n = iov_slice(r->iov, r->iov, r->n, got, SIZE_MAX);
}

/* Read or write all of iov[0, n) at `off` (iov is consumed): short
 * transfers continue where they stopped; end of file (the image shrank
 * under us) is EIO. Each transfer adds to *done unless done is NULL; a
 * read's marks the pages it stored dirty in `gm` unless gm is NULL. */
static int blk_io_xfer(int fd, struct iovec *iov, unsigned int n, off_t off, bool write,
		       uint64_t *done, const struct gm *gm)
{
	while (n > 0) {
		ssize_t got = write ? pwritev(fd, iov, (int)n, off) : preadv(fd, iov, (int)n, off);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (got == 0)
			return -EIO;
		off += got;
		if (done)
			*done += (uint64_t)got;
		if (!write && gm)
			iov_mark_dirty(gm, iov, n, (size_t)got);
		n = iov_slice(iov, iov, n, (size_t)got, SIZE_MAX);
	}
	return 0;
}

/* Where the backing cannot zero a range itself (tmpfs has no
 * FALLOC_FL_ZERO_RANGE): write them, 256 KiB per chunk. */
static int blk_io_write_zeroes(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[4096];
	struct iovec iov[64];

	while (len > 0) {
		uint64_t chunk =
		    len < sizeof(zeroes) * ARRAY_SIZE(iov) ? len : sizeof(zeroes) * ARRAY_SIZE(iov);
		unsigned int n = (unsigned int)((chunk + sizeof(zeroes) - 1) / sizeof(zeroes));
		int err;

		for (unsigned int i = 0; i < n; i++)
			iov[i] = (struct iovec){ (void *)zeroes, sizeof(zeroes) };
		iov[n - 1].iov_len = chunk - (uint64_t)(n - 1) * sizeof(zeroes);
		err = blk_io_xfer(fd, iov, n, (off_t)off, true, NULL, NULL);
		if (err)
			return err;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

static int blk_io_discard(struct blk_io *io, const struct blk_io_seg *s)
{
	uint64_t range[2] = { s->off, s->len };

	if (io->bdev)
		return ioctl(io->fd, BLKDISCARD, range) ? -errno : 0;
	return fallocate(io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)s->off,
			 (off_t)s->len)
		   ? -errno
		   : 0;
}

static int blk_io_zero(struct blk_io *io, const struct blk_io_seg *s)
{
	uint64_t range[2] = { s->off, s->len };

	if (io->bdev)
		return ioctl(io->fd, BLKZEROOUT, range) ? -errno : 0;
	/* A hole in a file reads back as zeroes. */
	if (s->unmap && io->discard)
		return blk_io_discard(io, s);
	if (!fallocate(io->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)s->off,
		       (off_t)s->len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return blk_io_write_zeroes(io->fd, s->off, s->len);
}

static void blk_io_report(struct blk_io *io, const struct blk_io_req *r)
{
	static struct log_limit io_log = LOG_LIMIT_INIT(16);
	char why[64];

	log_limited(&io_log, "disk '%s': %s failed: %s", io->path, blk_io_op_name[r->op],
		    strerror_r(-r->err, why, sizeof(why)));
}

static void blk_io_execute(struct blk_io *io, struct blk_io_req *r)
{
	int err = 0;

	switch (r->op) {
	case BLK_IO_READ:
	case BLK_IO_WRITE:
		err = blk_io_xfer(io->fd, r->iov, r->n, (off_t)r->off, r->op == BLK_IO_WRITE,
				  r->op == BLK_IO_WRITE ? NULL : &r->done, io->gm);
		break;
	case BLK_IO_FLUSH:
		err = fdatasync(io->fd) ? -errno : 0;
		break;
	case BLK_IO_DISCARD:
	case BLK_IO_ZEROES:
		for (unsigned int i = 0; i < r->n && !err; i++)
			if (r->seg[i].len)
				err = r->op == BLK_IO_DISCARD ? blk_io_discard(io, &r->seg[i])
							      : blk_io_zero(io, &r->seg[i]);
		break;
	}
	r->err = err;
	if (err)
		blk_io_report(io, r);
}

/* ---- the pool ---- */

/* Wake the submitter. Cannot block: the eventfd is non-blocking and a full
 * counter means a wake-up is already pending. */
static void blk_io_signal(struct blk_io *io)
{
	uint64_t one = 1;

	if (write(io->done_fd, &one, sizeof(one)) < 0)
		return;
}

static void *blk_io_worker(void *arg)
{
	struct blk_io *io = arg;
	bool filtered = false;

	/* By itself (prctl): naming another thread goes through /proc, which a
	 * jail does not have. */
	pthread_setname_np(pthread_self(), "petrel-blk");
	log_set_thread("blk-io");
	pthread_mutex_lock(&io->mu);
	for (;;) {
		struct blk_io_req *r;
		bool was_empty;

		while (!io->stop && !io->work && (filtered || !io->filter))
			pthread_cond_wait(&io->work_cv, &io->mu);
		if (io->stop)
			break;
		if (!filtered && io->filter) {
			int err = sandbox_install(io->filter);

			filtered = true;
			if (err && !io->filter_err)
				io->filter_err = err;
			io->nfiltered++;
			pthread_cond_broadcast(&io->idle_cv);
			continue;
		}
		r = io->work;
		io->work = r->next;
		if (!io->work)
			io->work_tail = &io->work;
		io->running++;
		pthread_mutex_unlock(&io->mu);

		blk_io_execute(io, r);

		/* The mutex orders this worker's stores into the request's
		 * buffers (guest RAM) before whatever the thread that takes
		 * it from the finished list does next, such as publishing it
		 * to the guest. */
		pthread_mutex_lock(&io->mu);
		io->running--;
		r->next = NULL;
		was_empty = !io->fin;
		*io->fin_tail = r;
		io->fin_tail = &r->next;
		if (!io->running)
			pthread_cond_broadcast(&io->idle_cv);
		if (was_empty)
			blk_io_signal(io);
	}
	pthread_mutex_unlock(&io->mu);
	return NULL;
}

int blk_io_sandbox(struct blk_io *io, const struct sandbox_filter *filter)
{
	int err;

	pthread_mutex_lock(&io->mu);
	io->filter = filter;
	pthread_cond_broadcast(&io->work_cv);
	while (io->nfiltered < io->nworkers)
		pthread_cond_wait(&io->idle_cv, &io->mu);
	io->filter = NULL; /* the caller's, and every worker is done with it */
	err = io->filter_err;
	pthread_mutex_unlock(&io->mu);
	return err;
}

static void blk_io_stop(struct blk_io *io)
{
	pthread_mutex_lock(&io->mu);
	io->stop = true;
	pthread_cond_broadcast(&io->work_cv);
	pthread_mutex_unlock(&io->mu);
	for (unsigned int i = 0; i < io->nworkers; i++)
		pthread_join(io->worker[i], NULL);
	io->nworkers = 0;
}

int blk_io_start(struct blk_io *io)
{
	sigset_t all, old;
	int err = 0;

	/* Workers take no signals: those are for the main and vCPU threads
	 * (a new thread inherits the mask). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (io->nworkers < BLK_IO_WORKERS) {
		err = -pthread_create(&io->worker[io->nworkers], NULL, blk_io_worker, io);
		if (err)
			break;
		io->nworkers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		blk_io_stop(io);
	return err;
}

static void blk_io_pool_submit(struct blk_io *io, struct blk_io_req *r)
{
	pthread_mutex_lock(&io->mu);
	r->next = NULL;
	*io->work_tail = r;
	io->work_tail = &r->next;
	pthread_cond_signal(&io->work_cv);
	pthread_mutex_unlock(&io->mu);
}

static struct blk_io_req *blk_io_pool_finished(struct blk_io *io)
{
	struct blk_io_req *r;

	pthread_mutex_lock(&io->mu);
	r = io->fin;
	io->fin = NULL;
	io->fin_tail = &io->fin;
	pthread_mutex_unlock(&io->mu);
	return r;
}

static struct blk_io_req *blk_io_pool_cancel(struct blk_io *io)
{
	struct blk_io_req *r, **tail = &r;

	pthread_mutex_lock(&io->mu);
	r = io->work;
	io->work = NULL;
	io->work_tail = &io->work;
	while (io->running)
		pthread_cond_wait(&io->idle_cv, &io->mu);
	/* The queued ones, then the finished ones. */
	while (*tail)
		tail = &(*tail)->next;
	*tail = io->fin;
	io->fin = NULL;
	io->fin_tail = &io->fin;
	pthread_mutex_unlock(&io->mu);
	return r;
}

/* ---- the ring (READ, WRITE, FLUSH) ---- */

/* Submit what the SQ holds. On failure (EBUSY / EAGAIN: completions must be
 * reaped first) the entries stay in the SQ and go with the next flush;
 * blk_io_finished flushes, and the completions signal done_fd. */
static void blk_io_ring_flush(struct blk_io *io)
{
	static struct log_limit log = LOG_LIMIT_INIT(4);
	int ret;

	do
		ret = io_uring_submit(&io->ring);
	while (ret == -EINTR);
	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
		log_limited(&log, "disk '%s': io_uring submit: %s", io->path, strerror(-ret));
}

/* Put r on the SQ (blk_io_kick submits it). False if the SQ stays full
 * (only if a caller has more than BLK_IO_RING_ENTRIES in flight and
 * submitting fails): the caller gives r to the pool instead. */
static bool blk_io_ring_queue(struct blk_io *io, struct blk_io_req *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		blk_io_ring_flush(io);
		sqe = io_uring_get_sqe(&io->ring);
		if (!sqe)
			return false;
	}
	/* Fixed file 0 is io->fd, the only one the ring has. */
	if (r->op == BLK_IO_READ)
		io_uring_prep_readv(sqe, 0, r->iov, r->n, r->off);
	else if (r->op == BLK_IO_WRITE)
		io_uring_prep_writev(sqe, 0, r->iov, r->n, r->off);
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data(sqe, r);
	io->ring_inflight++;
	return true;
}

/* Take every completion the CQ holds. A short read or write goes back on
 * the SQ for the rest (or, when `more` is false, ends with ECANCELED);
 * the requests that ended are returned, in completion order. The CQ's
 * acquire load of its tail orders the kernel's stores into the buffers
 * before what the caller does with the request. */
static struct blk_io_req *blk_io_ring_reap(struct blk_io *io, bool more)
{
	struct blk_io_req *head = NULL, **tail = &head;
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&io->ring, &cqe) == 0) {
		struct blk_io_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&io->ring, cqe);
		io->ring_inflight--;
		if (res > 0 && r->op != BLK_IO_FLUSH) {
			blk_io_advance(io, r, (uint64_t)res);
			if (r->n > 0 && more) {
				if (!blk_io_ring_queue(io, r))
					blk_io_pool_submit(io, r);
				continue;
			}
			res = r->n > 0 ? -ECANCELED : 0;
		} else if (res == 0 && r->op != BLK_IO_FLUSH) {
			res = -EIO; /* end of file: the image shrank under us */
		}
		r->err = res;
		if (res && res != -ECANCELED)
			blk_io_report(io, r);
		r->next = NULL;
		*tail = r;
		tail = &r->next;
	}
	return head;
}

/* Wait until no SQE is in the kernel or the SQ; the ended requests. Any
 * error waiting is retried: returning while the kernel may still write
 * into a request's buffers (guest RAM) is not an option. */
static struct blk_io_req *blk_io_ring_drain(struct blk_io *io)
{
	struct blk_io_req *head = NULL, **tail = &head;

	while (io->ring_inflight > 0) {
		if (io_uring_submit_and_wait(&io->ring, 1) < 0 && !io_uring_cq_ready(&io->ring))
			sched_yield();
		*tail = blk_io_ring_reap(io, false);
		while (*tail)
			tail = &(*tail)->next;
	}
	return head;
}

static int blk_io_ring_setup(struct blk_io *io)
{
	static const struct io_uring_restriction allow[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE },
		/* blk_io_reopen: the one fixed file becomes another disk's. */
		{ .opcode = IORING_RESTRICTION_REGISTER_OP,
		  .register_op = IORING_REGISTER_FILES_UPDATE },
	};
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	int err;

	err = io_uring_queue_init_params(BLK_IO_RING_ENTRIES, &io->ring, &p);
	if (err)
		return err;
	/* Everything registered before the restrictions: none are allowed
	 * after them. */
	err = io_uring_register_files(&io->ring, &io->fd, 1);
	if (!err)
		err = io_uring_register_eventfd(&io->ring, io->done_fd);
	if (!err)
		err = io_uring_register_restrictions(
		    &io->ring, (struct io_uring_restriction *)allow, ARRAY_SIZE(allow));
	if (!err)
		err = io_uring_enable_rings(&io->ring);
	if (err)
		io_uring_queue_exit(&io->ring);
	return err;
}

/* ---- requests ---- */

void blk_io_submit(struct blk_io *io, struct blk_io_req *r)
{
	if (io->uring && r->op != BLK_IO_DISCARD && r->op != BLK_IO_ZEROES &&
	    blk_io_ring_queue(io, r))
		return;
	blk_io_pool_submit(io, r);
}

void blk_io_kick(struct blk_io *io)
{
	if (io->uring && io_uring_sq_ready(&io->ring))
		blk_io_ring_flush(io);
}

struct blk_io_req *blk_io_finished(struct blk_io *io)
{
	struct blk_io_req *r = NULL, **tail = &r;

	if (io->uring) {
		blk_io_kick(io);
		r = blk_io_ring_reap(io, true);
		while (*tail)
			tail = &(*tail)->next;
	}
	*tail = blk_io_pool_finished(io);
	return r;
}

struct blk_io_req *blk_io_cancel(struct blk_io *io)
{
	struct blk_io_req *r = blk_io_pool_cancel(io), **tail = &r;

	if (io->uring) {
		while (*tail)
			tail = &(*tail)->next;
		*tail = blk_io_ring_drain(io);
	}
	return r;
}

/* ---- open and close ---- */

/* One number from a block device's queue/ directory in sysfs, for a whole
 * disk or (one level up) a partition. 0 when unknown. */
static uint64_t blk_io_sysfs(dev_t rdev, const char *attr)
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

static int blk_io_probe(struct blk_io *io)
{
	struct stat st;

	if (fstat(io->fd, &st))
		return -errno;
	io->blk_size = 512;
	if (S_ISREG(st.st_mode)) {
		io->size = (uint64_t)st.st_size;
		/* Punching a hole past the end of the file changes nothing,
		 * and fails with EOPNOTSUPP where holes are not supported. */
		io->discard =
		    !io->read_only &&
		    !fallocate(io->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.st_size, 512);
		io->discard_align = (uint32_t)st.st_blksize;
		io->id = (uint64_t)st.st_dev << 32 ^ (uint64_t)st.st_ino;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		int lbs;

		if (ioctl(io->fd, BLKGETSIZE64, &io->size) || ioctl(io->fd, BLKSSZGET, &lbs))
			return -errno;
		io->bdev = true;
		if (lbs > 512)
			io->blk_size = (uint32_t)lbs;
		io->discard = !io->read_only && blk_io_sysfs(st.st_rdev, "discard_max_bytes");
		io->discard_align = (uint32_t)blk_io_sysfs(st.st_rdev, "discard_granularity");
		io->id = (uint64_t)st.st_rdev;
		return 0;
	}
	return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTBLK;
}

/* PETREL_BLK_NO_URING=1: the workers run everything (tests, comparing). */
static bool blk_io_want_ring(void)
{
	const char *no = getenv("PETREL_BLK_NO_URING");

	return !no || strcmp(no, "1") != 0;
}

/* Open and probe the backing into io (fd, size, block size, discard, id).
 * O_NONBLOCK only while probing: opening a FIFO read-only would wait for a
 * writer, and the probe refuses it. Cleared after, as io_uring fails an
 * O_NONBLOCK file's reads with EAGAIN instead of waiting. */
static int blk_io_open_backing(struct blk_io *io, const char *path)
{
	int err;

	io->fd = open(path, (io->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
	if (io->fd < 0)
		return -errno;
	err = blk_io_probe(io);
	if (!err && fcntl(io->fd, F_SETFL, fcntl(io->fd, F_GETFL) & ~O_NONBLOCK))
		err = -errno;
	if (err) {
		close(io->fd);
		io->fd = -1;
	}
	return err;
}

int blk_io_open(struct blk_io *io, const char *path, bool read_only, bool ring)
{
	int err;

	*io = (struct blk_io){ .path = path, .fd = -1, .done_fd = -1, .read_only = read_only };
	io->work_tail = &io->work;
	io->fin_tail = &io->fin;
	err = blk_io_open_backing(io, path);
	if (err)
		return err;
	io->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->done_fd < 0) {
		err = -errno;
		goto err_fd;
	}
	pthread_mutex_init(&io->mu, NULL);
	pthread_cond_init(&io->work_cv, NULL);
	pthread_cond_init(&io->idle_cv, NULL);
	if (ring && blk_io_want_ring()) {
		static bool told;

		err = blk_io_ring_setup(io);
		io->uring = !err;
		if (err && !told) {
			told = true;
			log_msg("disk '%s': io_uring unavailable (%s); using worker threads", path,
				strerror(-err));
		}
	}
	return 0;

err_fd:
	close(io->fd);
	io->fd = io->done_fd = -1;
	return err;
}

int blk_io_reopen(struct blk_io *io, const char *path)
{
	struct blk_io next = { .read_only = io->read_only };
	int err = blk_io_open_backing(&next, path);

	if (err)
		return err;
	if (next.blk_size != io->blk_size) {
		close(next.fd);
		return -EMEDIUMTYPE;
	}
	err = io->uring ? io_uring_register_files_update(&io->ring, 0, &next.fd, 1) : 1;
	if (err != 1) {
		close(next.fd);
		return err < 0 ? err : -EIO;
	}
	pthread_mutex_lock(&io->mu);
	close(io->fd);
	io->path = path;
	io->fd = next.fd;
	io->bdev = next.bdev;
	io->discard = next.discard;
	io->size = next.size;
	io->discard_align = next.discard_align;
	io->id = next.id;
	pthread_mutex_unlock(&io->mu);
	return 0;
}

void blk_io_close(struct blk_io *io)
{
	blk_io_stop(io);
	if (io->uring) {
		(void)blk_io_ring_drain(io);
		io_uring_queue_exit(&io->ring);
		io->uring = false;
	}
	pthread_cond_destroy(&io->idle_cv);
	pthread_cond_destroy(&io->work_cv);
	pthread_mutex_destroy(&io->mu);
	close(io->done_fd);
	close(io->fd);
	io->fd = io->done_fd = -1;
}
