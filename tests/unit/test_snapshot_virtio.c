/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of virtio devices behind the real virtio-mmio transport (no
 * KVM: kicks inline, interrupts on irq_fd). For each device a driver (the
 * test, through the registers) brings it up and uses it; the device is
 * paused and saved, and the stream loaded into a new device over the same
 * guest RAM, which saves the same bytes and then carries on: it serves the
 * next buffer the driver makes available and none it served before, without
 * the driver's handshake. Hostile streams (every truncation, and each field
 * out of what a device can hold) are refused with their reason and leave
 * the device as it was.
 *
 * virtio-console's host side is a fake: this file defines console_write,
 * console_set_input and console_input_wanted, so the linker takes them
 * instead of src/console.c's (as fuzz/fuzz_virtio_console.c does).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console.h"
#include "fake_gm.h"
#include "fake_virtq.h"
#include "harness.h"
#include "snap_env.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vconsole.h"
#include "virtio/vsock.h"

#define RAM (4u << 20)
#define DESC(q) (0x10000u + (q)*0x4000u)
#define AVAIL(q) (DESC(q) + 0x1000u)
#define USED(q) (DESC(q) + 0x2000u)
#define BUF 0x100000u /* buffers from here on */
#define V1 VIRTIO_BIT(VIRTIO_F_VERSION_1)
#define EVIDX VIRTIO_BIT(VIRTIO_F_EVENT_IDX)

static struct gm gm;
static struct evloop ev;
static char dir[32];

static bool env_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/petrel-snap-XXXXXX");
	return fake_gm_init(&gm, 0, RAM) && !evloop_init(&ev) && mkdtemp(dir);
}

static void env_free(void)
{
	evloop_destroy(&ev);
	fake_gm_free(&gm);
	rmdir(dir);
}

static void *gp(gpa_t gpa, size_t len)
{
	return gm_ptr(&gm, gpa, len);
}

/* ------------------------------------------------- transport and driver */

typedef int (*make_fn)(struct virtio_dev *dev, void *arg);

/* A device made by `make`, on its transport (not paused). */
static struct virtio_mmio *vnew(make_fn make, void *arg)
{
	struct virtio_mmio *m = virtio_mmio_new();

	if (!m)
		return NULL;
	if (make(&m->dev, arg) || virtio_mmio_attach(m, &ev, -1, 0xd0000000, 5)) {
		virtio_mmio_free(m);
		return NULL;
	}
	return m;
}

static int vsnap(void *m, struct snap *s)
{
	return virtio_mmio_snapshot(m, s);
}

static void kick(struct virtio_mmio *m, unsigned int q)
{
	fake_mmio_write(m, VIRTIO_MMIO_REG_QUEUE_NOTIFY, q);
}

/* Queue q's rings at DESC(q), AVAIL(q), USED(q). */
static void ring(struct fake_vq *fq, unsigned int q, uint16_t size)
{
	fake_vq_init(fq, &gm, size, DESC(q), AVAIL(q), USED(q));
}

