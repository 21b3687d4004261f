/* SPDX-License-Identifier: MIT */
/*
 * A device queue's rate limiter (ratelimit.h) with its clock and the
 * timer that wakes the queue when a refused request could pass.
 *
 * The timerfd is created with the device, disarmed, and watched by the
 * event loop for the device's whole life, limited or not: a limit set at
 * run time then needs neither timerfd_create (not in the seccomp filters
 * once they are installed) nor evloop_add (not safe while the loop runs
 * on another thread). Firecracker does the same for the same reason.
 *
 * A refused request is never failed: the device leaves it where it was
 * (on the ring, or a frame in the tap's queue), and the timer, armed for
 * the moment it could pass, brings the device back to it. Every call is
 * made with the device's lock held (the timer callback takes it too), on
 * the event-loop thread or a vCPU thread.
 */
#ifndef PETREL_VIRTIO_THROTTLE_H
#define PETREL_VIRTIO_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "log.h"
#include "ratelimit.h"

struct throttle {
	struct ratelimit rl;
	int timer_fd;	    /* CLOCK_MONOTONIC timerfd, -1 before throttle_open */
	bool waiting;	    /* a request was refused and has not passed since */
	uint64_t throttled; /* times a request was refused when none was waiting */
};

/* No limit, timer disarmed; `on_timer(opaque)` runs on the event-loop
 * thread when it expires (it takes the device's lock, calls
 * throttle_expired, then serves the queue again). 0 or -errno (nothing
 * left open). */
int throttle_open(struct throttle *t, struct evloop *ev, evloop_fn on_timer,
		  void *opaque) MUST_CHECK;

/* Stop watching and close the timer (device teardown). */
void throttle_close(struct throttle *t, struct evloop *ev);

/* A new limit (ratelimit_update: changed buckets start full); the timer
 * is disarmed and nothing waits any more, so the caller serves the queue
 * again at once to apply the new limit to what was waiting. */
void throttle_set(struct throttle *t, const struct ratelimit_config *cfg);

/* May a request of `bytes` and `ops` go now? True: taken from the
 * buckets. False: nothing taken, the timer is armed for when it could
 * pass (and `throttled` counted unless a request was already waiting). */
bool throttle_take(struct throttle *t, uint64_t bytes, uint64_t ops) MUST_CHECK;

/* May a frame of a size known only once read start now? (Some budget
 * left, no debt.) False as throttle_take. Charge it with throttle_charge. */
bool throttle_ready(struct throttle *t) MUST_CHECK;

/* Take `bytes` and `ops` whatever is left (the rest becomes debt). */
void throttle_charge(struct throttle *t, uint64_t bytes, uint64_t ops);

/* Disarm the timer; nothing waits (device reset). The buckets keep their
 * state: a reset is no way around a limit. */
void throttle_stop(struct throttle *t);

/* In the timer callback: consume the expiration; nothing waits any more. */
void throttle_expired(struct throttle *t);

#endif
