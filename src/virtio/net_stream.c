/* SPDX-License-Identifier: MIT */
/*
 * The stream backend: QEMU's -netdev stream framing (net/stream_data.c),
 * also passt's: each Ethernet frame on a unix or TCP stream preceded by
 * its length as a 4-byte big-endian integer, no virtio-net header.
 *
 * One peer at a time. A listening backend accepts one and refuses others
 * while it has one; a connecting backend connects, and again at once when
 * the peer goes away, then every second until it is back. The peer is
 * untrusted: a length under an Ethernet header (0 included) is read and
 * dropped, a length over VIRTIO_NET_FRAME_MAX means the framing is lost
 * and the connection is dropped (as QEMU does). What one connection holds
 * is bounded: the frame being reassembled and the unsent rest of one frame.
 *
 * Several fds (listener, connection, retry timer) come and go; they sit in
 * an epoll set of our own, which the event loop watches as one fd.
 *
 * A given link (net_stream_open_fd: passt's socketpair) has one connection
 * made by its owner; once that peer goes away the link stays down, and the
 * owner says why.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "netaddr.h"
#include "virtio/iov.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

#define STREAM_ETH_HLEN 14
#define STREAM_RETRY_S 1
#define STREAM_MAX_IOV 64 /* a transmitted chain's iovecs, with our length */

enum { TAG_LISTEN = 1, TAG_CONN, TAG_TIMER };

struct net_stream {
	struct net_backend b;
	struct netaddr addr;
	char what[CONFIG_ID_MAX + CONFIG_NET_ADDR_MAX + 32]; /* names it in messages */
	bool listen;
	bool given; /* net_stream_open_fd: no connecting again, owner's hook */
	struct net_stream_owner owner;
	struct net_backend_ops ops; /* stream_ops, with the owner's kind */
	bool unlink_path;	    /* we created addr's socket file */
	int epfd;		    /* our epoll set, watched by the event loop */
	int lfd;		    /* listening socket, or -1 */
	int fd;			    /* the connection, or -1 */
	int timerfd;		    /* connect again */
	uint32_t gen;		    /* of fd: events of a closed one are ignored */
	bool connecting;	    /* nonblocking connect in progress */
	bool want_rx;		    /* the device has receive buffers */
	uint32_t fd_events;
	struct net_stream_rx rx;
	uint8_t *tx; /* the unsent rest of a frame: tx[tx_off, tx_len) */
	size_t tx_len, tx_off;
	struct log_limit log;
};

/* ------------------------------------------------------- reassembly */

static enum net_stream_rx_result rx_read_fail(ssize_t n)
{
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return NET_STREAM_RX_NONE;
	return NET_STREAM_RX_EOF;
}

enum net_stream_rx_result net_stream_rx_read(struct net_stream_rx *rx, int fd)
{
	ssize_t n;

	if (rx->len_have < 4) {
		n = read(fd, rx->len_be + rx->len_have, 4 - rx->len_have);
		if (n <= 0)
			return rx_read_fail(n);
		rx->len_have += (uint32_t)n;
		if (rx->len_have < 4)
			return NET_STREAM_RX_NONE;
		rx->len = (uint32_t)rx->len_be[0] << 24 | (uint32_t)rx->len_be[1] << 16 |
			  (uint32_t)rx->len_be[2] << 8 | rx->len_be[3];
		rx->have = 0;
		if (rx->len > VIRTIO_NET_FRAME_MAX)
			return NET_STREAM_RX_BROKEN;
	}
	if (rx->have < rx->len) {
		n = read(fd, rx->frame + rx->have, rx->len - rx->have);
		if (n <= 0)
			return rx_read_fail(n);
		rx->have += (uint32_t)n;
		if (rx->have < rx->len)
			return NET_STREAM_RX_NONE;
	}
	rx->len_have = 0; /* the next call starts the next frame */
	return rx->len < STREAM_ETH_HLEN ? NET_STREAM_RX_DROPPED : NET_STREAM_RX_FRAME;
}

/* ------------------------------------------------------- connection */

static void stream_watch(struct net_stream *s)
{
	uint32_t want = 0;
	struct epoll_event e;

	if (s->fd < 0)
		return;
	if (s->connecting || s->tx_off < s->tx_len)
		want |= EPOLLOUT;
	if (s->want_rx && !s->connecting)
		want |= EPOLLIN;
	if (want == s->fd_events)
		return;
	e = (struct epoll_event){ .events = want, .data.u64 = TAG_CONN | (uint64_t)s->gen << 8 };
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->fd, &e))
		log_limited(&s->log, "%s: epoll: %s", s->what, strerror(errno));
	else
		s->fd_events = want;
}

