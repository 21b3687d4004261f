/* SPDX-License-Identifier: MIT */
/*
 * The VDE backend: a port of a vde_switch (Debian's vde-switch), or
 * whatever else a libvdeplug URL names (vde:///dir, ptp:///sock,
 * vxvde://239.1.2.3, ...), through libvdeplug: vde_open at setup,
 * vde_recv / vde_send on its data fd, which the event loop watches; its
 * control fd ends when the switch goes away. One frame per call, no
 * header, at most VDE_ETHBUFSIZE bytes (VDE's MTU is 9216). The switch
 * and its other ports are as untrusted as a socket peer: runts and frames
 * cut by the buffer are dropped and counted.
 *
 * libvdeplug's calls block on a blocking fd: the data fd is made
 * nonblocking, so a call with nothing to read or no room to send returns
 * EAGAIN. Debian's static libvdeplug.a (what the static petrel links)
 * runs `vde_plug` (package vdeplug) and talks to it over a SOCK_SEQPACKET
 * pair, whose end shows as an empty read; the shared library talks to
 * the switch itself (datagrams; there an empty one is a runt).
 */
#include <errno.h>
#include <fcntl.h>
#include <libvdeplug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/iov.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

#define VDE_ETH_HLEN 14

struct net_vde {
	struct net_backend b;
	VDECONN *conn;
	int datafd, ctlfd; /* ctlfd -1: none, or the switch went away */
	bool polling;
	bool down;	/* the switch (or vde_plug) went away */
	bool seqpacket; /* datafd is vde_plug's: an empty read is its end */
	char what[CONFIG_ID_MAX + CONFIG_NET_ADDR_MAX + 32];
	struct log_limit log;
	uint8_t buf[VDE_ETHBUFSIZE + 1]; /* one byte past: a frame cut by recv shows */
};

/* The switch went away: say so once; the link stays down. */
static void vde_down(struct net_vde *v)
{
	if (v->down)
		return;
	v->down = true;
	if (v->ctlfd >= 0)
		evloop_del(v->b.host.ev, v->ctlfd);
	evloop_del(v->b.host.ev, v->datafd); /* a hung-up fd would wake us forever */
	v->polling = false;
	v->b.stats.disconnects++;
	log_msg("%s: the switch went away; the link is down", v->what);
}

static void vde_on_data(void *opaque, uint32_t events)
{
	struct net_vde *v = opaque;

	virtio_lock(v->b.host.dev);
	/* vde_plug's end shows even while we do not poll: the switch died */
	if (v->seqpacket && (events & (EPOLLHUP | EPOLLERR)))
		vde_down(v);
	else if (v->polling)
		v->b.host.rx_ready(v->b.host.opaque);
	virtio_unlock(v->b.host.dev);
}

/* The switch's control connection: anything but silence means it is gone
 * (it sends nothing after the handshake). */
static void vde_on_ctl(void *opaque, uint32_t events)
{
	struct net_vde *v = opaque;

	(void)events;
	virtio_lock(v->b.host.dev);
	vde_down(v);
	virtio_unlock(v->b.host.dev);
}

static ssize_t vde_net_recv(struct net_backend *b, const struct iovec *iov, unsigned int n)
{
	struct net_vde *v = (struct net_vde *)b;
	ssize_t got;

	if (v->down)
		return 0;
	got = vde_recv(v->conn, v->buf, sizeof(v->buf), MSG_DONTWAIT);
	if (got == 0 && v->seqpacket) {
		vde_down(v);
		return 0;
	}
	if (got < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_limited(&v->log, "%s: %s", v->what, strerror(errno));
		return 0;
	}
	if (got < VDE_ETH_HLEN || got > VDE_ETHBUFSIZE) {
		b->stats.rx_bad++;
		log_limited(&v->log, "%s: dropped a %zd-byte frame from the switch", v->what, got);
		return NET_BACKEND_DROPPED;
	}
	memset(iov[0].iov_base, 0, iov[0].iov_len);
	return (ssize_t)(iov[0].iov_len + iov_copy(iov + 1, n - 1, 0, v->buf, (size_t)got, true));
}

