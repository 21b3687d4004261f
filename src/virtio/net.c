/* SPDX-License-Identifier: MIT */
#include "virtio/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "le.h"
#include "metrics.h"
#include "virtio/iov.h"
#include "virtio/net_backend.h"
#include "virtio/net_hdr.h"
#include "virtio/tap.h"
#include "virtio/throttle.h"

/* ----------------------------------------------------------------- state */

/* Receive bytes to collect before reading a frame with MRG_RXBUF: the
 * largest frame expected with the offloads negotiated (without guest GSO
 * a 1500-byte MTU frame with a VLAN tag; longer ones take the slower
 * path of net_rx_overflow). */
#define NET_RX_SMALL (VIRTIO_NET_HDR_LEN + NET_ETH_HLEN + 4 + 1500)
#define NET_RX_BIG (VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX)
/* Writable iovecs held for receiving; with our header and rx_over a
 * readv has UIO_MAXIOV. */
#define NET_RX_IOV (UIO_MAXIOV - 2)
/* Frames read per backend event before the event loop serves other fds
 * (the fd stays readable, so it comes back). */
#define NET_RX_BURST 64

#define NET_S_LINK_UP 1
/* mac[6], le16 status, le16 max_virtqueue_pairs (unused: no MQ), le16 mtu */
#define NET_CONFIG_SIZE 12
#define NET_CONFIG_MTU 10

/* A receive chain taken from the ring and not yet used. */
struct net_rx_buf {
	uint16_t head;
	uint16_t niov; /* its iovecs in rx_iov */
	uint32_t len;
};

struct net {
	struct virtio_dev *dev;
	struct evloop *ev;
	struct net_backend *be;
	/* Counted besides stats, for the metrics: frames dropped for a
	 * header that breaks the negotiated features (a guest error), and
	 * failed backend writes and reads. */
	uint64_t tx_malformed, write_fails, read_fails;
	struct virtio_net_stats stats;
	/* Rate limits (Firecracker's): bytes are whole chains / reads, the
	 * 12-byte header included; ops are frames. */
	struct throttle rx_limit, tx_limit;

	/*
	 * Receive buffers held between events, in ring order, with their
	 * writable iovecs concatenated: a frame is read straight into them
	 * and may span several (MRG_RXBUF). Without MRG_RXBUF one chain is
	 * held at a time. A chain popped here stays ours until it is pushed;
	 * reset forgets them all (the driver forgets them too).
	 */
	struct net_rx_buf rx_buf[VIRTQ_MAX_SIZE];
	unsigned int rx_count;
	struct iovec rx_iov[NET_RX_IOV];
	unsigned int rx_iov_count;
	uint64_t rx_cap;    /* bytes in the held buffers */
	uint32_t rx_target; /* with MRG_RXBUF: bytes wanted before reading */

	/* Read past the held buffers: the part of a frame they cannot take. */
	uint8_t rx_over[NET_RX_BIG + 1];
	struct virtq_chain chain;    /* scratch for virtq_pop */
	struct iovec io[UIO_MAXIOV]; /* scratch for readv/writev */
};

/* Guest-triggered messages of every net device. */
static struct log_limit net_log = LOG_LIMIT_INIT(16);

/* Fill n->io with our header then the buffers `iov` holds past their
 * first VIRTIO_NET_HDR_LEN bytes. Returns the iovec count (at most
 * count + 1). */
static unsigned int net_io_build(struct net *n, struct net_hdr *hdr, const struct iovec *iov,
				 unsigned int count)
{
	n->io[0] = (struct iovec){ .iov_base = hdr, .iov_len = sizeof(*hdr) };
	return 1 + iov_slice(n->io + 1, iov, count, VIRTIO_NET_HDR_LEN, SIZE_MAX);
}

/* Watch the backend for frames only while receive buffers are held: with
 * none, frames wait in the backend (a tap's queue, where the kernel drops
 * beyond it, as a full ring means; a socket's buffer) and nothing spins.
 * The driver's next receive kick turns polling back on. */
static void net_poll(struct net *n, bool on)
{
	n->be->ops->poll_rx(n->be, on);
}

/* --------------------------------------------------------- config space */

static void net_config_init(struct virtio_dev *dev, const uint8_t mac[6])
{
	memcpy(dev->config, mac, 6);
	le_put(dev->config + 6, NET_S_LINK_UP, 2);
}

/* ------------------------------------------------------ transmit queue */