static void stream_retry_later(struct net_stream *s)
{
	struct itimerspec t = { .it_value.tv_sec = STREAM_RETRY_S };

	if (timerfd_settime(s->timerfd, 0, &t, NULL))
		log_limited(&s->log, "%s: timer: %s", s->what, strerror(errno));
}

static void stream_connected(struct net_stream *s)
{
	s->connecting = false;
	s->b.stats.connects++;
	if (!s->given)
		log_limited(&s->log, "%s: peer connected", s->what);
	stream_watch(s);
}

/* Make fd our connection (connected, or with a connect in progress). */
static void stream_attach(struct net_stream *s, int fd, bool connecting)
{
	struct epoll_event e;

	s->gen++;
	e = (struct epoll_event){ .events = 0, .data.u64 = TAG_CONN | (uint64_t)s->gen << 8 };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e)) {
		log_limited(&s->log, "%s: epoll: %s", s->what, strerror(errno));
		close(fd);
		if (!s->listen)
			stream_retry_later(s);
		return;
	}
	s->fd = fd;
	s->fd_events = 0;
	s->rx.len_have = 0;
	s->connecting = true; /* stream_watch's view until connected */
	if (connecting)
		stream_watch(s);
	else
		stream_connected(s);
}

/* Close the connection; a connecting backend connects again. */
static void stream_drop(struct net_stream *s, const char *why)
{
	if (s->fd < 0)
		return;
	if (!s->connecting) {
		s->b.stats.disconnects++;
		if (!s->given) /* its owner says why, once */
			log_limited(&s->log, "%s: peer %s; dropped", s->what, why);
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->connecting = false;
	s->tx_len = s->tx_off = 0;
	s->rx.len_have = 0;
	/* not at once: a peer that accepts and hangs up costs little */
	if (!s->listen && !s->given)
		stream_retry_later(s);
}

static void stream_connect(struct net_stream *s)
{
	int fd = socket(s->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		log_limited(&s->log, "%s: socket: %s", s->what, strerror(errno));
		stream_retry_later(s);
		return;
	}
	/* Frames are whole packets already: no Nagle delay. */
	if (s->addr.scheme == NETADDR_TCP)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!connect(fd, (const struct sockaddr *)&s->addr.sa, s->addr.len)) {
		stream_attach(s, fd, false);
	} else if (errno == EINPROGRESS) {
		stream_attach(s, fd, true);
	} else {
		log_limited(&s->log, "%s: connecting: %s; trying again every second", s->what,
			    strerror(errno));
		close(fd);
		stream_retry_later(s);
	}
}

/* The connect in progress finished: a second connect() tells how. */
static void stream_connect_done(struct net_stream *s)
{
	if (!connect(s->fd, (const struct sockaddr *)&s->addr.sa, s->addr.len) ||
	    errno == EISCONN) {
		stream_connected(s);
		return;
	}
	if (errno == EALREADY || errno == EINPROGRESS)
		return;
	log_limited(&s->log, "%s: connecting: %s; trying again every second", s->what,
		    strerror(errno));
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->connecting = false;
	stream_retry_later(s);
}

static void stream_accept(struct net_stream *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (s->fd >= 0) { /* one peer at a time, as passt */
		log_limited(&s->log, "%s: refused a second peer", s->what);
		close(fd);
		return;
	}
	stream_attach(s, fd, false);
}

/* Send what is left of a frame the socket took only part of. */
static void stream_flush(struct net_stream *s)
{
	while (s->tx_off < s->tx_len) {
		ssize_t n = send(s->fd, s->tx + s->tx_off, s->tx_len - s->tx_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				stream_drop(s, strerror(errno));
			break;
		}
		s->tx_off += (size_t)n;
	}
	if (s->fd >= 0 && s->tx_off == s->tx_len)
		s->tx_len = s->tx_off = 0;
	stream_watch(s);
}