/* The driver's handshake: features, n queues, DRIVER_OK. */
static bool drive_up(struct virtio_mmio *m, uint64_t features, const struct fake_vq *fq,
		     unsigned int n)
{
	if (!(fake_mmio_negotiate(m, features) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned int q = 0; q < n; q++)
		fake_mmio_queue(m, q, &fq[q]);
	return fake_mmio_driver_ok(m) == FAKE_STATUS_DRIVER_OK;
}

/* `a` is paused (and stays so); save it, load into the new `b`, which
 * saves the same bytes; then `b` runs: resumed, its event loop drained. */
static bool restore(struct virtio_mmio *a, struct virtio_mmio *b)
{
	bool ok;

	virtio_mmio_pause(b);
	ok = snap_round_trip(vsnap, a, b);
	virtio_mmio_resume(b);
	fake_evloop_drain(&ev);
	return ok;
}

/* Bytes of the transport's part of a stream (mmio_snapshot.c's layout):
 * identity 12, status and features 9, generation 4, config space, the
 * registers 17, then 36 per queue. */
#define TRANSPORT_LEN(config, nqueues) (12 + 13 + (config) + 17 + 36 * (nqueues))

/* ---------------------------------------------------------------- rng */

static int make_rng(struct virtio_dev *dev, void *arg)
{
	(void)arg;
	return virtio_rng_create(dev, &ev, &gm, &(struct rng_config){ 0 });
}

static uint16_t rng_give(struct fake_vq *fq, unsigned int i)
{
	memset(gp(BUF + 64 * i, 64), 0, 64);
	return fake_vq_add(fq, &(struct fake_buf){ BUF + 64 * i, 64, true }, 1);
}

static bool nonzero(gpa_t gpa, size_t len)
{
	const uint8_t *p = gp(gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return true;
	return false;
}

/* Two requests served, then paused with a third made available. */
static struct virtio_mmio *rng_used(struct fake_vq *fq)
{
	struct virtio_mmio *a = vnew(make_rng, NULL);

	ring(fq, 0, 16);
	if (!a || !drive_up(a, V1 | EVIDX, fq, 1))
		return a;
	for (unsigned int i = 0; i < 2; i++) {
		rng_give(fq, i);
		kick(a, 0);
	}
	virtio_mmio_pause(a);
	rng_give(fq, 2);
	return a;
}

static void snapshot_rng(void)
{
	struct virtio_mmio *a, *b;
	struct fake_vq fq;
	uint32_t head, len;

	REQUIRE(env_init());
	a = rng_used(&fq);
	b = vnew(make_rng, NULL);
	REQUIRE(a && b && fake_vq_used_idx(&fq) == 2);
	REQUIRE(restore(a, b));
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_STATUS) == FAKE_STATUS_DRIVER_OK);
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_QUEUE_READY) == 1);
	/* What waited at the save is served on resume ... */
	CHECK(fake_vq_used_idx(&fq) == 3 && nonzero(BUF + 128, 64));
	fake_vq_used_elem(&fq, 2, &head, &len);
	CHECK(head == 2 && len == 64);
	/* ... and the next kick serves the next buffer, only it. */
	rng_give(&fq, 3);
	kick(b, 0);
	CHECK(fake_vq_used_idx(&fq) == 4);
	fake_vq_used_elem(&fq, 3, &head, &len);
	CHECK(head == 3 && len == 64 && nonzero(BUF + 192, 64));
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	env_free();
}

/* Layout of an rng stream (no config space, one queue): 0 device ID,
 * 4 queues, 8 config size, 12 status, 13 features, 21 generation, 25..40
 * the four registers, 41 irq_held, then queue 0: 42 size, 44 ready, 45
 * desc, 53 avail, 61 used, 69 event_idx, 70 indirect, 71 last_avail, 73
 * used_idx, 75 signalled_used, 77 signalled_valid. */
static void snapshot_rng_hostile(void)
{
	static const struct {
		size_t off;
		unsigned int len;
		uint64_t v;
		const char *why;
	} bad[] = {
		{ 0, 4, 2, "virtio device type 2 is not this rng device's (4)" },
		{ 4, 4, 2, "with 2 queues" },
		{ 12, 1, 0x1f, "virtio status 0x1f has unknown bits" },
		{ 12, 1, 0x07, "DRIVER_OK without FEATURES_OK" },
		{ 13, 8, V1 | EVIDX | 1u << 5, "are not VERSION_1 and a subset of the offered" },
		{ 13, 8, EVIDX, "are not VERSION_1" },
		{ 37, 4, 4, "InterruptStatus 0x4 has unknown bits" },
		{ 41, 1, 2, "boolean 2 is not 0 or 1" },
		{ 42, 2, 3, "virtio queue 0 size 3 is not a power of two" },
		{ 42, 2, 128, "virtio queue 0 size 128 is over its maximum 64" },
		{ 44, 1, 0, "virtio queue 0 is not ready but has ring state" },
		{ 45, 8, DESC(0) + 8, "descriptor table at 0x10008 is not 16-byte aligned" },
		{ 53, 8, RAM - 8, "available ring at 0x3ffff8 (38 bytes) is outside guest RAM" },
		{ 61, 8, ~0xfffULL, "used ring at 0xfffffffffffff000" },
		{ 71, 2, 2 + 17, "virtio queue 0 has 17 chains in flight" },
		{ 77, 1, 9, "boolean 9" },
	};
	struct virtio_mmio *a, *b;
	struct fake_vq fq;
	struct blob s;

	REQUIRE(env_init());
	a = rng_used(&fq);
	b = vnew(make_rng, NULL);
	REQUIRE(a && b && blob_save(vsnap, a, &s) && s.n == TRANSPORT_LEN(0, 1));
	/* Into the device that made it (driven, paused), and a new one. */
	CHECK(snap_truncations_refused(vsnap, a, &s));
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(
		    snap_patch_refused(vsnap, a, &s, bad[i].off, bad[i].len, bad[i].v, bad[i].why));
	virtio_mmio_pause(b);
	CHECK(snap_truncations_refused(vsnap, b, &s));
	CHECK(snap_patch_refused(vsnap, b, &s, 42, 2, 3, "not a power of two"));
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_STATUS) == 0);
	/* Only a paused device is saved or loaded. */
	virtio_mmio_resume(b);
	CHECK(!blob_save(vsnap, b, &(struct blob){ 0 }) && strstr(snap_why, "not paused"));
	CHECK(blob_load(vsnap, b, s.p, s.n) == -EBUSY);
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	env_free();
}

