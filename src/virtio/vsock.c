/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2, 5.10), the packet side: the three queues,
 * packet headers, connection table and credit. The unix sockets behind
 * the connections are in vsock_uds.c.
 *
 * Flow control, both ways, is the spec's credit (5.10.6.3):
 *  - guest -> host: petrel advertises VSOCK_BUF_ALLOC bytes per
 *    connection and counts in fwd_cnt what it wrote to the unix socket.
 *    Payload that would block waits in a per-connection buffer of that
 *    size, so a guest that respects its credit never makes petrel hold
 *    more; one that sends past it gets its connection reset.
 *  - host -> guest: a unix socket is read only while the guest's credit
 *    (buf_alloc - (tx_cnt - fwd_cnt) from its headers) and an rx buffer
 *    allow, straight into that buffer. Nothing is read that cannot be
 *    delivered at once, so nothing is queued in petrel.
 * Control packets a connection owes the guest are flags (vsock_conn.
 * pending), and resets of freed connections wait in a bounded queue.
 */
#include "virtio/vsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "le.h"
#include "metrics.h"
#include "virtio/iov.h"
#include "virtio/vsock_conn.h"

#define VIRTIO_VSOCK_F_STREAM 0
/* Packets per pass (tx taken, rx sent) before the event loop gets its
 * turn; the rest is done on the next wake. */
#define VSOCK_BUDGET 256

static struct log_limit bad_log = LOG_LIMIT_INIT(8);

/* ---- packets ---- */

static void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t *p)
{
	*h = (struct vsock_hdr){
		.src_cid = le_get(p, 8),
		.dst_cid = le_get(p + 8, 8),
		.src_port = (uint32_t)le_get(p + 16, 4),
		.dst_port = (uint32_t)le_get(p + 20, 4),
		.len = (uint32_t)le_get(p + 24, 4),
		.type = (uint16_t)le_get(p + 28, 2),
		.op = (uint16_t)le_get(p + 30, 2),
		.flags = (uint32_t)le_get(p + 32, 4),
		.buf_alloc = (uint32_t)le_get(p + 36, 4),
		.fwd_cnt = (uint32_t)le_get(p + 40, 4),
	};
}

static void vsock_hdr_encode(uint8_t *p, const struct vsock_hdr *h)
{
	le_put(p, h->src_cid, 8);
	le_put(p + 8, h->dst_cid, 8);
	le_put(p + 16, h->src_port, 4);
	le_put(p + 20, h->dst_port, 4);
	le_put(p + 24, h->len, 4);
	le_put(p + 28, h->type, 2);
	le_put(p + 30, h->op, 2);
	le_put(p + 32, h->flags, 4);
	le_put(p + 36, h->buf_alloc, 4);
	le_put(p + 40, h->fwd_cnt, 4);
}

/* ---- connections ---- */

struct vsock_conn *vsock_conn_new(struct vsock *vs, enum vsock_state st)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &vs->conn[i];

		if (c->state == VSOCK_FREE) {
			*c = (struct vsock_conn){ .state = st, .gen = c->gen + 1, .fd = -1 };
			vs->st.conns_added++;
			return c;
		}
	}
	return NULL;
}

/* The connection the guest's (src_port, dst_port) names. Connections in
 * VSOCK_LINE have no ports yet. */
static struct vsock_conn *vsock_conn_find(struct vsock *vs, uint32_t guest_port, uint32_t host_port)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &vs->conn[i];

		if (c->state >= VSOCK_CONNECTING && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return c;
	}
	return NULL;
}

uint32_t vsock_port_alloc(struct vsock *vs)
{
	/* At most VSOCK_MAX_CONNS ports are taken: this ends. */
	for (;;) {
		uint32_t port = vs->next_port;
		bool used = false;

		vs->next_port = port >= UINT32_MAX - 1 ? VSOCK_PORT_FIRST : port + 1;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used =
			    vs->conn[i].state >= VSOCK_CONNECTING && vs->conn[i].host_port == port;
		if (!used)
			return port;
	}
}

static void vsock_rst_queue(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	static struct log_limit full_log = LOG_LIMIT_INIT(4);
	unsigned int i = (vs->rst_head + vs->rst_count) % VSOCK_RST_QUEUE;

	if (vs->rst_count == VSOCK_RST_QUEUE) {
		log_limited(&full_log, "vsock: guest gives no rx buffers; reset of port %u dropped",
			    guest_port);
		return;
	}
	vs->rst[i].host_port = host_port;
	vs->rst[i].guest_port = guest_port;
	vs->rst_count++;
}

