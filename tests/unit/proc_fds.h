/* SPDX-License-Identifier: MIT */
/* Counting this process's open descriptors of one kind, through
 * /proc/self/fd (the tests' way to see that a ring or a timer exists). */
#ifndef PETREL_TEST_PROC_FDS_H
#define PETREL_TEST_PROC_FDS_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How many open fds link to `target` (e.g. "anon_inode:[io_uring]") and
 * pass `keep` (called with the fd's name in /proc/self/fd; NULL: all).
 * keep returns 1 to count, 0 not to, -1 if it cannot tell. -1 if /proc
 * cannot tell. */
static inline int proc_fds_count(const char *target, int (*keep)(const char *fd))
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while (n >= 0 && (e = readdir(d))) {
		char path[300], link[64];
		ssize_t len;
		int k;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = 0;
		if (strcmp(link, target))
			continue;
		k = keep ? keep(e->d_name) : 1;
		n = k < 0 ? -1 : n + k;
	}
	closedir(d);
	return n;
}

#endif
