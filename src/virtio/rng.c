/* SPDX-License-Identifier: MIT */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "metrics.h"

/* ----------------------------------------------------------------- state */

/* At most this much per request: a driver asking for a huge buffer gets a
 * short answer (allowed: used length says how much was written) instead
 * of holding the event loop. */
#define RNG_MAX_REQUEST 4096

struct rng {
	struct virtq_chain chain;
	uint64_t requests, bytes, host_fails; /* for the metrics */
};

/* -------------------------------------------------------- queue handlers */

/* Random bytes into the chain's writable buffers; *failed if getrandom
 * failed (the guest gets what there was). */
static uint32_t rng_fill(const struct virtq_chain *c, bool *failed)
{
	uint32_t done = 0;

	for (unsigned int i = c->nout; i < (unsigned int)c->nout + c->nin; i++) {
		size_t want = c->iov[i].iov_len;
		ssize_t n;

		if (want > RNG_MAX_REQUEST - done)
			want = RNG_MAX_REQUEST - done;
		n = getrandom(c->iov[i].iov_base, want, GRND_NONBLOCK);
		if (n < 0)
			*failed = true;
		if (n <= 0)
			break;
		done += (uint32_t)n;
		if ((size_t)n < c->iov[i].iov_len || done == RNG_MAX_REQUEST)
			break;
	}
	return done;
}

static void rng_notify(struct virtio_dev *dev, unsigned int q)
{
	struct rng *r = dev->priv;
	int got;

	while ((got = virtq_pop(&dev->vq[q], &r->chain)) > 0) {
		bool failed = false;
		uint32_t done = rng_fill(&r->chain, &failed);

		r->requests++;
		r->bytes += done;
		r->host_fails += failed;
		virtio_complete(dev, q, r->chain.head, done);
	}
	if (got < 0)
		virtio_fail(dev, "malformed request chain");
}

static void rng_destroy(struct virtio_dev *dev)
{
	free(dev->priv);
}

void virtio_rng_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	const struct rng *r = dev ? dev->priv : NULL;

	virtio_metrics_common(dev, out);
	metrics_counter(out, "entropy_event_count", r ? r->requests : 0);
	metrics_counter(out, "entropy_bytes", r ? r->bytes : 0);
	metrics_counter(out, "host_rng_fails", r ? r->host_fails : 0);
}

/* ------------------------------------------------------------ ops table */

static const struct virtio_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = 1,
	.queue_max = 64,
	.notify = rng_notify,
	.destroy = rng_destroy,
	.metrics = virtio_rng_metrics,
};

int virtio_rng_create(struct virtio_dev *dev, const struct gm *gm)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	virtio_dev_init(dev, &rng_ops, 0, r, gm);
	return 0;
}
