/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1): one receive queue (0) and one transmit
 * queue (1), no control queue, backed by a tap interface or a socket link
 * (net_backend.h: the frame-I/O contract and its backends).
 *
 * Frames cross the backend whole, each with the 12-byte struct
 * virtio_net_hdr of VERSION_1, which is also what a tap with IFF_VNET_HDR
 * reads and writes: the header goes through unchanged once checked
 * against the features the driver accepted. Socket links carry no header.
 *
 * Offered: MAC, STATUS (link always up), MRG_RXBUF; with a tap also CSUM,
 * HOST_TSO4/6, HOST_ECN (the tap accepts partially checksummed and GSO
 * frames), GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN (enabled on the tap with
 * TUNSETOFFLOAD from the features the driver accepted, at DRIVER_OK).
 * Not offered: UFO and USO (Linux no longer sends or accepts UFO), MTU,
 * MQ and everything that needs a control queue.
 */
#ifndef PETREL_VIRTIO_NET_H
#define PETREL_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"
#include "ratelimit.h"
#include "virtio/net_backend.h"
#include "virtio/virtio.h"

/* Feature bits and the header length: include/petrel/virtio.h. */

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1

/* VIRTIO_NET_FRAME_MAX: net_backend.h. */

struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped; /* bytes: frames without the header */
	uint64_t rx_frames, rx_bytes, rx_dropped;
	/* Rate limit waits: tx, times a frame waited on the ring; rx, times
	 * the device stopped reading the tap (frames wait in its queue; it
	 * cannot tell whether one is there). */
	uint64_t tx_throttled, rx_throttled;
	/* The backend's (net_backend_stats): a socket link's connections,
	 * the peer's bad frames, frames dropped for a peer that does not
	 * read or is not there. */
	uint64_t link_connects, link_disconnects, link_rx_bad, link_tx_full, link_tx_down;
};

/* Open cfg's backend (a tap, see tap_open: attached to or created as a
 * single-queue tap with virtio-net headers; or a stream or dgram link,
 * net_backend.h) and make `dev` a virtio-net device on it, watched by
 * `ev`, limited by cfg->rx and cfg->tx. The MAC is `mac` if not NULL
 * (virtio_net_pick_mac), else cfg->mac if cfg->mac_set, else
 * virtio_net_config_mac. The caller has initialised dev->lock; the
 * transport is attached afterwards. 0, or -errno after printing one line
 * "petrel: tap 'NAME': <reason>" or "petrel: network interface 'ID': ...". */
int virtio_net_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct net_config *cfg, const uint8_t *mac) MUST_CHECK;

/* The device on an already open backend: `fd` is nonblocking and carries
 * one frame per read and write, each with its header (a tap, or in tests
 * and fuzzing a SOCK_SEQPACKET socket; offloads offered either way).
 * Takes ownership of fd, also on failure. `is_tap`: set the tap's
 * offloads at DRIVER_OK. 0 or -errno; prints nothing. */
int virtio_net_create_fd(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm, int fd,
			 bool is_tap, const uint8_t mac[6]) MUST_CHECK;

/* The MAC petrel picks for a tap when the user gives none: stable across
 * runs and distinct per tap name, locally administered and unicast:
 * 52:54:00 followed by the low 24 bits of the 32-bit FNV-1a hash of the
 * name (big-endian). */
void virtio_net_default_mac(const char *tap, uint8_t mac[6]);

/* The MAC of an interface with none given, before uniqueness: a tap's
 * virtio_net_default_mac; a link's the same hash of its settings
 * ("stream=ADDR,remote=,listen": the two ends of a link differ), and
 * on a multicast hub, whose members share their settings, of petrel's
 * pid too. */
void virtio_net_config_mac(const struct net_config *n, uint8_t mac[6]);

/* The MAC network interface i of cfg gets: its own if given; else its
 * virtio_net_config_mac, moved up (last byte, carrying into the one
 * before) past the MAC of any other interface, so that the MACs of one
 * VM differ by default. */
void virtio_net_pick_mac(const struct vm_config *cfg, unsigned int i, uint8_t mac[6]);

/* Counters since creation (takes dev->lock). */
void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out);

/* Set the rate limits of each direction, rx (host -> guest) and tx
 * (guest -> host): bandwidth in bytes of frames with their 12-byte
 * header, ops in frames. At creation or at run time (changed buckets
 * start full, see ratelimit_update); frames held back are looked at again
 * at once. Over the rx limit the tap is not read (frames wait in its
 * queue); over the tx limit frames stay on the ring. Takes dev->lock; on
 * the event-loop thread (or one whose seccomp filter allows
 * timerfd_settime). Cannot fail: the timers were made with the device. */
void virtio_net_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *rx,
			      const struct ratelimit_config *tx);

/* The metrics op (virtio_ops.metrics): Firecracker's net group (README
 * "Metrics"); dev NULL: its names with 0. dev->lock held. */
void virtio_net_metrics(const struct virtio_dev *dev, struct metrics_out *out);

#endif
