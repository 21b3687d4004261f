/* SPDX-License-Identifier: MIT */
/*
 * A fake vhost-user back end in a thread, on one end of a socketpair: it
 * records every message petrel sends (request, flags, payload, fds) and
 * answers as a back end would, or, in one of the hostile modes, badly,
 * to the request named `bad_request`.
 */
#ifndef PETREL_TEST_VHU_FAKE_H
#define PETREL_TEST_VHU_FAKE_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "le.h"
#include "vhost_user/vhost_user.h"

enum vhu_fake_mode {
	FAKE_GOOD,
	FAKE_WRONG_REQUEST, /* the reply names another request */
	FAKE_WRONG_SIZE,    /* a 4-byte payload where 8 are due */
	FAKE_HUGE_SIZE,	    /* a header announcing 64 KiB */
	FAKE_NO_REPLY_FLAG, /* flags without REPLY */
	FAKE_VERSION_2,	    /* flags version 2 */
	FAKE_NACK,	    /* REPLY_ACK status 1 */
	FAKE_HANG_UP,	    /* close the socket instead of answering */
	FAKE_SILENT,	    /* never answer (petrel's timeout) */
	FAKE_WITH_FD,	    /* a good reply carrying an fd */
};

#define FAKE_MAX_MSGS 32

struct vhu_fake_msg {
	uint32_t request, flags, size;
	uint8_t payload[VHU_MAX_PAYLOAD];
	int fds[VHU_MAX_REGIONS];
	unsigned int nfds;
};

struct vhu_fake {
	int fd;	 /* the back end's end */
	int lfd; /* vhu_fake_listen: the listening socket until it accepts */
	pthread_t thread;
	uint64_t features, protocol;
	uint16_t vring_base; /* GET_VRING_BASE's answer */
	enum vhu_fake_mode mode;
	uint32_t bad_request;
	struct vhu_fake_msg msg[FAKE_MAX_MSGS];
	unsigned int nmsgs;
};

