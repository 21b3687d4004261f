// SPDX-License-Identifier: MIT
// The host side of `bench/run blk`: the patterns of guests/bench_blk.c run
// directly on the image file with pread/pwrite, buffered (no O_DIRECT, no
// fsync: what petrel's and QEMU's defaults do with the same file). DEPTH
// threads, each with its own 4 KiB-aligned buffer, take the requests in
// order from a shared counter: DEPTH requests in flight, as in the guest.
//   hostio FILE MB SEQ_KIB PASSES COUNT DEPTH
// Output: "blk: NAME BYTES NANOSECONDS" per pattern, then "blk: done".
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

#define MAX_DEPTH 8

static int fd;
static size_t req;
static uint64_t region;

/* The pattern being run: request i is `len` bytes at off[i]. */
static struct {
	int write;
	size_t len;
	uint64_t *off;
	unsigned long n, next;
} job;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void *worker(void *buf)
{
	unsigned long i;

	while ((i = __atomic_fetch_add(&job.next, 1, __ATOMIC_RELAXED)) < job.n) {
		ssize_t n = job.write ? pwrite(fd, buf, job.len, (off_t)job.off[i])
				      : pread(fd, buf, job.len, (off_t)job.off[i]);

		if (n != (ssize_t)job.len) {
			perror(job.write ? "hostio: pwrite" : "hostio: pread");
			exit(1);
		}
	}
	return NULL;
}

static void run(const char *name, int write, size_t len, uint64_t *off, unsigned long n,
		uint8_t **bufs, unsigned int depth)
{
	pthread_t t[MAX_DEPTH];
	uint64_t t0 = now_ns();

	job.write = write, job.len = len, job.off = off, job.n = n, job.next = 0;
	for (unsigned int i = 0; i < depth; i++)
		if (pthread_create(&t[i], NULL, worker, bufs[i])) {
			fprintf(stderr, "hostio: pthread_create failed\n");
			exit(1);
		}
	for (unsigned int i = 0; i < depth; i++)
		pthread_join(t[i], NULL);
	printf("blk: %s %llu %llu\n", name, (unsigned long long)n * len,
	       (unsigned long long)(now_ns() - t0));
}

int main(int argc, char **argv)
{
	unsigned long passes, count, nseq;
	uint8_t *bufs[MAX_DEPTH];
	uint64_t *seq, *rnd, state = BENCH_LCG_SEED;
	unsigned int depth;

	if (argc != 7) {
		fprintf(stderr, "usage: hostio FILE MB SEQ_KIB PASSES COUNT DEPTH\n");
		return 2;
	}
	region = strtoull(argv[2], NULL, 0) << 20;
	req = strtoull(argv[3], NULL, 0) << 10;
	passes = strtoul(argv[4], NULL, 0);
	count = strtoul(argv[5], NULL, 0);
	depth = (unsigned int)strtoul(argv[6], NULL, 0);
	nseq = req ? region / req * passes : 0;
	fd = open(argv[1], O_RDWR);
	seq = calloc(nseq + 1, sizeof(*seq));
	rnd = calloc(count + 1, sizeof(*rnd));
	if (fd < 0 || !seq || !rnd || depth < 1 || depth > MAX_DEPTH) {
		perror("hostio (or DEPTH not 1..8)");
		return 1;
	}
	for (unsigned int i = 0; i < depth; i++) {
		if (posix_memalign((void **)&bufs[i], 4096, req)) {
			perror("hostio");
			return 1;
		}
		for (size_t k = 0; k < req; k++)
			bufs[i][k] = (uint8_t)(k * 7 + 1);
	}
	for (unsigned long i = 0; i < nseq; i++)
		seq[i] = i % (region / req) * req;
	for (unsigned long i = 0; i < count; i++)
		rnd[i] = bench_lcg(&state, region / BENCH_RAND_BLOCK) * BENCH_RAND_BLOCK;
	run("seqread", 0, req, seq, nseq, bufs, depth);
	run("seqwrite", 1, req, seq, nseq, bufs, depth);
	run("randread", 0, BENCH_RAND_BLOCK, rnd, count, bufs, depth);
	run("randwrite", 1, BENCH_RAND_BLOCK, rnd, count, bufs, depth);
	printf("blk: done\n");
	for (unsigned int i = 0; i < depth; i++)
		free(bufs[i]);
	free(seq);
	free(rnd);
	close(fd);
	return 0;
}
