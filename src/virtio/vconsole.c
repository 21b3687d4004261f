/* SPDX-License-Identifier: MIT */
#include "virtio/vconsole.h"

#include <errno.h>
#include <stdlib.h>

#include "le.h"
#include "metrics.h"

/* ----------------------------------------------------------------- state */

enum { CONSOLE_RXQ, CONSOLE_TXQ, CONSOLE_NQUEUES };

struct vcon {
	struct virtio_dev *dev;
	struct console *con;
	/* A receive buffer taken from the ring while no input was pending:
	 * kept for the next input instead of being returned empty. */
	bool rx_held;
	struct virtq_chain rx;
	struct virtq_chain tx;
	uint64_t tx_bytes, rx_bytes; /* for the metrics */
};

/* ---------------------------------------------------------- config space */

/* cols, rows (le16), max_nr_ports (le32), emerg_wr (le32): without
 * VIRTIO_CONSOLE_F_SIZE or F_MULTIPORT the driver reads none of it. */
#define VCON_CONFIG_SIZE 12

/* -------------------------------------------------------- queue handlers */

static void vcon_transmit(struct vcon *v)
{
	int r;

	while ((r = virtq_pop(&v->dev->vq[CONSOLE_TXQ], &v->tx)) > 0) {
		for (unsigned int i = 0; i < v->tx.nout; i++)
			console_write(v->con, v->tx.iov[i].iov_base, v->tx.iov[i].iov_len);
		v->tx_bytes += v->tx.out_len;
		virtio_complete(v->dev, CONSOLE_TXQ, v->tx.head, 0);
	}
	if (r < 0)
		virtio_fail(v->dev, "malformed transmit chain");
}

/* Event-loop thread, stdin readable. */
static void vcon_pull(void *opaque, console_fill_fn fill, void *c)
{
	struct vcon *v = opaque;
	struct virtio_dev *dev = v->dev;
	uint8_t buf[64];
	size_t n;
	int r = 1;

	virtio_lock(dev);
	if (!virtio_active(dev)) {
		console_input_wanted(v->con, false);
		goto out;
	}
	if (!v->rx_held)
		r = virtq_pop(&dev->vq[CONSOLE_RXQ], &v->rx);
	if (r < 0)
		virtio_fail(dev, "malformed receive chain");
	if (r <= 0) {
		/* No buffer: leave input in the host's buffers until a kick. */
		console_input_wanted(v->con, false);
		goto out;
	}
	v->rx_held = true;
	n = fill(c, buf, v->rx.in_len < sizeof(buf) ? v->rx.in_len : sizeof(buf));
	if (n) {
		v->rx_bytes += n;
		virtq_chain_write(&v->rx, 0, buf, n);
		virtio_complete_chain(dev, CONSOLE_RXQ, &v->rx, (uint32_t)n);
		v->rx_held = false;
	}
out:
	virtio_unlock(dev);
}

static void vcon_notify(struct virtio_dev *dev, unsigned int q)
{
	struct vcon *v = dev->priv;

	if (q == CONSOLE_TXQ)
		vcon_transmit(v);
	else if (q == CONSOLE_RXQ)
		console_input_wanted(v->con, true);
}

static int vcon_activate(struct virtio_dev *dev)
{
	struct vcon *v = dev->priv;

	console_input_wanted(v->con, true);
	return 0;
}

/* A receive buffer held for input goes back to the ring while paused
 * (the next input takes it again): a snapshot need not describe it. */
static void vcon_pause(struct virtio_dev *dev)
{
	struct vcon *v = dev->priv;

	virtio_lock(dev);
	if (v->rx_held)
		virtq_unpop_n(&dev->vq[CONSOLE_RXQ], 1);
	v->rx_held = false;
	virtio_unlock(dev);
}

static void vcon_reset(struct virtio_dev *dev)
{
	struct vcon *v = dev->priv;

	v->rx_held = false;
	console_input_wanted(v->con, false);
}

static void vcon_destroy(struct virtio_dev *dev)
{
	free(dev->priv);
}

/* ------------------------------------------------------------ ops table */

static void vcon_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	const struct vcon *v = dev ? dev->priv : NULL;
	const struct virtio_counters *c = virtio_metrics_common(dev, out);

	metrics_counter(out, "rx_queue_event_count", c->kicks[CONSOLE_RXQ]);
	metrics_counter(out, "tx_queue_event_count", c->kicks[CONSOLE_TXQ]);
	metrics_counter(out, "rx_bytes_count", v ? v->rx_bytes : 0);
	metrics_counter(out, "tx_bytes_count", v ? v->tx_bytes : 0);
}

static const struct virtio_ops vcon_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nqueues = CONSOLE_NQUEUES,
	.queue_max = 256,
	.config_size = VCON_CONFIG_SIZE,
	.activate = vcon_activate,
	.pause = vcon_pause,
	.notify = vcon_notify,
	.reset = vcon_reset,
	.destroy = vcon_destroy,
	.metrics = vcon_metrics,
};

int virtio_console_create(struct virtio_dev *dev, const struct gm *gm, struct console *con)
{
	struct vcon *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->dev = dev;
	v->con = con;
	virtio_dev_init(dev, &vcon_ops, 0, v, gm);
	le_put(dev->config + 4, 1, 4); /* max_nr_ports */
	console_set_input(con, vcon_pull, v);
	return 0;
}
