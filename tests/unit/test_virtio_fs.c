/* SPDX-License-Identifier: MIT */
/* virtio-fs over virtio-mmio against a fake vhost-user back end
 * (vhu_fake.h) on a unix socket: config space, the hand-over at
 * DRIVER_OK (memory table, the transport's doorbell and interrupt
 * eventfds), and what the guest gets when the back end goes: EIO for
 * every request, the open ones included when the back end answered in
 * order, none answered twice otherwise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_virtq.h"
#include "harness.h"
#include "vhu_fake.h"
#include "virtio/fs.h"

#define RAM (1ULL << 20)
#define REQ_GPA 0x40000ULL /* request buffers: 64 bytes in, 64 out, per slot */
#define UNIQUE 0x1122334455667788ULL

struct env {
	struct gm gm;
	struct evloop ev;
	struct vhu_fake fake;
	struct virtio_mmio *m;
	struct fake_vq vq[2];
	char path[64];
};

static bool env_open(struct env *e, enum vhu_fake_mode mode, uint32_t bad_request)
{
	struct fs_config cfg = { .tag = "share" };

	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "/tmp/petrel-test-fs-%d.sock", (int)getpid());
	snprintf(cfg.socket, sizeof(cfg.socket), "%s", e->path);
	e->fake.features = (1ULL << 32) | (1ULL << 29) | (1ULL << 28) | (1ULL << 30);
	e->fake.protocol = 1ULL << VHU_PROTOCOL_F_REPLY_ACK;
	e->fake.mode = mode;
	e->fake.bad_request = bad_request;
	if (gm_init_shared(&e->gm, RAM) || evloop_init(&e->ev) ||
	    vhu_fake_listen(&e->fake, e->path))
		return false;
	e->m = virtio_mmio_new();
	if (!e->m || virtio_fs_create(&e->m->dev, &e->ev, &e->gm, &cfg) ||
	    virtio_mmio_attach(e->m, &e->ev, -1, 0xd0000000, 5))
		return false;
	fake_vq_init(&e->vq[0], &e->gm, 16, 0x1000, 0x2000, 0x3000);
	fake_vq_init(&e->vq[1], &e->gm, 16, 0x4000, 0x5000, 0x6000);
	if (!(fake_mmio_negotiate(e->m, VIRTIO_BIT(VIRTIO_F_VERSION_1)) &
	      VIRTIO_STATUS_FEATURES_OK))
		return false;
	fake_mmio_queue(e->m, 0, &e->vq[0]);
	fake_mmio_queue(e->m, 1, &e->vq[1]);
	fake_mmio_driver_ok(e->m);
	return true;
}

static void env_close(struct env *e)
{
	virtio_mmio_free(e->m);
	vhu_fake_stop(&e->fake);
	evloop_destroy(&e->ev);
	gm_destroy(&e->gm);
	unlink(e->path);
}

/* A FUSE request in slot i on queue q: a 64-byte header the device reads
 * (unique at offset 8) and 64 bytes it may write. Returns its head. */
static uint16_t add_request(struct env *e, unsigned int q, unsigned int i)
{
	gpa_t in = REQ_GPA + i * 256, out = in + 128;
	uint8_t *h = gm_ptr(&e->gm, in, 64);

	memset(h, 0, 64);
	le_put(h, 64, 4);
	le_put(h + 8, UNIQUE + i, 8);
	memset(gm_ptr(&e->gm, out, 64), 0xaa, 64);
	return fake_vq_add(&e->vq[q], (struct fake_buf[]){ { in, 64, false }, { out, 64, true } },
			   2);
}

/* The back end's part: put `head` in the used ring, as it would. */
static void backend_used(struct env *e, unsigned int q, uint16_t head)
{
	uint8_t *u = gm_ptr(&e->gm, e->vq[q].used, 4 + 8 * 16);
	uint16_t idx = (uint16_t)le_get(u + 2, 2);

	le_put(u + 4 + 8 * (idx % 16), head, 4);
	le_put(u + 4 + 8 * (idx % 16) + 4, 16, 4);
	le_put(u + 2, idx + 1, 2);
}