/* Send one chain's frame (header already checked to be there). */
static void net_tx_frame(struct net *n, const struct virtq_chain *c)
{
	size_t len = c->out_len - VIRTIO_NET_HDR_LEN;
	struct net_hdr hdr;
	const char *why;
	unsigned int k;
	int err;

	/* The header is copied once and only the copy is checked and sent: the
	 * guest may rewrite its buffer meanwhile. The frame itself goes from
	 * guest memory straight to the backend; its bytes are the guest's
	 * business, and the kernel validates GSO metadata against them. */
	(void)virtq_chain_read(c, 0, &hdr, sizeof(hdr));
	why = net_tx_check(n->dev, &hdr, len);
	if (why) {
		log_limited(&net_log, "virtio-net: dropped a %zu-byte transmitted frame: %s", len,
			    why);
		n->tx_malformed++;
		n->stats.tx_dropped++;
		return;
	}
	k = net_io_build(n, &hdr, c->iov, c->nout);
	err = n->be->ops->send(n->be, n->io, k, len);
	if (err) {
		/* No peer, a peer that does not read (EAGAIN), or a failure:
		 * the frame is lost, as on a busy wire; the backend counted
		 * the first two. */
		if (err != -ENOTCONN && err != -EAGAIN)
			log_limited(&net_log, "virtio-net: backend write: %s", strerror(-err));
		if (err != -ENOTCONN)
			n->write_fails++;
		n->stats.tx_dropped++;
		return;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += len;
}

/* Send every frame the driver queued. All of them: with EVENT_IDX the
 * driver only kicks again after we saw the ring empty (or, over the rate
 * limit, until the limiter's timer brings us back). */
static void net_tx(struct net *n)
{
	struct virtio_dev *dev = n->dev;
	struct virtq *vq = &dev->vq[VIRTIO_NET_TXQ];
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, &n->chain)) > 0) {
		if (n->chain.nin || n->chain.out_len < VIRTIO_NET_HDR_LEN) {
			virtio_fail(dev, n->chain.nin
					     ? "transmit chain with device-writable buffers"
					     : "transmit chain shorter than its header");
			return;
		}
		/* Over the limit: the frame stays on the ring for the timer. */
		if (!throttle_take(&n->tx_limit, n->chain.out_len, 1)) {
			virtq_unpop(vq);
			break;
		}
		net_tx_frame(n, &n->chain);
		virtq_push(vq, n->chain.head, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_fail(dev, "malformed transmit chain");
	else if (pushed)
		virtio_signal_used(dev, VIRTIO_NET_TXQ);
}

/* ------------------------------------------------------- receive queue */

static bool net_rx_full(const struct net *n)
{
	return n->rx_count >= n->dev->vq[VIRTIO_NET_RXQ].size ||
	       n->rx_iov_count > NET_RX_IOV - VIRTQ_MAX_SIZE;
}

/* Enough buffers held to read a frame: one chain, or with MRG_RXBUF
 * enough bytes for the largest frame expected (or all the ring can give). */
static bool net_rx_ready(const struct net *n)
{
	if (n->rx_count == 0)
		return false;
	if (!virtio_has(n->dev, VIRTIO_NET_F_MRG_RXBUF))
		return true;
	return n->rx_cap >= n->rx_target || net_rx_full(n);
}

/* Take one receive chain from the ring and hold it. 1: taken; 0: none
 * (the ring is empty, virtq_pop has asked the driver for a kick, or we
 * hold all we can); -1: the driver broke the ring (the device now needs
 * a reset). */
static int net_rx_take(struct net *n)
{
	struct virtio_dev *dev = n->dev;
	struct virtq *vq = &dev->vq[VIRTIO_NET_RXQ];
	struct virtq_chain *c = &n->chain;
	int r;

	if (!vq->ready || net_rx_full(n))
		return 0;
	r = virtq_pop(vq, c);
	if (r <= 0) {
		if (r < 0)
			virtio_fail(dev, "malformed receive chain");
		return r < 0 ? -1 : 0;
	}
	/* 5.1.6.3.1: every receive buffer holds at least the header (with
	 * MRG_RXBUF each one, or num_buffers could not be written), and is
	 * device-writable. */
	if (c->nout || c->in_len < VIRTIO_NET_HDR_LEN) {
		virtio_fail(dev, c->nout ? "receive chain with device-readable buffers"
					 : "receive buffer shorter than the 12-byte header");
		return -1;
	}
	n->rx_buf[n->rx_count++] =
	    (struct net_rx_buf){ .head = c->head, .niov = c->nin, .len = c->in_len };
	memcpy(&n->rx_iov[n->rx_iov_count], c->iov, c->nin * sizeof(c->iov[0]));
	n->rx_iov_count += c->nin;
	n->rx_cap += c->in_len;
	return 1;
}

/* Take receive chains until a frame can be read. false if the ring ran
 * dry first or the driver broke it. */
static bool net_rx_fill(struct net *n)
{
	while (!net_rx_ready(n))
		if (net_rx_take(n) <= 0)
			return false;
	return true;
}

/* Forget the first `used` held chains (pushed, or dropped by a reset). */
static void net_rx_consume(struct net *n, unsigned int used)
{
	unsigned int niov = 0;

	for (unsigned int i = 0; i < used; i++) {
		niov += n->rx_buf[i].niov;
		n->rx_cap -= n->rx_buf[i].len;
	}
	n->rx_count -= used;
	n->rx_iov_count -= niov;
	memmove(n->rx_buf, n->rx_buf + used, n->rx_count * sizeof(n->rx_buf[0]));
	memmove(n->rx_iov, n->rx_iov + niov, n->rx_iov_count * sizeof(n->rx_iov[0]));
}

/*
 * The frame ran `got - rx_cap` bytes past the held buffers into rx_over.
 * With MRG_RXBUF, take more buffers and move that part there (a frame
 * larger than the target, e.g. on a tap with a jumbo MTU). false if the
 * frame cannot be delivered whole.
 */
static bool net_rx_overflow(struct net *n, size_t got)
{
	uint64_t held = n->rx_cap;

	if (!virtio_has(n->dev, VIRTIO_NET_F_MRG_RXBUF) || got - held >= sizeof(n->rx_over))
		return false;
	while (n->rx_cap < got)
		if (net_rx_take(n) <= 0)
			return false;
	iov_copy(n->rx_iov, n->rx_iov_count, held, n->rx_over, got - held, true);
	return true;
}

static void net_rx_drop(struct net *n, ssize_t got, const char *why)
{
	log_limited(&net_log, "virtio-net: dropped a %zd-byte received frame: %s", got, why);
	n->stats.rx_dropped++;
}

/*
 * Publish the first `used` held chains as one frame of `got` bytes.
 * With MRG_RXBUF the driver reads num_buffers and then takes that many
 * used entries: they are published with one used->idx store, so a driver
 * already polling the ring on another vCPU never sees only some of them.
 */
static void net_rx_publish(struct net *n, unsigned int used, size_t got)
{
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t written[VIRTQ_MAX_SIZE];
	size_t total = got;

	for (unsigned int i = 0; i < used; i++) {
		written[i] = got < n->rx_buf[i].len ? (uint32_t)got : n->rx_buf[i].len;
		heads[i] = n->rx_buf[i].head;
		got -= written[i];
	}
	/* The frame, header included, is in the first `got` bytes. */
	iov_mark_dirty(n->dev->gm, n->rx_iov, n->rx_iov_count, total);
	virtq_push_n(&n->dev->vq[VIRTIO_NET_RXQ], heads, written, used);
	net_rx_consume(n, used);
}

/* Read one frame into the held buffers. 1: a frame was delivered or
 * dropped; 0: none pending; -1: the backend is gone. */
static int net_rx_frame(struct net *n)
{
	struct net_hdr hdr = { 0 };
	unsigned int k = net_io_build(n, &hdr, n->rx_iov, n->rx_iov_count);
	unsigned int used = 0;
	ssize_t got;
	size_t left;

	/* A tap (like a datagram socket) truncates a frame longer than the
	 * buffers and says nothing: what lands in rx_over tells. */
	n->io[k++] = (struct iovec){ .iov_base = n->rx_over, .iov_len = sizeof(n->rx_over) };
	got = n->be->ops->recv(n->be, n->io, k);
	if (got == NET_BACKEND_DROPPED) { /* the backend said why in its counters */
		n->stats.rx_dropped++;
		return 1;
	}
	if (got <= 0) {
		if (got < 0)
			n->read_fails++;
		return got < 0 ? -1 : 0;
	}
	/* Its size is known only now: charged whole, delivered or dropped;
	 * what the bucket lacked delays the next frame (throttle_ready). */
	throttle_charge(&n->rx_limit, (uint64_t)got, 1);
	if (got < VIRTIO_NET_HDR_LEN + NET_ETH_HLEN) {
		net_rx_drop(n, got, "shorter than the header and an Ethernet header");
		return 1;
	}
	if ((uint64_t)got > n->rx_cap && !net_rx_overflow(n, (size_t)got)) {
		net_rx_drop(n, got, "larger than the receive buffers");
		return 1;
	}
	if (!net_rx_check(n->dev, &hdr)) {
		net_rx_drop(n, got, "needs an offload the driver did not accept");
		return 1;
	}
	for (left = (size_t)got; left; used++)
		left -= left < n->rx_buf[used].len ? left : n->rx_buf[used].len;
	hdr.num_buffers = (uint16_t)used;
	/* The first chain holds at least the header (checked when taken). */
	iov_copy(n->rx_iov, n->rx_iov_count, 0, &hdr, sizeof(hdr), true);
	n->stats.rx_frames++;
	n->stats.rx_bytes += (size_t)got - VIRTIO_NET_HDR_LEN;
	net_rx_publish(n, used, (size_t)got);
	return 1;
}

/* Take buffers and watch the backend if a frame can be read: over the
 * receive rate limit (throttle_ready arms its timer, net_on_rx_timer
 * comes back), frames wait in the tap's queue. */
static void net_rx_resume(struct net *n)
{
	if (!virtio_active(n->dev) || n->dev->paused)
		return;
	net_poll(n, net_rx_fill(n) && throttle_ready(&n->rx_limit));
}

/* Event-loop thread, dev->lock held (net_backend_host.rx_ready): the
 * backend may have frames. At most NET_RX_BURST frames, delivered or
 * dropped, per call: a peer sending a flood of tiny frames gets bounded
 * work per event-loop turn (the backend stays readable and comes back). */
static void net_on_rx_ready(void *opaque)
{
	struct net *n = opaque;
	struct virtio_dev *dev = n->dev;
	struct virtq *vq = &dev->vq[VIRTIO_NET_RXQ];
	uint16_t used_before = vq->used_idx;

	if (dev->paused) { /* net_pause stopped polling; a frame came first */
		net_poll(n, false);
		return;
	}
	for (unsigned int i = 0; i < NET_RX_BURST; i++) {
		if (!virtio_active(dev) || !net_rx_fill(n) || !throttle_ready(&n->rx_limit)) {
			net_poll(n, false);
			break;
		}
		if (net_rx_frame(n) <= 0)
			break;
	}
	if (virtio_active(dev) && vq->used_idx != used_before)
		virtio_signal_used(dev, VIRTIO_NET_RXQ);
}

/* Send what waits on the transmit ring (frames the rate limit held back,
 * whose timer may have fired while paused). */
static void net_tx_resume(struct net *n)
{
	if (virtio_active(n->dev) && !n->dev->paused && n->dev->vq[VIRTIO_NET_TXQ].ready)
		net_tx(n);
}

/* Event-loop thread: a rate limit's wait is over (while paused, the
 * queue waits for resume). */
static void net_on_rx_timer(void *opaque, uint32_t events)
{
	struct net *n = opaque;

	(void)events;
	virtio_lock(n->dev);
	throttle_expired(&n->rx_limit);
	net_rx_resume(n);
	virtio_unlock(n->dev);
}

static void net_on_tx_timer(void *opaque, uint32_t events)
{
	struct net *n = opaque;

	(void)events;
	virtio_lock(n->dev);
	throttle_expired(&n->tx_limit);
	net_tx_resume(n);
	virtio_unlock(n->dev);
}

/* ------------------------------------------------------------ ops table */

static int net_activate(struct virtio_dev *dev)
{
	struct net *n = dev->priv;
	int err;

	n->rx_target = net_guest_gso(dev, NET_GSO_TCPV4) || net_guest_gso(dev, NET_GSO_TCPV6)
			   ? NET_RX_BIG
			   : NET_RX_SMALL;
	if (n->be->ops->set_offloads) {
		err = n->be->ops->set_offloads(n->be, net_tun_offloads(dev));
		if (err) {
			log_msg("virtio-net: enabling the tap's offloads: %s", strerror(-err));
			return err;
		}
	}
	net_rx_resume(n);
	return 0;
}

static void net_notify(struct virtio_dev *dev, unsigned int q)
{
	struct net *n = dev->priv;

	if (q == VIRTIO_NET_TXQ)
		net_tx(n);
	else
		net_rx_resume(n);
}

/* Frames wait in the tap's queue while paused, and the receive buffers
 * held go back to the ring (taken again on resume): a paused device holds
 * nothing a snapshot would have to describe. */
static void net_pause(struct virtio_dev *dev)
{
	struct net *n = dev->priv;

	virtio_lock(dev);
	net_poll(n, false);
	virtq_unpop_n(&dev->vq[VIRTIO_NET_RXQ], (uint16_t)n->rx_count);
	net_rx_consume(n, n->rx_count);
	virtio_unlock(dev);
}

static void net_resume(struct virtio_dev *dev)
{
	virtio_lock(dev);
	net_rx_resume(dev->priv);
	net_tx_resume(dev->priv);
	virtio_unlock(dev);
}

static void net_reset(struct virtio_dev *dev)
{
	struct net *n = dev->priv;

	net_poll(n, false);
	net_rx_consume(n, n->rx_count);
	throttle_stop(&n->rx_limit);
	throttle_stop(&n->tx_limit);
}

static void net_destroy(struct virtio_dev *dev)
{
	struct net *n = dev->priv;

	throttle_close(&n->rx_limit, n->ev);
	throttle_close(&n->tx_limit, n->ev);
	n->be->ops->destroy(n->be);
	free(n);
	dev->priv = NULL;
}

void virtio_net_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	static const struct virtio_net_stats none;
	const struct net *n = dev ? dev->priv : NULL;
	const struct virtio_net_stats *st = n ? &n->stats : &none;
	const struct virtio_counters *c = virtio_metrics_common(dev, out);

	metrics_counter(out, "rx_queue_event_count", c->kicks[VIRTIO_NET_RXQ]);
	metrics_counter(out, "tx_queue_event_count", c->kicks[VIRTIO_NET_TXQ]);
	metrics_counter(out, "rx_packets_count", st->rx_frames);
	metrics_counter(out, "rx_bytes_count", st->rx_bytes);
	metrics_counter(out, "rx_dropped", st->rx_dropped);
	metrics_counter(out, "tap_read_fails", n ? n->read_fails : 0);
	metrics_counter(out, "tx_packets_count", st->tx_frames);
	metrics_counter(out, "tx_bytes_count", st->tx_bytes);
	metrics_counter(out, "tx_dropped", st->tx_dropped);
	metrics_counter(out, "tx_malformed_frames", n ? n->tx_malformed : 0);
	metrics_counter(out, "tap_write_fails", n ? n->write_fails : 0);
	metrics_counter(out, "rx_rate_limiter_throttled", n ? n->rx_limit.throttled : 0);
	metrics_counter(out, "tx_rate_limiter_throttled", n ? n->tx_limit.throttled : 0);
	metrics_counter(out, "link_connects", n ? n->be->stats.connects : 0);
	metrics_counter(out, "link_disconnects", n ? n->be->stats.disconnects : 0);
	metrics_counter(out, "link_rx_bad_frames", n ? n->be->stats.rx_bad : 0);
	metrics_counter(out, "link_tx_full_drops", n ? n->be->stats.tx_full : 0);
	metrics_counter(out, "link_tx_down_drops", n ? n->be->stats.tx_down : 0);
}

