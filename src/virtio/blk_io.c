/* SPDX-License-Identifier: MIT */
#include "virtio/blk_io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static const char *const blk_io_op_name[] = {
	[BLK_IO_READ] = "read",	      [BLK_IO_WRITE] = "write",		[BLK_IO_FLUSH] = "flush",
	[BLK_IO_DISCARD] = "discard", [BLK_IO_ZEROES] = "write zeroes",
};

/* ---- the operations (worker threads) ---- */

/* Read or write all of iov[0, n) at `off` (iov is consumed): short
 * transfers continue where they stopped; end of file (the image shrank
 * under us) is EIO. Each transfer adds to *done unless done is NULL. */
static int blk_io_xfer(int fd, struct iovec *iov, unsigned int n, off_t off, bool write,
		       uint64_t *done)
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
		err = blk_io_xfer(fd, iov, n, (off_t)off, true, NULL);
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

static void blk_io_execute(struct blk_io *io, struct blk_io_req *r)
{
	static struct log_limit io_log = LOG_LIMIT_INIT(16);
	int err = 0;

	switch (r->op) {
	case BLK_IO_READ:
	case BLK_IO_WRITE:
		err = blk_io_xfer(io->fd, r->iov, r->n, (off_t)r->off, r->op == BLK_IO_WRITE,
				  r->op == BLK_IO_WRITE ? NULL : &r->done);
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
	if (err) {
		char why[64];

		log_limited(&io_log, "disk '%s': %s failed: %s", io->path, blk_io_op_name[r->op],
			    strerror_r(-err, why, sizeof(why)));
	}
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

	pthread_mutex_lock(&io->mu);
	for (;;) {
		struct blk_io_req *r;
		bool was_empty;

		while (!io->stop && !io->work)
			pthread_cond_wait(&io->work_cv, &io->mu);
		if (io->stop)
			break;
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

static int blk_io_start(struct blk_io *io)
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
		/* Named from here, so a worker itself never touches /proc. */
		pthread_setname_np(io->worker[io->nworkers++], "petrel-blk");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		blk_io_stop(io);
	return err;
}

void blk_io_submit(struct blk_io *io, struct blk_io_req *r)
{
	pthread_mutex_lock(&io->mu);
	r->next = NULL;
	*io->work_tail = r;
	io->work_tail = &r->next;
	pthread_cond_signal(&io->work_cv);
	pthread_mutex_unlock(&io->mu);
}

struct blk_io_req *blk_io_finished(struct blk_io *io)
{
	struct blk_io_req *r;

	pthread_mutex_lock(&io->mu);
	r = io->fin;
	io->fin = NULL;
	io->fin_tail = &io->fin;
	pthread_mutex_unlock(&io->mu);
	return r;
}

struct blk_io_req *blk_io_cancel(struct blk_io *io)
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

int blk_io_open(struct blk_io *io, const char *path, bool read_only)
{
	int err;

	*io = (struct blk_io){ .path = path, .fd = -1, .done_fd = -1, .read_only = read_only };
	io->work_tail = &io->work;
	io->fin_tail = &io->fin;
	io->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (io->fd < 0)
		return -errno;
	err = blk_io_probe(io);
	if (err)
		goto err_fd;
	io->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->done_fd < 0) {
		err = -errno;
		goto err_fd;
	}
	pthread_mutex_init(&io->mu, NULL);
	pthread_cond_init(&io->work_cv, NULL);
	pthread_cond_init(&io->idle_cv, NULL);
	err = blk_io_start(io);
	if (err)
		goto err_sync;
	return 0;

err_sync:
	pthread_cond_destroy(&io->idle_cv);
	pthread_cond_destroy(&io->work_cv);
	pthread_mutex_destroy(&io->mu);
	close(io->done_fd);
err_fd:
	close(io->fd);
	io->fd = io->done_fd = -1;
	return err;
}

void blk_io_close(struct blk_io *io)
{
	blk_io_stop(io);
	pthread_cond_destroy(&io->idle_cv);
	pthread_cond_destroy(&io->work_cv);
	pthread_mutex_destroy(&io->mu);
	close(io->done_fd);
	close(io->fd);
	io->fd = io->done_fd = -1;
}