static inline void vhu_fake_send(struct vhu_fake *f, uint32_t req, uint32_t flags, uint32_t size,
				 const void *p, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	uint8_t b[VHU_HDR_SIZE + 8];
	struct iovec iov = { b, VHU_HDR_SIZE + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	le_put(b, req, 4);
	le_put(b + 4, flags, 4);
	le_put(b + 8, size, 4);
	memcpy(b + VHU_HDR_SIZE, p, len);
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!sendmsg(f->fd, &mh, MSG_NOSIGNAL);
}

/* Answer request `req` with the 8-byte payload `v`, as the mode says. */
static inline void vhu_fake_reply(struct vhu_fake *f, uint32_t req, const uint8_t v[8])
{
	uint32_t flags = VHU_FLAG_VERSION | VHU_FLAG_REPLY;
	enum vhu_fake_mode mode = req == f->bad_request ? f->mode : FAKE_GOOD;
	uint8_t nack[8] = { 1 };
	int pipefd[2];

	switch (mode) {
	case FAKE_WRONG_REQUEST:
		return vhu_fake_send(f, req + 1, flags, 8, v, 8, -1);
	case FAKE_WRONG_SIZE:
		return vhu_fake_send(f, req, flags, 4, v, 4, -1);
	case FAKE_HUGE_SIZE:
		return vhu_fake_send(f, req, flags, 65536, v, 8, -1);
	case FAKE_NO_REPLY_FLAG:
		return vhu_fake_send(f, req, VHU_FLAG_VERSION, 8, v, 8, -1);
	case FAKE_VERSION_2:
		return vhu_fake_send(f, req, 2 | VHU_FLAG_REPLY, 8, v, 8, -1);
	case FAKE_NACK:
		return vhu_fake_send(f, req, flags, 8, nack, 8, -1);
	case FAKE_HANG_UP:
		shutdown(f->fd, SHUT_RDWR);
		return;
	case FAKE_SILENT:
		return;
	case FAKE_WITH_FD:
		if (pipe(pipefd))
			return;
		vhu_fake_send(f, req, flags, 8, v, 8, pipefd[0]);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	case FAKE_GOOD:
		return vhu_fake_send(f, req, flags, 8, v, 8, -1);
	}
}

static inline void *vhu_fake_run(void *opaque)
{
	struct vhu_fake *f = opaque;

	for (;;) {
		union {
			char buf[CMSG_SPACE(VHU_MAX_REGIONS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		uint8_t hdr[VHU_HDR_SIZE], v[8] = { 0 };
		struct vhu_fake_msg *m = &f->msg[f->nmsgs < FAKE_MAX_MSGS ? f->nmsgs : 0];
		struct iovec iov = { hdr, sizeof(hdr) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if (recvmsg(f->fd, &mh, MSG_WAITALL) != sizeof(hdr))
			return NULL;
		memset(m, 0, sizeof(*m));
		m->request = (uint32_t)le_get(hdr, 4);
		m->flags = (uint32_t)le_get(hdr + 4, 4);
		m->size = (uint32_t)le_get(hdr + 8, 4);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			m->nfds = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(m->fds, CMSG_DATA(c), m->nfds * sizeof(int));
		}
		if (m->size > sizeof(m->payload) ||
		    (m->size && recv(f->fd, m->payload, m->size, MSG_WAITALL) != (ssize_t)m->size))
			return NULL;
		if (f->nmsgs < FAKE_MAX_MSGS)
			f->nmsgs++;
		switch (m->request) {
		case VHU_GET_FEATURES:
			le_put(v, f->features, 8);
			vhu_fake_reply(f, m->request, v);
			break;
		case VHU_GET_PROTOCOL_FEATURES:
			le_put(v, f->protocol, 8);
			vhu_fake_reply(f, m->request, v);
			break;
		case VHU_GET_VRING_BASE:
			memcpy(v, m->payload, 4);
			le_put(v + 4, f->vring_base, 4);
			vhu_fake_reply(f, m->request, v);
			break;
		default:
			if (m->flags & VHU_FLAG_NEED_REPLY)
				vhu_fake_reply(f, m->request, v);
			else if (m->request == f->bad_request && f->mode == FAKE_HANG_UP)
				shutdown(f->fd, SHUT_RDWR);
		}
	}
}

/* Start the fake; *client is petrel's end. 0 or -1. */
static inline int vhu_fake_start(struct vhu_fake *f, int *client)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	f->fd = sv[1];
	*client = sv[0];
	if (pthread_create(&f->thread, NULL, vhu_fake_run, f)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

static inline void *vhu_fake_accept_run(void *opaque)
{
	struct vhu_fake *f = opaque;
	int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

	close(f->lfd);
	f->lfd = -1;
	if (fd < 0)
		return NULL;
	f->fd = fd;
	return vhu_fake_run(f);
}

/* Start the fake listening on unix socket `path`, for one connection. */
static inline int vhu_fake_listen(struct vhu_fake *f, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	f->fd = -1;
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 1) ||
	    pthread_create(&f->thread, NULL, vhu_fake_accept_run, f))
		return -1;
	return 0;
}

/* Stop it (petrel's end must be closed first: the thread sees EOF), and
 * close every fd it was sent. */
static inline void vhu_fake_stop(struct vhu_fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->fd);
	for (unsigned int i = 0; i < f->nmsgs; i++)
		for (unsigned int j = 0; j < f->msg[i].nfds; j++)
			close(f->msg[i].fds[j]);
}

/* The i-th recorded message of request `req`, or NULL. */
static inline const struct vhu_fake_msg *vhu_fake_find(const struct vhu_fake *f, uint32_t req,
						       unsigned int i)
{
	for (unsigned int k = 0; k < f->nmsgs; k++)
		if (f->msg[k].request == req && i-- == 0)
			return &f->msg[k];
	return NULL;
}

#endif