/* Mergeable receive buffers, MAC and link status; and offloads both ways
 * where the backend carries them (a tap: its headers; a socket link has
 * none, so its guest checksums and segments itself). */
#define NET_FEATURES                                                                               \
	(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |                       \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS))
#define NET_OFFLOADS                                                                               \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN))

static const struct virtio_ops net_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.queue_max = VIRTQ_MAX_SIZE,
	.config_size = NET_CONFIG_SIZE,
	.activate = net_activate,
	.pause = net_pause,
	.resume = net_resume,
	.notify = net_notify,
	.reset = net_reset,
	.destroy = net_destroy,
	.metrics = virtio_net_metrics,
};

/* ---------------------------------------------------------- constructors */

/* The device on a backend that `open` makes with the host we lend it. */
typedef int (*net_open_fn)(const struct net_backend_host *host, const void *arg,
			   struct net_backend **out);

static int net_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const uint8_t mac[6], net_open_fn open, const void *arg)
{
	struct net *n = calloc(1, sizeof(*n));
	struct net_backend_host host;
	int err;

	if (!n)
		return -ENOMEM;
	n->dev = dev;
	n->ev = ev;
	host = (struct net_backend_host){
		.ev = ev, .dev = dev, .rx_ready = net_on_rx_ready, .opaque = n
	};
	err = open(&host, arg, &n->be);
	if (err)
		goto err_free;
	err = throttle_open(&n->rx_limit, ev, net_on_rx_timer, n);
	if (err)
		goto err_backend;
	err = throttle_open(&n->tx_limit, ev, net_on_tx_timer, n);
	if (err)
		goto err_rx_limit;
	virtio_dev_init(dev, &net_ops, NET_FEATURES | (n->be->offloads ? NET_OFFLOADS : 0), n, gm);
	net_config_init(dev, mac);
	return 0;

err_rx_limit:
	throttle_close(&n->rx_limit, ev);
err_backend:
	n->be->ops->destroy(n->be);
err_free:
	free(n);
	return err;
}