static int vde_net_send(struct net_backend *b, const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_vde *v = (struct net_vde *)b;
	int err;

	if (v->down) {
		b->stats.tx_down++;
		return -ENOTCONN;
	}
	if (len > VDE_ETHBUFSIZE) { /* over VDE's MTU: the switch would not take it */
		log_limited(&v->log, "%s: dropped a %zu-byte frame (VDE takes up to %d)", v->what,
			    len, VDE_ETHBUFSIZE);
		return -EMSGSIZE;
	}
	iov_copy(iov + 1, n - 1, 0, v->buf, len, false);
	if (vde_send(v->conn, v->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 0;
	err = -errno;
	if (err == -EAGAIN || err == -ENOBUFS)
		b->stats.tx_full++;
	else if (v->seqpacket && (err == -EPIPE || err == -ECONNRESET))
		vde_down(v); /* vde_plug is gone */
	return err;
}

static void vde_net_poll_rx(struct net_backend *b, bool on)
{
	struct net_vde *v = (struct net_vde *)b;
	int err;

	if (v->polling == on || v->down)
		return;
	err = evloop_mod(b->host.ev, v->datafd, on ? EPOLLIN : 0);
	if (err) {
		log_limited(&v->log, "%s: epoll: %s", v->what, strerror(-err));
		return;
	}
	v->polling = on;
}

static void vde_net_destroy(struct net_backend *b)
{
	struct net_vde *v = (struct net_vde *)b;

	if (!v->down) {
		evloop_del(b->host.ev, v->datafd);
		if (v->ctlfd >= 0)
			evloop_del(b->host.ev, v->ctlfd);
	}
	vde_close(v->conn);
	free(v);
}

#ifdef PETREL_SANITIZE
/* Debian's libvdeplug.a: vde_close closes vde_plug's socket but never
 * frees the 4-byte connection vde_open allocated (a library leak, one
 * per link, not petrel's). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:vde_open_real\n";
}
#endif

static const struct net_backend_ops vde_ops = {
	.kind = "vde",
	.recv = vde_net_recv,
	.send = vde_net_send,
	.poll_rx = vde_net_poll_rx,
	.destroy = vde_net_destroy,
};

int net_vde_open(const struct net_backend_host *host, const struct net_config *cfg,
		 const uint8_t mac[6], struct net_backend **out)
{
	struct net_vde *v = calloc(1, sizeof(*v));
	struct vde_open_args args = { .port = 0 };
	char url[CONFIG_NET_ADDR_MAX], descr[CONFIG_ID_MAX + 48];
	int err, fl, type = 0;
	socklen_t tlen = sizeof(type);

	if (!v) {
		log_msg("network interface '%s': %s", cfg->id, strerror(ENOMEM));
		return -ENOMEM;
	}
	v->b = (struct net_backend){ .ops = &vde_ops, .host = *host };
	v->log = (struct log_limit)LOG_LIMIT_INIT(16);
	snprintf(v->what, sizeof(v->what), "network interface '%s': vde '%s'", cfg->id, cfg->addr);
	/* What vde_switch's port list shows ("port/print"). */
	snprintf(descr, sizeof(descr), "petrel %d %s %02x:%02x:%02x:%02x:%02x:%02x", (int)getpid(),
		 cfg->id, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	snprintf(url, sizeof(url), "%s", cfg->addr); /* vde_open takes it unconst */
	errno = 0;
	v->conn = vde_open(url, descr, &args);
	if (!v->conn) {
		err = errno ? -errno : -ENOENT;
		log_msg("%s: %s (is a vde_switch running there? vde_switch -s %s)", v->what,
			strerror(-err), cfg->addr);
		free(v);
		return err;
	}
	v->datafd = vde_datafd(v->conn);
	v->ctlfd = vde_ctlfd(v->conn);
	if (v->ctlfd == v->datafd) /* one fd for both: its end is found by reading */
		v->ctlfd = -1;
	v->seqpacket =
	    !getsockopt(v->datafd, SOL_SOCKET, SO_TYPE, &type, &tlen) && type != SOCK_DGRAM;
	fl = fcntl(v->datafd, F_GETFL);
	err = fl < 0 || fcntl(v->datafd, F_SETFL, fl | O_NONBLOCK) ? -errno : 0;
	if (!err)
		err = evloop_add(host->ev, v->datafd, 0, vde_on_data, v);
	if (err)
		goto err_close;
	if (v->ctlfd >= 0) {
		err = evloop_add(host->ev, v->ctlfd, EPOLLIN, vde_on_ctl, v);
		if (err)
			goto err_data;
	}
	v->b.stats.connects = 1;
	*out = &v->b;
	return 0;

err_data:
	evloop_del(host->ev, v->datafd);
err_close:
	vde_close(v->conn);
	log_msg("%s: %s", v->what, strerror(-err));
	free(v);
	return err;
}