/* QueueSel is whatever the driver last wrote, in range or not (the
 * transport checks it at each use), so a stream with a queue index out of
 * range loads, and that index reaches no queue: QueueNumMax and QueueReady
 * read 0, writes through it change nothing, queue 0 still serves. */
static void snapshot_rng_queue_sel(void)
{
	struct virtio_mmio *a, *b;
	struct fake_vq fq;
	struct blob s;

	REQUIRE(env_init());
	a = rng_used(&fq);
	b = vnew(make_rng, NULL);
	REQUIRE(a && b && blob_save(vsnap, a, &s) && s.n == TRANSPORT_LEN(0, 1));
	le_put(s.p + 33, UINT32_MAX, 4); /* the registers at 25: QueueSel third */
	virtio_mmio_pause(b);
	CHECK(blob_load(vsnap, b, s.p, s.n) == 0);
	virtio_mmio_resume(b);
	fake_evloop_drain(&ev);
	CHECK(fake_vq_used_idx(&fq) == 3); /* what waited at the save is served */
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == 0);
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_QUEUE_READY) == 0);
	fake_mmio_write(b, VIRTIO_MMIO_REG_QUEUE_NUM, 2);
	fake_mmio_write(b, VIRTIO_MMIO_REG_QUEUE_READY, 0);
	fake_mmio_write(b, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_QUEUE_READY) == 1);
	rng_give(&fq, 3);
	kick(b, 0);
	CHECK(fake_vq_used_idx(&fq) == 4 && nonzero(BUF + 192, 64));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	env_free();
}

/* ---------------------------------------------------------------- blk */

#define SECTORS 2048

struct disk {
	char path[128];
	bool read_only;
};

static int make_blk(struct virtio_dev *dev, void *arg)
{
	const struct disk *d = arg;
	struct disk_config cfg = { .read_only = d->read_only };
	int err;

	snprintf(cfg.path, sizeof(cfg.path), "%s", d->path);
	err = virtio_blk_create(dev, &ev, &gm, &cfg);
	return err ? err : dev->ops->start(dev, NULL);
}

static uint8_t sector_byte(uint64_t sector)
{
	return (uint8_t)(sector * 7 + 1);
}

