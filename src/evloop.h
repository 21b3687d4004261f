/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll thread (the main thread) owns every device fd:
 * console input, and later device backends. vCPU threads never block on
 * host I/O other than what their exit handler does directly.
 */
#ifndef PETREL_EVLOOP_H
#define PETREL_EVLOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

typedef void (*evloop_fn)(void *opaque, uint32_t events);

#define EVLOOP_MAX_WATCHES 256

struct evloop_watch {
	int fd;
	evloop_fn fn;
	void *opaque;
};

struct evloop {
	int epfd;
	int wake_fd;	  /* eventfd: evloop_wake() makes evloop_run re-check quit */
	atomic_bool quit; /* evloop_quit: evloop_run returns */
	struct evloop_watch watch[EVLOOP_MAX_WATCHES];
	unsigned int nwatches;
};

int evloop_init(struct evloop *ev) MUST_CHECK;
void evloop_destroy(struct evloop *ev);

/* Watch fd for `events` (EPOLLIN...). 0 or -errno. */
int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_fn fn, void *opaque) MUST_CHECK;
/* Change the events watched on fd (0 pauses it). 0 or -errno. */
int evloop_mod(struct evloop *ev, int fd, uint32_t events) MUST_CHECK;
int evloop_del(struct evloop *ev, int fd);

/* Watches come and go with a VM that may be built, fail and be built
 * again on the same loop: evloop_mark() before adding them, and
 * evloop_forget(mark) drops every watch added since (their fds may
 * already be closed) and frees their slots. */
unsigned int evloop_mark(const struct evloop *ev);
void evloop_forget(struct evloop *ev, unsigned int mark);

/* Dispatch events until evloop_quit (checked after each batch). */
void evloop_run(struct evloop *ev);

/* Make evloop_run return. Safe from any thread. */
void evloop_quit(struct evloop *ev);

/* Wake evloop_run from any thread (async-signal-safe: one write()). */
void evloop_wake(struct evloop *ev);

#endif
