/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net test environment shared by test_virtio_net.c and
 * test_virtio_net_tap.c: the device over a SOCK_SEQPACKET socket pair
 * standing in for the tap (the test holds the other end), its rings built
 * in fake guest memory, and helpers to queue buffers and read results.
 */
#ifndef PETREL_TEST_VIRTIO_NET_ENV_H
#define PETREL_TEST_VIRTIO_NET_ENV_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_gm.h"
#include "fake_virtq.h"
#include "harness.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/tap.h"

#define RAM_SIZE (4u << 20)
#define QSIZE 64
#define BUF_BASE 0x20000

#define F(bit) VIRTIO_BIT(VIRTIO_NET_F_##bit)

struct hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static struct env {
	struct gm gm;
	struct virtio_dev dev;
	struct virtio_dev *d; /* &dev, or the one inside an MMIO transport */
	struct evloop ev;
	int peer;
	struct fake_transport ft; /* ft.used[q]: interrupts; ft.needs_reset */
	struct fake_vq vq[2];
	gpa_t next_buf;
} env;

static inline gpa_t q_desc(unsigned int q)
{
	return 0x1000 + q * 0x4000;
}

static inline gpa_t q_avail(unsigned int q)
{
	return q_desc(q) + 0x1000;
}

static inline gpa_t q_used(unsigned int q)
{
	return q_desc(q) + 0x2000;
}

static inline void *gp(gpa_t gpa, size_t len)
{
	return gm_ptr(&env.gm, gpa, len);
}

/* Queue q's rings, empty, as the driver sees them. */
static inline void ring_init(unsigned int q, uint16_t size)
{
	fake_vq_init(&env.vq[q], &env.gm, size, q_desc(q), q_avail(q), q_used(q));
	memset(gp(q_desc(q), 0x3000), 0, 0x3000);
}

/* Set the queues up as a driver would and, like the transport at
 * DRIVER_OK, activate. */
static inline bool start(uint64_t features, uint16_t rx_size)
{
	env.d->features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | features;
	for (unsigned int q = 0; q < 2; q++) {
		ring_init(q, q == VIRTIO_NET_RXQ ? rx_size : QSIZE);
		if (!fake_vq_start(env.d, q, &env.vq[q]))
			return false;
		env.ft.used[q] = 0;
	}
	env.d->status = FAKE_STATUS_DRIVER_OK;
	return env.d->ops->activate(env.d) == 0;
}

/* Forget the last case, with no device yet. */
static inline void env_clear(void)
{
	memset(&env, 0, sizeof(env));
	env.next_buf = BUF_BASE;
	env.peer = -1;
	env.d = &env.dev;
}

/* A clear environment with guest memory, the device's lock and an event
 * loop, no device yet. */
static inline bool env_init(void)
{
	env_clear();
	if (!fake_gm_init(&env.gm, 0, RAM_SIZE))
		return false;
	pthread_mutex_init(&env.d->lock, NULL);
	return evloop_init(&env.ev) == 0;
}

/* The device on the backend `cfg` names (a link, passt, vde), started
 * with mergeable receive buffers. */
static inline bool setup_cfg(const struct net_config *cfg)
{
	if (!env_init() || virtio_net_create(env.d, &env.ev, &env.gm, cfg, NULL))
		return false;
	fake_transport_attach(env.d, &env.ft);
	return start(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), QSIZE);
}

static inline bool setup(uint64_t features, uint16_t rx_size)
{
	int sv[2];

	if (!env_init())
		return false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return false;
	env.peer = sv[1];
	if (virtio_net_create_fd(env.d, &env.ev, &env.gm, sv[0], false, test_mac))
		return false;
	fake_transport_attach(env.d, &env.ft);
	return start(features, rx_size);
}

static inline void teardown(void)
{
	if (env.d->ops)
		env.d->ops->destroy(env.d);
	evloop_destroy(&env.ev);
	if (env.peer >= 0)
		close(env.peer);
	pthread_mutex_destroy(&env.d->lock);
	fake_gm_free(&env.gm);
}

struct seg {
	uint32_t len;
	bool writable;
	const void *data; /* readable: contents */
	gpa_t gpa;	  /* out: where it was placed */
};

/* Queue one chain of `n` (<= 16) segments on q, each placed in the next
 * free guest memory; returns its head. */
static uint16_t add_chain(unsigned int q, struct seg *s, unsigned int n)
{
	struct fake_buf b[16];

	for (unsigned int i = 0; i < n; i++) {
		s[i].gpa = env.next_buf;
		env.next_buf += (s[i].len + 15) & ~15u;
		if (env.next_buf > RAM_SIZE - 0x10000)
			env.next_buf = BUF_BASE;
		if (s[i].data)
			memcpy(gp(s[i].gpa, s[i].len), s[i].data, s[i].len);
		b[i] =
		    (struct fake_buf){ .gpa = s[i].gpa, .len = s[i].len, .write = s[i].writable };
	}
	return fake_vq_add(&env.vq[q], b, n);
}

/* One writable buffer of `len` bytes on the receive queue. */
static uint16_t add_rx(uint32_t len, gpa_t *gpa)
{
	struct seg s = { .len = len, .writable = true };
	uint16_t head = add_chain(VIRTIO_NET_RXQ, &s, 1);

	if (gpa)
		*gpa = s.gpa;
	return head;
}

/* A transmit chain: header and frame in one readable buffer. */
static uint16_t add_tx(const struct hdr *h, const uint8_t *frame, uint32_t len)
{
	uint8_t *buf = malloc(sizeof(*h) + len);
	struct seg s = { .len = (uint32_t)sizeof(*h) + len, .data = buf };
	uint16_t head;

	memcpy(buf, h, sizeof(*h));
	memcpy(buf + sizeof(*h), frame, len);
	head = add_chain(VIRTIO_NET_TXQ, &s, 1);
	free(buf);
	return head;
}

static inline void kick(unsigned int q)
{
	fake_kick(env.d, q);
}

/* One pass of the event loop without blocking; returns the events handled. */
static inline int pump(void)
{
	return fake_evloop_pass(&env.ev, 0);
}

static uint16_t used_idx(unsigned int q)
{
	return fake_vq_used_idx(&env.vq[q]);
}

static inline void used_elem(unsigned int q, uint16_t i, uint32_t *id, uint32_t *len)
{
	fake_vq_used_elem(&env.vq[q], i, id, len);
}

static inline void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static inline bool peer_send(const struct hdr *h, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) }, { (void *)frame, len } };

	return writev(env.peer, iov, 2) == (ssize_t)(sizeof(*h) + len);
}

static inline struct virtio_net_stats stats(void)
{
	struct virtio_net_stats s;

	virtio_net_get_stats(env.d, &s);
	return s;
}

#endif
