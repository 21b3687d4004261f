/* SPDX-License-Identifier: MIT */
/*
 * The datagram backend: QEMU's -netdev dgram (net/dgram.c), one Ethernet
 * frame per UDP datagram, no header.
 *
 * Unicast: bound to addr, connected to remote, so the kernel delivers only
 * the remote's datagrams. A multicast group as addr (no remote) is a hub:
 * bound to the group's port, joined, sending to the group, with loopback
 * on so that several VMs on one host share it (as QEMU); each member then
 * hears its own frames, recognised by their source MAC and skipped.
 * A datagram is a frame whole or nothing: too short for an Ethernet
 * header, or cut by the receive room, it is dropped and counted.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "virtio/iov.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

#define DGRAM_ETH_HLEN 14

struct net_dgram {
	struct net_backend b;
	int fd;
	bool polling;
	bool hub;
	uint8_t mac[6];
	struct netaddr group; /* hub: where frames go */
	char what[CONFIG_ID_MAX + CONFIG_NET_ADDR_MAX + 32];
	struct log_limit log;
};

static void dgram_on_event(void *opaque, uint32_t events)
{
	struct net_dgram *d = opaque;

	virtio_lock(d->b.host.dev);
	/* A pending error (ICMP port unreachable: the remote is not there
	 * yet) is reported even unasked; reading it clears it. */
	if (events & EPOLLERR)
		(void)recv(d->fd, NULL, 0, MSG_DONTWAIT | MSG_PEEK);
	if (events & EPOLLIN)
		d->b.host.rx_ready(d->b.host.opaque);
	virtio_unlock(d->b.host.dev);
}

static ssize_t dgram_recv(struct net_backend *b, const struct iovec *iov, unsigned int n)
{
	struct net_dgram *d = (struct net_dgram *)b;
	uint8_t src[6];

	/* On a hub, our own frames come back: skipped, a few per call (the
	 * socket stays readable for the rest). */
	for (unsigned int i = 0; i < 8; i++) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov + 1, .msg_iovlen = n - 1 };
		ssize_t got = recvmsg(d->fd, &m, MSG_DONTWAIT);

		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			/* The remote is not there (yet): the socket stays usable. */
			if (errno == ECONNREFUSED)
				continue;
			log_limited(&d->log, "%s: %s", d->what, strerror(errno));
			return 0;
		}
		if (got < DGRAM_ETH_HLEN || (m.msg_flags & MSG_TRUNC)) {
			b->stats.rx_bad++;
			return NET_BACKEND_DROPPED;
		}
		if (d->hub && iov_copy(iov + 1, n - 1, 6, src, 6, false) == 6 &&
		    !memcmp(src, d->mac, 6))
			continue;
		memset(iov[0].iov_base, 0, iov[0].iov_len);
		return (ssize_t)iov[0].iov_len + got;
	}
	return 0;
}

static int dgram_send(struct net_backend *b, const struct iovec *iov, unsigned int n, size_t len)
{
	struct net_dgram *d = (struct net_dgram *)b;
	struct msghdr m = { .msg_iov = (struct iovec *)iov + 1, .msg_iovlen = n - 1 };

	(void)len;
	if (d->hub) {
		m.msg_name = &d->group.sa;
		m.msg_namelen = d->group.len;
	}
	if (sendmsg(d->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 0;
	if (errno == EAGAIN)
		b->stats.tx_full++;
	else if (errno == ECONNREFUSED) /* the remote's port was closed last time */
		b->stats.tx_down++;
	return -errno;
}

static void dgram_poll_rx(struct net_backend *b, bool on)
{
	struct net_dgram *d = (struct net_dgram *)b;
	int err;

	if (d->polling == on)
		return;
	err = evloop_mod(b->host.ev, d->fd, on ? EPOLLIN : 0);
	if (err) {
		log_limited(&d->log, "%s: epoll: %s", d->what, strerror(-err));
		return;
	}
	d->polling = on;
}

static void dgram_destroy(struct net_backend *b)
{
	struct net_dgram *d = (struct net_dgram *)b;

	evloop_del(b->host.ev, d->fd);
	close(d->fd);
	free(d);
}

static const struct net_backend_ops dgram_ops = {
	.kind = "dgram",
	.recv = dgram_recv,
	.send = dgram_send,
	.poll_rx = dgram_poll_rx,
	.destroy = dgram_destroy,
};

/* Join the group a->sa on any interface, and hear our own host's members. */
static int dgram_join(int fd, const struct netaddr *a)
{
	int one = 1;

	if (a->sa.ss_family == AF_INET) {
		struct ip_mreqn mr = {
			.imr_multiaddr = ((const struct sockaddr_in *)&a->sa)->sin_addr,
		};

		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
		    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)))
			return -errno;
		return 0;
	}
	struct ipv6_mreq mr6 = {
		.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
	};

	if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr6, sizeof(mr6)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof(one)))
		return -errno;
	return 0;
}

int net_dgram_open(const struct net_backend_host *host, const struct net_config *cfg,
		   const uint8_t mac[6], struct net_backend **out)
{
	struct net_dgram *d = calloc(1, sizeof(*d));
	struct netaddr local, remote;
	int one = 1, err;

	if (!d) {
		log_msg("network interface '%s': %s", cfg->id, strerror(ENOMEM));
		return -ENOMEM;
	}
	d->b = (struct net_backend){ .ops = &dgram_ops, .host = *host };
	d->log = (struct log_limit)LOG_LIMIT_INIT(16);
	memcpy(d->mac, mac, 6);
	snprintf(d->what, sizeof(d->what), "network interface '%s': dgram '%s'", cfg->id,
		 cfg->addr);
	err = netaddr_parse(cfg->addr, NETADDR_UDP, &local);
	if (!err && cfg->remote[0])
		err = netaddr_parse(cfg->remote, NETADDR_BARE, &remote);
	if (err)
		goto err_free;
	d->hub = !cfg->remote[0];
	d->group = local;
	d->fd = socket(local.sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		err = -errno;
		goto err_free;
	}
	/* Several members of a hub on one host bind the same group and port. */
	if (d->hub && setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		err = -errno;
	if (!err && bind(d->fd, (const struct sockaddr *)&local.sa, local.len))
		err = -errno;
	if (!err && d->hub)
		err = dgram_join(d->fd, &local);
	if (!err && !d->hub && connect(d->fd, (const struct sockaddr *)&remote.sa, remote.len))
		err = -errno;
	if (!err)
		err = evloop_add(host->ev, d->fd, 0, dgram_on_event, d);
	if (err)
		goto err_close;
	*out = &d->b;
	return 0;

err_close:
	close(d->fd);
err_free:
	log_msg("%s: %s", d->what, strerror(-err));
	free(d);
	return err;
}
