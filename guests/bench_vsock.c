/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock stream throughput for `bench/run vsock`, from CPL3 with
 * completions polled, against the host peer in bench/run:
 *   send  connect to host port "port=" (default 1234) and send "mb=" MiB
 *         (default 128) in packets of up to 64 KiB within the peer's
 *         credit; the clock stops when the peer's one-byte answer, sent
 *         once it has read everything, arrives
 *   recv  accept the host's connection to port "listen=" (default 5000)
 *         and take "mb=" MiB; the clock runs from the accept to the last
 *         byte
 * The data is consumed as it arrives (counted, not copied or checked:
 * guests/virtio_vsock.c tests the contents); the credit goes back to the
 * peer every BUF_ALLOC / 4 bytes. Output: "vsock: NAME BYTES CYCLES" and
 * "vsock: done"; exit 1 if a connection failed.
 */
#include "rt.h"
#include "virtio.h"

#define VSOCK_F_STREAM 0
#define VSOCK_CFG_GUEST_CID 0
#define VSOCK_TYPE_STREAM 1
#define HOST_CID 2
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define PAYLOAD 65536 /* petrel's largest packet */
#define RX_BUFS 16
#define RX_LEN (sizeof(struct vsock_hdr) + PAYLOAD)
#define TX_SLOTS 8
#define TX_LEN (sizeof(struct vsock_hdr) + PAYLOAD)
#define BUF_ALLOC (1U << 20)

enum conn_state { CLOSED, CONNECTING, ESTABLISHED };

/* The one connection at a time; counters wrap (u32) as in the spec. */
struct conn {
	enum conn_state state;
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t fwd_cnt, fwd_reported; /* bytes consumed; last reported */
};

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq, evq;
static uint8_t *rx_mem, *tx_mem, *ev_mem;
static int rx_of_head[VIRTQ_MAX_SIZE], tx_of_head[VIRTQ_MAX_SIZE];
static bool tx_busy[TX_SLOTS];
static uint64_t guest_cid, deadline;
static uint32_t listen_port;
static struct conn conn;

static __attribute__((noreturn)) void die(const char *what)
{
	printf("vsock: FAIL %s\n", what);
	guest_exit(1);
}

/* Fails `what` when nothing has moved for virtio_timeout_cycles. */
static void check_deadline(const char *what)
{
	if (rdtsc() > deadline)
		die(what);
}

static void progress(void)
{
	deadline = rdtsc() + virtio_timeout_cycles;
}

static void tx_reap(void)
{
	uint32_t w;
	int h;

	while ((h = virtq_get(&txq, &w)) >= 0)
		tx_busy[tx_of_head[h]] = false;
	if (h == -2)
		die("transmit queue");
}

/* Sends a packet from a free slot; an RW packet's payload is whatever the
 * slot holds (the data is not the point). */
static void send_pkt(uint16_t op, uint32_t flags, uint32_t src_port, uint32_t dst_port,
		     uint32_t len)
{
	struct virtq_buf b[2];
	struct vsock_hdr *hdr;
	unsigned int i;
	int h;

	for (;;) {
		tx_reap();
		for (i = 0; i < TX_SLOTS && tx_busy[i]; i++)
			;
		if (i < TX_SLOTS && virtq_room(&txq) >= 2)
			break;
		check_deadline("no transmit buffer came back");
	}
	hdr = (struct vsock_hdr *)(tx_mem + i * TX_LEN);
	*hdr = (struct vsock_hdr){ .src_cid = guest_cid,
				   .dst_cid = HOST_CID,
				   .src_port = src_port,
				   .dst_port = dst_port,
				   .len = len,
				   .type = VSOCK_TYPE_STREAM,
				   .op = op,
				   .flags = flags,
				   .buf_alloc = BUF_ALLOC,
				   .fwd_cnt = conn.fwd_cnt };
	b[0] = (struct virtq_buf){ hdr, sizeof(*hdr) };
	b[1] = (struct virtq_buf){ hdr + 1, len };
	h = virtq_add(&txq, b, len ? 2 : 1, 0, false);
	if (h < 0)
		die("transmit add");
	tx_of_head[h] = (int)i;
	tx_busy[i] = true;
	if (src_port == conn.local_port)
		conn.fwd_reported = conn.fwd_cnt;
	virtq_kick(&txq);
}