void vsock_conn_close(struct vsock *vs, struct vsock_conn *c, bool rst)
{
	if (rst && c->state >= VSOCK_CONNECTING)
		vsock_rst_queue(vs, c->host_port, c->guest_port);
	vsock_uds_close(vs, c);
	c->state = VSOCK_FREE;
	vs->st.conns_removed++;
}

void vsock_conn_drained(struct vsock *vs, struct vsock_conn *c)
{
	/* The guest's view of our free space: what it sent minus the
	 * fwd_cnt it last heard. Update it before it runs out. */
	if (c->fwd_cnt != c->fwd_sent && c->rx_cnt - c->fwd_sent > VSOCK_BUF_ALLOC / 2 &&
	    !(c->guest_shut & VSOCK_SHUT_SEND))
		c->pending |= VSOCK_P_CREDIT_UPDATE;
	if (vsock_buffered(c))
		return;
	/* Everything the guest sent is out: finish its shutdown. With both
	 * directions shut, the spec's clean close ends in our RST. */
	if (c->guest_shut == VSOCK_SHUT_BOTH) {
		vsock_conn_close(vs, c, true);
		return;
	}
	if ((c->guest_shut & VSOCK_SHUT_SEND) && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
}

static uint32_t vsock_credit(const struct vsock_conn *c)
{
	/* Both counters come from the guest: a fwd_cnt ahead of what we sent
	 * makes in_flight huge, and the credit 0. */
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

void vsock_wake(struct vsock *vs)
{
	uint64_t one = 1;

	/* Fails only when the counter is already huge: a wake is pending. */
	if (write(vs->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* ---- queue handlers: tx (guest -> host) ---- */

static void vsock_reply_rst(struct vsock *vs, const struct vsock_hdr *h)
{
	if (h->op != VSOCK_OP_RST) /* never answer a reset with one */
		vsock_rst_queue(vs, h->dst_port, h->src_port);
}

/* REQUEST from the guest to host port h->dst_port: connect to its unix
 * socket, answer RESPONSE or RST. */
static void vsock_tx_request(struct vsock *vs, const struct vsock_hdr *h)
{
	static struct log_limit full_log = LOG_LIMIT_INIT(4);
	struct vsock_conn *c = vsock_conn_new(vs, VSOCK_ESTABLISHED);

	if (!c) {
		log_limited(&full_log,
			    "vsock: %d connections open; guest connection to port %u refused",
			    VSOCK_MAX_CONNS, h->dst_port);
		vsock_reply_rst(vs, h);
		return;
	}
	c->guest_port = h->src_port;
	c->host_port = h->dst_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_uds_connect(vs, c, h->dst_port)) {
		vsock_conn_close(vs, c, true);
		return;
	}
	c->pending |= VSOCK_P_RESPONSE;
}

static void vsock_tx_rw(struct vsock *vs, struct vsock_conn *c, const struct vsock_hdr *h,
			const struct virtq_chain *ch)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	unsigned int n;

	if (!h->len)
		return;
	/* The credit the guest had: our buffer less what it sent since the
	 * fwd_cnt we last told it. (It may not have seen that header yet,
	 * which only makes its own view smaller.) This also bounds c->buf. */
	if ((uint64_t)(c->rx_cnt - c->fwd_sent) + h->len > VSOCK_BUF_ALLOC) {
		vs->st.tx_invalid++;
		log_limited(&bad_log,
			    "vsock: guest sent %u bytes on port %u past its credit; reset", h->len,
			    c->guest_port);
		vsock_conn_close(vs, c, true);
		return;
	}
	n = iov_slice(iov, ch->iov, ch->nout, VSOCK_HDR_SIZE, h->len);
	if (vsock_uds_send(c, iov, n, h->len)) {
		vs->st.tx_write_fails++;
		vsock_conn_close(vs, c, true);
		return;
	}
	vs->st.tx_bytes += h->len;
	vsock_conn_drained(vs, c);
}

/*
 * One packet from the guest. `h` is our copy of its header, decoded once;
 * the payload is used only as bytes to relay. Packets that are not ours to
 * take (wrong CID, type, length, op, or state) are answered with an RST,
 * which also ends the connection they name.
 */
static void vsock_tx_packet(struct vsock *vs, const struct vsock_hdr *h,
			    const struct virtq_chain *ch)
{
	struct vsock_conn *c;

	if (h->src_cid != vs->guest_cid) {
		vs->st.tx_invalid++;
		log_limited(&bad_log, "vsock: guest sent a packet from CID %llu; dropped",
			    (unsigned long long)h->src_cid);
		return;
	}
	if (h->dst_cid != VSOCK_HOST_CID) {
		vsock_reply_rst(vs, h); /* only the host is reachable */
		return;
	}
	c = vsock_conn_find(vs, h->src_port, h->dst_port);
	if (h->type != VSOCK_TYPE_STREAM || h->len != ch->out_len - VSOCK_HDR_SIZE) {
		vs->st.tx_invalid++;
		log_limited(&bad_log,
			    "vsock: guest packet with type %u, length %u in %u bytes; reset",
			    h->type, h->len, ch->out_len - VSOCK_HDR_SIZE);
		goto reset;
	}
	if (!c) {
		if (h->op == VSOCK_OP_REQUEST)
			vsock_tx_request(vs, h);
		else
			vsock_reply_rst(vs, h);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_credit(c))
		c->credit_asked = false;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_CONNECTING || vsock_uds_accepted(c))
			goto reset;
		c->state = VSOCK_ESTABLISHED;
		return;
	case VSOCK_OP_RW:
		if (c->state != VSOCK_ESTABLISHED || (c->guest_shut & VSOCK_SHUT_SEND))
			goto reset;
		vsock_tx_rw(vs, c, h, ch);
		return;
	case VSOCK_OP_CREDIT_UPDATE:
		return;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		return;
	case VSOCK_OP_SHUTDOWN:
		if (c->state != VSOCK_ESTABLISHED)
			goto reset;
		c->guest_shut |= h->flags & VSOCK_SHUT_BOTH;
		vsock_conn_drained(vs, c);
		return;
	case VSOCK_OP_RST:
		vsock_conn_close(vs, c, false);
		return;
	default: /* INVALID, unknown, or a REQUEST for an open connection */
		goto reset;
	}
reset:
	if (c)
		vsock_conn_close(vs, c, h->op != VSOCK_OP_RST);
	else
		vsock_reply_rst(vs, h);
}

/* Take the guest's packets, until the ring is empty or the budget spent.
 * Stops while the RST queue is over half full: each packet may add one. */
static void vsock_tx_process(struct vsock *vs)
{
	struct virtq *q = &vs->dev->vq[VSOCK_TXQ];
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;

	for (unsigned int budget = VSOCK_BUDGET;; budget--) {
		int r;

		vs->tx_paused = vs->rst_count > VSOCK_RST_QUEUE / 2;
		if (vs->tx_paused)
			return;
		if (!budget) {
			vsock_wake(vs);
			return;
		}
		r = virtq_pop(q, &vs->tx);
		if (r < 0) {
			virtio_fail(vs->dev, "malformed tx chain");
			return;
		}
		if (r == 0)
			return;
		if (vs->tx.out_len < VSOCK_HDR_SIZE) {
			virtio_fail(vs->dev, "tx packet shorter than its header");
			return;
		}
		/* The one read of the header: everything below uses `h`. */
		virtq_chain_read(&vs->tx, 0, raw, sizeof(raw));
		vsock_hdr_decode(&h, raw);
		vs->st.tx_packets++;
		vsock_tx_packet(vs, &h, &vs->tx);
		virtio_complete(vs->dev, VSOCK_TXQ, vs->tx.head, 0);
	}
}

/* ---- queue handlers: rx (host -> guest) ---- */

static uint32_t vsock_rx_put(struct vsock *vs, struct virtq_chain *ch, struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_SIZE];

	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = vs->guest_cid;
	h->type = VSOCK_TYPE_STREAM;
	vsock_hdr_encode(raw, h);
	virtq_chain_write(ch, 0, raw, sizeof(raw));
	return VSOCK_HDR_SIZE + h->len;
}