/* An image of `sectors`, each filled with sector_byte. */
static bool disk_make(struct disk *d, const char *name, uint64_t sectors)
{
	uint8_t buf[512];
	int fd;
	bool ok = true;

	snprintf(d->path, sizeof(d->path), "%s/%s", dir, name);
	fd = open(d->path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	for (uint64_t s = 0; fd >= 0 && ok && s < sectors; s++) {
		memset(buf, sector_byte(s), sizeof(buf));
		ok = pwrite(fd, buf, sizeof(buf), (off_t)(s * 512)) == sizeof(buf);
	}
	if (fd >= 0)
		close(fd);
	return fd >= 0 && ok;
}

/* Read `sector` through request slot i and run it to the end: the status
 * byte, -1 if it was not used within 5 s, -2 for wrong data. */
static int blk_read(struct virtio_mmio *m, struct fake_vq *fq, unsigned int i, uint64_t sector)
{
	gpa_t hdr = BUF + 32 * i, data = BUF + 0x10000 + 512 * i, status = BUF + 0x8000 + i;
	struct fake_buf b[3] = { { hdr, 16, false }, { data, 512, true }, { status, 1, true } };
	uint16_t want = (uint16_t)(fake_vq_used_idx(fq) + 1);

	le_put(gp(hdr, 16), 0, 8); /* VIRTIO_BLK_T_IN */
	le_put(gp(hdr + 8, 8), sector, 8);
	*(uint8_t *)gp(status, 1) = 0xee;
	fake_vq_add(fq, b, 3);
	kick(m, 0);
	for (unsigned int t = 0; t < 50 && fake_vq_used_idx(fq) != want; t++)
		fake_evloop_pass(&ev, 100);
	if (fake_vq_used_idx(fq) != want)
		return -1;
	if (*(uint8_t *)gp(data, 1) != sector_byte(sector))
		return -2;
	return *(uint8_t *)gp(status, 1);
}

static void snapshot_blk(void)
{
	struct disk d = { 0 }, small = { 0 }, ro;
	struct virtio_mmio *a, *b, *c, *r;
	struct fake_vq fq;
	struct blob s;
	uint32_t head, len;

	REQUIRE(env_init());
	REQUIRE(disk_make(&d, "disk", SECTORS) && disk_make(&small, "small", SECTORS / 2));
	ro = (struct disk){ .read_only = true };
	memcpy(ro.path, d.path, sizeof(ro.path));
	a = vnew(make_blk, &d);
	b = vnew(make_blk, &d);
	c = vnew(make_blk, &small);
	r = vnew(make_blk, &ro);
	REQUIRE(a && b && c && r);
	ring(&fq, 0, 16);
	REQUIRE(drive_up(a, V1 | EVIDX, &fq, 1));
	CHECK(blk_read(a, &fq, 0, 3) == 0 && blk_read(a, &fq, 1, 4) == 0);
	virtio_mmio_pause(a); /* completes what is in flight */
	REQUIRE(restore(a, b));
	CHECK(blk_read(b, &fq, 2, 5) == 0 && fake_vq_used_idx(&fq) == 3);
	fake_vq_used_elem(&fq, 2, &head, &len);
	CHECK(head == 6 && len == 513);
	/* Another disk, or the same one read-only, is not the guest's. */
	REQUIRE(blob_save(vsnap, a, &s));
	virtio_mmio_pause(c);
	virtio_mmio_pause(r);
	CHECK(snap_refused(vsnap, c, s.p, s.n, "small' is 1024 sectors, the snapshot's was 2048"));
	CHECK(snap_refused(vsnap, r, s.p, s.n, "write-zeroes limits are not the snapshot's"));
	CHECK(snap_truncations_refused(vsnap, a, &s));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	virtio_mmio_free(c);
	virtio_mmio_free(r);
	unlink(d.path);
	unlink(small.path);
	env_free();
}

/* ---------------------------------------------------------------- net */

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static int make_net(struct virtio_dev *dev, void *arg)
{
	return virtio_net_create_fd(dev, &ev, &gm, *(int *)arg, false, mac);
}

#define NET_RXBUF(i) (BUF + 0x1000u * (i))
#define NET_TXBUF (BUF + 0x40000u)

/* A frame of 60 bytes with virtio-net header, all of it `fill`. */
static bool peer_send(int peer, uint8_t fill)
{
	uint8_t f[12 + 60] = { 0 };

	memset(f + 12, fill, 60);
	return send(peer, f, sizeof(f), 0) == sizeof(f);
}

/* The driver transmits a 60-byte frame of `fill`; the peer gets it. */
static bool net_tx(struct virtio_mmio *m, struct fake_vq *tq, int peer, uint8_t fill)
{
	uint8_t got[128];

	memset(gp(NET_TXBUF, 12), 0, 12);
	memset(gp(NET_TXBUF + 12, 60), fill, 60);
	fake_vq_add(tq, &(struct fake_buf){ NET_TXBUF, 72, false }, 1);
	kick(m, 1);
	return recv(peer, got, sizeof(got), MSG_DONTWAIT) == 72 && got[12] == fill;
}

static void snapshot_net(void)
{
	struct virtio_mmio *a = NULL, *b = NULL;
	struct fake_vq fq[2];
	int pa[2], pb[2];
	uint32_t head, len;
	struct blob s;

	REQUIRE(env_init());
	REQUIRE(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pa) &&
		!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pb));
	a = vnew(make_net, &pa[0]);
	b = vnew(make_net, &pb[0]);
	REQUIRE(a && b);
	ring(&fq[0], 0, 16);
	ring(&fq[1], 1, 16);
	REQUIRE(drive_up(a, V1 | EVIDX | VIRTIO_BIT(VIRTIO_NET_F_MAC), fq, 2));
	for (unsigned int i = 0; i < 3; i++)
		fake_vq_add(&fq[0], &(struct fake_buf){ NET_RXBUF(i), 2048, true }, 1);
	kick(a, 0);
	/* One frame in: buffer 0 used, buffer 1 held for the next. */
	REQUIRE(peer_send(pa[1], 0xa1));
	fake_evloop_drain(&ev);
	REQUIRE(fake_vq_used_idx(&fq[0]) == 1);
	CHECK(net_tx(a, &fq[1], pa[1], 0x11));
	virtio_mmio_pause(a); /* gives buffer 1 back to the ring */
	REQUIRE(restore(a, b));
	CHECK(fake_mmio_read_n(b, VIRTIO_MMIO_REG_CONFIG + 3, 1) == 0x12);
	/* The next frame lands in buffer 1, the next transmit goes out. */
	REQUIRE(peer_send(pb[1], 0xb2));
	fake_evloop_drain(&ev);
	CHECK(fake_vq_used_idx(&fq[0]) == 2);
	fake_vq_used_elem(&fq[0], 1, &head, &len);
	CHECK(head == 1 && len == 72 && *(uint8_t *)gp(NET_RXBUF(1) + 12, 1) == 0xb2);
	CHECK(net_tx(b, &fq[1], pb[1], 0x22) && fake_vq_used_idx(&fq[1]) == 2);
	/* Hostile: net has no part of its own; the transport's with two
	 * queues and 12 bytes of config space (queue 1 starts at 90). */
	REQUIRE(blob_save(vsnap, a, &s) && s.n == TRANSPORT_LEN(12, 2));
	CHECK(snap_truncations_refused(vsnap, a, &s));
	CHECK(snap_patch_refused(vsnap, a, &s, TRANSPORT_LEN(12, 1), 2, 512,
				 "virtio queue 1 size 512 is over its maximum 256"));
	CHECK(snap_patch_refused(vsnap, a, &s, TRANSPORT_LEN(12, 1) + 29, 2, 0x8000,
				 "virtio queue 1 has 32767 chains in flight"));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	close(pa[1]);
	close(pb[1]);
	env_free();
}

