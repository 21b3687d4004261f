/* SPDX-License-Identifier: MIT */
/*
 * Linux tap interfaces as a virtio-net backend (Documentation/networking/
 * tuntap.rst): one fd that reads and writes whole Ethernet frames, each
 * preceded by a virtio_net_hdr.
 */
#ifndef PETREL_TAP_H
#define PETREL_TAP_H

#include "log.h"

/* Attach to the tap interface `name`, creating it if it does not exist
 * (that needs CAP_NET_ADMIN; a created tap disappears when the fd is
 * closed), as IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with `hdr_len`-byte
 * virtio-net headers and no receive offloads. The fd is nonblocking and
 * close-on-exec. Returns it, or -errno after printing one line
 * "petrel: tap 'NAME': <reason>". */
int tap_open(const char *name, int hdr_len) MUST_CHECK;

/* Tell the tap which offloads the reader accepts in the frames it reads
 * (TUN_F_* bits from linux/if_tun.h); the kernel segments and checksums
 * the rest before they reach the fd. 0 or -errno (EINVAL: a combination
 * or bit the kernel does not support). */
int tap_set_offload(int fd, unsigned int tun_flags) MUST_CHECK;

#endif
