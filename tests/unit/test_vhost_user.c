/* SPDX-License-Identifier: MIT */
/* The vhost-user front end against a fake back end (vhu_fake.h): the
 * messages it sends, the fds that go with them, and every way a hostile
 * back end can answer (wrong request, size, flags, a NACK, a hang-up,
 * silence, unasked fds). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "mem.h"
#include "petrel/platform.h"
#include "proc_fds.h"
#include "vhu_fake.h"
#include "virtio/fs.h"

#define FEATURES                                                                                   \
	((1ULL << 32) | (1ULL << 29) | (1ULL << 28) | (1ULL << VHU_F_PROTOCOL_FEATURES) | 1)

static int open_fake(struct vhu_fake *f, struct vhu *v, unsigned int timeout_ms)
{
	int fd;

	f->features = f->features ? f->features : FEATURES;
	if (vhu_fake_start(f, &fd))
		return -999;
	return vhu_open(v, fd, "test", timeout_ms);
}

static void vhu_open_negotiates(void)
{
	struct vhu_fake f = { .protocol = (1ULL << VHU_PROTOCOL_F_REPLY_ACK) | (1ULL << 0) | 0xf0 };
	struct vhu v;
	const struct vhu_fake_msg *m;

	REQUIRE(open_fake(&f, &v, 1000) == 0);
	CHECK(v.features == FEATURES);
	CHECK(v.protocol == 1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	vhu_close(&v);
	CHECK(v.fd == -1);
	vhu_fake_stop(&f);
	CHECK(f.nmsgs == 4);
	CHECK(f.msg[0].request == VHU_SET_OWNER && f.msg[0].size == 0);
	CHECK(f.msg[0].flags == VHU_FLAG_VERSION); /* no ack before it is negotiated */
	CHECK(f.msg[1].request == VHU_GET_FEATURES);
	CHECK(f.msg[2].request == VHU_GET_PROTOCOL_FEATURES);
	m = &f.msg[3];
	CHECK(m->request == VHU_SET_PROTOCOL_FEATURES && m->size == 8);
	CHECK(le_get(m->payload, 8) == 1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	CHECK(m->flags == (VHU_FLAG_VERSION | VHU_FLAG_NEED_REPLY));
}

/* No PROTOCOL_FEATURES: no protocol messages, no acks, no ENABLE. */
static void vhu_open_without_protocol_features(void)
{
	struct vhu_fake f = { .features = FEATURES & ~(1ULL << VHU_F_PROTOCOL_FEATURES) };
	struct vhu v;

	REQUIRE(open_fake(&f, &v, 1000) == 0);
	CHECK(v.protocol == 0);
	CHECK(vhu_set_features(&v, 1ULL << 32) == 0);
	vhu_close(&v);
	vhu_fake_stop(&f);
	CHECK(f.nmsgs == 3);
	CHECK(!vhu_fake_find(&f, VHU_GET_PROTOCOL_FEATURES, 0));
	CHECK(f.msg[2].request == VHU_SET_FEATURES && f.msg[2].flags == VHU_FLAG_VERSION);
	CHECK(le_get(f.msg[2].payload, 8) == 1ULL << 32);
}

/* The memory table names each region by its guest address, size, petrel's
 * own address and its offset in the memfd, which comes along: mapped at
 * that offset, it shows what the guest wrote. */