/* A packet on connection c carrying our current credit. */
static struct vsock_hdr vsock_rx_hdr(struct vsock_conn *c, uint16_t op)
{
	c->fwd_sent = c->fwd_cnt;
	c->pending &= (uint8_t)~VSOCK_P_CREDIT_UPDATE; /* every header is one */
	return (struct vsock_hdr){
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.op = op,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
}

static uint32_t vsock_rx_control(struct vsock *vs, struct vsock_conn *c, struct virtq_chain *ch)
{
	static const struct {
		uint8_t bit;
		uint16_t op;
	} order[] = {
		{ VSOCK_P_REQUEST, VSOCK_OP_REQUEST },
		{ VSOCK_P_RESPONSE, VSOCK_OP_RESPONSE },
		{ VSOCK_P_SHUTDOWN, VSOCK_OP_SHUTDOWN },
		{ VSOCK_P_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE },
		{ VSOCK_P_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST },
	};
	struct vsock_hdr h;
	unsigned int i = 0;

	while (!(c->pending & order[i].bit))
		i++;
	c->pending &= (uint8_t)~order[i].bit;
	h = vsock_rx_hdr(c, order[i].op);
	if (order[i].op == VSOCK_OP_SHUTDOWN)
		h.flags = c->host_shut;
	return vsock_rx_put(vs, ch, &h);
}

/* Fill chain ch with the next packet of connection c: a control packet
 * it owes, else data from its socket. 0 if it has nothing to send. */
static uint32_t vsock_rx_conn(struct vsock *vs, struct vsock_conn *c, struct virtq_chain *ch)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct vsock_hdr h;
	unsigned int niov;
	uint32_t room;
	ssize_t n;