struct net_fd_arg {
	int fd;
	bool is_tap;
	bool taken; /* net_tap_open owns fd (also when it failed) */
};

static int net_open_fd(const struct net_backend_host *host, const void *arg,
		       struct net_backend **out)
{
	struct net_fd_arg *a = (struct net_fd_arg *)arg;

	a->taken = true;
	return net_tap_open(host, a->fd, a->is_tap, out);
}

int virtio_net_create_fd(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm, int fd,
			 bool is_tap, const uint8_t mac[6])
{
	struct net_fd_arg a = { .fd = fd, .is_tap = is_tap };
	int err = net_create(dev, ev, gm, mac, net_open_fd, &a);

	if (err && !a.taken)
		close(fd);
	return err;
}

struct net_cfg_arg {
	const struct net_config *cfg;
	const uint8_t *mac;
	bool said; /* the backend failed and printed why */
};

static int net_open_cfg(const struct net_backend_host *host, const void *arg,
			struct net_backend **out)
{
	struct net_cfg_arg *a = (struct net_cfg_arg *)arg;
	int err;

	a->said = true;
	switch (a->cfg->kind) {
	case NET_STREAM:
		return net_stream_open(host, a->cfg, out);
	case NET_DGRAM:
		return net_dgram_open(host, a->cfg, a->mac, out);
	case NET_PASST:
		return net_passt_open(host, a->cfg, out);
	case NET_VDE:
		return net_vde_open(host, a->cfg, a->mac, out);
	case NET_TAP:
		break;
	}
	err = tap_open(a->cfg->tap, VIRTIO_NET_HDR_LEN);
	if (err < 0)
		return err;
	err = net_tap_open(host, err, true, out);
	a->said = false; /* tap_open said why; net_tap_open does not */
	return err;
}

