/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2, 5.10), stream sockets, from CPL3, against a
 * host peer (tests/guest/vsockpeer.py) on petrel's unix-socket side:
 *
 *  1. connect to host CID 2 port "refuse=" (default 1235), where nobody
 *     listens: the answer must be RST;
 *  2. connect to port "port=" (default 1234): send "HELLO <n>\n" and n
 *     ("tx=", default 262144) pattern bytes (byte k = (131k + (k >> 8)) &
 *     0xff); the peer answers "CRC <crc32 of what it got>\n" and
 *     "DATA <m> <crc32>\n" with m bytes; both CRCs are checked; then a
 *     clean close (SHUTDOWN, the peer's RST);
 *  3. print "virtio_vsock: listening on port L" ("listen=", default 5000)
 *     and accept the host's connection; read "DATA <m> <crc32>\n" and the
 *     m bytes, answer "GOT <m> <crc32 of what arrived>\n", "HELLO <n>\n" and
 *     n pattern bytes, then wait for the peer to close (its SHUTDOWN, our
 *     RST).
 * The receive side advertises a 64 KiB buffer (buf_alloc) and returns
 * credit as the data is consumed, so transfers larger than that exercise
 * the device's credit accounting; sends respect the peer's credit.
 * Last line: "virtio_vsock: done, N failures"; exit 0 iff N = 0.
 */
#include "rt.h"
#include "virtio.h"

#define VSOCK_F_STREAM 0
#define VSOCK_CFG_GUEST_CID 0
#define VSOCK_TYPE_STREAM 1
#define HOST_CID 2

enum {
	OP_INVALID,
	OP_REQUEST,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST,
};
#define SHUTDOWN_RCV 1
#define SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define RX_BUFS 32
#define RX_PAYLOAD 4096
#define RX_LEN (sizeof(struct vsock_hdr) + RX_PAYLOAD)
#define TX_SLOTS 16
#define TX_PAYLOAD 4096
#define EV_BUFS 4
#define EV_LEN 8
#define BUF_ALLOC 65536U /* power of 2: the receive ring */

enum conn_state { CLOSED, CONNECTING, ESTABLISHED };

/* The one connection this guest has at a time. Counters wrap (u32). */
struct conn {
	enum conn_state state;
	uint32_t local_port, peer_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;	/* bytes sent */
	uint32_t rx_cnt;	/* bytes received into ring */
	uint32_t fwd_cnt;	/* bytes the application took from ring */
	uint32_t fwd_reported;	/* fwd_cnt last sent to the peer */
	uint32_t peer_shutdown; /* SHUTDOWN flags the peer sent */
	bool rst;
};

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static struct virtio_dev dev;
static struct virtq rxq, txq, evq;
static uint8_t *rx_mem, *tx_mem, *ev_mem, *ring;
static int rx_of_head[VIRTQ_MAX_SIZE], tx_of_head[VIRTQ_MAX_SIZE], ev_of_head[VIRTQ_MAX_SIZE];
static bool tx_busy[TX_SLOTS];
static unsigned int tx_inflight, failures, in_rx;
static uint64_t guest_cid;
static uint32_t listen_port, next_local_port = 40000;
static struct conn conn;
static uint64_t stray, events;

static void fail(const char *what)
{
	printf("virtio_vsock: FAIL %s\n", what);
	failures++;
}

static __attribute__((noreturn)) void die(const char *what)
{
	fail(what);
	printf("virtio_vsock: done, %u failures\n", failures);
	guest_exit(1);
}

static uint8_t pattern(uint64_t k)
{
	return (uint8_t)(k * 131 + (k >> 8));
}

/* ------------------------------------------------------------ transmit */

static void tx_reap(void)
{
	uint32_t w;
	int h;

	while ((h = virtq_get(&txq, &w)) >= 0) {
		tx_busy[tx_of_head[h]] = false;
		tx_inflight--;
	}
	if (h == -2)
		die("transmit queue");
}

static void rx_poll(void);

/* Sends one packet to HOST_CID; data (len <= TX_PAYLOAD) is copied. */
static void send_pkt(uint16_t op, uint32_t flags, uint32_t src_port, uint32_t dst_port,
		     const void *data, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	struct virtq_buf b[2];
	struct vsock_hdr *hdr;
	unsigned int i;
	int h;

	for (tx_reap(); tx_inflight == TX_SLOTS || virtq_room(&txq) < 2; tx_reap()) {
		if (!in_rx)
			rx_poll();
		if (rdtsc() > deadline)
			die("no transmit buffer came back");
		__asm__ volatile("pause");
	}
	for (i = 0; tx_busy[i]; i++)
		;
	hdr = (struct vsock_hdr *)(tx_mem + i * (sizeof(*hdr) + TX_PAYLOAD));
	*hdr = (struct vsock_hdr){
		.src_cid = guest_cid,
		.dst_cid = HOST_CID,
		.src_port = src_port,
		.dst_port = dst_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = BUF_ALLOC,
		.fwd_cnt = conn.fwd_cnt,
	};
	if (len)
		memcpy(hdr + 1, data, len);
	b[0] = (struct virtq_buf){ hdr, sizeof(*hdr) };
	b[1] = (struct virtq_buf){ hdr + 1, len };
	h = virtq_add(&txq, b, len ? 2 : 1, 0, false);
	if (h < 0)
		die("transmit add");
	tx_of_head[h] = (int)i;
	tx_busy[i] = true;
	tx_inflight++;
	if (conn.state != CLOSED && src_port == conn.local_port)
		conn.fwd_reported = conn.fwd_cnt;
	virtq_kick(&txq);
}

/* Replies RST to a packet that belongs to no connection. */
static void send_rst_to(const struct vsock_hdr *h)
{
	send_pkt(OP_RST, 0, h->dst_port, h->src_port, NULL, 0);
}

static void conn_send(uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	send_pkt(op, flags, conn.local_port, conn.peer_port, data, len);
}

/* ------------------------------------------------------------ receive */

static void rx_post(unsigned int i)
{
	struct virtq_buf b = { rx_mem + i * RX_LEN, RX_LEN };
	int h = virtq_add(&rxq, &b, 0, 1, false);

	if (h < 0)
		die("receive post");
	rx_of_head[h] = (int)i;
}

static void ev_post(unsigned int i)
{
	struct virtq_buf b = { ev_mem + i * EV_LEN, EV_LEN };
	int h = virtq_add(&evq, &b, 0, 1, false);

	if (h < 0)
		die("event post");
	ev_of_head[h] = (int)i;
}

static bool conn_matches(const struct vsock_hdr *h)
{
	return conn.state != CLOSED && h->dst_port == conn.local_port &&
	       h->src_port == conn.peer_port;
}

/* One packet from the device, header already copied out of the ring. */
static void dispatch(const struct vsock_hdr *h, const uint8_t *payload)
{
	bool match = conn_matches(h);

	if (h->src_cid != HOST_CID || h->dst_cid != guest_cid || h->type != VSOCK_TYPE_STREAM) {
		printf("virtio_vsock: stray packet op %u from %lu:%u to %lu:%u type %u\n", h->op,
		       (unsigned long)h->src_cid, h->src_port, (unsigned long)h->dst_cid,
		       h->dst_port, h->type);
		stray++;
		return;
	}
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
			conn_send(OP_RESPONSE, 0, NULL, 0);
		} else {
			send_rst_to(h);
		}
		break;
	case OP_RESPONSE:
		if (match && conn.state == CONNECTING)
			conn.state = ESTABLISHED;
		else if (!match)
			send_rst_to(h);
		break;
	case OP_RST:
		if (match) {
			conn.rst = true;
			conn.state = CLOSED;
		}
		break;
	case OP_SHUTDOWN:
		if (match)
			conn.peer_shutdown |= h->flags & (SHUTDOWN_RCV | SHUTDOWN_SEND);
		break;
	case OP_RW:
		if (!match || conn.state != ESTABLISHED) {
			send_rst_to(h);
			break;
		}
		/* The peer may not send more than our buffer has room for. */
		if (h->len > BUF_ALLOC - (conn.rx_cnt - conn.fwd_cnt))
			die("the device sent more than the credit we gave");
		for (uint32_t k = 0; k < h->len; k++)
			ring[(conn.rx_cnt + k) & (BUF_ALLOC - 1)] = payload[k];
		conn.rx_cnt += h->len;
		break;
	case OP_CREDIT_REQUEST:
		if (match)
			conn_send(OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	case OP_CREDIT_UPDATE:
		break;
	default:
		printf("virtio_vsock: unknown op %u\n", h->op);
		stray++;
	}
}