/* A plain pause and resume (no snapshot): the buffer given back at the
 * pause is taken again, and the next frame lands in it. */
static void pause_resume_net(void)
{
	struct virtio_mmio *a;
	struct fake_vq fq[2];
	uint32_t head, len;
	int pa[2];

	REQUIRE(env_init());
	REQUIRE(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pa));
	a = vnew(make_net, &pa[0]);
	REQUIRE(a);
	ring(&fq[0], 0, 16);
	ring(&fq[1], 1, 16);
	REQUIRE(drive_up(a, V1, fq, 2));
	for (unsigned int i = 0; i < 2; i++)
		fake_vq_add(&fq[0], &(struct fake_buf){ NET_RXBUF(i), 2048, true }, 1);
	kick(a, 0); /* buffer 0 held */
	virtio_mmio_pause(a);
	REQUIRE(peer_send(pa[1], 0xc3));
	fake_evloop_drain(&ev);
	CHECK(fake_vq_used_idx(&fq[0]) == 0); /* paused: the frame waits */
	virtio_mmio_resume(a);
	fake_evloop_drain(&ev);
	CHECK(fake_vq_used_idx(&fq[0]) == 1);
	fake_vq_used_elem(&fq[0], 0, &head, &len);
	CHECK(head == 0 && len == 72 && *(uint8_t *)gp(NET_RXBUF(0) + 12, 1) == 0xc3);
	virtio_mmio_free(a);
	close(pa[1]);
	env_free();
}

/* ------------------------------------------------------ virtio-console */

struct console {
	bool wanted;
	void (*pull)(void *dev, console_fill_fn fill, void *c);
	void *pull_dev;
	const char *in;
	char out[64];
	size_t nout;
};

void console_write(struct console *c, const void *buf, size_t len)
{
	for (size_t i = 0; i < len && c->nout + 1 < sizeof(c->out); i++)
		c->out[c->nout++] = ((const char *)buf)[i];
}

void console_set_input(struct console *c, void (*pull)(void *dev, console_fill_fn fill, void *c),
		       void *dev)
{
	c->pull = pull;
	c->pull_dev = dev;
}

void console_input_wanted(struct console *c, bool wanted)
{
	c->wanted = wanted;
}