static void stream_on_event(void *opaque, uint32_t events)
{
	struct net_stream *s = opaque;
	struct epoll_event ev[4];
	bool readable = false;
	uint64_t ticks;
	int n;

	(void)events;
	virtio_lock(s->b.host.dev);
	n = epoll_wait(s->epfd, ev, 4, 0);
	for (int i = 0; i < n; i++) {
		uint32_t tag = (uint32_t)(ev[i].data.u64 & 0xff);

		if (tag == TAG_LISTEN) {
			stream_accept(s);
		} else if (tag == TAG_TIMER) {
			if (read(s->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks) && s->fd < 0)
				stream_connect(s);
		} else if (s->fd >= 0 && ev[i].data.u64 >> 8 == s->gen) {
			if (s->connecting) {
				stream_connect_done(s);
				continue;
			}
			/* EOF and errors with EPOLLIN are found by the read. */
			if (ev[i].events & EPOLLIN)
				readable = true;
			else if (ev[i].events & (EPOLLERR | EPOLLHUP))
				stream_drop(s, "hung up");
			if (s->fd >= 0 && (ev[i].events & EPOLLOUT))
				stream_flush(s);
		}
	}
	if (readable && s->fd >= 0)
		s->b.host.rx_ready(s->b.host.opaque);
	virtio_unlock(s->b.host.dev);
}

/* ------------------------------------------------------------- ops */

static ssize_t stream_recv(struct net_backend *b, const struct iovec *iov, unsigned int n)
{
	struct net_stream *s = (struct net_stream *)b;
	size_t got;

	if (s->fd < 0 || s->connecting)
		return 0;
	switch (net_stream_rx_read(&s->rx, s->fd)) {
	case NET_STREAM_RX_NONE:
		return 0;
	case NET_STREAM_RX_FRAME:
		memset(iov[0].iov_base, 0, iov[0].iov_len);
		got = iov_copy(iov + 1, n - 1, 0, s->rx.frame, s->rx.len, true);
		return (ssize_t)(iov[0].iov_len + got);
	case NET_STREAM_RX_DROPPED:
		b->stats.rx_bad++;
		log_limited(&s->log, "%s: dropped a %u-byte frame from the peer", s->what,
			    s->rx.len);
		return NET_BACKEND_DROPPED;
	case NET_STREAM_RX_BROKEN:
		b->stats.rx_bad++;
		stream_drop(s, "sent a length over 65550 bytes");
		return NET_BACKEND_DROPPED;
	case NET_STREAM_RX_EOF:
		break;
	}
	stream_drop(s, "hung up");
	return 0;
}

static int stream_send(struct net_backend *b, const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_stream *s = (struct net_stream *)b;
	struct iovec v[STREAM_MAX_IOV];
	uint8_t be[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len };
	struct msghdr m = { .msg_iov = v };
	size_t total = 4 + len;
	ssize_t sent;

	if (s->fd < 0 || s->connecting) {
		b->stats.tx_down++;
		return -ENOTCONN;
	}
	if (s->tx_off < s->tx_len)
		stream_flush(s);
	if (s->fd < 0 || s->tx_off < s->tx_len) {
		b->stats.tx_full++;
		return s->fd < 0 ? -ENOTCONN : -EAGAIN;
	}
	/* Our length, then the frame without the header (iov[0]). A chain
	 * of more buffers than we gather is copied whole and flushed. */
	v[0] = (struct iovec){ .iov_base = be, .iov_len = 4 };
	if (n - 1 > STREAM_MAX_IOV - 1) {
		memcpy(s->tx, be, 4);
		s->tx_len = 4 + iov_copy(iov + 1, n - 1, 0, s->tx + 4, len, false);
		s->tx_off = 0;
		stream_flush(s);
		return 0;
	}
	m.msg_iovlen = 1 + iov_slice(v + 1, iov + 1, n - 1, 0, SIZE_MAX);
	sent = sendmsg(s->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (sent < 0) {
		if (errno == EAGAIN) {
			b->stats.tx_full++;
			return -EAGAIN;
		}
		sent = -errno;
		stream_drop(s, strerror(errno));
		return (int)sent;
	}
	if ((size_t)sent < total) { /* the rest must follow before any other frame */
		s->tx_len = iov_copy(v, (unsigned int)m.msg_iovlen, (size_t)sent, s->tx,
				     total - (size_t)sent, false);
		s->tx_off = 0;
		stream_watch(s);
	}
	return 0;
}

static void stream_poll_rx(struct net_backend *b, bool on)
{
	struct net_stream *s = (struct net_stream *)b;

	s->want_rx = on;
	stream_watch(s);
}

static void stream_destroy(struct net_backend *b)
{
	struct net_stream *s = (struct net_stream *)b;

	if (s->owner.destroy)
		s->owner.destroy(s->owner.opaque);
	evloop_del(b->host.ev, s->epfd);
	if (s->fd >= 0)
		close(s->fd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->unlink_path)
		unlink(((struct sockaddr_un *)&s->addr.sa)->sun_path);
	close(s->timerfd);
	close(s->epfd);
	free(s->rx.frame);
	free(s->tx);
	free(s);
}

static const struct net_backend_ops stream_ops = {
	.kind = "stream",
	.recv = stream_recv,
	.send = stream_send,
	.poll_rx = stream_poll_rx,
	.destroy = stream_destroy,
};

/* ------------------------------------------------------------- setup */

static int stream_add(struct net_stream *s, int fd, uint32_t tag)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) ? -errno : 0;
}

