/* SPDX-License-Identifier: MIT */
/*
 * Messages, and small shared macros.
 *
 * Until a logger is configured (--log-path / --level / PUT /logger / the
 * config file's "logger"), messages go to stderr as "petrel: <message>",
 * for the person who started petrel. Once one is, every line has
 * Firecracker's form, to the log file (or FIFO) or stderr:
 *
 *   2026-12-06T02:15:08.123456789 [<id>:<thread>[:<LEVEL>][:<file>:<line>]] <message>
 *
 * with the instance id (--id) and the thread's role (vmm, api, vcpu0,
 * blk-io...). Levels: log_msg is an error the user must see, log_limited
 * a warning about something a guest did, log_info and log_debug what the
 * control plane does.
 */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum log_level { LOG_OFF, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* One line at `level` from file:line, control characters in the message
 * shown as '?' (it stays one line). Safe from any thread. */
void log_at(enum log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_msg(...) log_at(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Like log_msg, but for guest-triggered events (a warning): at most
 * `budget` messages for this call site, then one "further messages
 * suppressed" line. A hostile guest must not be able to flood the host's
 * log. */
struct log_limit {
	unsigned int left;
	bool told;
};
#define LOG_LIMIT_INIT(n)                                                                          \
	{                                                                                          \
		.left = (n), .told = false                                                         \
	}
#define log_limited(lim, ...) log_limited_at((lim), __FILE__, __LINE__, __VA_ARGS__)
void log_limited_at(struct log_limit *lim, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "Off", "Error", "Warning" (or "Warn"), "Info", "Debug", "Trace", in any
 * case. 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out) MUST_CHECK;
const char *log_level_name(enum log_level level);

/* Switch to Firecracker's form: lines at `level` and above, to the file
 * or FIFO `path` (opened for appending, never blocking: a line that does
 * not fit a full FIFO is counted as missed) or, if path is "" or NULL,
 * stderr; `module`, if not empty, keeps only lines from source files
 * under that path. 0, or -errno after a message (nothing changed). */
int log_configure(const char *path, enum log_level level, bool show_level, bool show_origin,
		  const char *module, const char *id) MUST_CHECK;

/* Name the calling thread's role in log lines ("vmm", "api", "vcpu0";
 * copied, at most 15 bytes). */
void log_set_thread(const char *role);

/* The calling thread's role ("main" if it has none). Async-signal-safe. */
const char *log_thread(void);

/* From a signal handler: `msg` as one Error line, in the form log_msg
 * would write it (no origin, no module filter, no capture), with one
 * write() to the log file or stderr. Async-signal-safe: no lock, no
 * allocation; local time from the zone offset log_configure read. */
void log_signal_safe(const char *msg);

/* While set on a thread, the first line it logs at LOG_WARN or more
 * severe is also copied into buf (the control plane answers an API request with
 * the message a failed action printed). NULL ends the capture. */
void log_capture(char *buf, size_t size);

/* Lines that could not be written (full FIFO, failed write). */
uint64_t log_missed(void);

/* log_limited messages not written because their call site's budget was
 * spent. */
uint64_t log_suppressed(void);

/* Write what goes to stderr to `fd` instead (tests and fuzz targets
 * catch messages without taking fd 2 from the sanitizers). Returns the
 * previous one. */
int log_set_stderr(int fd);

/* Close the log file and go back to stderr's short form. */
void log_reset(void);

#endif