static size_t con_fill(void *opaque, uint8_t *buf, size_t room)
{
	struct console *c = opaque;
	size_t n = strlen(c->in);

	n = n < room ? n : room;
	memcpy(buf, c->in, n);
	c->in += n;
	return n;
}

/* Host input arrives, as the event loop hands it over. */
static void con_input(struct console *c, const char *s)
{
	c->in = s;
	c->pull(c->pull_dev, con_fill, c);
}

static int make_vcon(struct virtio_dev *dev, void *arg)
{
	return virtio_console_create(dev, &gm, arg);
}

static void snapshot_vconsole(void)
{
	struct console ca = { 0 }, cb = { 0 };
	struct virtio_mmio *a, *b;
	struct fake_vq fq[2];
	uint32_t head, len;
	struct blob s;

	REQUIRE(env_init());
	a = vnew(make_vcon, &ca);
	b = vnew(make_vcon, &cb);
	REQUIRE(a && b);
	ring(&fq[0], 0, 8);
	ring(&fq[1], 1, 8);
	REQUIRE(drive_up(a, V1, fq, 2));
	for (unsigned int i = 0; i < 2; i++)
		fake_vq_add(&fq[0], &(struct fake_buf){ BUF + 0x100 * i, 64, true }, 1);
	kick(a, 0);
	REQUIRE(ca.wanted);
	con_input(&ca, "ab");
	con_input(&ca, ""); /* takes buffer 1 and holds it for input */
	REQUIRE(fake_vq_used_idx(&fq[0]) == 1);
	memcpy(gp(BUF + 0x1000, 2), "xy", 2);
	fake_vq_add(&fq[1], &(struct fake_buf){ BUF + 0x1000, 2, false }, 1);
	kick(a, 1);
	CHECK(ca.nout == 2 && !memcmp(ca.out, "xy", 2));
	/* A plain pause and resume: the buffer goes back and comes again. */
	virtio_mmio_pause(a);
	virtio_mmio_resume(a);
	con_input(&ca, "");
	CHECK(fake_vq_used_idx(&fq[0]) == 1);
	virtio_mmio_pause(a); /* gives buffer 1 back */
	REQUIRE(restore(a, b));
	CHECK(cb.wanted);
	con_input(&cb, "cd");
	CHECK(fake_vq_used_idx(&fq[0]) == 2);
	fake_vq_used_elem(&fq[0], 1, &head, &len);
	CHECK(head == 1 && len == 2 && !memcmp(gp(BUF + 0x100, 2), "cd", 2));
	fake_vq_add(&fq[1], &(struct fake_buf){ BUF + 0x1000, 2, false }, 1);
	kick(b, 1);
	CHECK(cb.nout == 2 && !memcmp(cb.out, "xy", 2) && fake_vq_used_idx(&fq[1]) == 2);
	REQUIRE(blob_save(vsnap, a, &s) && s.n == TRANSPORT_LEN(12, 2));
	CHECK(snap_truncations_refused(vsnap, a, &s));
	CHECK(snap_patch_refused(
	    vsnap, a, &s, TRANSPORT_LEN(12, 0) + 3, 8, RAM,
	    "virtio queue 0 descriptor table at 0x400000 (128 bytes) is outside"));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	env_free();
}

/* -------------------------------------------------------------- balloon */

static int make_balloon(struct virtio_dev *dev, void *arg)
{
	(void)arg;
	return virtio_balloon_create(
	    dev, &ev, &gm,
	    &(struct balloon_config){ .amount_mib = 1, .stats_polling_interval_s = 60 });
}

/* Inflated one page, set `actual`, target 2 MiB, the statistics buffer
 * (free memory 12345) held. */
static struct virtio_mmio *balloon_used(struct fake_vq *fq)
{
	struct virtio_mmio *a = vnew(make_balloon, NULL);
	uint8_t *st = gp(BUF + 0x100, 10);

	for (unsigned int q = 0; q < 3; q++)
		ring(&fq[q], q, 8);
	if (!a || !drive_up(a, V1 | VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ), fq, 3))
		return a;
	le_put(gp(BUF, 4), 0x300, 4); /* PFN 0x300 */
	fake_vq_add(&fq[0], &(struct fake_buf){ BUF, 4, false }, 1);
	kick(a, 0);
	fake_mmio_write(a, VIRTIO_MMIO_REG_CONFIG + 4, 1);
	le_put(st, VIRTIO_BALLOON_S_MEMFREE, 2);
	le_put(st + 2, 12345, 8);
	fake_vq_add(&fq[2], &(struct fake_buf){ BUF + 0x100, 10, false }, 1);
	kick(a, 2);
	if (virtio_balloon_set_target(&a->dev, 2u << 20))
		return a;
	virtio_mmio_pause(a);
	return a;
}

