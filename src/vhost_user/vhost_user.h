/* SPDX-License-Identifier: MIT */
/*
 * The front end of the vhost-user protocol (QEMU's docs/interop/
 * vhost-user.rst): petrel hands a device's virtqueues to a back end in
 * another process (virtiofsd for virtio-fs; net and blk back ends can
 * use it the same way). Generic: it knows messages, guest RAM regions
 * and vring numbers, not any device.
 *
 * The back end is as untrusted as the guest (DESIGN contract 11): every
 * reply's request id, flags and size are checked against what was asked,
 * file descriptors it sends are closed unread, each read waits at most
 * the socket's receive timeout (set by vhu_open), and any failure comes
 * back as -EPROTO / -EIO / -ETIMEDOUT for the device to act on (it stops
 * using the back end; nothing here exits or retries).
 *
 * Threads: one caller at a time (the device's lock serialises them).
 * Every call makes only send/recv on the connection (no poll, no fcntl),
 * so that the vCPU thread that sets DRIVER_OK may make them under its
 * seccomp filter.
 */
#ifndef PETREL_VHOST_USER_H
#define PETREL_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "mem.h"

enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_SET_VRING_ENABLE = 18,
};

#define VHU_F_PROTOCOL_FEATURES 30 /* a virtio feature bit: GET_PROTOCOL_FEATURES exists */
#define VHU_PROTOCOL_F_REPLY_ACK 3 /* NEED_REPLY honoured: every request is answered */

#define VHU_FLAG_VERSION 0x1 /* flags bits 0-1: the protocol version, 1 */
#define VHU_FLAG_REPLY 0x4
#define VHU_FLAG_NEED_REPLY 0x8
#define VHU_VRING_NOFD 0x100 /* SET_VRING_KICK/CALL/ERR payload: no fd sent */

#define VHU_MAX_REGIONS 8
#define VHU_HDR_SIZE 12
/* The largest payload petrel sends (SET_MEM_TABLE with every region); a
 * reply is never more than 8 bytes. */
#define VHU_MAX_PAYLOAD (8 + VHU_MAX_REGIONS * 32)

struct vhu {
	int fd;		   /* the connection; -1 when closed */
	uint64_t features; /* the back end's virtio features (GET_FEATURES) */
	uint64_t protocol; /* the protocol features both sides have */
	const char *name;  /* for log lines: "virtio-fs 'tag'" */
};

/* One vring as the back end gets it. Ring addresses are petrel's own
 * (host virtual) addresses of the rings, which the back end translates
 * through the memory table; the fds are sent, not given away. */
struct vhu_vring {
	uint16_t num;  /* queue size */
	uint16_t base; /* next avail index the back end takes */
	const void *desc, *avail, *used;
	int kick; /* eventfd the guest's notifications signal */
	int call; /* eventfd the back end signals for an interrupt */
	int err;  /* eventfd the back end signals on a ring error; -1: none */
};

/* Take `fd` (a connected unix stream socket; closed on failure too) and
 * negotiate: a receive and send timeout of `timeout_ms`, SET_OWNER,
 * GET_FEATURES and, if the back end offers protocol features,
 * GET/SET_PROTOCOL_FEATURES (petrel asks for REPLY_ACK only). 0, or
 * -errno with one line logged; v->fd is -1 after a failure. */
int vhu_open(struct vhu *v, int fd, const char *name, unsigned int timeout_ms) MUST_CHECK;

/* SET_FEATURES: the virtio features the driver accepted (plus
 * PROTOCOL_FEATURES when the back end offered it). */
int vhu_set_features(struct vhu *v, uint64_t features) MUST_CHECK;

/* SET_MEM_TABLE: every region of gm, with gm->fd (gm_init_shared) sent
 * once per region. -EINVAL if RAM is not shared or has too many
 * regions. */
int vhu_set_mem_table(struct vhu *v, const struct gm *gm) MUST_CHECK;

/* Hand vring `index` to the back end: NUM, ADDR, BASE, CALL, ERR, KICK,
 * then ENABLE when protocol features were negotiated. */
int vhu_vring_start(struct vhu *v, unsigned int index, const struct vhu_vring *r) MUST_CHECK;

/* GET_VRING_BASE: the back end stops vring `index` and says the next
 * avail index it would have taken (*base). */
int vhu_vring_stop(struct vhu *v, unsigned int index, uint16_t *base) MUST_CHECK;

/* Close the connection (the back end sees it hang up). Idempotent. */
void vhu_close(struct vhu *v);

/* Check a whole reply `buf`/`len` (header and payload, as received) to
 * `request`: version 1, the REPLY flag and no undefined flag, the same
 * request, a payload of exactly `want` bytes; copy the payload to
 * `payload`. 0 or -EPROTO. Pure: the fuzz target's entry too. */
int vhu_reply_parse(const uint8_t *buf, size_t len, uint32_t request, void *payload,
		    size_t want) MUST_CHECK;

#endif
