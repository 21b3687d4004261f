/* SPDX-License-Identifier: MIT */
#include "vsock.h"

#include "rt.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define EV_BUFS 4
#define EV_LEN 8

struct vsock vsock;

/* ------------------------------------------------------------ state */

static const struct vsock_config *cfg;
static struct virtq rxq, txq, evq;
static uint8_t *rx_mem, *tx_mem, *ev_mem, *ring;
static uint32_t pkt_len; /* header and largest payload: one buffer or slot */
static int rx_of_head[VIRTQ_MAX_SIZE], tx_of_head[VIRTQ_MAX_SIZE], ev_of_head[VIRTQ_MAX_SIZE];
static bool tx_busy[VSOCK_MAX_TX_SLOTS];
static unsigned int tx_inflight, in_poll;
static uint32_t listen_port, next_local_port = 40000;

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
		cfg->die("transmit queue");
}

/* Sends one packet to the host from a free slot, waiting (and taking
 * packets, unless called from vsock_poll) while none is free. `data`
 * (len <= cfg->payload) is copied unless NULL. */
static void send_pkt(uint16_t op, uint32_t flags, uint32_t src_port, uint32_t dst_port,
		     const void *data, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	struct vsock_conn *c = &vsock.conn;
	struct virtq_buf b[2];
	struct vsock_hdr *hdr;
	unsigned int i;
	int h;

	for (tx_reap(); tx_inflight == cfg->tx_slots || virtq_room(&txq) < 2; tx_reap()) {
		if (!in_poll)
			vsock_poll();
		if (rdtsc() > deadline)
			cfg->die("no transmit buffer came back");
		__asm__ volatile("pause");
	}
	for (i = 0; tx_busy[i]; i++)
		;
	hdr = (struct vsock_hdr *)(tx_mem + i * pkt_len);
	*hdr = (struct vsock_hdr){
		.src_cid = vsock.guest_cid,
		.dst_cid = VSOCK_HOST_CID,
		.src_port = src_port,
		.dst_port = dst_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = cfg->buf_alloc,
		.fwd_cnt = c->fwd_cnt,
	};
	if (len && data)
		memcpy(hdr + 1, data, len);
	b[0] = (struct virtq_buf){ hdr, sizeof(*hdr) };
	b[1] = (struct virtq_buf){ hdr + 1, len };
	h = virtq_add(&txq, b, len ? 2 : 1, 0, false);
	if (h < 0)
		cfg->die("transmit add");
	tx_of_head[h] = (int)i;
	tx_busy[i] = true;
	tx_inflight++;
	if (c->state != VSOCK_CLOSED && src_port == c->local_port)
		c->fwd_reported = c->fwd_cnt;
	virtq_kick(&txq);
}

/* Replies RST to a packet that belongs to no connection. */
static void send_rst_to(const struct vsock_hdr *h)
{
	send_pkt(VSOCK_OP_RST, 0, h->dst_port, h->src_port, NULL, 0);
}

static void conn_send(uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	send_pkt(op, flags, vsock.conn.local_port, vsock.conn.peer_port, data, len);
}

/* `n` more bytes were consumed: give the credit back once a quarter of the
 * buffer is free again. */