/* The driver kicks the inflate queue of paused `a` for another page: the
 * kick waits in the doorbell's eventfd, as KVM's ioeventfd leaves it. */
static bool balloon_kick_paused(struct virtio_mmio *a, struct fake_vq *fq)
{
	uint64_t one = 1;

	le_put(gp(BUF + 4, 4), 0x301, 4);
	fake_vq_add(&fq[0], &(struct fake_buf){ BUF + 4, 4, false }, 1);
	return write(a->doorbell[0].fd, &one, sizeof(one)) == sizeof(one);
}

#define BAL TRANSPORT_LEN(16, 4) /* where the balloon's own fields start */

static void snapshot_balloon(void)
{
	struct virtio_mmio *a, *b;
	struct balloon_stats st;
	struct fake_vq fq[3];
	struct blob s;
	uint32_t head, len;

	REQUIRE(env_init());
	a = balloon_used(fq);
	b = vnew(make_balloon, NULL);
	REQUIRE(a && b && fake_vq_used_idx(&fq[0]) == 1 && fake_vq_used_idx(&fq[2]) == 0);
	REQUIRE(balloon_kick_paused(a, fq));
	REQUIRE(restore(a, b));
	/* The kick that waited at the save is not lost. */
	CHECK(fake_vq_used_idx(&fq[0]) == 2);
	REQUIRE(!virtio_balloon_stats(&b->dev, &st));
	CHECK(st.target_pages == 512 && st.actual_pages == 1);
	CHECK(st.have == 1u << VIRTIO_BALLOON_S_MEMFREE &&
	      st.val[VIRTIO_BALLOON_S_MEMFREE] == 12345);
	/* Asking for fresh statistics gives the held buffer back. */
	CHECK(fake_vq_used_idx(&fq[2]) == 1);
	fake_vq_used_elem(&fq[2], 0, &head, &len);
	CHECK(head == 0);
	CHECK(fake_mmio_read(b, VIRTIO_MMIO_REG_CONFIG) == 512);
	/* The balloon's part: le32 target, bool held, le16 head, le32 have,
	 * le64 val[10]. */
	REQUIRE(blob_save(vsnap, a, &s) && s.n == BAL + 4 + 1 + 2 + 4 + 80);
	CHECK(snap_truncations_refused(vsnap, a, &s));
	CHECK(snap_patch_refused(vsnap, a, &s, BAL, 4, 1u << 20, "is more than guest RAM"));
	CHECK(snap_patch_refused(vsnap, a, &s, BAL, 4, 4, "does not hold the target of 4 pages"));
	CHECK(snap_patch_refused(vsnap, a, &s, BAL + 4, 1, 3, "boolean 3"));
	CHECK(snap_patch_refused(vsnap, a, &s, BAL + 5, 2, 8,
				 "statistics buffer 8 is not in flight"));
	CHECK(
	    snap_patch_refused(vsnap, a, &s, BAL + 7, 4, 1u << 12, "mask 0x1000 has unknown tags"));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	env_free();
}

/* ---------------------------------------------------------------- vsock */

#define CID 3
#define VS_RXBUF(i) (BUF + 0x2000u * (i))
#define VS_EVBUF(i) (BUF + 0x40000u + 0x100u * (i))
#define VS_TXBUF (BUF + 0x50000u)

struct vsock_arg {
	char uds[48];
	uint32_t cid;
};

static int make_vsock(struct virtio_dev *dev, void *arg)
{
	const struct vsock_arg *va = arg;
	struct vsock_config cfg = { .cid = va->cid };

	snprintf(cfg.uds, sizeof(cfg.uds), "%s", va->uds);
	return virtio_vsock_create(dev, &ev, &gm, &cfg);
}