/* Takes every packet the device has published, and any event. */
static void rx_poll(void)
{
	uint32_t w;
	int h;

	in_rx++;
	while ((h = virtq_get(&rxq, &w)) >= 0) {
		const uint8_t *p = rx_mem + (unsigned int)rx_of_head[h] * RX_LEN;
		struct vsock_hdr hdr;

		/* Copy the header once; the length is checked against what
		 * the device said it wrote and against the buffer. */
		memcpy(&hdr, p, sizeof(hdr));
		if (w < sizeof(hdr) || hdr.len > w - sizeof(hdr))
			die("receive: short packet");
		dispatch(&hdr, p + sizeof(hdr));
		rx_post((unsigned int)rx_of_head[h]);
		virtq_kick(&rxq);
	}
	if (h == -2)
		die("receive queue");
	while ((h = virtq_get(&evq, &w)) >= 0) {
		uint32_t id;

		memcpy(&id, ev_mem + (unsigned int)ev_of_head[h] * EV_LEN, sizeof(id));
		printf("virtio_vsock: event id %u (len %u)\n", id, w);
		events++;
		ev_post((unsigned int)ev_of_head[h]);
		virtq_kick(&evq);
	}
	tx_reap();
	in_rx--;
}

/* ------------------------------------------------------------ sockets */

