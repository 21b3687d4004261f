/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's header (struct virtio_net_hdr, virtio 1.2, 5.1.6) and its
 * checks against the features the driver accepted: internal to net.c
 * and net_hdr.c.
 */
#ifndef PETREL_VIRTIO_NET_HDR_H
#define PETREL_VIRTIO_NET_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_GSO_NONE 0
#define NET_GSO_TCPV4 1
#define NET_GSO_TCPV6 4
#define NET_GSO_ECN 0x80

#define NET_ETH_HLEN 14

/* struct virtio_net_hdr (5.1.6). Fields are little-endian; petrel runs on
 * little-endian x86 hosts only, so they are used as they are. */
struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

_Static_assert(sizeof(struct net_hdr) == VIRTIO_NET_HDR_LEN, "virtio_net_hdr layout");

/* Did the driver accept GUEST_CSUM? */
bool net_guest_csum(const struct virtio_dev *dev);

/* Can the driver take GSO frames of type `gso` (NET_GSO_TCPV4/6)? Only
 * with GUEST_CSUM (5.1.3.1). */
bool net_guest_gso(const struct virtio_dev *dev, unsigned int gso);

/* The tap's receive offloads (TUN_F_*) for what the driver accepted. */
unsigned int net_tun_offloads(const struct virtio_dev *dev);

/* Check a transmitted header (a copy, out of guest memory) against the
 * negotiated features and the frame's length `len` (5.1.6.2.1); clears
 * the flags the device must ignore and num_buffers. Returns why the
 * frame must be dropped, or NULL. */
const char *net_tx_check(const struct virtio_dev *dev, struct net_hdr *h, size_t len);

/* Make a received header fit what the driver accepted (5.1.6.4.1): false
 * if the frame needs an offload the driver cannot take. */
bool net_rx_check(const struct virtio_dev *dev, struct net_hdr *h);

#endif
