/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2, 5.10) with its host side on unix sockets
 * ("hybrid vsock": no vhost-vsock module). Stream sockets only.
 *
 * Host side (docs/vsock.md has the full protocol):
 *  - host -> guest: petrel listens on the unix socket `uds`; a host
 *    program connects, writes "CONNECT <port>\n" and, once the guest
 *    accepts, reads "OK <host_port>\n" followed by the stream.
 *  - guest -> host: a guest connecting to CID 2 port P makes petrel
 *    connect to the unix socket "<uds>_P".
 */
#ifndef PETREL_VIRTIO_VSOCK_H
#define PETREL_VIRTIO_VSOCK_H

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"
#include "virtio/virtio.h"

/* Build a vsock device into `dev` (virtio_dev_init is called here): check
 * `cfg` (cid from 3 to 0xfffffffe, a path short enough for "<uds>_<port>"),
 * create and listen on `cfg->uds` (a stale socket file left by a dead
 * process is replaced; one another process still listens on is not), and
 * register the device's fds on `ev`. Call on the event-loop thread (or
 * before the loop runs); `ev` and `gm` must outlive the device.
 * 0, or -errno after logging one line naming the socket or the setting.
 * The transport's destroy op closes everything and removes the socket. */
int virtio_vsock_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
			const struct vsock_config *cfg) MUST_CHECK;

/* The metrics op (virtio_ops.metrics): Firecracker's vsock group (README
 * "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_vsock_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