	for (;;) {
		if (c->pending)
			return vsock_rx_control(vs, c, ch);
		if (c->state != VSOCK_ESTABLISHED || !c->readable || c->host_eof ||
		    (c->guest_shut & VSOCK_SHUT_RCV))
			return 0;
		room = vsock_credit(c);
		if (!room) {
			if (c->credit_asked)
				return 0;
			c->credit_asked = true;
			c->pending |= VSOCK_P_CREDIT_REQUEST;
			continue;
		}
		if (room > ch->in_len - VSOCK_HDR_SIZE)
			room = ch->in_len - VSOCK_HDR_SIZE;
		if (room > VSOCK_MAX_PAYLOAD)
			room = VSOCK_MAX_PAYLOAD;
		if (!room) { /* a header-only buffer: use it for our credit */
			c->pending |= VSOCK_P_CREDIT_UPDATE;
			continue;
		}
		niov = iov_slice(iov, ch->iov + ch->nout, ch->nin, VSOCK_HDR_SIZE, room);
		n = vsock_uds_recv(c, iov, niov);
		if (n > 0) {
			vs->st.rx_bytes += (uint64_t)n;
			h = vsock_rx_hdr(c, VSOCK_OP_RW);
			h.len = (uint32_t)n;
			c->tx_cnt += (uint32_t)n;
			return vsock_rx_put(vs, ch, &h);
		}
		if (n == -EAGAIN) {
			c->readable = false;
			return 0;
		}
		if (n < 0) {
			vs->st.rx_read_fails++;
			vsock_conn_close(vs, c, true);
			return 0;
		}
		/* End of stream: tell the guest we send no more (and receive
		 * no more if the host program is gone altogether). */
		c->readable = false;
		c->host_eof = true;
		c->host_shut = VSOCK_SHUT_SEND | (c->hup ? VSOCK_SHUT_RCV : 0);
		c->pending |= VSOCK_P_SHUTDOWN;
	}
}

/* The next packet for the guest into ch: queued resets first, then the
 * connections round-robin. Returns the bytes written, 0 for none. */
static uint32_t vsock_rx_fill(struct vsock *vs, struct virtq_chain *ch)
{
	for (unsigned int i = 0; i <= VSOCK_MAX_CONNS; i++) {
		unsigned int k = (vs->rr + i) % VSOCK_MAX_CONNS;
		uint32_t n;

		if (vs->rst_count) {
			struct vsock_hdr h = {
				.src_port = vs->rst[vs->rst_head].host_port,
				.dst_port = vs->rst[vs->rst_head].guest_port,
				.op = VSOCK_OP_RST,
			};

			vs->rst_head = (vs->rst_head + 1) % VSOCK_RST_QUEUE;
			vs->rst_count--;
			return vsock_rx_put(vs, ch, &h);
		}
		if (i == VSOCK_MAX_CONNS || vs->conn[k].state < VSOCK_CONNECTING)
			continue;
		n = vsock_rx_conn(vs, &vs->conn[k], ch);
		if (n) {
			vs->rr = (k + 1) % VSOCK_MAX_CONNS;
			return n;
		}
	}
	return 0;
}