static void conn_consumed(uint32_t n)
{
	struct vsock_conn *c = &vsock.conn;

	c->fwd_cnt += n;
	if (c->fwd_cnt - c->fwd_reported >= cfg->buf_alloc / 4)
		conn_send(VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
}

/* ------------------------------------------------------------ receive */

static void rx_post(unsigned int i)
{
	struct virtq_buf b = { rx_mem + i * pkt_len, pkt_len };
	int h = virtq_add(&rxq, &b, 0, 1, false);

	if (h < 0)
		cfg->die("receive post");
	rx_of_head[h] = (int)i;
}

static void ev_post(unsigned int i)
{
	struct virtq_buf b = { ev_mem + i * EV_LEN, EV_LEN };
	int h = virtq_add(&evq, &b, 0, 1, false);

	if (h < 0)
		cfg->die("event post");
	ev_of_head[h] = (int)i;
}

static bool conn_matches(const struct vsock_hdr *h)
{
	const struct vsock_conn *c = &vsock.conn;

	return c->state != VSOCK_CLOSED && h->dst_port == c->local_port &&
	       h->src_port == c->peer_port;
}

/* One packet from the device, its header already copied out of the ring
 * and its length checked against what the device wrote. */
static void dispatch(const struct vsock_hdr *h, const uint8_t *payload)
{
	struct vsock_conn *c = &vsock.conn;
	bool match = conn_matches(h);

	if (h->src_cid != VSOCK_HOST_CID || h->dst_cid != vsock.guest_cid ||
	    h->type != VSOCK_TYPE_STREAM) {
		printf("%s: stray packet op %u from %lu:%u to %lu:%u type %u\n", cfg->name, h->op,
		       (unsigned long)h->src_cid, h->src_port, (unsigned long)h->dst_cid,
		       h->dst_port, h->type);
		vsock.stray++;
		return;
	}
	if (match) {
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
	}
	switch (h->op) {
	case VSOCK_OP_REQUEST:
		if (c->state == VSOCK_CLOSED && listen_port && h->dst_port == listen_port) {
			*c = (struct vsock_conn){ .state = VSOCK_ESTABLISHED,
						  .local_port = listen_port,
						  .peer_port = h->src_port,
						  .peer_buf_alloc = h->buf_alloc,
						  .peer_fwd_cnt = h->fwd_cnt };
			conn_send(VSOCK_OP_RESPONSE, 0, NULL, 0);
		} else {
			send_rst_to(h);
		}
		break;
	case VSOCK_OP_RESPONSE:
		if (match && c->state == VSOCK_CONNECTING)
			c->state = VSOCK_ESTABLISHED;
		else if (!match)
			send_rst_to(h);
		break;
	case VSOCK_OP_RST:
		if (match) {
			c->rst = true;
			c->state = VSOCK_CLOSED;
		}
		break;
	case VSOCK_OP_SHUTDOWN:
		if (match)
			c->peer_shutdown |= h->flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
		break;
	case VSOCK_OP_RW:
		if (!match || c->state != VSOCK_ESTABLISHED) {
			send_rst_to(h);
			break;
		}
		/* The peer may not send more than our buffer has room for. */
		if (h->len > cfg->buf_alloc - (c->rx_cnt - c->fwd_cnt))
			cfg->die("the device sent more than the credit we gave");
		if (cfg->keep_data)
			for (uint32_t k = 0; k < h->len; k++)
				ring[(c->rx_cnt + k) & (cfg->buf_alloc - 1)] = payload[k];
		c->rx_cnt += h->len;
		if (!cfg->keep_data)
			conn_consumed(h->len);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		if (match)
			conn_send(VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	default:
		printf("%s: unknown op %u\n", cfg->name, h->op);
		vsock.stray++;
	}
}

void vsock_poll(void)
{
	uint32_t w;
	int h;

	in_poll++;
	while ((h = virtq_get(&rxq, &w)) >= 0) {
		const uint8_t *p = rx_mem + (unsigned int)rx_of_head[h] * pkt_len;
		struct vsock_hdr hdr;

		/* Copy the header once; the length is checked against what
		 * the device said it wrote (which virtq_get keeps within the
		 * buffer). The payload is read before the buffer goes back. */
		memcpy(&hdr, p, sizeof(hdr));
		if (w < sizeof(hdr) || hdr.len > w - sizeof(hdr))
			cfg->die("receive: short packet");
		dispatch(&hdr, p + sizeof(hdr));
		rx_post((unsigned int)rx_of_head[h]);
		virtq_kick(&rxq);
	}
	if (h == -2)
		cfg->die("receive queue");
	while ((h = virtq_get(&evq, &w)) >= 0) {
		uint32_t id;

		memcpy(&id, ev_mem + (unsigned int)ev_of_head[h] * EV_LEN, sizeof(id));
		printf("%s: event id %u (len %u)\n", cfg->name, id, w);
		vsock.events++;
		ev_post((unsigned int)ev_of_head[h]);
		virtq_kick(&evq);
	}
	tx_reap();
	in_poll--;
}

/* ------------------------------------------------------------ sockets */

bool vsock_connect(uint32_t port)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	vsock.conn = (struct vsock_conn){ .state = VSOCK_CONNECTING,
					  .local_port = next_local_port++,
					  .peer_port = port };
	conn_send(VSOCK_OP_REQUEST, 0, NULL, 0);
	while (vsock.conn.state == VSOCK_CONNECTING && rdtsc() < deadline)
		vsock_poll();
	return vsock.conn.state == VSOCK_ESTABLISHED;
}

bool vsock_accept(uint32_t port)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	vsock.conn.state = VSOCK_CLOSED;
	listen_port = port;
	while (vsock.conn.state != VSOCK_ESTABLISHED && rdtsc() < deadline)
		vsock_poll();
	listen_port = 0;
	return vsock.conn.state == VSOCK_ESTABLISHED;
}

