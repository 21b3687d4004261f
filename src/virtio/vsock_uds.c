/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock, the host side: unix stream sockets (docs/vsock.md).
 *
 *  - host -> guest: a host program connects to the listening socket and
 *    writes "CONNECT <port>\n"; petrel sends the guest a REQUEST from
 *    CID 2 and a port it picks, and when the guest answers RESPONSE writes
 *    "OK <host_port>\n" and relays. A guest RST closes the unix socket.
 *  - guest -> host: a REQUEST to CID 2 port P connects to "<path>_P".
 *
 * Every socket is non-blocking and sits in the device's own epoll set,
 * edge-triggered: an edge only sets vsock_conn.readable (cleared when a
 * read says EAGAIN), so a socket is read when the guest has credit and an
 * rx buffer, not when the edge comes. Writes use MSG_NOSIGNAL: a host
 * program that went away is an EPIPE, not a SIGPIPE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uds.h"
#include "virtio/iov.h"
#include "virtio/vsock_conn.h"

#define VSOCK_UDS_BACKLOG 64
/* Connections accepted per listener event (it is level-triggered). */
#define VSOCK_UDS_ACCEPT_BATCH 16

static int vsock_uds_socket(void)
{
	return socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static int vsock_uds_watch(struct vsock *vs, struct vsock_conn *c)
{
	struct epoll_event e = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = (uint64_t)c->gen << 32 | (uint32_t)(c - vs->conn),
	};

	return epoll_ctl(vs->epfd, EPOLL_CTL_ADD, c->fd, &e) ? -errno : 0;
}

static void vsock_uds_listener(struct vsock *vs, bool on)
{
	struct epoll_event e = { .events = on ? EPOLLIN : 0, .data.u64 = VSOCK_TAG_LISTEN };

	if (vs->listen_paused == !on)
		return;
	if (epoll_ctl(vs->epfd, EPOLL_CTL_MOD, vs->listen_fd, &e) == 0)
		vs->listen_paused = !on;
}

/* ---- the listening socket ---- */

int vsock_uds_listen(struct vsock *vs, const char *path)
{
	/* Room for the longest "<path>_<port>" of a guest connection. */
	const size_t max = sizeof(vs->addr.sun_path) - sizeof("_4294967295");
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = VSOCK_TAG_LISTEN };
	size_t len = strnlen(path, sizeof(vs->addr.sun_path));
	int fd, err;

	if (!len) {
		log_msg("--vsock: uds=PATH is required");
		return -EINVAL;
	}
	if (len > max) {
		log_msg("vsock socket '%s': path longer than %zu bytes", path, max);
		return -ENAMETOOLONG;
	}
	vs->addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(vs->addr.sun_path, path, len);
	fd = vsock_uds_socket();
	if (fd < 0) {
		err = -errno;
		log_msg("vsock socket '%s': %s", path, strerror(errno));
		return err;
	}
	err = uds_bind(fd, &vs->addr);
	if (err) {
		log_msg("vsock socket '%s': %s", path, uds_strerror(err));
		goto err_close;
	}
	if (listen(fd, VSOCK_UDS_BACKLOG) || epoll_ctl(vs->epfd, EPOLL_CTL_ADD, fd, &e)) {
		err = -errno;
		log_msg("vsock socket '%s': %s", path, strerror(errno));
		unlink(path);
		goto err_close;
	}
	vs->listen_fd = fd;
	return 0;

err_close:
	close(fd);
	return err;
}

void vsock_uds_unlisten(struct vsock *vs)
{
	if (vs->listen_fd < 0)
		return;
	close(vs->listen_fd);
	vs->listen_fd = -1;
	unlink(vs->addr.sun_path);
}

/* Take new host connections. Without a driver there is no guest to ask,
 * so they are closed at once (the host program sees end of stream). With
 * every slot taken the listener pauses until one frees: connections wait
 * in the backlog. */
