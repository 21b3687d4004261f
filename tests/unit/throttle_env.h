/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the tests of the devices' rate limiters, which run with
 * real time and real timers (virtio/throttle.h): the clock, the process's
 * descriptors and armed timerfds, and the event loop run until a queue
 * has used enough buffers.
 */
#ifndef PETREL_TEST_THROTTLE_ENV_H
#define PETREL_TEST_THROTTLE_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "proc_fds.h"

#define MS 1000000ULL

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 * MS + (uint64_t)ts.tv_nsec;
}

/* Open file descriptors of this process (a timer left behind shows). */
static inline int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Run the event loop until fq has `want` used entries (false after 3 s). */
static inline bool run_until(struct evloop *ev, const struct fake_vq *fq, uint16_t want)
{
	uint64_t end = now_ns() + 3000 * MS;

	while ((uint16_t)(fake_vq_used_idx(fq) - want) > 0x8000 && now_ns() < end)
		fake_evloop_pass(ev, 10);
	return fake_vq_used_idx(fq) == want;
}

/* 1 if the timerfd `fd` (a name in /proc/self/fd) has time left: its
 * fdinfo shows it (a disarmed one shows "it_value: (0, 0)"). */
static inline int timer_armed(const char *fd)
{
	char path[300], line[128];
	unsigned long long sec, nsec;
	int armed = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "it_value: (%llu, %llu)", &sec, &nsec) == 2)
			armed |= sec || nsec;
	fclose(f);
	return armed;
}

/* This process's armed timerfds; -1 if /proc cannot tell. */
static inline int armed_timers(void)
{
	return proc_fds_count("anon_inode:[timerfd]", timer_armed);
}

#endif