static bool conn_connect(uint32_t port)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	conn = (struct conn){ .state = CONNECTING,
			      .local_port = next_local_port++,
			      .peer_port = port };
	conn_send(OP_REQUEST, 0, NULL, 0);
	while (conn.state == CONNECTING && rdtsc() < deadline)
		rx_poll();
	return conn.state == ESTABLISHED;
}

static bool conn_write(const uint8_t *data, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	bool asked = false;

	while (len) {
		uint32_t credit = conn.peer_buf_alloc - (conn.tx_cnt - conn.peer_fwd_cnt);
		uint32_t n = len < TX_PAYLOAD ? len : TX_PAYLOAD;

		if (conn.state != ESTABLISHED || conn.peer_shutdown & SHUTDOWN_RCV)
			return false;
		if (credit == 0 || credit > conn.peer_buf_alloc) {
			if (!asked) {
				conn_send(OP_CREDIT_REQUEST, 0, NULL, 0);
				asked = true;
			}
			rx_poll();
			if (rdtsc() > deadline) {
				printf("virtio_vsock: no credit from the peer\n");
				return false;
			}
			continue;
		}
		if (n > credit)
			n = credit;
		conn_send(OP_RW, 0, data, n);
		conn.tx_cnt += n;
		data += n;
		len -= n;
		asked = false;
		deadline = rdtsc() + virtio_timeout_cycles;
		rx_poll();
	}
	return true;
}

/* Reads exactly len bytes; false on RST, peer shutdown or timeout. */
static bool conn_read(uint8_t *buf, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	while (len) {
		uint32_t have = conn.rx_cnt - conn.fwd_cnt;

		if (!have) {
			if (conn.state != ESTABLISHED || conn.peer_shutdown & SHUTDOWN_SEND ||
			    rdtsc() > deadline)
				return false;
			rx_poll();
			continue;
		}
		if (have > len)
			have = len;
		for (uint32_t k = 0; k < have; k++)
			buf[k] = ring[(conn.fwd_cnt + k) & (BUF_ALLOC - 1)];
		conn.fwd_cnt += have;
		buf += have;
		len -= have;
		deadline = rdtsc() + virtio_timeout_cycles;
		/* Give the credit back once a quarter of the buffer is free. */
		if (conn.fwd_cnt - conn.fwd_reported >= BUF_ALLOC / 4)
			conn_send(OP_CREDIT_UPDATE, 0, NULL, 0);
	}
	return true;
}

static bool conn_read_line(char *line, uint32_t max)
{
	for (uint32_t n = 0; n + 1 < max; n++) {
		if (!conn_read((uint8_t *)&line[n], 1))
			return false;
		if (line[n] == '\n') {
			line[n] = 0;
			return true;
		}
	}
	return false;
}

/* Our close: SHUTDOWN both ways, then the peer's RST (or ours after a
 * while). Returns whether the peer answered with RST. */
static bool conn_close(void)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles / 3;

	conn_send(OP_SHUTDOWN, SHUTDOWN_RCV | SHUTDOWN_SEND, NULL, 0);
	while (!conn.rst && rdtsc() < deadline)
		rx_poll();
	if (conn.rst)
		return true;
	conn_send(OP_RST, 0, NULL, 0);
	conn.state = CLOSED;
	return false;
}