/* Used entry for `head` carries a FUSE EIO header for request slot i. */
static bool answered_eio(struct env *e, uint16_t head, unsigned int i)
{
	uint32_t id, len;
	const uint8_t *o = gm_ptr(&e->gm, REQ_GPA + i * 256 + 128, 16);

	if (!fake_vq_next_used(&e->vq[1], &id, &len))
		return false;
	return id == head && len == 16 && le_get(o, 4) == 16 && (int32_t)le_get(o + 4, 4) == -EIO &&
	       le_get(o + 8, 8) == UNIQUE + i;
}

static void fs_config_space(void)
{
	struct env e;
	char tag[37] = { 0 };

	REQUIRE(env_open(&e, FAKE_GOOD, 0));
	CHECK(fake_mmio_read(e.m, VIRTIO_MMIO_REG_DEVICE_ID) == 26);
	for (unsigned int i = 0; i < 36; i++)
		tag[i] = (char)fake_mmio_read_n(e.m, VIRTIO_MMIO_REG_CONFIG + i, 1);
	CHECK(!strcmp(tag, "share"));
	CHECK(fake_mmio_read(e.m, VIRTIO_MMIO_REG_CONFIG + 36) == 1);
	/* The back end cannot set InterruptStatus: it always says "used". */
	CHECK(fake_mmio_read(e.m, VIRTIO_MMIO_REG_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	env_close(&e);
}

/* DRIVER_OK hands both rings over with the transport's own eventfds: a
 * trapped kick reaches the back end's kick fd, its call fd is the irqfd. */
static void fs_hands_rings_over(void)
{
	const struct vhu_fake_msg *mt, *kick, *call;
	uint64_t n = 0;
	struct env e;

	REQUIRE(env_open(&e, FAKE_GOOD, 0));
	CHECK(fake_mmio_read(e.m, VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_DRIVER_OK);
	mt = vhu_fake_find(&e.fake, VHU_SET_MEM_TABLE, 0);
	CHECK(mt && mt->nfds == 1 && le_get(mt->payload + 8 + 8, 8) == RAM);
	kick = vhu_fake_find(&e.fake, VHU_SET_VRING_KICK, 1);
	call = vhu_fake_find(&e.fake, VHU_SET_VRING_CALL, 1);
	REQUIRE(kick && call && kick->nfds == 1 && call->nfds == 1);
	CHECK(le_get(kick->payload, 8) == 1);
	CHECK(vhu_fake_find(&e.fake, VHU_SET_VRING_ENABLE, 1) != NULL);
	add_request(&e, 1, 0);
	fake_mmio_write(e.m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	CHECK(read(kick->fds[0], &n, 8) == 8 && n >= 1);
	n = 1;
	CHECK(write(call->fds[0], &n, 8) == 8 && read(e.m->irq_fd, &n, 8) == 8);
	/* petrel itself does not answer while the back end has the ring. */
	CHECK(fake_vq_used_idx(&e.vq[1]) == 0);
	env_close(&e);
}

/* The back end answered the first of two requests and hung up: petrel
 * answers the second (open) one and every later one with EIO, and a
 * driver reset stays quiet. */
static void fs_backend_gone_in_order(void)
{
	uint16_t h0, h1, h2;
	struct env e;

	REQUIRE(env_open(&e, FAKE_GOOD, 0));
	h0 = add_request(&e, 1, 0);
	h1 = add_request(&e, 1, 1);
	backend_used(&e, 1, h0);
	e.fake.vring_base = 0;
	shutdown(e.fake.fd, SHUT_RDWR);
	fake_evloop_pass(&e.ev, 1000);
	CHECK(fake_vq_used_idx(&e.vq[1]) == 2);
	e.vq[1].used_seen = 1;
	CHECK(answered_eio(&e, h1, 1));
	CHECK(!(fake_mmio_read(e.m, VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	h2 = add_request(&e, 1, 2);
	fake_mmio_write(e.m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	CHECK(answered_eio(&e, h2, 2));
	/* The driver resets and starts again: still EIO, no back end asked. */
	fake_mmio_write(e.m, VIRTIO_MMIO_REG_STATUS, 0);
	CHECK(fake_mmio_negotiate(e.m, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	fake_vq_init(&e.vq[1], &e.gm, 16, 0x4000, 0x5000, 0x6000);
	memset(gm_ptr(&e.gm, 0x4000, 0x3000), 0, 0x3000);
	fake_mmio_queue(e.m, 0, &e.vq[0]);
	fake_mmio_queue(e.m, 1, &e.vq[1]);
	fake_mmio_driver_ok(e.m);
	h0 = add_request(&e, 1, 3);
	fake_mmio_write(e.m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
	CHECK(answered_eio(&e, h0, 3));
	env_close(&e);
}

/* The back end goes while the VM is paused: nothing is answered until
 * the resume, then the waiting request is. */
static void fs_backend_gone_while_paused(void)
{
	uint16_t h0;
	struct env e;

	REQUIRE(env_open(&e, FAKE_GOOD, 0));
	h0 = add_request(&e, 1, 0);
	virtio_mmio_pause(e.m);
	shutdown(e.fake.fd, SHUT_RDWR);
	fake_evloop_pass(&e.ev, 1000);
	CHECK(fake_vq_used_idx(&e.vq[1]) == 0);
	virtio_mmio_resume(e.m);
	CHECK(answered_eio(&e, h0, 0));
	env_close(&e);
}

/* Answered out of order: petrel cannot tell which request is open, so it
 * answers none (never one twice) and marks the device NEEDS_RESET. */
static void fs_backend_gone_out_of_order(void)
{
	uint16_t h1;
	struct env e;

	REQUIRE(env_open(&e, FAKE_GOOD, 0));
	add_request(&e, 1, 0);
	h1 = add_request(&e, 1, 1);
	backend_used(&e, 1, h1);
	shutdown(e.fake.fd, SHUT_RDWR);
	fake_evloop_pass(&e.ev, 1000);
	CHECK(fake_vq_used_idx(&e.vq[1]) == 1);
	CHECK(fake_mmio_read(e.m, VIRTIO_MMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	env_close(&e);
}

/* A back end that refuses the memory table at DRIVER_OK: the device is
 * not failed (the guest's mount gets EIO, not a hang). */
static void fs_backend_refuses_at_driver_ok(void)
{
	static const enum vhu_fake_mode modes[] = { FAKE_NACK, FAKE_WRONG_SIZE, FAKE_HANG_UP };

	for (unsigned int i = 0; i < ARRAY_SIZE(modes); i++) {
		struct env e;
		uint16_t h;

		REQUIRE(env_open(&e, modes[i], VHU_SET_MEM_TABLE));
		CHECK(!vhu_fake_find(&e.fake, VHU_SET_VRING_KICK, 0));
		h = add_request(&e, 1, 0);
		fake_mmio_write(e.m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1);
		CHECK(answered_eio(&e, h, 0));
		env_close(&e);
	}
}

/* Nothing listening: creation fails, naming the share. */
static void fs_no_backend(void)
{
	struct fs_config cfg = { .tag = "t", .socket = "/nonexistent/petrel.sock" };
	struct virtio_mmio *m = virtio_mmio_new();
	struct evloop ev;
	struct gm gm;

	REQUIRE(m && gm_init_shared(&gm, RAM) == 0 && evloop_init(&ev) == 0);
	CHECK(virtio_fs_create(&m->dev, &ev, &gm, &cfg) == -ENOENT);
	virtio_mmio_free(m);
	evloop_destroy(&ev);
	gm_destroy(&gm);
}

int main(void)
{
	RUN(fs_config_space);
	RUN(fs_hands_rings_over);
	RUN(fs_backend_gone_in_order);
	RUN(fs_backend_gone_while_paused);
	RUN(fs_backend_gone_out_of_order);
	RUN(fs_backend_refuses_at_driver_ok);
	RUN(fs_no_backend);
	return harness_exit();
}
