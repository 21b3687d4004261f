/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against the requests of virtio-net, vsock, balloon
 * and console, and every device's life cycle (tests/hostile/virtio.cases).
 * Each case checks the outcome petrel documents (a frame or packet
 * dropped or answered with a reset, DEVICE_NEEDS_RESET for a chain the
 * device cannot use at all), that nothing was written outside what the
 * chain allowed (guards around every buffer), and that the device then
 * serves a good request.
 */
#include "hostile_virtio_dev.h"

/* ------------------------------------------------------------------ net */

static void net_bad_tx(void)
{
	uint8_t *f = hostile_guarded(128, 0);
	struct virtq_buf b[2] = { { f, 4 } };

	up(VIRTIO_ID_NET, 0, 2);
	expect_reset(&vq[1], b, 1, 0, "tx shorter than the virtio-net header");
	b[0] = (struct virtq_buf){ f, 64 };
	b[1] = (struct virtq_buf){ f + 64, 64 };
	expect_reset(&vq[1], b, 1, 1, "tx with a device-writable buffer");
	expect_reset(&vq[1], b, 0, 1, "tx of only a device-writable buffer");
	hostile_check(hostile_filled(f + 64, 64, 0) && hostile_guard_ok(f, 128),
		      "a tx chain's writable buffer was written");
	/* rx buffers the device could only read from. */
	b[0] = (struct virtq_buf){ f, 128 };
	expect_reset(&vq[0], b, 1, 0, "rx with a device-readable buffer");
	b[0] = (struct virtq_buf){ f, 32 };
	b[1] = (struct virtq_buf){ f + 64, 64 };
	expect_reset(&vq[0], b, 1, 1, "rx with a device-readable buffer first");
	b[0] = (struct virtq_buf){ f, 60 + VIRTIO_NET_HDR_LEN };
	memset(f, 0xff, VIRTIO_NET_HDR_LEN + 6); /* broadcast */
	memset(f, 0, VIRTIO_NET_HDR_LEN);
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good frame after bad tx chains");
	alive("bad tx chains");
}

static void net_huge_frame(void)
{
	uint32_t big = 70000;
	uint8_t *f = hostile_guarded(big + VIRTIO_NET_HDR_LEN, 0);
	struct virtq_buf b[1] = { { f, big + VIRTIO_NET_HDR_LEN } };
	struct net_hdr {
		uint8_t flags, gso_type;
		uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
	} *h = (struct net_hdr *)f;

	up(VIRTIO_ID_NET, VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4), 2);
	memset(f + VIRTIO_NET_HDR_LEN, 0xff, 6);
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 70000-byte frame was not used");
	alive("70000-byte frame");
	b[0].len = VIRTIO_NET_HDR_LEN + 65551;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 65551-byte frame was not used");
	b[0].len = VIRTIO_NET_HDR_LEN + 3;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a 3-byte frame was not used");
	/* Offload metadata pointing far outside the frame. */
	*h = (struct net_hdr){ .flags = 1,
			       .gso_type = 1,
			       .hdr_len = 0xffff,
			       .gso_size = 1,
			       .csum_start = 0xfff0,
			       .csum_offset = 0xfffe,
			       .num_buffers = 0xffff };
	b[0].len = VIRTIO_NET_HDR_LEN + 100;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a frame with bogus offloads was not used");
	*h = (struct net_hdr){ .flags = 0xfe, .gso_type = 0x85 };
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a frame with unknown flags was not used");
	hostile_check(hostile_guard_ok(f, big + VIRTIO_NET_HDR_LEN),
		      "a tx frame's buffer was written past");
	memset(f, 0, VIRTIO_NET_HDR_LEN);
	b[0].len = VIRTIO_NET_HDR_LEN + 60;
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good frame after bad ones");
	alive("huge and bogus frames");
}

/* ---------------------------------------------------------------- vsock */

#define VS_HDR 44
#define VS_OP_REQUEST 1
#define VS_OP_RESPONSE 2
#define VS_OP_RST 3
#define VS_OP_SHUTDOWN 4
#define VS_OP_RW 5
#define VS_OP_CREDIT_UPDATE 6
#define VS_OP_CREDIT_REQUEST 7
#define GUEST_CID 3

struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static uint8_t *rxbuf; /* 8 buffers of 256 bytes */

static void vs_up(void)
{
	up(VIRTIO_ID_VSOCK, 0, 3);
	if (!rxbuf)
		rxbuf = hostile_guarded(8 * 256, 0);
	for (unsigned int i = 0; i < 8; i++) {
		struct virtq_buf b = { rxbuf + 256 * i, 256 };

		hostile_check(virtq_add(&vq[0], &b, 0, 1, false) >= 0, "rx buffer");
	}
	hostile_notify(&vq[0]);
}