static void vsock_uds_accept(struct vsock *vs, bool active)
{
	static struct log_limit accept_log = LOG_LIMIT_INIT(4);

	for (unsigned int i = 0; i < VSOCK_UDS_ACCEPT_BATCH; i++) {
		struct vsock_conn *c = NULL;
		int fd;

		if (active) {
			c = vsock_conn_new(vs, VSOCK_LINE);
			if (!c) {
				vsock_uds_listener(vs, false);
				return;
			}
		}
		fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (c)
				c->state = VSOCK_FREE;
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_limited(&accept_log, "vsock socket '%s': accept: %s",
					    vs->addr.sun_path, strerror(errno));
			return;
		}
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (vsock_uds_watch(vs, c)) {
			close(fd);
			c->fd = -1;
			c->state = VSOCK_FREE;
		}
	}
}

/* ---- host -> guest: "CONNECT <port>\n" ---- */

/* "CONNECT " then a decimal port of 1 to 10 digits, nothing else. */
static bool vsock_uds_parse(const char *s, uint32_t *port)
{
	uint64_t v = 0;
	unsigned int digits = 0;

	if (strncmp(s, "CONNECT ", 8))
		return false;
	for (s += 8; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (*s || !digits || v > UINT32_MAX)
		return false;
	*port = (uint32_t)v;
	return true;
}

/* Read the request line of a new host connection; bytes after it stay in
 * the socket and are the start of the stream. */
static void vsock_uds_line(struct vsock *vs, struct vsock_conn *c, uint32_t events)
{
	static struct log_limit line_log = LOG_LIMIT_INIT(4);
	char line[VSOCK_LINE_MAX + 1];
	uint32_t port;
	ssize_t n;
	char *nl;

	n = recv(c->fd, line, VSOCK_LINE_MAX, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto close;
	line[n] = 0;
	nl = memchr(line, '\n', (size_t)n);
	if (!nl) {
		if (n < VSOCK_LINE_MAX && !(events & (EPOLLRDHUP | EPOLLHUP)))
			return; /* the rest of the line comes with the next edge */
		goto bad;
	}
	n = nl - line + 1;
	if (recv(c->fd, line, (size_t)n, 0) != n) /* peeked: it is there */
		goto close;
	line[n - 1] = 0;
	if (!vsock_uds_parse(line, &port))
		goto bad;
	c->guest_port = port;
	c->host_port = vsock_port_alloc(vs);
	c->state = VSOCK_CONNECTING;
	c->pending |= VSOCK_P_REQUEST;
	c->readable = true; /* what followed the line */
	return;

bad:
	line[strcspn(line, "\n")] = 0;
	for (char *p = line; *p; p++)
		if (*p < ' ' || *p > '~')
			*p = '?';
	log_limited(&line_log,
		    "vsock socket '%s': host program sent \"%s\", not \"CONNECT <port>\"",
		    vs->addr.sun_path, line);
close:
	vsock_conn_close(vs, c, false);
}

int vsock_uds_accepted(struct vsock_conn *c)
{
	char line[sizeof("OK 4294967295\n")];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->host_port);
	ssize_t n = send(c->fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);

	/* Nothing was sent on this socket before: its buffer has room. */
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EAGAIN;
}

/* ---- guest -> host ---- */

int vsock_uds_connect(struct vsock *vs, struct vsock_conn *c, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, err;

	/* vsock_check_config left room for the suffix. */
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", vs->addr.sun_path, port) >=
	    sizeof(a.sun_path))
		return -ENAMETOOLONG;
	fd = vsock_uds_socket();
	if (fd < 0)
		return -errno;
	/* A unix connect does not wait: it is made, or refused (EAGAIN when
	 * the listener's backlog is full). */
	if (connect(fd, (const struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(fd);
		return err;
	}
	c->fd = fd;
	return vsock_uds_watch(vs, c);
}

/* ---- relaying ---- */

ssize_t vsock_uds_recv(struct vsock_conn *c, const struct iovec *iov, unsigned int niov)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = niov };
	ssize_t n;

	do
		n = recvmsg(c->fd, &m, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static ssize_t vsock_uds_sendmsg(int fd, struct iovec *iov, size_t niov)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = niov };
	ssize_t n;

	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int vsock_uds_send(struct vsock_conn *c, const struct iovec *iov, unsigned int niov, uint32_t len)
{
	uint32_t queued = vsock_buffered(c), sent = 0;

	if (!queued) {
		ssize_t n = vsock_uds_sendmsg(c->fd, (struct iovec *)iov, niov);

		if (n < 0 && n != -EAGAIN)
			return (int)n;
		sent = n > 0 ? (uint32_t)n : 0;
	}
	if (sent < len) {
		uint32_t pos = (c->buf_head + queued) % VSOCK_BUF_ALLOC, first = len - sent;

		if (!c->buf) {
			c->buf = malloc(VSOCK_BUF_ALLOC);
			if (!c->buf)
				return -ENOMEM;
		}
		/* Keep bytes [sent, len) at the ring's tail, wrapping at its
		 * end; the caller checked that queued + len fits. The guest may
		 * be changing them as we copy: they are only bytes to relay. */
		if (first > VSOCK_BUF_ALLOC - pos)
			first = VSOCK_BUF_ALLOC - pos;
		iov_copy(iov, niov, sent, c->buf + pos, first, false);
		iov_copy(iov, niov, sent + first, c->buf, len - sent - first, false);
	}
	c->rx_cnt += len;
	c->fwd_cnt += sent;
	return 0;
}

int vsock_uds_flush(struct vsock_conn *c)
{
	while (vsock_buffered(c)) {
		uint32_t n = vsock_buffered(c), first = VSOCK_BUF_ALLOC - c->buf_head;
		struct iovec iov[2] = {
			{ .iov_base = c->buf + c->buf_head, .iov_len = n < first ? n : first },
			{ .iov_base = c->buf, .iov_len = n > first ? n - first : 0 },
		};
		ssize_t w = vsock_uds_sendmsg(c->fd, iov, n > first ? 2 : 1);

		if (w == -EAGAIN)
			return 0;
		if (w < 0)
			return (int)w;
		c->buf_head = (uint32_t)((c->buf_head + (size_t)w) % VSOCK_BUF_ALLOC);
		c->fwd_cnt += (uint32_t)w;
	}
	return 0;
}

void vsock_uds_close(struct vsock *vs, struct vsock_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(vs->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	free(c->buf);
	c->buf = NULL;
	vsock_uds_listener(vs, true); /* a slot is free again */
}

/* ---- events ---- */

static void vsock_uds_conn_event(struct vsock *vs, struct vsock_conn *c, uint32_t events)
{
	if (c->state == VSOCK_LINE) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			vsock_uds_line(vs, c, events);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & EPOLLHUP)
		c->hup = true;
	if (c->state != VSOCK_ESTABLISHED)
		return;
	if (vsock_buffered(c) && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		if (vsock_uds_flush(c)) {
			vs->st.tx_flush_fails++;
			vsock_conn_close(vs, c, true);
			return;
		}
		vsock_conn_drained(vs, c);
		if (c->state != VSOCK_ESTABLISHED)
			return;
	}
	/* The host program closed its end and there is nothing more to read
	 * (or the guest reads no more): say neither direction goes on. */
	if (c->hup && (c->host_eof || (c->guest_shut & VSOCK_SHUT_RCV)) &&
	    c->host_shut != VSOCK_SHUT_BOTH) {
		c->host_shut = VSOCK_SHUT_BOTH;
		c->pending |= VSOCK_P_SHUTDOWN;
	}
}

void vsock_uds_event(struct vsock *vs, uint64_t data, uint32_t events, bool active)
{
	uint32_t slot = (uint32_t)data;
	struct vsock_conn *c;

	if (data == VSOCK_TAG_LISTEN) {
		vsock_uds_accept(vs, active);
		return;
	}
	/* An event from this epoll_wait batch for a slot closed (and maybe
	 * reused) since: its generation no longer matches. */
	if (slot >= VSOCK_MAX_CONNS)
		return;
	c = &vs->conn[slot];
	if (c->state == VSOCK_FREE || c->gen != (uint32_t)(data >> 32) || !active)
		return;
	vsock_uds_conn_event(vs, c, events);
}