static void vhu_mem_table_and_vrings(void)
{
	struct vhu_fake f = { .protocol = 1ULL << VHU_PROTOCOL_F_REPLY_ACK, .vring_base = 77 };
	const uint64_t ram = (4ULL << 30) + (8ULL << 20);
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	const struct vhu_fake_msg *m;
	uint8_t byte = 0x5e, *peer;
	uint16_t base = 0;
	uint64_t n = 0;
	struct vhu v;
	struct gm gm;

	REQUIRE(kick >= 0 && call >= 0);
	REQUIRE(gm_init_shared(&gm, ram) == 0);
	REQUIRE(gm_write(&gm, PETREL_RAM_HOLE_END + 8192, &byte, 1) == 0);
	REQUIRE(open_fake(&f, &v, 1000) == 0);
	CHECK(vhu_set_features(&v, 1ULL << 32) == 0);
	CHECK(vhu_set_mem_table(&v, &gm) == 0);
	{
		struct vhu_vring r = { .num = 128,
				       .base = 5,
				       .desc = gm.region[0].host + 0x1000,
				       .avail = gm.region[0].host + 0x2000,
				       .used = gm.region[0].host + 0x3000,
				       .kick = kick,
				       .call = call,
				       .err = -1 };

		CHECK(vhu_vring_start(&v, 1, &r) == 0);
	}
	CHECK(vhu_vring_stop(&v, 1, &base) == 0 && base == 77);

	m = vhu_fake_find(&f, VHU_SET_FEATURES, 0);
	CHECK(m && le_get(m->payload, 8) == ((1ULL << 32) | (1ULL << VHU_F_PROTOCOL_FEATURES)));
	m = vhu_fake_find(&f, VHU_SET_MEM_TABLE, 0);
	REQUIRE(m && m->size == 8 + 2 * 32 && m->nfds == 2);
	CHECK(le_get(m->payload, 4) == 2);
	CHECK(le_get(m->payload + 8 + 32, 8) == PETREL_RAM_HOLE_END);
	CHECK(le_get(m->payload + 8 + 32 + 8, 8) == ram - PETREL_RAM_HOLE_START);
	CHECK(le_get(m->payload + 8 + 32 + 16, 8) == (uintptr_t)gm.region[1].host);
	CHECK(le_get(m->payload + 8 + 32 + 24, 8) == PETREL_RAM_HOLE_START);
	peer = mmap(NULL, ram, PROT_READ, MAP_SHARED, m->fds[1], 0);
	REQUIRE(peer != MAP_FAILED);
	CHECK(peer[PETREL_RAM_HOLE_START + 8192] == 0x5e);
	munmap(peer, ram);

	m = vhu_fake_find(&f, VHU_SET_VRING_NUM, 0);
	CHECK(m && le_get(m->payload, 4) == 1 && le_get(m->payload + 4, 4) == 128);
	m = vhu_fake_find(&f, VHU_SET_VRING_ADDR, 0);
	CHECK(m && m->size == 40 && le_get(m->payload, 4) == 1);
	CHECK(m && le_get(m->payload + 8, 8) == (uintptr_t)gm.region[0].host + 0x1000);
	CHECK(m && le_get(m->payload + 16, 8) == (uintptr_t)gm.region[0].host + 0x3000);
	CHECK(m && le_get(m->payload + 24, 8) == (uintptr_t)gm.region[0].host + 0x2000);
	m = vhu_fake_find(&f, VHU_SET_VRING_BASE, 0);
	CHECK(m && le_get(m->payload + 4, 4) == 5);
	CHECK(!vhu_fake_find(&f, VHU_SET_VRING_ERR, 0)); /* err -1: not sent */
	m = vhu_fake_find(&f, VHU_SET_VRING_ENABLE, 0);
	CHECK(m && le_get(m->payload, 4) == 1 && le_get(m->payload + 4, 4) == 1);
	/* The call fd the back end got is petrel's: a signal on it is seen. */
	m = vhu_fake_find(&f, VHU_SET_VRING_CALL, 0);
	REQUIRE(m && m->nfds == 1 && le_get(m->payload, 8) == 1);
	n = 1;
	CHECK(write(m->fds[0], &n, 8) == 8 && read(call, &n, 8) == 8 && n == 1);
	m = vhu_fake_find(&f, VHU_SET_VRING_KICK, 0);
	REQUIRE(m && m->nfds == 1);
	n = 3;
	CHECK(write(kick, &n, 8) == 8 && read(m->fds[0], &n, 8) == 8 && n == 3);
	/* Every request after negotiation asked for an ack. */
	for (unsigned int i = 4; i < f.nmsgs; i++)
		if (f.msg[i].request != VHU_GET_VRING_BASE)
			CHECK(f.msg[i].flags & VHU_FLAG_NEED_REPLY);
	vhu_close(&v);
	vhu_fake_stop(&f);
	gm_destroy(&gm);
	close(kick);
	close(call);
}

