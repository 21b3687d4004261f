/* SPDX-License-Identifier: MIT */
/*
 * Which backend should serve virtio-blk requests? petrel's blk_io
 * (src/virtio/blk_io.c) with its worker pool (PETREL_BLK_NO_URING=1:
 * threads doing preadv/pwritev, completions through an eventfd) and with
 * its restricted io_uring (one submit per batch, blk_io_kick),
 * against bare io_uring (liburing, one submit per batch, completions
 * through a registered eventfd), driven the same way petrel's event loop drives
 * a disk: keep DEPTH requests in flight, wait on the eventfd, reap,
 * resubmit. The file is in the page cache, so this measures what each
 * backend costs per request, which is what the VMM adds to the disk.
 *
 * Build (liburing.a: Debian's liburing.so 2.3 lacks the restriction calls):
 *   gcc -O2 -D_GNU_SOURCE -Isrc -Iinclude bench/blk_backend.c \
 *       build/libpetrel-core.a -l:liburing.a -lpthread -o blk_backend
 *
 *   blk_backend FILE [SECONDS]   prints requests/s for each backend and
 *                                pattern; FILE must be >= 64 MiB
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk_io.h"

#define DEPTH 32
#define SPAN (64ULL << 20)

struct pattern {
	const char *name;
	size_t size;
	bool random, write;
};

static const struct pattern patterns[] = {
	{ "4k-randread", 4096, true, false },
	{ "4k-randwrite", 4096, true, true },
	{ "128k-seqread", 128 << 10, false, false },
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t next_off(const struct pattern *p, uint64_t *seq, uint64_t *rng)
{
	uint64_t blocks = SPAN / p->size;

	if (!p->random)
		return (*seq)++ % blocks * p->size;
	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (*rng >> 33) % blocks * p->size;
}

static void wait_fd(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;

	poll(&pfd, 1, -1);
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("eventfd");
}

static double run_blk_io(const char *path, const struct pattern *p, double secs, bool pool)
{
	static struct blk_io io;
	static struct blk_io_req req[DEPTH];
	static uint8_t buf[DEPTH][128 << 10];
	uint64_t seq = 0, rng = 1, n = 0;
	double t0, t;

	if (pool)
		setenv("PETREL_BLK_NO_URING", "1", 1);
	else
		unsetenv("PETREL_BLK_NO_URING");
	if (blk_io_open(&io, path, false, true))
		return -1;
	if (blk_io_start(&io) || io.uring == pool) {
		blk_io_close(&io);
		return -1;
	}
	t0 = now();
	for (int i = 0; i < DEPTH; i++) {
		req[i] = (struct blk_io_req){ .op = p->write ? BLK_IO_WRITE : BLK_IO_READ,
					      .off = next_off(p, &seq, &rng),
					      .n = 1 };
		req[i].iov[0] = (struct iovec){ buf[i], p->size };
		blk_io_submit(&io, &req[i]);
	}
	blk_io_kick(&io);
	do {
		struct blk_io_req *r;

		wait_fd(io.done_fd);
		while ((r = blk_io_finished(&io))) {
			n++;
			r->off = next_off(p, &seq, &rng);
			r->n = 1; /* blk_io consumed iov */
			r->iov[0] = (struct iovec){ buf[r - req], p->size };
			r->done = 0;
			blk_io_submit(&io, r);
		}
		blk_io_kick(&io);
		t = now();
	} while (t - t0 < secs);
	(void)blk_io_cancel(&io);
	blk_io_close(&io);
	return (double)n / (t - t0);
}

static double run_uring(const char *path, const struct pattern *p, double secs)
{
	static uint8_t buf[DEPTH][128 << 10];
	struct io_uring ring;
	uint64_t seq = 0, rng = 1, n = 0;
	int fd = open(path, O_RDWR), efd = eventfd(0, EFD_NONBLOCK);
	double t0, t;

	if (fd < 0 || efd < 0 || io_uring_queue_init(DEPTH, &ring, 0) ||
	    io_uring_register_eventfd(&ring, efd))
		return -1;
	t0 = now();
	for (int i = 0; i < DEPTH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (p->write)
			io_uring_prep_write(sqe, fd, buf[i], p->size, next_off(p, &seq, &rng));
		else
			io_uring_prep_read(sqe, fd, buf[i], p->size, next_off(p, &seq, &rng));
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
	}
	io_uring_submit(&ring);
	do {
		struct io_uring_cqe *cqe;

		wait_fd(efd);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			uint64_t i = io_uring_cqe_get_data64(cqe);
			struct io_uring_sqe *sqe;

			io_uring_cqe_seen(&ring, cqe);
			n++;
			sqe = io_uring_get_sqe(&ring);
			if (p->write)
				io_uring_prep_write(sqe, fd, buf[i], p->size,
						    next_off(p, &seq, &rng));
			else
				io_uring_prep_read(sqe, fd, buf[i], p->size,
						   next_off(p, &seq, &rng));
			io_uring_sqe_set_data64(sqe, i);
		}
		io_uring_submit(&ring);
		t = now();
	} while (t - t0 < secs);
	io_uring_queue_exit(&ring);
	close(efd);
	close(fd);
	return (double)n / (t - t0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 1.0;

	if (argc < 2) {
		fprintf(stderr, "usage: blk_backend FILE [SECONDS]\n");
		return 2;
	}
	printf("%-14s %12s %12s %12s   (requests/s, median of 5, depth %d)\n", "pattern",
	       "blk_io pool", "blk_io ring", "io_uring", DEPTH);
	for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
		double pool[5], ring[5], ur[5];

		for (int i = 0; i < 5; i++) {
			pool[i] = run_blk_io(argv[1], &patterns[k], secs, true);
			ring[i] = run_blk_io(argv[1], &patterns[k], secs, false);
			ur[i] = run_uring(argv[1], &patterns[k], secs);
			if (pool[i] < 0 || ring[i] < 0 || ur[i] < 0) {
				fprintf(stderr, "blk_backend: %s: setup failed\n", argv[1]);
				return 1;
			}
		}
		qsort(pool, 5, sizeof(double), cmp);
		qsort(ring, 5, sizeof(double), cmp);
		qsort(ur, 5, sizeof(double), cmp);
		printf("%-14s %12.0f %12.0f %12.0f\n", patterns[k].name, pool[2], ring[2], ur[2]);
	}
	return 0;
}
