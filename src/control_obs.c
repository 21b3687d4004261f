/* SPDX-License-Identifier: MIT */
/*
 * Logs and metrics through the API, and the metrics file: opened
 * non-blocking when it is configured (a FIFO with no reader is an
 * error, as for the log), one JSON line per flush (when the VM starts,
 * every 60 s after, on FlushMetrics and when petrel exits). A full FIFO
 * never blocks the VMM thread: a line that does not fit at all is missed
 * (its changes go into the next line), and one that fits in part is
 * finished when the FIFO has room, before any other line. VMM thread.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_signal.h"

/* Firecracker's WRITE_METRICS_PERIOD_MS. */
#define OBS_PERIOD_S 60

static uint64_t obs_now_us(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* ------------------------------------------------------------- the file */

/* Watch a FIFO for room while part of a line waits. */
static void obs_watch(struct control *ctl, bool on)
{
	if (ctl->obs.watched && evloop_mod(&ctl->ev, ctl->obs.fd, on ? EPOLLOUT : 0))
		log_msg("metrics file: epoll: %m");
}

static void obs_drop_pending(struct control *ctl)
{
	free(ctl->obs.pending);
	ctl->obs.pending = NULL;
	metrics_signal_line_open(false);
	obs_watch(ctl, false);
}

/* Write what is left of the last line. 0 when none is left, -EAGAIN if
 * some still is, or -errno (the rest is dropped). */
static int obs_write_pending(struct control *ctl)
{
	struct control_obs *o = &ctl->obs;
	ssize_t n;

	while (o->pending && o->pending_off < o->pending_len) {
		n = write(o->fd, o->pending + o->pending_off, o->pending_len - o->pending_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return -EAGAIN;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			o->fails++;
			obs_drop_pending(ctl);
			return err;
		}
		o->pending_off += (size_t)n;
	}
	obs_drop_pending(ctl);
	return 0;
}

/* The FIFO has room for a line written in part, or its reader left. */
static void obs_on_room(void *opaque, uint32_t events)
{
	struct control *ctl = opaque;

	if (!(events & (EPOLLERR | EPOLLHUP))) {
		(void)obs_write_pending(ctl);
		return;
	}
	/* No reader: the rest of the line is lost, and epoll would report
	 * the error on every round. Lines from now on fail with EPIPE (and
	 * count as missed) until a reader comes back. */
	if (ctl->obs.pending) {
		ctl->obs.fails++;
		obs_drop_pending(ctl);
	}
	evloop_del(&ctl->ev, ctl->obs.fd);
	ctl->obs.watched = false;
}

/* Keep `line` (malloc'd, `len` bytes, `off` written) to finish later. */
static void obs_keep_pending(struct control *ctl, char *line, size_t off, size_t len)
{
	struct control_obs *o = &ctl->obs;

	o->pending = line;
	o->pending_off = off;
	o->pending_len = len;
	metrics_signal_line_open(true);
	obs_watch(ctl, true);
}

int control_metrics_flush(struct control *ctl)
{
	struct control_obs *o = &ctl->obs;
	size_t len;
	ssize_t n;
	char *line;
	int err;

	if (o->fd < 0)
		return 0;
	err = obs_write_pending(ctl);
	if (err) {
		o->missed++;
		return err;
	}
	control_metrics_collect(ctl, o->m);
	line = metrics_json(o->m, obs_now_us(CLOCK_REALTIME) / 1000, &len);
	if (!line) {
		o->missed++;
		o->fails++;
		return -ENOMEM;
	}
	do
		n = write(o->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || n == 0) {
		err = n < 0 ? -errno : -EIO;
		o->missed++;
		o->fails += err != -EAGAIN;
		free(line);
		return err; /* the base stays: the next line has these changes too */
	}
	metrics_flushed(o->m);
	if ((size_t)n < len) {
		obs_keep_pending(ctl, line, (size_t)n, len);
		return 0;
	}
	free(line);
	return 0;
}

static void obs_on_timer(void *opaque, uint32_t events)
{
	struct control *ctl = opaque;
	uint64_t ticks;

	(void)events;
	if (read(ctl->obs.timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	(void)control_metrics_flush(ctl);
}

/* Open the metrics file `path` and the flush timer. 0 or -errno after one
 * message naming the file (nothing changed). */
static int obs_open(struct control *ctl, const char *path)
{
	struct control_obs *o = &ctl->obs;
	struct stat st;
	int fd, tfd, err;

	/* O_NONBLOCK: a full FIFO must not stall the VMM thread. */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0) {
		err = -errno;
		if (err == -ENXIO)
			log_msg("metrics file '%s': a FIFO with no reader", path);
		else
			log_msg("metrics file '%s': %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		log_msg("metrics file '%s': not a regular file or a FIFO", path);
		close(fd);
		return -EINVAL;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	err = tfd < 0 ? -errno : evloop_add(&ctl->ev, tfd, EPOLLIN, obs_on_timer, ctl);
	if (err) {
		log_msg("metrics file '%s': timer: %s", path, strerror(-err));
		if (tfd >= 0)
			close(tfd);
		close(fd);
		return err;
	}
	o->fd = fd;
	o->timer_fd = tfd;
	/* Only a pipe takes part of a line; watched (for nothing yet) from
	 * now, before any VM's watches, which a failed start forgets. */
	o->watched = S_ISFIFO(st.st_mode) && !evloop_add(&ctl->ev, fd, 0, obs_on_room, ctl);
	metrics_signal_set_fd(fd);
	return 0;
}

int control_metrics_init(struct control *ctl)
{
	int err;

	ctl->obs.fd = ctl->obs.timer_fd = -1;
	err = metrics_create(&ctl->obs.m);
	if (err) {
		log_msg("metrics: %s", strerror(-err));
		return err;
	}
	return ctl->cfg.metrics.path[0] ? obs_open(ctl, ctl->cfg.metrics.path) : 0;
}

void control_metrics_arm(struct control *ctl)
{
	struct itimerspec t = { .it_interval = { .tv_sec = OBS_PERIOD_S },
				.it_value = { .tv_sec = OBS_PERIOD_S } };

	if (ctl->obs.timer_fd >= 0 && timerfd_settime(ctl->obs.timer_fd, 0, &t, NULL))
		log_msg("metrics: timer: %m");
}

void control_metrics_ready(struct control *ctl)
{
	if (ctl->obs.startup_us)
		return;
	ctl->obs.startup_us = obs_now_us(CLOCK_MONOTONIC) - ctl->opt.start_ns / 1000;
	ctl->obs.startup_cpu_us = obs_now_us(CLOCK_PROCESS_CPUTIME_ID);
}

void control_metrics_destroy(struct control *ctl)
{
	struct control_obs *o = &ctl->obs;

	if (o->pending)
		(void)obs_write_pending(ctl);
	obs_drop_pending(ctl);
	metrics_signal_set_fd(-1);
	if (o->watched)
		evloop_del(&ctl->ev, o->fd);
	if (o->timer_fd >= 0) {
		evloop_del(&ctl->ev, o->timer_fd);
		close(o->timer_fd);
	}
	if (o->fd >= 0)
		close(o->fd);
	metrics_destroy(o->m);
	*o = (struct control_obs){ .fd = -1, .timer_fd = -1 };
}

/* ------------------------------------------------------------------ API */

void control_api_observe(struct control *ctl, const struct api_request *r, struct api_result *res)
{
	char msg[API_FAULT_MAX];
	int err;

	if (r->action == API_PUT_LOGGER) {
		log_capture(msg, sizeof(msg));
		err = control_logger(&r->u.logger, ctl->id);
		log_capture(NULL, 0);
		if (err) {
			res->status = 400;
			snprintf(res->fault, sizeof(res->fault), "%s", msg);
			return;
		}
		ctl->cfg.logger = r->u.logger;
		res->status = 204;
		return;
	}
	/* PUT /metrics, once (Firecracker's rule, --metrics-path included). */
	res->status = 400;
	if (ctl->obs.fd >= 0) {
		snprintf(res->fault, sizeof(res->fault),
			 "Reinitialization of metrics not allowed.");
		return;
	}
	log_capture(msg, sizeof(msg));
	err = obs_open(ctl, r->u.metrics.path);
	log_capture(NULL, 0);
	if (err) {
		snprintf(res->fault, sizeof(res->fault), "%s", msg);
		return;
	}
	ctl->cfg.metrics = r->u.metrics;
	res->status = 204;
}

void control_api_flush_metrics(struct control *ctl, struct api_result *res)
{
	int err = control_metrics_flush(ctl);

	if (!err) {
		res->status = 204;
		return;
	}
	res->status = 400;
	snprintf(res->fault, sizeof(res->fault), "Failed to write metrics: %s", strerror(-err));
}

void control_api_prometheus(struct control *ctl, struct api_result *res)
{
	size_t len;

	control_metrics_collect(ctl, ctl->obs.m);
	res->body = metrics_prometheus(ctl->obs.m, ctl->id, &len);
	if (!res->body) {
		res->status = 400;
		snprintf(res->fault, sizeof(res->fault), "metrics: %s", strerror(ENOMEM));
		return;
	}
	res->content_type = METRICS_PROMETHEUS_TYPE;
	res->status = 200;
}