/* RAM that is not shared has no fd to send: refused before any message. */
static void vhu_mem_table_needs_shared_ram(void)
{
	struct vhu_fake f = { 0 };
	struct vhu v;
	struct gm gm;

	REQUIRE(gm_init(&gm, 16ULL << 20) == 0);
	REQUIRE(open_fake(&f, &v, 1000) == 0);
	CHECK(vhu_set_mem_table(&v, &gm) == -EINVAL);
	vhu_close(&v);
	vhu_fake_stop(&f);
	CHECK(!vhu_fake_find(&f, VHU_SET_MEM_TABLE, 0));
	gm_destroy(&gm);
}

static int fd_count(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Each hostile answer to GET_FEATURES fails vhu_open with the right error
 * and leaves no fd behind (petrel's end is closed; fds sent along too). */
static void vhu_hostile_replies(void)
{
	static const struct {
		enum vhu_fake_mode mode;
		int err;
	} rows[] = {
		{ FAKE_WRONG_REQUEST, -EPROTO }, { FAKE_WRONG_SIZE, -EPROTO },
		{ FAKE_HUGE_SIZE, -EPROTO },	 { FAKE_NO_REPLY_FLAG, -EPROTO },
		{ FAKE_VERSION_2, -EPROTO },	 { FAKE_HANG_UP, -ECONNRESET },
		{ FAKE_SILENT, -ETIMEDOUT },	 { FAKE_WITH_FD, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		struct vhu_fake f = { .mode = rows[i].mode, .bad_request = VHU_GET_FEATURES };
		struct timespec t0, t1;
		int before = fd_count(), err;
		struct vhu v;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = open_fake(&f, &v, 1000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(err == rows[i].err);
		CHECK(err ? v.fd == -1 : v.fd >= 0);
		/* Bounded: the timeout, not forever. */
		CHECK(t1.tv_sec - t0.tv_sec < 3);
		vhu_close(&v);
		vhu_fake_stop(&f);
		CHECK(fd_count() == before);
	}
}

/* A refused request (REPLY_ACK status != 0) and a back end that hangs up
 * or goes silent mid-session. */
static void vhu_hostile_acks(void)
{
	static const struct {
		enum vhu_fake_mode mode;
		int err;
	} rows[] = {
		{ FAKE_NACK, -EIO },
		{ FAKE_HANG_UP, -ECONNRESET },
		{ FAKE_SILENT, -ETIMEDOUT },
		{ FAKE_WRONG_SIZE, -EPROTO },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(rows); i++) {
		struct vhu_fake f = { .protocol = 1ULL << VHU_PROTOCOL_F_REPLY_ACK,
				      .mode = rows[i].mode,
				      .bad_request = VHU_SET_FEATURES };
		struct vhu v;

		REQUIRE(open_fake(&f, &v, 1000) == 0);
		CHECK(vhu_set_features(&v, 1) == rows[i].err);
		vhu_close(&v);
		vhu_fake_stop(&f);
	}
}

/* GET_VRING_BASE answers the ring asked; after a close, nothing is sent. */
static void vhu_vring_stop_after_close(void)
{
	struct vhu_fake f = { 0 };
	uint16_t base = 9;
	struct vhu v;

	REQUIRE(open_fake(&f, &v, 1000) == 0);
	f.mode = FAKE_GOOD;
	CHECK(vhu_vring_stop(&v, 0, &base) == 0 && base == 0);
	vhu_close(&v);
	CHECK(vhu_vring_stop(&v, 0, &base) == -ENOTCONN);
	vhu_fake_stop(&f);
}

static void vhu_reply_parse_table(void)
{
	uint8_t good[20] = { 11, 0, 0, 0, 5, 0, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t b[20], out[8];

	CHECK(vhu_reply_parse(good, 20, 11, out, 8) == 0 && out[0] == 1 && out[7] == 8);
	CHECK(vhu_reply_parse(good, 20, 12, out, 8) == -EPROTO); /* another request */
	CHECK(vhu_reply_parse(good, 19, 11, out, 8) == -EPROTO); /* short */
	CHECK(vhu_reply_parse(good, 11, 11, out, 8) == -EPROTO); /* no header */
	CHECK(vhu_reply_parse(good, 20, 11, out, 4) == -EPROTO); /* size != want */
	memcpy(b, good, 20);
	b[4] = 1; /* no REPLY */
	CHECK(vhu_reply_parse(b, 20, 11, out, 8) == -EPROTO);
	b[4] = 5 | 0x10; /* an undefined flag */
	CHECK(vhu_reply_parse(b, 20, 11, out, 8) == -EPROTO);
	b[4] = 5 | VHU_FLAG_NEED_REPLY; /* echoed NEED_REPLY is fine */
	CHECK(vhu_reply_parse(b, 20, 11, out, 8) == 0);
	b[4] = 6; /* version 2 */
	CHECK(vhu_reply_parse(b, 20, 11, out, 8) == -EPROTO);
}

/* The real thing: virtiofsd as petrel starts it (virtio/fs_daemon.c)
 * takes the whole handshake and hands a ring back. Root only (virtiofsd
 * sandboxes itself in namespaces). */
static void virtiofsd_handshake(bool read_only)
{
	struct fs_config cfg = { .tag = "t", .dir = "/tmp", .read_only = read_only };
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC), fd;
	uint16_t base = 1;
	struct vhu v;
	struct gm gm;
	pid_t pid;

	if (geteuid() != 0)
		SKIP("virtiofsd needs root");
	fd = virtio_fs_daemon_start(&cfg, &pid);
	if (fd == -ENOENT)
		SKIP("no virtiofsd installed");
	REQUIRE(fd >= 0 && kick >= 0 && call >= 0);
	REQUIRE(gm_init_shared(&gm, 16ULL << 20) == 0);
	REQUIRE(vhu_open(&v, fd, "virtiofsd", 5000) == 0);
	CHECK((v.features & ((1ULL << 32) | (1ULL << 29) | (1ULL << 28))) ==
	      ((1ULL << 32) | (1ULL << 29) | (1ULL << 28)));
	CHECK(vhu_set_features(&v, (1ULL << 32) | (1ULL << 29) | (1ULL << 28)) == 0);
	CHECK(vhu_set_mem_table(&v, &gm) == 0);
	{
		struct vhu_vring r = { .num = 64,
				       .desc = gm.region[0].host + 0x10000,
				       .avail = gm.region[0].host + 0x11000,
				       .used = gm.region[0].host + 0x12000,
				       .kick = kick,
				       .call = call,
				       .err = -1 };

		CHECK(vhu_vring_start(&v, 1, &r) == 0);
	}
	CHECK(vhu_vring_stop(&v, 1, &base) == 0 && base == 0);
	vhu_close(&v);
	virtio_fs_daemon_stop(pid);
	gm_destroy(&gm);
	close(kick);
	close(call);
}

static void vhu_virtiofsd_handshake(void)
{
	virtiofsd_handshake(false);
}

/* Read-only: the child's own mount namespace with the directory bound
 * read-only over itself; virtiofsd still starts and answers. */
static void vhu_virtiofsd_handshake_ro(void)
{
	virtiofsd_handshake(true);
}

int main(void)
{
	RUN(vhu_open_negotiates);
	RUN(vhu_open_without_protocol_features);
	RUN(vhu_mem_table_and_vrings);
	RUN(vhu_mem_table_needs_shared_ram);
	RUN(vhu_hostile_replies);
	RUN(vhu_hostile_acks);
	RUN(vhu_vring_stop_after_close);
	RUN(vhu_reply_parse_table);
	RUN(vhu_virtiofsd_handshake);
	RUN(vhu_virtiofsd_handshake_ro);
	return harness_exit();
}
