/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_vmsg(const char *fmt, va_list ap)
{
	char buf[512], *line = buf;
	va_list again;

	/* A line naming a long path (up to PATH_MAX, or two of them) is
	 * printed whole: cut short, it would lose the reason at its end. */
	va_copy(again, ap);
	if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf) &&
	    vasprintf(&line, fmt, again) < 0)
		line = buf;
	va_end(again);
	/* A message is one line, whatever it quotes: a file name or option
	 * value with a newline, or a terminal escape sequence, must neither
	 * split it nor drive the user's terminal. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* One fputs per line, so lines from vCPU threads never interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "petrel: %s\n", line);
	pthread_mutex_unlock(&log_lock);
	if (line != buf)
		free(line);
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(fmt, ap);
	va_end(ap);
}

void log_limited(struct log_limit *lim, const char *fmt, ...)
{
	va_list ap;
	bool say = false, tell = false;

	pthread_mutex_lock(&log_lock);
	if (lim->left > 0) {
		lim->left--;
		say = true;
	} else if (!lim->told) {
		lim->told = true;
		tell = true;
	}
	pthread_mutex_unlock(&log_lock);
	if (say) {
		va_start(ap, fmt);
		log_vmsg(fmt, ap);
		va_end(ap);
	} else if (tell) {
		log_msg("further messages of this kind suppressed");
	}
}
