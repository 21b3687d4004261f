/* SPDX-License-Identifier: MIT */
#include "evloop.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void evloop_drain_wake(void *opaque, uint32_t events)
{
	struct evloop *ev = opaque;
	uint64_t v;

	(void)events;
	if (read(ev->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_msg("event loop: wake eventfd: %m");
}

int evloop_init(struct evloop *ev)
{
	int err;

	*ev = (struct evloop){ .epfd = -1, .wake_fd = -1 };
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0)
		return -errno;
	ev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->wake_fd < 0) {
		err = -errno;
		goto err_epoll;
	}
	err = evloop_add(ev, ev->wake_fd, EPOLLIN, evloop_drain_wake, ev);
	if (err)
		goto err_eventfd;
	return 0;

err_eventfd:
	close(ev->wake_fd);
err_epoll:
	close(ev->epfd);
	ev->epfd = ev->wake_fd = -1;
	return err;
}

void evloop_destroy(struct evloop *ev)
{
	if (ev->wake_fd >= 0)
		close(ev->wake_fd);
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = ev->wake_fd = -1;
	ev->nwatches = 0;
}

int evloop_add(struct evloop *ev, int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	struct epoll_event e = { .events = events };

	if (ev->nwatches == EVLOOP_MAX_WATCHES)
		return -ENOSPC;
	e.data.u32 = ev->nwatches;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e))
		return -errno;
	ev->watch[ev->nwatches++] = (struct evloop_watch){ fd, fn, opaque };
	return 0;
}

static int evloop_index(const struct evloop *ev, int fd)
{
	for (unsigned int i = 0; i < ev->nwatches; i++)
		if (ev->watch[i].fd == fd)
			return (int)i;
	return -ENOENT;
}

int evloop_mod(struct evloop *ev, int fd, uint32_t events)
{
	int i = evloop_index(ev, fd);
	struct epoll_event e = { .events = events };

	if (i < 0)
		return i;
	e.data.u32 = (uint32_t)i;
	return epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &e) ? -errno : 0;
}

int evloop_del(struct evloop *ev, int fd)
{
	int i = evloop_index(ev, fd);

	if (i < 0)
		return i;
	/* Keep indices stable: the slot stays, pointing at nothing. */
	epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	ev->watch[i].fd = -1;
	return 0;
}

unsigned int evloop_mark(const struct evloop *ev)
{
	return ev->nwatches;
}

void evloop_forget(struct evloop *ev, unsigned int mark)
{
	while (ev->nwatches > mark) {
		struct evloop_watch *w = &ev->watch[--ev->nwatches];

		/* EBADF / ENOENT when the fd was closed first: nothing left. */
		if (w->fd >= 0)
			epoll_ctl(ev->epfd, EPOLL_CTL_DEL, w->fd, NULL);
		w->fd = -1;
	}
}

void evloop_run(struct evloop *ev)
{
	struct epoll_event events[16];

	while (!atomic_load(&ev->quit)) {
		int n = epoll_wait(ev->epfd, events, ARRAY_SIZE(events), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg("event loop: epoll_wait: %m");
			return;
		}
		for (int i = 0; i < n; i++) {
			uint32_t idx = events[i].data.u32;

			/* A callback earlier in this batch may have forgotten
			 * the watch (evloop_forget). */
			if (idx < ev->nwatches && ev->watch[idx].fd >= 0)
				ev->watch[idx].fn(ev->watch[idx].opaque, events[i].events);
		}
	}
}

void evloop_quit(struct evloop *ev)
{
	atomic_store(&ev->quit, true);
	evloop_wake(ev);
}

void evloop_wake(struct evloop *ev)
{
	uint64_t one = 1;

	/* Can only fail if the counter is at its maximum: already woken. */
	if (write(ev->wake_fd, &one, sizeof(one)) < 0)
		return;
}
