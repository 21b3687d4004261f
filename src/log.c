/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* The logger's settings; written under log_lock, read under it. */
static struct {
	bool configured; /* Firecracker's form, else "petrel: " on stderr */
	int fd;		 /* the log file, or -1: stderr */
	enum log_level level;
	bool show_level, show_origin;
	char module[64];
	char id[64];
	int err_fd;  /* "stderr": 2, or what log_set_stderr chose */
	long gmtoff; /* local time's offset from UTC (log_signal_safe) */
} logger = { .fd = -1, .level = LOG_WARN, .err_fd = STDERR_FILENO };

static atomic_uint_fast64_t missed, suppressed;

static __thread char thread_role[16]; /* "": none */
static __thread char *capture_buf;
static __thread size_t capture_size;

static const char *const level_name[] = {
	[LOG_OFF] = "Off",   [LOG_ERROR] = "Error", [LOG_WARN] = "Warning",
	[LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

const char *log_level_name(enum log_level level)
{
	return level <= LOG_TRACE ? level_name[level] : "?";
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(level_name); i++)
		if (!strcasecmp(s, level_name[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	if (!strcasecmp(s, "warn")) {
		*out = LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_set_thread(const char *role)
{
	snprintf(thread_role, sizeof(thread_role), "%s", role);
}

const char *log_thread(void)
{
	return thread_role[0] ? thread_role : "main";
}

void log_capture(char *buf, size_t size)
{
	capture_buf = buf;
	capture_size = size;
	if (buf && size)
		buf[0] = 0;
}

uint64_t log_missed(void)
{
	return atomic_load(&missed);
}

uint64_t log_suppressed(void)
{
	return atomic_load(&suppressed);
}

/* "2026-12-06T02:15:08.123456789" in local time, as Firecracker writes. */
static void log_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* Write one whole line; a short or failed write is a missed line (a full
 * FIFO must not stall the thread that logs, a vCPU perhaps). */
static void log_emit(int fd, const char *line, size_t len)
{
	if (write(fd, line, len) != (ssize_t)len)
		atomic_fetch_add(&missed, 1);
}

static void log_vat(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	char buf[512], *msg = buf, *out = NULL, stamp[80], origin[96] = "";
	const char *role = log_thread();
	va_list again;
	int n;

	/* A line naming a long path (up to PATH_MAX, or two of them) is
	 * printed whole: cut short, it would lose the reason at its end. */
	va_copy(again, ap);
	if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf) &&
	    vasprintf(&msg, fmt, again) < 0)
		msg = buf;
	va_end(again);
	/* A message is one line, whatever it quotes: a file name or option
	 * value with a newline, or a terminal escape sequence, must neither
	 * split it nor drive the user's terminal. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* meson compiles "../src/x.c" from the build directory. */
	while (!strncmp(file, "../", 3))
		file += 3;
	if (capture_buf && capture_size && !capture_buf[0] && level <= LOG_WARN)
		snprintf(capture_buf, capture_size, "%s", msg);
	pthread_mutex_lock(&log_lock);
	if (level > logger.level || level == LOG_OFF ||
	    (logger.module[0] && strncmp(file, logger.module, strlen(logger.module)))) {
		n = -1;
	} else if (!logger.configured) {
		n = asprintf(&out, "petrel: %s\n", msg);
	} else {
		log_timestamp(stamp, sizeof(stamp));
		if (logger.show_origin)
			snprintf(origin, sizeof(origin), ":%s:%d", file, line);
		n = asprintf(&out, "%s [%s:%s%s%s%s] %s\n", stamp, logger.id, role,
			     logger.show_level ? ":" : "",
			     logger.show_level ? log_level_name(level) : "", origin, msg);
	}
	/* One write per line, so lines from several threads never interleave. */
	if (n > 0)
		log_emit(logger.fd >= 0 ? logger.fd : logger.err_fd, out, (size_t)n);
	pthread_mutex_unlock(&log_lock);
	free(out);
	if (msg != buf)
		free(msg);
}

void log_at(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vat(level, file, line, fmt, ap);
	va_end(ap);
}

void log_limited_at(struct log_limit *lim, const char *file, int line, const char *fmt, ...)
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
	if (!say)
		atomic_fetch_add(&suppressed, 1);
	pthread_mutex_unlock(&log_lock);
	if (say) {
		va_start(ap, fmt);
		log_vat(LOG_WARN, file, line, fmt, ap);
		va_end(ap);
	} else if (tell) {
		log_at(LOG_WARN, file, line, "further messages of this kind suppressed");
	}
}

/* Async-signal-safe appending for log_signal_safe: `s`, or `v` in
 * decimal padded with zeroes to `width` digits. */
static size_t sig_str(char *buf, size_t off, size_t size, const char *s)
{
	while (*s && off + 1 < size)
		buf[off++] = *s++;
	return off;
}

static size_t sig_num(char *buf, size_t off, size_t size, uint64_t v, unsigned int width)
{
	char d[24];
	unsigned int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(d));
	while (n < width && n < sizeof(d))
		d[n++] = '0';
	while (n && off + 1 < size)
		buf[off++] = d[--n];
	return off;
}

/* The stamp of log_timestamp without localtime_r (which takes a lock):
 * days to a civil date as in H. Hinnant's days_from_civil, inverted. */
static size_t sig_stamp(char *buf, size_t off, size_t size)
{
	struct timespec ts;
	int64_t t, days, secs, era, doe, yoe, doy, mp, y, m, d;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (int64_t)ts.tv_sec + logger.gmtoff;
	days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	secs = t - days * 86400;
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	off = sig_num(buf, off, size, (uint64_t)y, 4);
	off = sig_str(buf, off, size, "-");
	off = sig_num(buf, off, size, (uint64_t)m, 2);
	off = sig_str(buf, off, size, "-");
	off = sig_num(buf, off, size, (uint64_t)d, 2);
	off = sig_str(buf, off, size, "T");
	off = sig_num(buf, off, size, (uint64_t)(secs / 3600), 2);
	off = sig_str(buf, off, size, ":");
	off = sig_num(buf, off, size, (uint64_t)(secs / 60 % 60), 2);
	off = sig_str(buf, off, size, ":");
	off = sig_num(buf, off, size, (uint64_t)(secs % 60), 2);
	off = sig_str(buf, off, size, ".");
	return sig_num(buf, off, size, (uint64_t)ts.tv_nsec, 9);
}

/* The logger's settings are read without the lock: they change only
 * before the VM starts, and a torn read costs one odd line. */
void log_signal_safe(const char *msg)
{
	char buf[512];
	size_t n = 0;

	if (logger.level < LOG_ERROR)
		return;
	if (!logger.configured) {
		n = sig_str(buf, n, sizeof(buf), "petrel: ");
	} else {
		n = sig_stamp(buf, n, sizeof(buf));
		n = sig_str(buf, n, sizeof(buf), " [");
		n = sig_str(buf, n, sizeof(buf), logger.id);
		n = sig_str(buf, n, sizeof(buf), ":");
		n = sig_str(buf, n, sizeof(buf), log_thread());
		if (logger.show_level)
			n = sig_str(buf, n, sizeof(buf), ":Error");
		n = sig_str(buf, n, sizeof(buf), "] ");
	}
	n = sig_str(buf, n, sizeof(buf), msg);
	buf[n++] = '\n';
	log_emit(logger.fd >= 0 ? logger.fd : logger.err_fd, buf, n);
}

int log_configure(const char *path, enum log_level level, bool show_level, bool show_origin,
		  const char *module, const char *id)
{
	time_t now;
	struct tm tm;
	long gmtoff;
	int fd = -1;

	if (path && *path) {
		struct stat st;

		/* O_NONBLOCK: a FIFO with no reader yet must not hang us, and a
		 * full one must not stall a logging thread (log_emit). */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
		if (fd < 0 && errno == ENXIO) { /* a FIFO nobody reads yet */
			log_msg("log file '%s': a FIFO with no reader", path);
			return -ENXIO;
		}
		if (fd < 0) {
			int err = -errno;

			log_msg("log file '%s': %s", path, strerror(-err));
			return err;
		}
		if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
			log_msg("log file '%s': not a regular file or a FIFO", path);
			close(fd);
			return -EINVAL;
		}
	}
	/* localtime_r reads the zone once; now, before seccomp filters and
	 * jails, and not on the first vCPU that logs. */
	tzset();
	now = time(NULL);
	gmtoff = localtime_r(&now, &tm) ? tm.tm_gmtoff : 0;
	pthread_mutex_lock(&log_lock);
	logger.gmtoff = gmtoff;
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = fd;
	logger.configured = true;
	logger.level = level;
	logger.show_level = show_level;
	logger.show_origin = show_origin;
	snprintf(logger.module, sizeof(logger.module), "%s", module ? module : "");
	snprintf(logger.id, sizeof(logger.id), "%s", id ? id : "");
	pthread_mutex_unlock(&log_lock);
	return 0;
}

void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = -1;
	logger.configured = false;
	logger.level = LOG_WARN;
	logger.module[0] = 0;
	pthread_mutex_unlock(&log_lock);
}

int log_set_stderr(int fd)
{
	int old;

	pthread_mutex_lock(&log_lock);
	old = logger.err_fd;
	logger.err_fd = fd;
	pthread_mutex_unlock(&log_lock);
	return old;
}