/*
 * Send the guest what there is to send. A popped rx chain with nothing to
 * put in it yet is kept (rx_held) for the next call (vsock_pause gives
 * it back to the ring). With no rx buffer nothing is read from any
 * socket; the guest's kick on the rx queue brings us back.
 */
static void vsock_rx_pump(struct vsock *vs)
{
	struct virtq *q = &vs->dev->vq[VSOCK_RXQ];

	for (unsigned int budget = VSOCK_BUDGET; budget; budget--) {
		uint32_t n;

		if (!vs->rx_held) {
			int r = virtq_pop(q, &vs->rx);

			if (r < 0) {
				virtio_fail(vs->dev, "malformed rx chain");
				return;
			}
			if (r == 0)
				return;
			if (vs->rx.nout || vs->rx.in_len < VSOCK_HDR_SIZE) {
				virtio_fail(vs->dev,
					    "rx buffer read-only or shorter than a header");
				return;
			}
			vs->rx_held = true;
		}
		n = vsock_rx_fill(vs, &vs->rx);
		if (!n)
			return;
		vs->rx_held = false;
		vs->st.rx_packets++;
		virtio_complete_chain(vs->dev, VSOCK_RXQ, &vs->rx, n);
	}
	vsock_wake(vs);
}

static void vsock_run(struct vsock *vs)
{
	vsock_event_send(vs);
	vsock_tx_process(vs);
	if (!virtio_active(vs->dev)) /* the driver broke the tx queue */
		return;
	vsock_rx_pump(vs);
	if (vs->tx_paused && vs->rst_count <= VSOCK_RST_QUEUE / 2)
		vsock_wake(vs);
}

/* The event loop's callback for the inner epoll. */
static void vsock_poll(void *opaque, uint32_t events)
{
	struct vsock *vs = opaque;
	struct epoll_event ev[32];
	bool active;
	int n;

	(void)events;
	virtio_lock(vs->dev);
	if (vs->dev->paused) { /* left for resume (vsock_pause unwatched us) */
		virtio_unlock(vs->dev);
		return;
	}
	active = virtio_active(vs->dev);
	/* Always drain: the outer loop watches this epoll fd level-triggered. */
	n = epoll_wait(vs->epfd, ev, ARRAY_SIZE(ev), 0);
	for (int i = 0; i < n; i++) {
		uint64_t v;

		if (ev[i].data.u64 == VSOCK_TAG_WAKE) {
			if (read(vs->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_msg("vsock: wake eventfd: %s", strerror(errno));
		} else {
			vsock_uds_event(vs, ev[i].data.u64, ev[i].events, active);
		}
	}
	if (active)
		vsock_run(vs);
	virtio_unlock(vs->dev);
}

/* ---- ops table ---- */

static void vsock_notify(struct virtio_dev *dev, unsigned int q)
{
	if (q == VSOCK_EVQ) /* event buffers wait for an event to send */
		vsock_event_send(dev->priv);
	else
		vsock_run(dev->priv);
}

/* Host sockets wait unread while paused: stop watching the inner epoll.
 * A held rx buffer goes back to the ring (taken again on resume), so a
 * snapshot need not describe it. */
static void vsock_pause(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	if (evloop_mod(vs->ev, vs->epfd, 0))
		log_msg("vsock: pause: epoll: %m");
	virtio_lock(dev);
	if (vs->rx_held)
		virtq_unpop_n(&dev->vq[VSOCK_RXQ], 1);
	vs->rx_held = false;
	virtio_unlock(dev);
}

/* Watch again, and run once for what came meanwhile. */
static void vsock_resume(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	if (evloop_mod(vs->ev, vs->epfd, EPOLLIN))
		log_msg("vsock: resume: epoll: %m");
	vsock_wake(vs);
}

static void vsock_close_all(struct vsock *vs)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conn[i].state != VSOCK_FREE)
			vsock_conn_close(vs, &vs->conn[i], false);
	vs->rst_head = vs->rst_count = 0;
	vs->rx_held = false;
	vs->reset_event = false;
	vs->tx_paused = false;
	vs->rr = 0;
	vs->next_port = VSOCK_PORT_FIRST;
}

/* The driver forgot every connection: close their sockets without a word
 * to the guest. The listener stays. */
