/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock against fake guest memory: the test is the driver (it
 * builds descriptor rings and packets in guest RAM, kicks the queues and
 * reads the used rings) and the host programs (unix sockets in a
 * temporary directory); the device's fds run on a real event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "harness.h"
#include "fake_gm.h"
#include "fake_virtq.h"
#include "le.h"
#include "virtio/vsock.h"

#define CID 3
#define QSIZE 64
#define RAM (4u << 20)
#define RING(q) (0x1000u + (q)*0x1000u) /* desc; avail +0x400, used +0x800 */
#define RXBUF 0x10000u			/* rx buffer i at RXBUF + i * RXBUF_SIZE */
#define RXBUF_SIZE (44u + 4096)
#define NRX 32
#define TXBUF 0x100000u /* tx slot i at TXBUF + i * TXSLOT */
#define TXSLOT 0x11000u
#define NTX 32

enum {
	OP_REQUEST = 1,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST
};

struct pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
	uint8_t data[4096];
};

static struct t {
	struct gm gm;
	struct evloop ev;
	struct virtio_dev dev;
	char dir[64], path[108], port_path[128];
	struct fake_vq vq[3];
	struct fake_transport ft;
	unsigned int ntx;
} t;

static uint8_t *g(gpa_t gpa, size_t len)
{
	return gm_ptr(&t.gm, gpa, len);
}

/* ---- the fake driver ---- */

static void rx_give(uint16_t i)
{
	fake_vq_desc(&t.vq[0], i, RXBUF + i * RXBUF_SIZE, RXBUF_SIZE, FAKE_DESC_F_WRITE, 0);
	fake_vq_publish(&t.vq[0], i);
}

/* Send a packet: header and payload in two descriptors (one if no data). */
static void tx_raw(const struct pkt *p, const void *data, uint32_t datalen)
{
	uint16_t slot = (uint16_t)(t.ntx++ % NTX), d = (uint16_t)(2 * slot);
	gpa_t at = TXBUF + (gpa_t)slot * TXSLOT;
	uint8_t *h = g(at, 44);

	le_put(h, p->src_cid, 8);
	le_put(h + 8, p->dst_cid, 8);
	le_put(h + 16, p->src_port, 4);
	le_put(h + 20, p->dst_port, 4);
	le_put(h + 24, p->len, 4);
	le_put(h + 28, p->type, 2);
	le_put(h + 30, p->op, 2);
	le_put(h + 32, p->flags, 4);
	le_put(h + 36, p->buf_alloc, 4);
	le_put(h + 40, p->fwd_cnt, 4);
	if (datalen) {
		memcpy(g(at + 64, datalen), data, datalen);
		fake_vq_desc(&t.vq[1], d, at, 44, FAKE_DESC_F_NEXT, d + 1);
		fake_vq_desc(&t.vq[1], d + 1, at + 64, datalen, 0, 0);
	} else {
		fake_vq_desc(&t.vq[1], d, at, 44, 0, 0);
	}
	fake_vq_publish(&t.vq[1], d);
	fake_kick(&t.dev, 1);
}

/* The guest socket's buffer, as its packets advertise it. */
static uint32_t guest_buf_alloc;

/* A well-formed guest packet on (gport -> hport). */
static void tx(uint16_t op, uint32_t gport, uint32_t hport, const void *data, uint32_t len,
	       uint32_t fwd_cnt)
{
	struct pkt p = { .src_cid = CID,
			 .dst_cid = 2,
			 .src_port = gport,
			 .dst_port = hport,
			 .len = len,
			 .type = 1,
			 .op = op,
			 .buf_alloc = guest_buf_alloc,
			 .fwd_cnt = fwd_cnt,
			 .flags = op == OP_SHUTDOWN ? 3 : 0 };

	tx_raw(&p, data, len);
}

/* The next packet the device gave the guest; the buffer goes back. Unix
 * sockets deliver at once, so nothing is in flight once the event loop
 * has drained. */