bool vsock_write(const uint8_t *data, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	struct vsock_conn *c = &vsock.conn;
	bool asked = false;

	while (len) {
		uint32_t credit = c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
		uint32_t n = len < cfg->payload ? len : cfg->payload;

		if (c->state != VSOCK_ESTABLISHED || c->peer_shutdown & VSOCK_SHUTDOWN_RCV)
			return false;
		if (credit == 0 || credit > c->peer_buf_alloc) {
			if (!asked) {
				conn_send(VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
				asked = true;
			}
			vsock_poll();
			if (rdtsc() > deadline) {
				printf("%s: no credit from the peer\n", cfg->name);
				return false;
			}
			continue;
		}
		if (n > credit)
			n = credit;
		conn_send(VSOCK_OP_RW, 0, data, n);
		c->tx_cnt += n;
		if (data)
			data += n;
		len -= n;
		asked = false;
		deadline = rdtsc() + virtio_timeout_cycles;
		vsock_poll();
	}
	return true;
}

bool vsock_read(uint8_t *buf, uint32_t len)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;
	struct vsock_conn *c = &vsock.conn;

	while (len) {
		uint32_t have = c->rx_cnt - c->fwd_cnt;

		if (!have) {
			if (c->state != VSOCK_ESTABLISHED ||
			    c->peer_shutdown & VSOCK_SHUTDOWN_SEND || rdtsc() > deadline)
				return false;
			vsock_poll();
			continue;
		}
		if (have > len)
			have = len;
		for (uint32_t k = 0; k < have; k++)
			buf[k] = ring[(c->fwd_cnt + k) & (cfg->buf_alloc - 1)];
		buf += have;
		len -= have;
		deadline = rdtsc() + virtio_timeout_cycles;
		conn_consumed(have);
	}
	return true;
}

bool vsock_read_line(char *line, uint32_t max)
{
	for (uint32_t n = 0; n + 1 < max; n++) {
		if (!vsock_read((uint8_t *)&line[n], 1))
			return false;
		if (line[n] == '\n') {
			line[n] = 0;
			return true;
		}
	}
	return false;
}

void vsock_reset(void)
{
	conn_send(VSOCK_OP_RST, 0, NULL, 0);
	vsock.conn.state = VSOCK_CLOSED;
}

bool vsock_close(void)
{
	uint64_t deadline = rdtsc() + virtio_timeout_cycles / 3;

	conn_send(VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0);
	while (!vsock.conn.rst && rdtsc() < deadline)
		vsock_poll();
	if (vsock.conn.rst)
		return true;
	vsock_reset();
	return false;
}

bool vsock_await_close(void)
{
	const uint32_t both = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
	uint64_t deadline = rdtsc() + virtio_timeout_cycles;

	while (!vsock.conn.rst && vsock.conn.peer_shutdown != both && rdtsc() < deadline)
		vsock_poll();
	if (vsock.conn.rst) /* closed without SHUTDOWN: allowed, if abrupt */
		return true;
	if (vsock.conn.peer_shutdown != both)
		return false;
	vsock_reset();
	return true;
}

/* ------------------------------------------------------------ setup */

int vsock_init(const struct vsock_config *config)
{
	cfg = config;
	pkt_len = sizeof(struct vsock_hdr) + cfg->payload;
	rx_mem = virtio_alloc(cfg->rx_bufs * pkt_len, 4096);
	tx_mem = virtio_alloc(cfg->tx_slots * pkt_len, 4096);
	ev_mem = virtio_alloc(EV_BUFS * EV_LEN, 64);
	ring = cfg->keep_data ? virtio_alloc(cfg->buf_alloc, 4096) : NULL;
	if (!rx_mem || !tx_mem || !ev_mem || (cfg->keep_data && !ring) ||
	    cfg->tx_slots > VSOCK_MAX_TX_SLOTS || virtio_find(VIRTIO_ID_VSOCK, 0, &vsock.dev) ||
	    virtio_negotiate(&vsock.dev, VIRTIO_BIT(VSOCK_F_STREAM) | cfg->features) ||
	    virtq_setup(&vsock.dev, &rxq, RXQ, 64) || virtq_setup(&vsock.dev, &txq, TXQ, 64) ||
	    virtq_setup(&vsock.dev, &evq, EVQ, 8) || virtio_driver_ok(&vsock.dev))
		return -1;
	virtq_interrupts(&rxq, false);
	virtq_interrupts(&txq, false);
	virtq_interrupts(&evq, false);
	vsock.guest_cid = virtio_cfg_read64(&vsock.dev, VSOCK_CFG_GUEST_CID);
	for (unsigned int i = 0; i < cfg->rx_bufs; i++)
		rx_post(i);
	virtq_kick(&rxq);
	for (unsigned int i = 0; i < EV_BUFS; i++)
		ev_post(i);
	virtq_kick(&evq);
	return 0;
}