static void conn_send(uint16_t op, uint32_t flags, uint32_t len)
{
	send_pkt(op, flags, conn.local_port, conn.peer_port, len);
}

static void rx_post(unsigned int i)
{
	struct virtq_buf b = { rx_mem + i * RX_LEN, RX_LEN };
	int h = virtq_add(&rxq, &b, 0, 1, false);

	if (h < 0)
		die("receive post");
	rx_of_head[h] = (int)i;
}

/* One packet, its header copied out of the ring. */
static void dispatch(const struct vsock_hdr *h)
{
	bool match =
	    conn.state != CLOSED && h->dst_port == conn.local_port && h->src_port == conn.peer_port;

	if (match) {
		conn.peer_buf_alloc = h->buf_alloc;
		conn.peer_fwd_cnt = h->fwd_cnt;
	}
	switch (h->op) {
	case OP_REQUEST:
		if (conn.state == CLOSED && listen_port && h->dst_port == listen_port) {
			conn = (struct conn){ .state = ESTABLISHED,
					      .local_port = listen_port,
					      .peer_port = h->src_port,
					      .peer_buf_alloc = h->buf_alloc,
					      .peer_fwd_cnt = h->fwd_cnt };
			conn_send(OP_RESPONSE, 0, 0);
		} else {
			send_pkt(OP_RST, 0, h->dst_port, h->src_port, 0);
		}
		break;
	case OP_RESPONSE:
		if (match && conn.state == CONNECTING)
			conn.state = ESTABLISHED;
		break;
	case OP_RST:
		if (match)
			conn.state = CLOSED;
		break;
	case OP_RW:
		if (!match || conn.state != ESTABLISHED) {
			send_pkt(OP_RST, 0, h->dst_port, h->src_port, 0);
			break;
		}
		conn.fwd_cnt += h->len;
		if (conn.fwd_cnt - conn.fwd_reported >= BUF_ALLOC / 4)
			conn_send(OP_CREDIT_UPDATE, 0, 0);
		break;
	case OP_CREDIT_REQUEST:
		if (match)
			conn_send(OP_CREDIT_UPDATE, 0, 0);
		break;
	}
}

/* Takes every packet the device has published. */
static void rx_poll(void)
{
	uint32_t w;
	int h;

	while ((h = virtq_get(&rxq, &w)) >= 0) {
		struct vsock_hdr hdr;

		memcpy(&hdr, rx_mem + (unsigned int)rx_of_head[h] * RX_LEN, sizeof(hdr));
		if (w < sizeof(hdr) || hdr.len > w - sizeof(hdr))
			die("receive: short packet");
		rx_post((unsigned int)rx_of_head[h]);
		virtq_kick(&rxq);
		if (hdr.src_cid == HOST_CID && hdr.dst_cid == guest_cid &&
		    hdr.type == VSOCK_TYPE_STREAM)
			dispatch(&hdr);
	}
	if (h == -2)
		die("receive queue");
}

static void report(const char *name, uint64_t bytes, uint64_t cycles)
{
	printf("vsock: %s %lu %lu\n", name, (unsigned long)bytes, (unsigned long)cycles);
}