static bool rx(struct pkt *p)
{
	uint32_t head, len;
	uint8_t *b;

	fake_evloop_drain(&t.ev);
	if (!fake_vq_next_used(&t.vq[0], &head, &len))
		return false;
	b = g(RXBUF + (gpa_t)head * RXBUF_SIZE, RXBUF_SIZE);
	*p = (struct pkt){
		.src_cid = le_get(b, 8),
		.dst_cid = le_get(b + 8, 8),
		.src_port = (uint32_t)le_get(b + 16, 4),
		.dst_port = (uint32_t)le_get(b + 20, 4),
		.len = (uint32_t)le_get(b + 24, 4),
		.type = (uint16_t)le_get(b + 28, 2),
		.op = (uint16_t)le_get(b + 30, 2),
		.flags = (uint32_t)le_get(b + 32, 4),
		.buf_alloc = (uint32_t)le_get(b + 36, 4),
		.fwd_cnt = (uint32_t)le_get(b + 40, 4),
	};
	if (len != 44 + p->len || p->len > sizeof(p->data))
		p->op = 0xffff; /* inconsistent: fails the caller's checks */
	else
		memcpy(p->data, b + 44, p->len);
	rx_give((uint16_t)head);
	fake_kick(&t.dev, 0);
	return true;
}

/* ---- set-up ---- */

static int t_create(const char *path, uint32_t cid)
{
	struct vsock_config cfg = { .cid = cid };

	snprintf(cfg.uds, sizeof(cfg.uds), "%s", path);

	return virtio_vsock_create(&t.dev, &t.ev, &t.gm, &cfg);
}

static bool t_setup(void)
{
	t = (struct t){ 0 };
	guest_buf_alloc = 65536;
	snprintf(t.dir, sizeof(t.dir), "/tmp/petrel-vsock-XXXXXX");
	if (!mkdtemp(t.dir) || !fake_gm_init(&t.gm, 0, RAM) || evloop_init(&t.ev))
		return false;
	snprintf(t.path, sizeof(t.path), "%s/v.sock", t.dir);
	if (t_create(t.path, CID))
		return false;
	fake_transport_attach(&t.dev, &t.ft);
	t.dev.status = FAKE_STATUS_DRIVER_OK;
	t.dev.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	for (unsigned int q = 0; q < 3; q++) {
		fake_vq_init(&t.vq[q], &t.gm, QSIZE, RING(q), RING(q) + 0x400, RING(q) + 0x800);
		if (!fake_vq_start(&t.dev, q, &t.vq[q]))
			return false;
	}
	for (uint16_t i = 0; i < NRX; i++)
		rx_give(i);
	fake_kick(&t.dev, 0);
	return true;
}

static void t_teardown(void)
{
	if (t.dev.ops)
		t.dev.ops->destroy(&t.dev);
	evloop_destroy(&t.ev);
	fake_gm_free(&t.gm);
	unlink(t.port_path);
	rmdir(t.dir);
}

/* A host program listening on "<path>_<port>". */
static int host_listen(uint32_t port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(t.port_path, sizeof(t.port_path), "%s_%u", t.path, port);
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s", t.port_path) >=
	    sizeof(a.sun_path))
		fd = -1;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))
		return -1;
	return fd;
}

static int host_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s", path) >= sizeof(a.sun_path))
		fd = -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	return fd;
}

/* Read what is there (up to len) within 100 ms; -1 on error, 0 at EOF. */
static ssize_t host_read(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 100) != 1)
		return -2; /* nothing */
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* Host -> guest connection to guest port 80, answered by the guest;
 * returns the host program's socket and the host port petrel chose. */
static int host_to_guest(uint32_t *hport, uint32_t buf_alloc)
{
	struct pkt p;
	char line[32] = { 0 }, want[32];
	int fd = host_connect(t.path);
	struct pkt resp = { .src_cid = CID,
			    .dst_cid = 2,
			    .src_port = 80,
			    .type = 1,
			    .op = OP_RESPONSE,
			    .buf_alloc = buf_alloc };

	if (fd < 0 || write(fd, "CONNECT 80\n", 11) != 11 || !rx(&p) || p.op != OP_REQUEST ||
	    p.dst_port != 80 || p.src_cid != 2 || p.dst_cid != CID)
		return -1;
	*hport = resp.dst_port = p.src_port;
	tx_raw(&resp, NULL, 0);
	if (host_read(fd, line, sizeof(line) - 1) <= 0)
		return -1;
	snprintf(want, sizeof(want), "OK %u\n", p.src_port);
	return strcmp(line, want) ? -1 : fd;
}