/* Sends one packet: header h, then `len` payload bytes (0x41). */
static void vs_send(const struct vs_hdr *h, uint32_t len)
{
	static uint8_t *pkt;
	struct virtq_buf b = { 0, VS_HDR + len };

	if (!pkt)
		pkt = hostile_guarded(VS_HDR + 70000, 0x41);
	memcpy(pkt, h, VS_HDR);
	b.addr = pkt;
	hostile_check(roundtrip(&vq[1], &b, 1, 0) >= 0, "tx packet op %u not used", h->op);
}

/* Waits for the next rx packet and returns its header (op 0: none). */
static struct vs_hdr vs_recv(uint64_t cycles)
{
	struct vs_hdr h = { 0 };
	uint32_t len;
	uint64_t end = rdtsc() + cycles;
	int head;

	while ((head = virtq_get(&vq[0], &len)) == -1 && rdtsc() < end)
		;
	if (head < 0)
		return h;
	memcpy(&h, rxbuf + 256 * (unsigned int)head, VS_HDR);
	hostile_check(len >= VS_HDR && len <= 256, "rx packet of %u bytes", len);
	struct virtq_buf b = { rxbuf + 256 * (unsigned int)head, 256 };
	virtq_add(&vq[0], &b, 0, 1, false);
	hostile_notify(&vq[0]);
	return h;
}

/* A packet to the host's port 1234, where the cases put a listener
 * (petrel's own control socket, --api PATH_1234): a packet petrel wrongly
 * takes would make a connection, and show as a RESPONSE. */
static struct vs_hdr vs_hdr(uint64_t dst_cid, uint32_t len, uint16_t type, uint16_t op)
{
	return (struct vs_hdr){ .src_cid = GUEST_CID,
				.dst_cid = dst_cid,
				.src_port = 4000 + op,
				.dst_port = 1234,
				.len = len,
				.type = type,
				.op = op,
				.buf_alloc = 65536 };
}

/* The next packet that is not a credit update. */
static struct vs_hdr vs_answer(uint64_t cycles)
{
	struct vs_hdr r;

	do
		r = vs_recv(cycles);
	while (r.op == VS_OP_CREDIT_UPDATE);
	return r;
}

/* The packet must be answered with an RST for the same ports. */
static void vs_expect_rst(const char *what, struct vs_hdr h, uint32_t payload)
{
	struct vs_hdr r;

	vs_send(&h, payload);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RST && r.src_cid == 2 && r.dst_cid == GUEST_CID &&
			  r.src_port == h.dst_port && r.dst_port == h.src_port,
		      "%s: answer op %u ports %u->%u, not an RST for %u->%u", what, r.op,
		      r.src_port, r.dst_port, h.src_port, h.dst_port);
	alive(what);
}

/* Connects guest port `port` to host port 1234. */
static struct vs_hdr vs_connect(uint32_t port)
{
	struct vs_hdr h = vs_hdr(2, 0, 1, VS_OP_REQUEST), r;

	h.src_port = port;
	vs_send(&h, 0);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RESPONSE && r.dst_port == port && r.src_port == 1234,
		      "connect from port %u: answer op %u, not a RESPONSE", port, r.op);
	return h;
}

static void vs_final(void)
{
	hostile_check(hostile_guard_ok(rxbuf, 8 * 256), "an rx packet written past its buffer");
	vs_connect(6000);
}

