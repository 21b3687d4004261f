/* SPDX-License-Identifier: MIT */
/* Messages to stderr, always prefixed "petrel: ", and small shared macros. */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "petrel: <message>\n" on stderr, control characters in the message
 * shown as '?' (it stays one line). Safe from any thread. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like log_msg, but for guest-triggered events: at most `budget` messages
 * for this call site, then one "further messages suppressed" line. A
 * hostile guest must not be able to flood the host's log. */
struct log_limit {
	unsigned int left;
	bool told;
};
#define LOG_LIMIT_INIT(n)                                                                          \
	{                                                                                          \
		.left = (n), .told = false                                                         \
	}
void log_limited(struct log_limit *lim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