/* ---- cases ---- */

static void vsock_config_space(void)
{
	REQUIRE(t_setup());
	CHECK(t.dev.ops->device_id == 19);
	CHECK(t.dev.ops->nqueues == 3);
	CHECK(le_get(t.dev.config, 8) == CID);
	t_teardown();
}

static void vsock_bad_config(void)
{
	REQUIRE(t_setup());
	CHECK(t_create(t.path, 2) == -EINVAL);
	CHECK(t_create(t.path, UINT32_MAX) == -EINVAL);
	/* A path too long for "PATH_<port>" cannot get here: struct
	 * vsock_config holds at most CONFIG_UDS_MAX - 1 bytes (test_cli). */
	/* Our own listener is live: the path is in use. */
	CHECK(t_create(t.path, CID) == -EADDRINUSE);
	t_teardown();
}

static void vsock_stale_socket(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char file[128];
	int fd;

	REQUIRE(t_setup());
	t.dev.ops->destroy(&t.dev);
	t.dev.ops = NULL;
	CHECK(access(t.path, F_OK) != 0); /* destroy removed it */
	/* A socket file nobody listens on any more. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", t.path);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(fd);
	CHECK(t_create(t.path, CID) == 0);
	if (t.dev.ops)
		t.dev.ops->destroy(&t.dev);
	t.dev.ops = NULL;
	/* Not a socket: left alone. */
	snprintf(file, sizeof(file), "%s/file", t.dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(t_create(file, CID) == -EEXIST);
	CHECK(access(file, F_OK) == 0);
	unlink(file);
	t_teardown();
}

static void vsock_guest_to_host(void)
{
	int lfd, hfd = -1;
	char buf[64];
	struct pkt p;

	REQUIRE(t_setup());
	lfd = host_listen(1234);
	REQUIRE(lfd >= 0);
	tx(OP_REQUEST, 5000, 1234, NULL, 0, 0);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RESPONSE && p.src_cid == 2 && p.dst_cid == CID);
	CHECK(p.src_port == 1234 && p.dst_port == 5000 && p.type == 1);
	CHECK(p.buf_alloc > 0 && p.fwd_cnt == 0);
	hfd = accept(lfd, NULL, NULL);
	REQUIRE(hfd >= 0);
	tx(OP_RW, 5000, 1234, "hello", 5, 0);
	CHECK(host_read(hfd, buf, sizeof(buf)) == 5 && memcmp(buf, "hello", 5) == 0);
	CHECK(write(hfd, "world!", 6) == 6);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RW && p.len == 6 && memcmp(p.data, "world!", 6) == 0);
	CHECK(p.src_port == 1234 && p.dst_port == 5000 && p.fwd_cnt == 5);
	/* A credit request is answered with our counters. */
	tx(OP_CREDIT_REQUEST, 5000, 1234, NULL, 0, 6);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_CREDIT_UPDATE && p.fwd_cnt == 5 && p.buf_alloc == 65536);
	/* The host program closes: the guest hears both directions end. */
	close(hfd);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_SHUTDOWN && p.flags == 3);
	tx(OP_RST, 5000, 1234, NULL, 0, 6);
	CHECK(!rx(&p));
	close(lfd);
	t_teardown();
}

static void vsock_guest_refused(void)
{
	struct pkt p;

	REQUIRE(t_setup());
	tx(OP_REQUEST, 5001, 4321, NULL, 0, 0); /* no "<path>_4321" */
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RST && p.src_port == 4321 && p.dst_port == 5001);
	CHECK(!rx(&p));
	t_teardown();
}