/* Bind and listen; a socket file left by a petrel that died is replaced,
 * one something listens on or any other file is not. */
static int stream_listen(struct net_stream *s)
{
	int one = 1, err;
	struct stat st;

	s->lfd = socket(s->addr.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	if (s->addr.scheme == NETADDR_UNIX) {
		const char *path = ((struct sockaddr_un *)&s->addr.sa)->sun_path;

		if (!lstat(path, &st) && S_ISSOCK(st.st_mode)) {
			int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			bool live =
			    probe >= 0 &&
			    (!connect(probe, (const struct sockaddr *)&s->addr.sa, s->addr.len) ||
			     errno == EAGAIN);

			if (probe >= 0)
				close(probe);
			if (live) /* another petrel (a clone?) listens there */
				return -EADDRINUSE;
			unlink(path);
		}
	} else {
		(void)setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		(void)setsockopt(s->lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (bind(s->lfd, (const struct sockaddr *)&s->addr.sa, s->addr.len))
		return -errno;
	s->unlink_path = s->addr.scheme == NETADDR_UNIX;
	if (listen(s->lfd, 1))
		return -errno;
	err = stream_add(s, s->lfd, TAG_LISTEN);
	return err;
}

static struct net_stream *stream_alloc(const struct net_backend_host *host, const char *id)
{
	struct net_stream *s = calloc(1, sizeof(*s));

	if (!s) {
		log_msg("network interface '%s': %s", id, strerror(ENOMEM));
		return NULL;
	}
	s->ops = stream_ops;
	s->b = (struct net_backend){ .ops = &s->ops, .host = *host };
	s->fd = s->lfd = s->timerfd = s->epfd = -1;
	s->log = (struct log_limit)LOG_LIMIT_INIT(16);
	return s;
}

/* The buffers, the epoll set and its timer, the listener if s->listen,
 * and our place on the event loop. 0 or -errno; closes what it opened. */
static int stream_setup(struct net_stream *s, const struct net_backend_host *host)
{
	int err;

	s->rx.frame = malloc(VIRTIO_NET_FRAME_MAX);
	s->tx = malloc(4 + VIRTIO_NET_FRAME_MAX);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	err = !s->rx.frame || !s->tx ? -ENOMEM : s->epfd < 0 || s->timerfd < 0 ? -errno : 0;
	if (!err)
		err = stream_add(s, s->timerfd, TAG_TIMER);
	if (!err && s->listen)
		err = stream_listen(s);
	if (err)
		goto err_close;
	err = evloop_add(host->ev, s->epfd, EPOLLIN, stream_on_event, s);
	if (err)
		goto err_close;
	return 0;

err_close:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->unlink_path)
		unlink(((struct sockaddr_un *)&s->addr.sa)->sun_path);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->rx.frame);
	free(s->tx);
	return err;
}

int net_stream_open(const struct net_backend_host *host, const struct net_config *cfg,
		    struct net_backend **out)
{
	struct net_stream *s = stream_alloc(host, cfg->id);
	int err;

	if (!s)
		return -ENOMEM;
	s->listen = cfg->listen;
	snprintf(s->what, sizeof(s->what), "network interface '%s': stream '%s'", cfg->id,
		 cfg->addr);
	err = netaddr_parse(cfg->addr, NETADDR_UNIX | NETADDR_TCP, &s->addr);
	if (!err)
		err = stream_setup(s, host);
	if (err) {
		log_msg("%s: %s", s->what, strerror(-err));
		free(s);
		return err;
	}
	if (!s->listen)
		stream_connect(s);
	*out = &s->b;
	return 0;
}

int net_stream_open_fd(const struct net_backend_host *host, const char *id, int fd,
		       const struct net_stream_owner *owner, struct net_backend **out)
{
	struct net_stream *s = stream_alloc(host, id);
	int err;

	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->given = true;
	s->ops.kind = owner->kind;
	snprintf(s->what, sizeof(s->what), "network interface '%s': %s", id, owner->kind);
	err = stream_setup(s, host);
	if (err) {
		log_msg("%s: %s", s->what, strerror(-err));
		close(fd);
		free(s);
		return err;
	}
	stream_attach(s, fd, false);
	s->owner = *owner; /* after the last failure: its destroy is ours to call now */
	*out = &s->b;
	return 0;
}