void vsock_reset(struct virtio_dev *dev)
{
	vsock_close_all(dev->priv);
}

static void vsock_destroy(struct virtio_dev *dev)
{
	struct vsock *vs = dev->priv;

	vsock_close_all(vs);
	vsock_uds_unlisten(vs);
	if (vs->ev_added)
		evloop_del(vs->ev, vs->epfd);
	close(vs->wake_fd);
	close(vs->epfd);
	free(vs);
	dev->priv = NULL;
}

void virtio_vsock_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	const struct vsock *vs = dev ? dev->priv : NULL;
	const struct virtio_counters *c = virtio_metrics_common(dev, out);
	unsigned int open = 0;

	for (unsigned int i = 0; vs && i < VSOCK_MAX_CONNS; i++)
		open += vs->conn[i].state != VSOCK_FREE;
	metrics_counter(out, "rx_queue_event_count", c->kicks[VSOCK_RXQ]);
	metrics_counter(out, "tx_queue_event_count", c->kicks[VSOCK_TXQ]);
	metrics_counter(out, "rx_packets_count", vs ? vs->st.rx_packets : 0);
	metrics_counter(out, "rx_bytes_count", vs ? vs->st.rx_bytes : 0);
	metrics_counter(out, "rx_read_fails", vs ? vs->st.rx_read_fails : 0);
	metrics_counter(out, "tx_packets_count", vs ? vs->st.tx_packets : 0);
	metrics_counter(out, "tx_bytes_count", vs ? vs->st.tx_bytes : 0);
	metrics_counter(out, "tx_write_fails", vs ? vs->st.tx_write_fails : 0);
	metrics_counter(out, "tx_flush_fails", vs ? vs->st.tx_flush_fails : 0);
	metrics_counter(out, "tx_invalid_packets", vs ? vs->st.tx_invalid : 0);
	metrics_counter(out, "conns_added", vs ? vs->st.conns_added : 0);
	metrics_counter(out, "conns_removed", vs ? vs->st.conns_removed : 0);
	metrics_gauge(out, "conns_open", open);
}

static const struct virtio_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nqueues = 3,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_size = 8, /* le64 guest_cid */
	.pause = vsock_pause,
	.resume = vsock_resume,
	.notify = vsock_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
	.metrics = virtio_vsock_metrics,
	.snapshot = vsock_snapshot,
};

/* ---- creation ---- */

int virtio_vsock_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
			const struct vsock_config *cfg)
{
	struct epoll_event wake = { .events = EPOLLIN, .data.u64 = VSOCK_TAG_WAKE };
	struct vsock *vs;
	int err;

	if (cfg->cid < 3 || cfg->cid == UINT32_MAX) {
		log_msg("--vsock cid=%u: the guest's CID must be 3 to %u", cfg->cid,
			UINT32_MAX - 1);
		return -EINVAL;
	}
	vs = calloc(1, sizeof(*vs));
	if (!vs) {
		log_msg("vsock: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	vs->dev = dev;
	vs->ev = ev;
	vs->guest_cid = cfg->cid;
	vs->listen_fd = -1;
	vs->next_port = VSOCK_PORT_FIRST;
	vs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (vs->epfd < 0) {
		err = -errno;
		log_msg("vsock: epoll: %s", strerror(errno));
		goto err_free;
	}
	vs->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vs->wake_fd < 0 || epoll_ctl(vs->epfd, EPOLL_CTL_ADD, vs->wake_fd, &wake)) {
		err = -errno;
		log_msg("vsock: eventfd: %s", strerror(errno));
		goto err_wake;
	}
	err = vsock_uds_listen(vs, cfg->uds);
	if (err)
		goto err_wake;
	virtio_dev_init(dev, &vsock_ops, VIRTIO_BIT(VIRTIO_VSOCK_F_STREAM), vs, gm);
	le_put(dev->config, cfg->cid, 8);
	err = evloop_add(ev, vs->epfd, EPOLLIN, vsock_poll, vs);
	if (err) {
		log_msg("vsock: event loop: %s", strerror(-err));
		goto err_listen;
	}
	vs->ev_added = true;
	return 0;

err_listen:
	vsock_uds_unlisten(vs);
err_wake:
	if (vs->wake_fd >= 0)
		close(vs->wake_fd);
	close(vs->epfd);
err_free:
	free(vs);
	return err;
}