static void vsock_host_to_guest(void)
{
	uint32_t hport = 0;
	char buf[16];
	struct pkt p;
	int fd;

	REQUIRE(t_setup());
	fd = host_to_guest(&hport, 65536);
	REQUIRE(fd >= 0);
	CHECK(hport >= 1024);
	CHECK(write(fd, "ping", 4) == 4);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RW && p.len == 4 && memcmp(p.data, "ping", 4) == 0);
	CHECK(p.src_port == hport && p.dst_port == 80);
	tx(OP_RW, 80, hport, "pong", 4, 4);
	CHECK(host_read(fd, buf, sizeof(buf)) == 4 && memcmp(buf, "pong", 4) == 0);
	/* The guest closes: its SHUTDOWN(both) is answered with RST and the
	 * host program sees the end of the stream. */
	tx(OP_SHUTDOWN, 80, hport, NULL, 0, 4);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RST && p.src_port == hport && p.dst_port == 80);
	CHECK(host_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	t_teardown();
}

static void vsock_host_refused(void)
{
	struct pkt p;
	char buf[16];
	int fd;

	REQUIRE(t_setup());
	fd = host_connect(t.path);
	REQUIRE(fd >= 0);
	CHECK(write(fd, "CONNECT 81\n", 11) == 11);
	REQUIRE(rx(&p));
	REQUIRE(p.op == OP_REQUEST && p.dst_port == 81);
	tx(OP_RST, 81, p.src_port, NULL, 0, 0);
	CHECK(host_read(fd, buf, sizeof(buf)) == 0);
	CHECK(!rx(&p)); /* no RST answers an RST */
	close(fd);
	/* A line that is not CONNECT: closed, the guest hears nothing. */
	fd = host_connect(t.path);
	REQUIRE(fd >= 0);
	CHECK(write(fd, "HELLO 81\n", 9) == 9);
	CHECK(!rx(&p));
	CHECK(host_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	t_teardown();
}

/* Host -> guest: never more than the guest's credit is sent. */
static void vsock_credit_to_guest(void)
{
	uint32_t hport = 0, got = 0;
	char big[100];
	struct pkt p;
	int fd;

	REQUIRE(t_setup());
	fd = host_to_guest(&hport, 10);
	REQUIRE(fd >= 0);
	memset(big, 'x', sizeof(big));
	CHECK(write(fd, big, sizeof(big)) == (ssize_t)sizeof(big));
	while (rx(&p) && p.op == OP_RW)
		got += p.len;
	CHECK(got == 10);
	CHECK(p.op == OP_CREDIT_REQUEST); /* out of credit, asked once */
	CHECK(!rx(&p));
	/* The guest's socket consumed 10 bytes: 10 more may come. */
	guest_buf_alloc = 10;
	tx(OP_CREDIT_UPDATE, 80, hport, NULL, 0, 10);
	got = 0;
	while (rx(&p) && p.op == OP_RW)
		got += p.len;
	CHECK(got == 10);
	close(fd);
	t_teardown();
}

/* Guest -> host: what the unix socket cannot take waits in petrel, up to
 * the credit it gave; all of it arrives in order once the host reads; a
 * guest that sends past its credit is reset. */
static void vsock_credit_from_guest(void)
{
	static uint8_t chunk[4096], in[65536], big[65537];
	uint32_t sent = 0, fwd = 0, got = 0;
	bool order = true;
	int lfd, hfd;
	struct pkt p;
	ssize_t n;

	REQUIRE(t_setup());
	lfd = host_listen(7);
	REQUIRE(lfd >= 0);
	tx(OP_REQUEST, 6000, 7, NULL, 0, 0);
	REQUIRE(rx(&p) && p.op == OP_RESPONSE);
	hfd = accept(lfd, NULL, NULL);
	REQUIRE(hfd >= 0);
	/* Send while the credit we heard of allows; the host reads nothing,
	 * so fwd_cnt stops when the socket is full. */
	for (int round = 0; round < 4096; round++) {
		while (sent - fwd + sizeof(chunk) <= 65536) {
			for (unsigned int i = 0; i < sizeof(chunk); i++)
				chunk[i] = (uint8_t)((sent + i) * 7);
			tx(OP_RW, 6000, 7, chunk, sizeof(chunk), 0);
			sent += sizeof(chunk);
		}
		tx(OP_CREDIT_REQUEST, 6000, 7, NULL, 0, 0);
		while (rx(&p))
			if (p.op == OP_CREDIT_UPDATE || p.op == OP_RW)
				fwd = p.fwd_cnt;
		if (sent - fwd + sizeof(chunk) > 65536)
			break;
	}
	CHECK(sent - fwd > 65536 - sizeof(chunk)); /* petrel holds data */
	CHECK(sent - fwd <= 65536);		   /* but only the credit */
	CHECK(p.op != OP_RST);
	/* The host program drains it all, in order. */
	while (got < sent && (n = host_read(hfd, in, sizeof(in))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			order &= in[i] == (uint8_t)((got + (uint32_t)i) * 7);
		got += (uint32_t)n;
		fake_evloop_drain(&t.ev);
	}
	CHECK(got == sent && order);
	/* Past the credit: one byte more than the buffer, with fresh
	 * counters, is too much. */
	tx(OP_CREDIT_REQUEST, 6000, 7, NULL, 0, 0);
	while (rx(&p))
		fwd = p.fwd_cnt;
	CHECK(fwd == sent);
	tx(OP_RW, 6000, 7, big, sizeof(big), 0);
	REQUIRE(rx(&p));
	CHECK(p.op == OP_RST && p.dst_port == 6000);
	close(hfd);
	close(lfd);
	t_teardown();
}

static void vsock_bad_packets(void)
{
	struct pkt p, bad;
	uint8_t x = 0;

	REQUIRE(t_setup());
	/* Not from the guest's CID: dropped without a word. */
	bad = (struct pkt){ .src_cid = 9,
			    .dst_cid = 2,
			    .src_port = 1,
			    .dst_port = 2,
			    .type = 1,
			    .op = OP_REQUEST };
	tx_raw(&bad, NULL, 0);
	CHECK(!rx(&p));
	/* To another CID, of another type, unknown op, a length that is not
	 * the chain's, data for no connection: RST. */
	bad.src_cid = CID;
	bad.dst_cid = 4;
	tx_raw(&bad, NULL, 0);
	CHECK(rx(&p) && p.op == OP_RST && p.dst_port == 1 && p.src_port == 2);
	bad.dst_cid = 2;
	bad.type = 2;
	tx_raw(&bad, NULL, 0);
	CHECK(rx(&p) && p.op == OP_RST);
	bad.type = 1;
	bad.op = 99;
	tx_raw(&bad, NULL, 0);
	CHECK(rx(&p) && p.op == OP_RST);
	bad.op = OP_RW;
	bad.len = 100;
	tx_raw(&bad, &x, 1);
	CHECK(rx(&p) && p.op == OP_RST);
	bad.len = 1;
	tx_raw(&bad, &x, 1);
	CHECK(rx(&p) && p.op == OP_RST);
	/* An RST for no connection: nothing. */
	bad.op = OP_RST;
	bad.len = 0;
	tx_raw(&bad, NULL, 0);
	CHECK(!rx(&p));
	CHECK(t.ft.needs_reset == 0);
	/* A chain shorter than a header is a broken driver. */
	fake_vq_desc(&t.vq[1], 0, TXBUF, 20, 0, 0);
	fake_vq_publish(&t.vq[1], 0);
	fake_kick(&t.dev, 1);
	CHECK(t.ft.needs_reset == 1);
	t_teardown();
}

static void vsock_reset_closes(void)
{
	uint32_t hport;
	char buf[8];
	int fd;

	REQUIRE(t_setup());
	fd = host_to_guest(&hport, 4096);
	REQUIRE(fd >= 0);
	virtio_lock(&t.dev);
	t.dev.ops->reset(&t.dev);
	virtio_unlock(&t.dev);
	CHECK(host_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	/* Without a driver, host connections are closed at once. */
	t.dev.status = 0;
	fd = host_connect(t.path);
	REQUIRE(fd >= 0);
	fake_evloop_drain(&t.ev);
	CHECK(host_read(fd, buf, sizeof(buf)) == 0);
	close(fd);
	t_teardown();
}

int main(void)
{
	RUN(vsock_config_space);
	RUN(vsock_bad_config);
	RUN(vsock_stale_socket);
	RUN(vsock_guest_to_host);
	RUN(vsock_guest_refused);
	RUN(vsock_host_to_guest);
	RUN(vsock_host_refused);
	RUN(vsock_credit_to_guest);
	RUN(vsock_credit_from_guest);
	RUN(vsock_bad_packets);
	RUN(vsock_reset_closes);
	return harness_exit();
}