static void bench_send(uint32_t port, uint64_t total)
{
	uint64_t t0, sent = 0;

	conn = (struct conn){ .state = CONNECTING, .local_port = 40000, .peer_port = port };
	conn_send(OP_REQUEST, 0, 0);
	while (conn.state == CONNECTING) {
		rx_poll();
		check_deadline("connect: no answer");
	}
	if (conn.state != ESTABLISHED)
		die("connect: refused");
	t0 = rdtsc();
	while (sent < total) {
		uint32_t credit = conn.peer_buf_alloc - (conn.tx_cnt - conn.peer_fwd_cnt);
		uint32_t n = total - sent < PAYLOAD ? (uint32_t)(total - sent) : PAYLOAD;

		rx_poll();
		if (conn.state != ESTABLISHED)
			die("send: connection reset");
		if (credit == 0 || credit > conn.peer_buf_alloc) {
			check_deadline("send: no credit");
			continue;
		}
		n = n < credit ? n : credit;
		conn_send(OP_RW, 0, n);
		conn.tx_cnt += n;
		sent += n;
		progress();
	}
	while (conn.fwd_cnt == 0) { /* the peer's answer: it has everything */
		rx_poll();
		if (conn.state != ESTABLISHED)
			die("send: reset before the answer");
		check_deadline("send: no answer");
	}
	report("send", sent, rdtsc() - t0);
	conn_send(OP_RST, 0, 0);
	conn.state = CLOSED;
}

static void bench_recv(uint32_t port, uint64_t total)
{
	uint64_t t0;

	listen_port = port;
	while (conn.state != ESTABLISHED) {
		rx_poll();
		check_deadline("listen: no connection");
	}
	t0 = rdtsc();
	while (conn.fwd_cnt < total) {
		uint32_t had = conn.fwd_cnt;

		rx_poll();
		if (conn.fwd_cnt != had)
			progress();
		if (conn.state != ESTABLISHED)
			die("recv: connection reset");
		check_deadline("recv: data stopped");
	}
	report("recv", conn.fwd_cnt, rdtsc() - t0);
	conn_send(OP_RST, 0, 0);
}

static unsigned long opt(const char *key, unsigned long def)
{
	char val[24];

	if (cmdline_get(key, val, sizeof(val)) == 0 && parse_ulong(val) > 0)
		return (unsigned long)parse_ulong(val);
	return def;
}

static void user_main(void)
{
	uint64_t total = (uint64_t)opt("mb", 128) << 20;

	printf("vsock: running at cpl=%u\n", current_cpl());
	rx_mem = virtio_alloc(RX_BUFS * RX_LEN, 4096);
	tx_mem = virtio_alloc(TX_SLOTS * TX_LEN, 4096);
	ev_mem = virtio_alloc(64, 64);
	if (total >= 1ULL << 32 || !rx_mem || !tx_mem || !ev_mem ||
	    virtio_find(VIRTIO_ID_VSOCK, 0, &dev) ||
	    virtio_negotiate(&dev, VIRTIO_BIT(VSOCK_F_STREAM) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX)) ||
	    virtq_setup(&dev, &rxq, RXQ, 64) || virtq_setup(&dev, &txq, TXQ, 64) ||
	    virtq_setup(&dev, &evq, EVQ, 8) || virtio_driver_ok(&dev)) {
		printf("vsock: no usable vsock device (or mb= of 4 GiB or more)\n");
		guest_exit(2);
	}
	virtq_interrupts(&rxq, false);
	virtq_interrupts(&txq, false);
	virtq_interrupts(&evq, false);
	guest_cid = virtio_cfg_read64(&dev, VSOCK_CFG_GUEST_CID);
	for (unsigned int i = 0; i < RX_BUFS; i++)
		rx_post(i);
	virtq_kick(&rxq);
	for (unsigned int i = 0; i < 8; i++) {
		struct virtq_buf b = { ev_mem + i * 8, 8 };

		virtq_add(&evq, &b, 0, 1, false);
	}
	virtq_kick(&evq);
	progress();
	bench_send((uint32_t)opt("port", 1234), total);
	progress();
	bench_recv((uint32_t)opt("listen", 5000), total);
	printf("vsock: done\n");
	guest_exit(0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
