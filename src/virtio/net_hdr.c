/* SPDX-License-Identifier: MIT */
#include "virtio/net_hdr.h"

#include <linux/if_tun.h>

#include "virtio/net_backend.h"

bool net_guest_csum(const struct virtio_dev *dev)
{
	return virtio_has(dev, VIRTIO_NET_F_GUEST_CSUM);
}

/* GSO frames the driver can take: the TSO features are only meaningful
 * with GUEST_CSUM (5.1.3.1), and only then are they enabled on the tap. */
bool net_guest_gso(const struct virtio_dev *dev, unsigned int gso)
{
	if (!net_guest_csum(dev))
		return false;
	switch (gso) {
	case NET_GSO_TCPV4:
		return virtio_has(dev, VIRTIO_NET_F_GUEST_TSO4);
	case NET_GSO_TCPV6:
		return virtio_has(dev, VIRTIO_NET_F_GUEST_TSO6);
	default:
		return false;
	}
}

/* The tap's receive offloads for what the driver accepted. */
unsigned int net_tun_offloads(const struct virtio_dev *dev)
{
	unsigned int f = 0;

	if (!net_guest_csum(dev))
		return 0;
	f |= TUN_F_CSUM;
	if (net_guest_gso(dev, NET_GSO_TCPV4))
		f |= TUN_F_TSO4;
	if (net_guest_gso(dev, NET_GSO_TCPV6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && virtio_has(dev, VIRTIO_NET_F_GUEST_ECN))
		f |= TUN_F_TSO_ECN;
	return f;
}

/*
 * Check the header the driver wrote (already copied out of guest memory)
 * against the features it accepted (5.1.6.2.1) and the frame length.
 * Returns why the frame must be dropped, or NULL. Flag bits other than
 * NEEDS_CSUM are cleared ("the device MUST ignore" them): a DATA_VALID
 * passed on would make the host trust an unchecked guest checksum.
 */
const char *net_tx_check(const struct virtio_dev *dev, struct net_hdr *h, size_t len)
{
	unsigned int gso = h->gso_type & ~NET_GSO_ECN;

	if (len < NET_ETH_HLEN)
		return "shorter than an Ethernet header";
	if (len > VIRTIO_NET_FRAME_MAX)
		return "longer than 65550 bytes";
	h->flags &= NET_HDR_F_NEEDS_CSUM;
	if (h->flags && !virtio_has(dev, VIRTIO_NET_F_CSUM))
		return "partial checksum without VIRTIO_NET_F_CSUM";
	if (gso == NET_GSO_NONE) {
		if (h->gso_type & NET_GSO_ECN)
			return "ECN flag without segmentation";
	} else {
		if ((gso == NET_GSO_TCPV4 && !virtio_has(dev, VIRTIO_NET_F_HOST_TSO4)) ||
		    (gso == NET_GSO_TCPV6 && !virtio_has(dev, VIRTIO_NET_F_HOST_TSO6)) ||
		    (gso != NET_GSO_TCPV4 && gso != NET_GSO_TCPV6))
			return "segmentation type not negotiated";
		if ((h->gso_type & NET_GSO_ECN) && !virtio_has(dev, VIRTIO_NET_F_HOST_ECN))
			return "ECN segmentation without VIRTIO_NET_F_HOST_ECN";
		if (!h->flags || h->gso_size == 0)
			return "segmentation without a checksum offset or segment size";
	}
	h->num_buffers = 0;
	return NULL;
}

/* Make a header read from the backend fit what the driver accepted
 * (5.1.6.4.1): false if the frame needs an offload the driver cannot
 * take (possible with frames queued before it renegotiated). */
bool net_rx_check(const struct virtio_dev *dev, struct net_hdr *h)
{
	unsigned int gso = h->gso_type & ~NET_GSO_ECN;

	if (!net_guest_csum(dev)) {
		if (h->flags & NET_HDR_F_NEEDS_CSUM)
			return false;
		h->flags = 0;
	}
	h->flags &= NET_HDR_F_NEEDS_CSUM | NET_HDR_F_DATA_VALID;
	if (gso == NET_GSO_NONE)
		return !(h->gso_type & NET_GSO_ECN);
	if (!net_guest_gso(dev, gso))
		return false;
	return !(h->gso_type & NET_GSO_ECN) || virtio_has(dev, VIRTIO_NET_F_GUEST_ECN);
}
