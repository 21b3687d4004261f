/* SPDX-License-Identifier: MIT */
#include "virtio/throttle.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static struct log_limit timer_log = LOG_LIMIT_INIT(4);

static uint64_t throttle_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Arm (deadline > 0, absolute CLOCK_MONOTONIC ns) or disarm (0) the timer.
 * timerfd_settime only fails for bad arguments, which these are not; say
 * so once rather than leave a queue waiting silently. */
static void throttle_arm(struct throttle *t, uint64_t deadline)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(deadline / 1000000000u),
			      .tv_nsec = (long)(deadline % 1000000000u) },
	};

	if (timerfd_settime(t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		log_limited(&timer_log, "rate limiter: timerfd_settime: %s", strerror(errno));
}

int throttle_open(struct throttle *t, struct evloop *ev, evloop_fn on_timer, void *opaque)
{
	static const struct ratelimit_config none;
	int err;

	*t = (struct throttle){ .timer_fd = -1 };
	ratelimit_init(&t->rl, &none, 0);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->timer_fd < 0)
		return -errno;
	err = evloop_add(ev, t->timer_fd, EPOLLIN, on_timer, opaque);
	if (err) {
		close(t->timer_fd);
		t->timer_fd = -1;
	}
	return err;
}

void throttle_close(struct throttle *t, struct evloop *ev)
{
	if (t->timer_fd < 0)
		return;
	evloop_del(ev, t->timer_fd);
	close(t->timer_fd);
	t->timer_fd = -1;
}

void throttle_set(struct throttle *t, const struct ratelimit_config *cfg)
{
	ratelimit_update(&t->rl, cfg, throttle_now());
	throttle_stop(t);
}

/* A request that must wait `wait` ns from `now`. */
static void throttle_refused(struct throttle *t, uint64_t now, uint64_t wait)
{
	if (!t->waiting)
		t->throttled++;
	t->waiting = true;
	throttle_arm(t, wait > UINT64_MAX - now ? UINT64_MAX : now + wait);
}

bool throttle_take(struct throttle *t, uint64_t bytes, uint64_t ops)
{
	uint64_t now, wait;

	if (!ratelimit_enabled(&t->rl))
		return true;
	now = throttle_now();
	wait = ratelimit_take(&t->rl, now, bytes, ops);
	if (wait) {
		throttle_refused(t, now, wait);
		return false;
	}
	t->waiting = false; /* its timer may still fire: a harmless extra pass */
	return true;
}

bool throttle_ready(struct throttle *t)
{
	uint64_t now, wait;

	if (!ratelimit_enabled(&t->rl))
		return true;
	now = throttle_now();
	wait = ratelimit_wait(&t->rl, now, 1, 1);
	if (wait) {
		throttle_refused(t, now, wait);
		return false;
	}
	t->waiting = false;
	return true;
}

void throttle_charge(struct throttle *t, uint64_t bytes, uint64_t ops)
{
	if (ratelimit_enabled(&t->rl))
		ratelimit_charge(&t->rl, throttle_now(), bytes, ops);
}

void throttle_stop(struct throttle *t)
{
	throttle_arm(t, 0);
	t->waiting = false;
}

void throttle_expired(struct throttle *t)
{
	uint64_t n;

	/* EAGAIN: re-armed or disarmed since it fired; the caller serves the
	 * queue anyway, which re-arms if it must. */
	if (read(t->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_limited(&timer_log, "rate limiter: timerfd read: %s", strerror(errno));
	t->waiting = false;
}