static void vsock_bad_len(void)
{
	struct vs_hdr h;

	vs_up();
	vs_expect_rst("REQUEST with len 100 and no payload", vs_hdr(2, 100, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("REQUEST with len 0 and 64 bytes", vs_hdr(2, 0, 1, VS_OP_REQUEST), 64);
	h = vs_connect(5010);
	h.op = VS_OP_RW;
	h.len = 0;
	vs_expect_rst("RW with len 0 and 64 bytes", h, 64);
	h = vs_connect(5011);
	h.op = VS_OP_RW;
	h.len = 0xffffffff;
	vs_expect_rst("RW with len 0xffffffff and 16 bytes", h, 16);
	vs_final();
}

/* Unknown ops on a live connection reset it; bad types are refused. */
static void vsock_bad_op(void)
{
	static const uint16_t ops[] = { 0, 99, 0xffff, VS_OP_REQUEST, VS_OP_RESPONSE };
	struct vs_hdr h;

	vs_up();
	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = vs_connect(5020 + i);
		h.op = ops[i];
		vs_expect_rst("a bad op on a connection", h, 0);
	}
	vs_expect_rst("type 2 (SEQPACKET)", vs_hdr(2, 0, 2, VS_OP_REQUEST), 0);
	vs_expect_rst("type 0xffff", vs_hdr(2, 0, 0xffff, VS_OP_REQUEST), 0);
	vs_expect_rst("RW without a connection", vs_hdr(2, 8, 1, VS_OP_RW), 8);
	vs_final();
}

static void vsock_unknown_cid(void)
{
	struct vs_hdr h;

	vs_up();
	vs_expect_rst("to CID 77", vs_hdr(77, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to its own CID", vs_hdr(GUEST_CID, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to CID 2^64-1", vs_hdr(~0ULL, 0, 1, VS_OP_REQUEST), 0);
	vs_expect_rst("to CID 2 + 2^32", vs_hdr(2 + (1ULL << 32), 0, 1, VS_OP_REQUEST), 0);
	/* From a CID that is not the guest's: dropped without an answer. */
	h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
	h.src_cid = 5;
	vs_send(&h, 0);
	hostile_check(vs_recv(HOSTILE_QUIET).op == 0, "a packet from a spoofed CID was answered");
	vs_final();
}

/* An rx chain the device cannot fill: it takes rx buffers only when it has
 * something to send, so the case makes it owe an RST first. */
static void vs_bad_rx(struct virtq_buf *b, unsigned int nout, unsigned int nin, const char *what)
{
	struct vs_hdr h = vs_hdr(2, 0, 1, VS_OP_RW);
	struct virtq_buf t = { hostile_guarded(VS_HDR, 0), VS_HDR };
	uint16_t used;

	up(VIRTIO_ID_VSOCK, 0, 3);
	hostile_check(virtq_add(&vq[0], b, nout, nin, false) >= 0, "%s: virtq_add", what);
	hostile_notify(&vq[0]);
	used = vq[0].used[1];
	memcpy(t.addr, &h, VS_HDR);
	/* Not waited for: the device may fail before it uses it. */
	hostile_check(virtq_add(&vq[1], &t, 1, 0, false) >= 0, "%s: tx virtq_add", what);
	hostile_notify(&vq[1]);
	hostile_check_refused(&dev, &vq[0], used, what);
}

static void vsock_short_hdr(void)
{
	uint8_t *p = hostile_guarded(512, 0);
	struct virtq_buf b[2] = { { p, 20 }, { p + 256, 256 } };

	vs_up();
	expect_reset(&vq[1], b, 1, 0, "tx packet of 20 bytes");
	vs_up();
	expect_reset(&vq[1], &b[1], 0, 1, "tx packet in a device-writable buffer");
	b[0].len = 64;
	vs_bad_rx(b, 1, 0, "rx buffer the device can only read");
	vs_bad_rx(b, 1, 1, "rx buffer with a device-readable part");
	b[0].len = 20;
	vs_bad_rx(b, 0, 1, "rx buffer shorter than a header");
	hostile_check(hostile_filled(p, 512, 0) && hostile_guard_ok(p, 512),
		      "a refused buffer was written");
	vs_up();
	vs_final();
}

/* The answers to 300 connects from guest ports 7000 + i. */
struct conn_answers {
	unsigned int resp, rst, other;
	uint8_t open[300]; /* port 7000 + i got a RESPONSE */
};

/* Counts one answer; how many are counted now (SHUTDOWN, RW and credit
 * packets are not answers). */
static unsigned int conn_answer(struct conn_answers *a, const struct vs_hdr *r)
{
	if (r->op == VS_OP_RESPONSE && r->dst_port - 7000 < 300) {
		a->resp++;
		a->open[r->dst_port - 7000] = 1;
	} else if (r->op == VS_OP_RST) {
		a->rst++;
	} else if (r->op < VS_OP_SHUTDOWN || r->op > VS_OP_CREDIT_REQUEST) {
		a->other++;
	}
	return a->resp + a->rst + a->other;
}

/*
 * Connections by the hundred: 300 REQUESTs to the listener at port 1234.
 * Each is answered, by a RESPONSE (petrel holds at most 256 connections)
 * or an RST (the control socket may then talk and shut its side, which
 * shows as RW and SHUTDOWN packets); after the guest resets the ones it
 * got, a new connection still works.
 */
static void vsock_conn_flood(void)
{
	static struct conn_answers a;
	unsigned int n = 0;
	struct vs_hdr h, r;

	vs_up();
	for (unsigned int i = 0; i < 300; i++) {
		h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
		h.src_port = 7000 + i;
		vs_send(&h, 0);
		/* Take answers as they come: the rx ring holds only 8. */
		while ((r = vs_recv(n < i ? HOSTILE_QUIET / 100 : 0)).op)
			n = conn_answer(&a, &r);
	}
	while (n < 300 && (r = vs_recv(HOSTILE_WAIT)).op)
		n = conn_answer(&a, &r);
	hostile_check(a.resp + a.rst == 300 && !a.other,
		      "300 connects: %u responses, %u resets, %u unexpected packets", a.resp, a.rst,
		      a.other);
	hostile_check(a.resp <= 256, "%u connections accepted, over petrel's 256", a.resp);
	for (unsigned int i = 0; i < 300; i++) {
		if (!a.open[i])
			continue;
		h = vs_hdr(2, 0, 1, VS_OP_RST);
		h.src_port = 7000 + i;
		vs_send(&h, 0);
	}
	alive("300 connects");
	vs_final();
}

/*
 * Credit: connected to port 1234, the guest sends more than the 64 KiB
 * petrel advertised in one packet: petrel must reset the connection at
 * once (not pass the bytes on, which would bring an answer from the
 * control socket, or a shutdown).
 */
static void vsock_credit(void)
{
	struct vs_hdr h, r;

	vs_up();
	h = vs_hdr(2, 0, 1, VS_OP_REQUEST);
	h.src_port = 5000;
	vs_send(&h, 0);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RESPONSE && r.dst_port == 5000,
		      "connect to port 1234: answer op %u", r.op);
	hostile_check(r.buf_alloc == 65536, "petrel advertised %u bytes of credit", r.buf_alloc);
	/* A credit update claiming we consumed what petrel never sent. */
	h.op = VS_OP_CREDIT_UPDATE;
	h.fwd_cnt = 0x80000000;
	h.buf_alloc = 0xffffffff;
	vs_send(&h, 0);
	h.op = VS_OP_RW;
	h.len = 65537;
	h.fwd_cnt = 0;
	vs_send(&h, 65537);
	r = vs_answer(HOSTILE_WAIT);
	hostile_check(r.op == VS_OP_RST && r.dst_port == 5000,
		      "65537 bytes past a 65536-byte credit: answer op %u, not an RST", r.op);
	alive("sending past the credit");
	vs_final();
}

/* -------------------------------------------------------------- balloon */

/*
 * PFNs outside RAM are skipped. Two of them are P + 2^20 and P | 2^31 for
 * a page P of ours: a PFN shifted in 32 bits would name P, and P would
 * read back as zeroes, which is what a real inflate of P does.
 */
static void balloon_bad_pfn(void)
{
	uint8_t *page = virtio_alloc(4096, 4096);
	uint32_t p = (uint32_t)((uint64_t)page >> 12);
	const uint32_t bad[] = {
		0xffffffff,
		(uint32_t)(PETREL_RAM_HOLE_START >> 12),
		(uint32_t)(HOSTILE_RAM_END >> 12),
		(uint32_t)(PETREL_RAM_HOLE_END >> 12),
		(uint32_t)(PETREL_LAPIC_ADDR >> 12),
		p + 0x100000,
		p | 0x80000000,
	};
	uint32_t *pfns = hostile_guarded(sizeof(bad), 0);
	struct virtq_buf b[2] = { { pfns, sizeof(bad) } };

	up(VIRTIO_ID_BALLOON, 0, 2);
	memset(page, 0xab, 4096);
	memcpy(pfns, bad, sizeof(bad));
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of PFNs outside RAM not used");
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "deflate of PFNs outside RAM not used");
	b[0].len = 6;
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of 6 bytes not used");
	b[0].len = sizeof(bad);
	b[1] = (struct virtq_buf){ pfns, sizeof(bad) };
	hostile_check(roundtrip(&vq[0], &b[1], 0, 1) >= 0, "inflate in a writable buffer not used");
	hostile_check(!memcmp(pfns, bad, sizeof(bad)) && hostile_guard_ok(pfns, sizeof(bad)),
		      "the PFN array was written");
	hostile_check(hostile_filled(page, 4096, 0xab), "a PFN outside RAM discarded a page in it");
	alive("PFNs outside RAM");
	/* A good one: the page goes (and reads back as zeroes) and comes back. */
	pfns[0] = p;
	b[0].len = 4;
	hostile_check(roundtrip(&vq[0], b, 1, 0) >= 0, "inflate of a good page not used");
	hostile_check(hostile_filled(page, 4096, 0), "an inflated page still holds its data");
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "deflate of a good page not used");
	alive("a good inflate");
}

