/* SPDX-License-Identifier: MIT */
/*
 * Catch what petrel logs during one call of a fuzz target: messages go to
 * a memfd (log_set_stderr), while libFuzzer and the sanitizers keep file
 * descriptor 2 for their reports.
 */
#ifndef PETREL_FUZZ_LOG_H
#define PETREL_FUZZ_LOG_H

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

struct fuzz_log {
	int fd, saved;
	char text[16384]; /* what was logged, NUL-terminated */
	size_t len;
};

static inline void fuzz_log_begin(struct fuzz_log *l)
{
	l->fd = memfd_create("fuzz-log", MFD_CLOEXEC);
	if (l->fd < 0)
		abort();
	l->saved = log_set_stderr(l->fd);
}

static inline void fuzz_log_end(struct fuzz_log *l)
{
	ssize_t n;

	log_set_stderr(l->saved);
	n = pread(l->fd, l->text, sizeof(l->text) - 1, 0);
	close(l->fd);
	if (n < 0)
		abort();
	l->len = (size_t)n;
	l->text[n] = 0;
}

/* Exactly one line, "petrel: ...\n". */
static inline bool fuzz_log_one_line(const struct fuzz_log *l)
{
	return l->len >= 9 && !memcmp(l->text, "petrel: ", 8) &&
	       memchr(l->text, '\n', l->len) == l->text + l->len - 1;
}

#endif
