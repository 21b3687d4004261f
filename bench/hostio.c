// SPDX-License-Identifier: MIT
// The host side of `bench/run blk`: the patterns of guests/bench_blk.c run
// directly on the image file with pread/pwrite, one request at a time,
// buffered (no O_DIRECT, no fsync: what petrel's and QEMU's defaults do
// with the same file), from one 4 KiB-aligned buffer.
//   hostio FILE MB SEQ_KIB PASSES COUNT
// Output: "blk: NAME BYTES NANOSECONDS" per pattern, then "blk: done".
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

static int fd;
static uint8_t *buf;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void io(int write, uint64_t off, size_t len)
{
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);

	if (n != (ssize_t)len) {
		perror(write ? "hostio: pwrite" : "hostio: pread");
		exit(1);
	}
}

static void seq_pass(const char *name, int write, uint64_t region, size_t req, unsigned long passes)
{
	uint64_t t0 = now_ns(), bytes = 0;

	for (unsigned long p = 0; p < passes; p++)
		for (uint64_t off = 0; off + req <= region; off += req, bytes += req)
			io(write, off, req);
	printf("blk: %s %llu %llu\n", name, (unsigned long long)bytes,
	       (unsigned long long)(now_ns() - t0));
}

static void rand_pass(const char *name, int write, uint64_t region, unsigned long count)
{
	uint64_t t0 = now_ns(), state = BENCH_LCG_SEED;

	for (unsigned long i = 0; i < count; i++)
		io(write, bench_lcg(&state, region / BENCH_RAND_BLOCK) * BENCH_RAND_BLOCK,
		   BENCH_RAND_BLOCK);
	printf("blk: %s %llu %llu\n", name, (unsigned long long)count * BENCH_RAND_BLOCK,
	       (unsigned long long)(now_ns() - t0));
}

int main(int argc, char **argv)
{
	uint64_t region;
	size_t req;
	unsigned long passes, count;

	if (argc != 6) {
		fprintf(stderr, "usage: hostio FILE MB SEQ_KIB PASSES COUNT\n");
		return 2;
	}
	region = strtoull(argv[2], NULL, 0) << 20;
	req = strtoull(argv[3], NULL, 0) << 10;
	passes = strtoul(argv[4], NULL, 0);
	count = strtoul(argv[5], NULL, 0);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, req)) {
		perror("hostio");
		return 1;
	}
	for (size_t i = 0; i < req; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	seq_pass("seqread", 0, region, req, passes);
	seq_pass("seqwrite", 1, region, req, passes);
	rand_pass("randread", 0, region, count);
	rand_pass("randwrite", 1, region, count);
	printf("blk: done\n");
	return 0;
}