/* -------------------------------------------------------------- console */

static void console_bad(void)
{
	static const char good[] = "hostile: virtio console still writes\n";
	uint8_t *t = hostile_guarded(64, 'x');
	struct virtq_buf b[2] = { { t, 64 } };

	up(VIRTIO_ID_CONSOLE, 0, 2);
	/* tx in a writable buffer: used, nothing written into it. */
	hostile_check(roundtrip(&vq[1], b, 0, 1) >= 0, "writable tx buffer not used");
	hostile_check(hostile_filled(t, 64, 'x') && hostile_guard_ok(t, 64),
		      "the console wrote into a tx buffer");
	alive("writable tx buffer");
	b[0] = (struct virtq_buf){ (void *)PETREL_RAM_HOLE_START, 64 };
	/* virtq_add takes any address. */
	expect_reset(&vq[1], b, 1, 0, "tx buffer in the MMIO hole");
	b[0] = (struct virtq_buf){ (void *)(HOSTILE_RAM_END - 8), 64 };
	expect_reset(&vq[1], b, 1, 0, "tx buffer straddling the end of RAM");
	memcpy(t, good, sizeof(good) - 1);
	b[0] = (struct virtq_buf){ t, sizeof(good) - 1 };
	hostile_check(roundtrip(&vq[1], b, 1, 0) >= 0, "a good tx after bad ones");
	alive("bad tx buffers");
}

