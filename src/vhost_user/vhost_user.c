/* SPDX-License-Identifier: MIT */
#include "vhost_user/vhost_user.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "le.h"

static struct log_limit vhu_log = LOG_LIMIT_INIT(16);

/* ------------------------------------------------------------- replies */

int vhu_reply_parse(const uint8_t *buf, size_t len, uint32_t request, void *payload, size_t want)
{
	uint32_t req, flags, size;

	if (len < VHU_HDR_SIZE)
		return -EPROTO;
	req = (uint32_t)le_get(buf, 4);
	flags = (uint32_t)le_get(buf + 4, 4);
	size = (uint32_t)le_get(buf + 8, 4);
	if (req != request || (flags & 3) != VHU_FLAG_VERSION || !(flags & VHU_FLAG_REPLY) ||
	    (flags & ~(uint32_t)(3 | VHU_FLAG_REPLY | VHU_FLAG_NEED_REPLY)))
		return -EPROTO;
	if (size != want || len - VHU_HDR_SIZE != want)
		return -EPROTO;
	memcpy(payload, buf + VHU_HDR_SIZE, want);
	return 0;
}

/* Close whatever fds came with a message: petrel asks for none. */
static void vhu_drop_fds(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/* Read exactly len bytes (one recvmsg that waits for all of them, up to
 * the socket's timeout). 0, -ETIMEDOUT, -ECONNRESET (closed) or -errno. */
static int vhu_recv(struct vhu *v, void *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len == 0)
		return 0;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(v->fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC | MSG_NOSIGNAL);
	if (n > 0)
		vhu_drop_fds(&mh);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET;
	return (size_t)n == len ? 0 : -ETIMEDOUT; /* a short read: the timeout hit */
}

/* Receive the reply to `request` with a payload of `want` bytes. */
static int vhu_reply(struct vhu *v, uint32_t request, void *payload, size_t want)
{
	uint8_t buf[VHU_HDR_SIZE + 8];
	uint32_t size;
	int err;

	err = vhu_recv(v, buf, VHU_HDR_SIZE);
	if (err)
		return err;
	size = (uint32_t)le_get(buf + 8, 4);
	/* Never read more than the largest reply there is. */
	if (size > 8)
		return -EPROTO;
	err = vhu_recv(v, buf + VHU_HDR_SIZE, size);
	if (err)
		return err;
	return vhu_reply_parse(buf, VHU_HDR_SIZE + size, request, payload, want);
}

/* ------------------------------------------------------------- requests */