/* The peer's close: wait for its SHUTDOWN (both ways), answer RST. */
static bool conn_await_close(void)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	while (!conn.rst && conn.peer_shutdown != (SHUTDOWN_RCV | SHUTDOWN_SEND) &&
	       rdtsc() < deadline)
		rx_poll();
	if (conn.rst) /* closed without SHUTDOWN: allowed, if abrupt */
		return true;
	if (conn.peer_shutdown != (SHUTDOWN_RCV | SHUTDOWN_SEND))
		return false;
	conn_send(OP_RST, 0, NULL, 0);
	conn.state = CLOSED;
	return true;
}

/* ------------------------------------------------------------ the tests */

/* "<word> <n> [<hex>]": returns the number of fields parsed. */
static int parse_line(const char *line, const char *word, uint64_t *n, uint32_t *hex)
{
	size_t wl = strlen(word);
	const char *p = line + wl + 1;
	uint64_t v = 0;
	int fields = 0;

	if (strncmp(line, word, wl) || line[wl] != ' ')
		return 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0'), fields = 1;
	*n = v;
	if (*p == ' ' && hex) {
		uint32_t h = 0;

		for (p++; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
			h = h * 16 + (uint32_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10), fields = 2;
		*hex = h;
	}
	return fields;
}

static uint32_t fmt_num(char *p, uint32_t n, uint64_t v, unsigned int base, int width)
{
	char t[24];
	int k = 0;

	do {
		t[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > k)
		p[n++] = '0';
	while (k)
		p[n++] = t[--k];
	return n;
}

static uint32_t fmt_str(char *p, uint32_t n, const char *s)
{
	while (*s)
		p[n++] = *s++;
	return n;
}

/* Sends "HELLO <n>\n" and n pattern bytes. */
static bool send_hello(uint8_t *buf, uint32_t n)
{
	char line[40];
	uint32_t l = fmt_str(line, 0, "HELLO ");

	l = fmt_num(line, l, n, 10, 0);
	line[l++] = '\n';
	for (uint32_t k = 0; k < n; k++)
		buf[k] = pattern(k);
	return conn_write((uint8_t *)line, l) && conn_write(buf, n);
}

/* Reads "DATA <m> <crc>\n" and m bytes; checks the CRC. Returns m or -1. */
static long recv_data(uint8_t *buf, uint32_t max, uint32_t *crc_out)
{
	char line[64];
	uint64_t m;
	uint32_t crc = 0;

	if (!conn_read_line(line, sizeof(line)) || parse_line(line, "DATA", &m, &crc) != 2 ||
	    m > max) {
		fail("DATA line");
		return -1;
	}
	if (!conn_read(buf, (uint32_t)m)) {
		fail("DATA bytes");
		return -1;
	}
	*crc_out = crc32(0, buf, m);
	if (*crc_out != crc) {
		printf("virtio_vsock: DATA crc %08x, the peer says %08x\n", *crc_out, crc);
		fail("DATA crc");
		return -1;
	}
	return (long)m;
}

static void test_refused(uint32_t port)
{
	bool up = conn_connect(port);

	printf("virtio_vsock: connect to port %u: %s\n", port,
	       up	  ? "established"
	       : conn.rst ? "refused (RST)"
			  : "no answer");
	if (up || !conn.rst)
		fail("connection to a port nobody listens on");
	if (up)
		conn_close();
	conn.state = CLOSED;
}

static void test_connect(uint32_t port, uint8_t *buf, uint32_t n, uint32_t max)
{
	uint64_t t0 = rdtsc();
	uint32_t crc = 0, peer_crc = 0;
	char line[64];
	long m;

	if (!conn_connect(port)) {
		printf("virtio_vsock: connect to port %u: %s\n", port,
		       conn.rst ? "refused (RST)" : "no answer");
		fail("connect");
		conn.state = CLOSED;
		return;
	}
	printf("virtio_vsock: connected to port %u from port %u, peer buf_alloc %u\n", port,
	       conn.local_port, conn.peer_buf_alloc);
	if (!send_hello(buf, n)) {
		fail("connect: send");
		return;
	}
	crc = crc32(0, buf, n);
	if (!conn_read_line(line, sizeof(line)) || strncmp(line, "CRC ", 4) || !line[4]) {
		fail("connect: CRC line");
		return;
	}
	for (const char *p = line + 4; *p; p++)
		peer_crc = peer_crc * 16 + (uint32_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	printf("virtio_vsock: sent %u bytes crc %08x, the peer got crc %08x\n", n, crc, peer_crc);
	if (crc != peer_crc)
		fail("connect: the peer's crc");
	m = recv_data(buf, max, &crc);
	if (m >= 0)
		printf("virtio_vsock: received %ld bytes crc %08x ok\n", m, crc);
	printf("virtio_vsock: connect exchange took %lu cycles; closing\n",
	       (unsigned long)(rdtsc() - t0));
	if (!conn_close())
		fail("connect: no RST after our SHUTDOWN");
	else
		printf("virtio_vsock: connection to port %u closed cleanly\n", port);
}

static void test_listen(uint32_t port, uint8_t *buf, uint32_t n, uint32_t max)
{
	uint64_t deadline, t0;
	uint32_t crc = 0, l;
	char line[64];
	long m;

	conn.state = CLOSED;
	listen_port = port;
	printf("virtio_vsock: listening on port %u\n", port);
	deadline = rdtsc() + virtio_timeout_cycles;
	while (conn.state != ESTABLISHED && rdtsc() < deadline)
		rx_poll();
	listen_port = 0;
	if (conn.state != ESTABLISHED) {
		fail("listen: no connection from the host");
		return;
	}
	t0 = rdtsc();
	printf("virtio_vsock: accepted a connection from port %u\n", conn.peer_port);
	m = recv_data(buf, max, &crc);
	if (m < 0)
		return;
	l = fmt_str(line, 0, "GOT ");
	l = fmt_num(line, l, (uint64_t)m, 10, 0);
	line[l++] = ' ';
	l = fmt_num(line, l, crc, 16, 8);
	line[l++] = '\n';
	if (!conn_write((uint8_t *)line, l) || !send_hello(buf, n)) {
		fail("listen: send");
		return;
	}
	printf("virtio_vsock: listen side received %ld bytes crc %08x, sent %u bytes\n", m, crc, n);
	if (!conn_await_close())
		fail("listen: the peer did not close");
	else
		printf("virtio_vsock: the host closed the connection, %lu cycles\n",
		       (unsigned long)(rdtsc() - t0));
}

/* ------------------------------------------------------------ main */

static long opt(const char *key, long def)
{
	char val[24];

	if (cmdline_get(key, val, sizeof(val)) == 0 && parse_ulong(val) >= 0)
		return parse_ulong(val);
	return def;
}

static void user_main(void)
{
	uint64_t want = VIRTIO_BIT(VSOCK_F_STREAM);
	uint32_t tx = (uint32_t)opt("tx", 262144), max = 4U << 20;
	uint8_t *buf;

	if (opt("event_idx", 1))
		want |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	printf("virtio_vsock: running at cpl=%u\n", current_cpl());
	virtio_list();
	rx_mem = virtio_alloc(RX_BUFS * RX_LEN, 4096);
	tx_mem = virtio_alloc(TX_SLOTS * (sizeof(struct vsock_hdr) + TX_PAYLOAD), 4096);
	ev_mem = virtio_alloc(EV_BUFS * EV_LEN, 64);
	ring = virtio_alloc(BUF_ALLOC, 4096);
	buf = virtio_alloc(max, 4096);
	if (tx > max)
		tx = max;
	if (!rx_mem || !tx_mem || !ev_mem || !ring || !buf ||
	    virtio_find(VIRTIO_ID_VSOCK, 0, &dev) || virtio_negotiate(&dev, want) ||
	    virtq_setup(&dev, &rxq, RXQ, 64) || virtq_setup(&dev, &txq, TXQ, 64) ||
	    virtq_setup(&dev, &evq, EVQ, 8) || virtio_driver_ok(&dev)) {
		printf("virtio_vsock: no usable vsock device\n");
		guest_exit(2);
	}
	virtq_interrupts(&rxq, false);
	virtq_interrupts(&txq, false);
	virtq_interrupts(&evq, false);
	guest_cid = virtio_cfg_read64(&dev, VSOCK_CFG_GUEST_CID);
	printf("virtio_vsock: offered %#lx negotiated %#lx guest cid %lu\n",
	       (unsigned long)dev.offered, (unsigned long)dev.features, (unsigned long)guest_cid);
	for (unsigned int i = 0; i < RX_BUFS; i++)
		rx_post(i);
	virtq_kick(&rxq);
	for (unsigned int i = 0; i < EV_BUFS; i++)
		ev_post(i);
	virtq_kick(&evq);

	test_refused((uint32_t)opt("refuse", 1235));
	test_connect((uint32_t)opt("port", 1234), buf, tx, max);
	test_listen((uint32_t)opt("listen", 5000), buf, tx, max);

	if (stray)
		fail("stray packets");
	if (virtio_status(&dev) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		fail("device status shows NEEDS_RESET or FAILED");
	printf("virtio_vsock: done, %u failures\n", failures);
	guest_exit(failures ? 1 : 0);
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