/* ------------------------------------------------------------ lifecycle */

/*
 * Every device through its life many times, also the wrong way: queues
 * set up and DRIVER_OK after the device already needs a reset (so the
 * backend is started on a failed device), and resets with the device
 * running. The backends must start and stop cleanly each time (the
 * sanitizer build reports leaks and double frees at exit), and each device
 * must come up afterwards.
 */
static void status_cycle(void)
{
	static const uint32_t ids[][2] = {
		{ VIRTIO_ID_BLOCK, 1 },	  { VIRTIO_ID_NET, 2 },	  { VIRTIO_ID_CONSOLE, 2 },
		{ VIRTIO_ID_BALLOON, 2 }, { VIRTIO_ID_VSOCK, 3 }, { VIRTIO_ID_RNG, 1 },
	};

	for (unsigned int d = 0; d < sizeof(ids) / sizeof(ids[0]); d++) {
		if (!hostile_check(virtio_find(ids[d][0], 0, &dev) == 0, "no device %u", ids[d][0]))
			continue;
		for (int k = 0; k < 10; k++) {
			virtio_reset(&dev);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
				     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
			if (k & 1)
				hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x07);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, 1); /* VERSION_1 */
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, virtio_status(&dev) | 0x08);
			for (unsigned int q = 0; q < ids[d][1]; q++)
				virtq_setup(&dev, &vq[q], q, 64);
			hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, virtio_status(&dev) | 0x04);
			hostile_check(!(virtio_status(&dev) & NEEDS_RESET) == !(k & 1),
				      "device %u round %d: status %#x", ids[d][0], k,
				      virtio_status(&dev));
		}
		up(ids[d][0], 0, ids[d][1]);
		alive("status cycles");
	}
	/* The last one is the rng: it still reads. */
	struct virtq_buf vb = { hostile_guarded(64, 0), 64 };
	long len = roundtrip(&vq[0], &vb, 0, 1);

	hostile_check(len >= 1 && len <= 64, "the rng after status cycles: %ld bytes", len);
}

static const struct hostile_case cases[] = {
	{ "virtio-net-bad-tx", net_bad_tx, false },
	{ "virtio-net-huge-frame", net_huge_frame, false },
	{ "virtio-vsock-bad-len", vsock_bad_len, false },
	{ "virtio-vsock-bad-op", vsock_bad_op, false },
	{ "virtio-vsock-unknown-cid", vsock_unknown_cid, false },
	{ "virtio-vsock-short-hdr", vsock_short_hdr, false },
	{ "virtio-vsock-credit", vsock_credit, false },
	{ "virtio-vsock-conn-flood", vsock_conn_flood, false },
	{ "virtio-balloon-bad-pfn", balloon_bad_pfn, false },
	{ "virtio-console-bad", console_bad, false },
	{ "virtio-status-cycle", status_cycle, false },
};

int guest_main(void)
{
	hostile_vq_main(cases, sizeof(cases) / sizeof(cases[0]));
}