static int vhu_send(struct vhu *v, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_REGIONS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t hdr[VHU_HDR_SIZE];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (v->fd < 0)
		return -ENOTCONN;
	if (nfds > VHU_MAX_REGIONS || size > VHU_MAX_PAYLOAD)
		return -EINVAL;
	le_put(hdr, request, 4);
	le_put(hdr + 4, VHU_FLAG_VERSION | flags, 4);
	le_put(hdr + 8, size, 4);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(v->fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return (size_t)n == sizeof(hdr) + size ? 0 : -ETIMEDOUT;
}

/* Send a request that has no reply of its own; with REPLY_ACK ask for
 * one and check it says 0 (success). */
static int vhu_request(struct vhu *v, uint32_t request, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds)
{
	bool ack = v->protocol & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	uint8_t status[8];
	int err;

	err = vhu_send(v, request, ack ? VHU_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);
	if (err || !ack)
		return err;
	err = vhu_reply(v, request, status, sizeof(status));
	if (!err && le_get(status, 8))
		err = -EIO;
	return err;
}

/* Send a request whose reply carries a u64 (or a vring state). */
static int vhu_get(struct vhu *v, uint32_t request, const void *payload, uint32_t size,
		   uint8_t out[8])
{
	int err = vhu_send(v, request, 0, payload, size, NULL, 0);

	return err ? err : vhu_reply(v, request, out, 8);
}

static int vhu_u64(struct vhu *v, uint32_t request, uint64_t value)
{
	uint8_t p[8];

	le_put(p, value, 8);
	return vhu_request(v, request, p, sizeof(p), NULL, 0);
}

/* Log a failure once (rate-limited) and pass it on. */
static int vhu_failed(struct vhu *v, const char *what, int err)
{
	log_limited(&vhu_log, "%s: vhost-user %s: %s", v->name, what,
		    err == -EPROTO ? "malformed reply" : strerror(-err));
	return err;
}

/* ------------------------------------------------------------- sessions */

int vhu_open(struct vhu *v, int fd, const char *name, unsigned int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	uint8_t out[8];
	int err;

	*v = (struct vhu){ .fd = fd, .name = name };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		err = vhu_failed(v, "socket timeout", -errno);
		goto err_close;
	}
	err = vhu_request(v, VHU_SET_OWNER, NULL, 0, NULL, 0);
	if (err) {
		vhu_failed(v, "SET_OWNER", err);
		goto err_close;
	}
	err = vhu_get(v, VHU_GET_FEATURES, NULL, 0, out);
	if (err) {
		vhu_failed(v, "GET_FEATURES", err);
		goto err_close;
	}
	v->features = le_get(out, 8);
	if (!(v->features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		return 0;
	err = vhu_get(v, VHU_GET_PROTOCOL_FEATURES, NULL, 0, out);
	if (err) {
		vhu_failed(v, "GET_PROTOCOL_FEATURES", err);
		goto err_close;
	}
	/* Set before the request: SET_PROTOCOL_FEATURES itself is acked
	 * only if the back end takes REPLY_ACK, which it has just offered. */
	v->protocol = le_get(out, 8) & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	le_put(out, v->protocol, 8);
	err = vhu_request(v, VHU_SET_PROTOCOL_FEATURES, out, 8, NULL, 0);
	if (err) {
		vhu_failed(v, "SET_PROTOCOL_FEATURES", err);
		goto err_close;
	}
	return 0;
err_close:
	vhu_close(v);
	return err;
}

int vhu_set_features(struct vhu *v, uint64_t features)
{
	int err;

	features |= v->features & (1ULL << VHU_F_PROTOCOL_FEATURES);
	err = vhu_u64(v, VHU_SET_FEATURES, features);
	return err ? vhu_failed(v, "SET_FEATURES", err) : 0;
}

int vhu_set_mem_table(struct vhu *v, const struct gm *gm)
{
	uint8_t p[VHU_MAX_PAYLOAD] = { 0 };
	int fds[VHU_MAX_REGIONS];
	int err;

	if (gm->fd < 0 || gm->nregions == 0 || gm->nregions > VHU_MAX_REGIONS)
		return vhu_failed(v, "SET_MEM_TABLE (guest RAM is not shared)", -EINVAL);
	le_put(p, gm->nregions, 4); /* then 4 bytes of padding */
	for (unsigned int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->region[i];
		uint8_t *e = p + 8 + i * 32;

		le_put(e, r->base, 8);
		le_put(e + 8, r->size, 8);
		le_put(e + 16, (uintptr_t)r->host, 8);
		le_put(e + 24, r->fd_offset, 8);
		fds[i] = gm->fd;
	}
	err = vhu_request(v, VHU_SET_MEM_TABLE, p, 8 + gm->nregions * 32, fds, gm->nregions);
	return err ? vhu_failed(v, "SET_MEM_TABLE", err) : 0;
}

static int vhu_state(struct vhu *v, uint32_t request, unsigned int index, uint32_t num)
{
	uint8_t p[8];

	le_put(p, index, 4);
	le_put(p + 4, num, 4);
	return vhu_request(v, request, p, sizeof(p), NULL, 0);
}

/* SET_VRING_KICK / CALL / ERR: the index, and the fd or NOFD. */
static int vhu_vring_fd(struct vhu *v, uint32_t request, unsigned int index, int fd)
{
	uint8_t p[8];

	le_put(p, index | (fd < 0 ? VHU_VRING_NOFD : 0), 8);
	return vhu_request(v, request, p, sizeof(p), &fd, fd < 0 ? 0 : 1);
}

int vhu_vring_start(struct vhu *v, unsigned int index, const struct vhu_vring *r)
{
	uint8_t addr[40] = { 0 };
	const char *what = "SET_VRING_NUM";
	int err;

	le_put(addr, index, 4); /* flags 0: no dirty log */
	le_put(addr + 8, (uintptr_t)r->desc, 8);
	le_put(addr + 16, (uintptr_t)r->used, 8);
	le_put(addr + 24, (uintptr_t)r->avail, 8);
	err = vhu_state(v, VHU_SET_VRING_NUM, index, r->num);
	if (!err && (what = "SET_VRING_ADDR"))
		err = vhu_request(v, VHU_SET_VRING_ADDR, addr, sizeof(addr), NULL, 0);
	if (!err && (what = "SET_VRING_BASE"))
		err = vhu_state(v, VHU_SET_VRING_BASE, index, r->base);
	if (!err && (what = "SET_VRING_CALL"))
		err = vhu_vring_fd(v, VHU_SET_VRING_CALL, index, r->call);
	if (!err && r->err >= 0 && (what = "SET_VRING_ERR"))
		err = vhu_vring_fd(v, VHU_SET_VRING_ERR, index, r->err);
	/* The kick last: a back end starts the ring when it has it. */
	if (!err && (what = "SET_VRING_KICK"))
		err = vhu_vring_fd(v, VHU_SET_VRING_KICK, index, r->kick);
	if (!err && v->features & (1ULL << VHU_F_PROTOCOL_FEATURES) && (what = "SET_VRING_ENABLE"))
		err = vhu_state(v, VHU_SET_VRING_ENABLE, index, 1);
	return err ? vhu_failed(v, what, err) : 0;
}

int vhu_vring_stop(struct vhu *v, unsigned int index, uint16_t *base)
{
	uint8_t p[8], out[8];
	int err;

	le_put(p, index, 4);
	le_put(p + 4, 0, 4);
	err = vhu_get(v, VHU_GET_VRING_BASE, p, sizeof(p), out);
	if (!err && (le_get(out, 4) != index || le_get(out + 4, 4) > UINT16_MAX))
		err = -EPROTO;
	if (err)
		return vhu_failed(v, "GET_VRING_BASE", err);
	*base = (uint16_t)le_get(out + 4, 4);
	return 0;
}

void vhu_close(struct vhu *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}