/* A host program listening on "<uds>_<port>". */
static int host_listen(const char *uds, uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", uds, port);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The guest asks to connect from its port `gport` to host port 1234. */
static void vs_request(struct virtio_mmio *m, struct fake_vq *tq, uint32_t gport)
{
	uint8_t *h = gp(VS_TXBUF, 44);

	memset(h, 0, 44);
	le_put(h, CID, 8);
	le_put(h + 8, 2, 8);
	le_put(h + 16, gport, 4);
	le_put(h + 20, 1234, 4);
	le_put(h + 28, 1, 2); /* stream */
	le_put(h + 30, 1, 2); /* REQUEST */
	le_put(h + 36, 65536, 4);
	fake_vq_add(tq, &(struct fake_buf){ VS_TXBUF, 44, false }, 1);
	kick(m, 1);
	fake_evloop_drain(&ev);
}

/* The op of the rx packet in used entry i, and its guest port. */
static unsigned int vs_rx_op(struct fake_vq *rq, uint16_t i, uint32_t *gport)
{
	uint32_t head, len;
	const uint8_t *p;

	fake_vq_used_elem(rq, i, &head, &len);
	p = gp(VS_RXBUF(head), 44);
	*gport = (uint32_t)le_get(p + 20, 4);
	return (unsigned int)le_get(p + 30, 2);
}

static void snapshot_vsock(void)
{
	struct vsock_arg va = { .cid = CID }, vb = { .cid = CID }, vc = { .cid = CID + 1 };
	struct virtio_mmio *a, *b, *c;
	struct fake_vq fq[3];
	struct blob s;
	uint32_t head, len, gport;
	int la, lb;

	REQUIRE(env_init());
	snprintf(va.uds, sizeof(va.uds), "%s/a", dir);
	snprintf(vb.uds, sizeof(vb.uds), "%s/b", dir);
	snprintf(vc.uds, sizeof(vc.uds), "%s/c", dir);
	la = host_listen(va.uds, 1234);
	lb = host_listen(vb.uds, 1234);
	a = vnew(make_vsock, &va);
	b = vnew(make_vsock, &vb);
	c = vnew(make_vsock, &vc);
	REQUIRE(la >= 0 && lb >= 0 && a && b && c);
	for (unsigned int q = 0; q < 3; q++)
		ring(&fq[q], q, 16);
	REQUIRE(drive_up(a, V1 | 1, fq, 3));
	for (unsigned int i = 0; i < 4; i++)
		fake_vq_add(&fq[0], &(struct fake_buf){ VS_RXBUF(i), 0x2000, true }, 1);
	for (unsigned int i = 0; i < 2; i++)
		fake_vq_add(&fq[2], &(struct fake_buf){ VS_EVBUF(i), 8, true }, 1);
	kick(a, 0);
	/* A connection, which the snapshot cannot keep. */
	vs_request(a, &fq[1], 5000);
	REQUIRE(fake_vq_used_idx(&fq[0]) == 1 && vs_rx_op(&fq[0], 0, &gport) == 2);
	virtio_mmio_pause(a); /* gives the held rx buffer back */
	REQUIRE(restore(a, b));
	/* Resumed, it tells the guest its connections are gone ... */
	CHECK(fake_vq_used_idx(&fq[2]) == 1);
	fake_vq_used_elem(&fq[2], 0, &head, &len);
	CHECK(head == 0 && len == 4 && le_get(gp(VS_EVBUF(0), 4), 4) == 0);
	/* ... and a new one works, in the next rx buffer. */
	vs_request(b, &fq[1], 5001);
	CHECK(fake_vq_used_idx(&fq[0]) == 2 && vs_rx_op(&fq[0], 1, &gport) == 2 && gport == 5001);
	fake_vq_used_elem(&fq[0], 1, &head, &len);
	CHECK(head == 1);
	/* Another CID is another guest. */
	REQUIRE(blob_save(vsnap, a, &s));
	virtio_mmio_pause(c);
	CHECK(snap_refused(vsnap, c, s.p, s.n, "vsock guest CID 4, the snapshot's is 3"));
	CHECK(snap_truncations_refused(vsnap, a, &s));
	blob_free(&s);
	virtio_mmio_free(a);
	virtio_mmio_free(b);
	virtio_mmio_free(c);
	close(la);
	close(lb);
	for (const char *p = "abc"; *p; p++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%c_1234", dir, *p);
		unlink(path);
	}
	env_free();
}

int main(void)
{
	RUN(snapshot_rng);
	RUN(snapshot_rng_hostile);
	RUN(snapshot_rng_queue_sel);
	RUN(snapshot_blk);
	RUN(snapshot_net);
	RUN(pause_resume_net);
	RUN(snapshot_vconsole);
	RUN(snapshot_balloon);
	RUN(snapshot_vsock);
	return harness_exit();
}
