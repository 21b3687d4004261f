/* SPDX-License-Identifier: MIT */
/*
 * The tap backend: one fd that reads and writes one frame with its
 * virtio_net_hdr per call (a tap with IFF_VNET_HDR, see tap.c; in tests a
 * SOCK_SEQPACKET socket). The header goes through unchanged, so the
 * offloads the driver negotiated work end to end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "virtio/net_backend.h"
#include "virtio/tap.h"
#include "virtio/virtio.h"

/* Messages a guest or a peer can trigger, of every tap backend. */
static struct log_limit tap_log = LOG_LIMIT_INIT(16);

struct net_tap {
	struct net_backend b;
	int fd;
	bool is_tap;
	bool polling; /* EPOLLIN watched */
	bool gone;    /* hung up or failed; no longer watched */
};

/* The fd hung up or failed: stop watching it for good (a hung-up fd is
 * reported even with no events requested). */
static void tap_gone(struct net_tap *t, const char *why)
{
	if (t->gone)
		return;
	log_msg("virtio-net: backend %s; the link carries nothing more", why);
	if (evloop_del(t->b.host.ev, t->fd))
		log_msg("virtio-net: could not stop watching the backend");
	t->gone = true;
	t->polling = false;
}

static void tap_on_event(void *opaque, uint32_t events)
{
	struct net_tap *t = opaque;

	virtio_lock(t->b.host.dev);
	if (events & (EPOLLERR | EPOLLHUP))
		tap_gone(t, events & EPOLLERR ? "failed" : "hung up");
	else
		t->b.host.rx_ready(t->b.host.opaque);
	virtio_unlock(t->b.host.dev);
}

static ssize_t tap_recv(struct net_backend *b, const struct iovec *iov, unsigned int n)
{
	struct net_tap *t = (struct net_tap *)b;
	ssize_t got;

	if (t->gone)
		return 0;
	got = readv(t->fd, iov, (int)n);
	if (got > 0)
		return got;
	if (got == 0) { /* an empty datagram, not end of file (a tap never reads 0) */
		b->stats.rx_bad++;
		return NET_BACKEND_DROPPED;
	}
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	got = -errno;
	tap_gone(t, strerror(errno));
	return got;
}

static int tap_send(struct net_backend *b, const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_tap *t = (struct net_tap *)b;

	(void)len;
	if (t->gone)
		return -ENOTCONN;
	/* EAGAIN: a full socket backend (a tap never blocks writers). */
	return writev(t->fd, iov, (int)n) < 0 ? -errno : 0;
}

static void tap_poll_rx(struct net_backend *b, bool on)
{
	struct net_tap *t = (struct net_tap *)b;
	int err;

	if (t->polling == on || t->gone)
		return;
	err = evloop_mod(b->host.ev, t->fd, on ? EPOLLIN : 0);
	if (err) {
		log_limited(&tap_log, "virtio-net: epoll: %s", strerror(-err));
		return;
	}
	t->polling = on;
}

static int tap_offloads(struct net_backend *b, unsigned int tun_flags)
{
	struct net_tap *t = (struct net_tap *)b;

	return t->is_tap ? tap_set_offload(t->fd, tun_flags) : 0;
}

static void tap_destroy(struct net_backend *b)
{
	struct net_tap *t = (struct net_tap *)b;

	if (!t->gone)
		evloop_del(b->host.ev, t->fd);
	close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.kind = "tap",
	.recv = tap_recv,
	.send = tap_send,
	.poll_rx = tap_poll_rx,
	.set_offloads = tap_offloads,
	.destroy = tap_destroy,
};

int net_tap_open(const struct net_backend_host *host, int fd, bool is_tap, struct net_backend **out)
{
	struct net_tap *t = calloc(1, sizeof(*t));
	int err;

	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	t->b = (struct net_backend){ .ops = &tap_ops, .host = *host, .offloads = true };
	t->fd = fd;
	t->is_tap = is_tap;
	err = evloop_add(host->ev, fd, 0, tap_on_event, t);
	if (err) {
		close(fd);
		free(t);
		return err;
	}
	*out = &t->b;
	return 0;
}