int virtio_net_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct net_config *cfg, const uint8_t *picked)
{
	struct net_cfg_arg a = { .cfg = cfg };
	uint8_t mac[6];
	int err;

	if (picked)
		memcpy(mac, picked, sizeof(mac));
	else if (cfg->mac_set)
		memcpy(mac, cfg->mac, sizeof(mac));
	else
		virtio_net_config_mac(cfg, mac);
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
		log_msg("network interface '%s': mac %02x:%02x:%02x:%02x:%02x:%02x is multicast "
			"or zero, not a NIC's address",
			cfg->id, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return -EINVAL;
	}
	a.mac = mac;
	err = net_create(dev, ev, gm, mac, net_open_cfg, &a);
	if (err) {
		if (!a.said)
			log_msg("network interface '%s': %s", cfg->id, strerror(-err));
		return err;
	}
	virtio_net_set_ratelimit(dev, &cfg->rx, &cfg->tx);
	if (cfg->mtu) { /* the driver's MTU, which it then never exceeds */
		dev->offered |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
		le_put(dev->config + NET_CONFIG_MTU, cfg->mtu, 2);
	}
	return 0;
}

void virtio_net_get_stats(struct virtio_dev *dev, struct virtio_net_stats *out)
{
	const struct net *n = dev->priv;

	virtio_lock(dev);
	*out = n->stats;
	out->rx_throttled = n->rx_limit.throttled;
	out->tx_throttled = n->tx_limit.throttled;
	out->link_connects = n->be->stats.connects;
	out->link_disconnects = n->be->stats.disconnects;
	out->link_rx_bad = n->be->stats.rx_bad;
	out->link_tx_full = n->be->stats.tx_full;
	out->link_tx_down = n->be->stats.tx_down;
	virtio_unlock(dev);
}

void virtio_net_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *rx,
			      const struct ratelimit_config *tx)
{
	struct net *n = dev->priv;

	virtio_lock(dev);
	throttle_set(&n->rx_limit, rx);
	throttle_set(&n->tx_limit, tx);
	net_tx_resume(n);
	net_rx_resume(n);
	virtio_unlock(dev);
}
