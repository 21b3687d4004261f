/* SPDX-License-Identifier: MIT */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

/* ----------------------------------------------------------------- state */

/* At most this much per request: a driver asking for a huge buffer gets a
 * short answer (allowed: used length says how much was written) instead
 * of holding the event loop. */
#define RNG_MAX_REQUEST 4096

struct rng {
	struct virtq_chain chain;
};

/* -------------------------------------------------------- queue handlers */

static uint32_t rng_fill(const struct virtq_chain *c)
{
	uint32_t done = 0;

	for (unsigned int i = c->nout; i < (unsigned int)c->nout + c->nin; i++) {
		size_t want = c->iov[i].iov_len;
		ssize_t n;

		if (want > RNG_MAX_REQUEST - done)
			want = RNG_MAX_REQUEST - done;
		n = getrandom(c->iov[i].iov_base, want, GRND_NONBLOCK);
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

	while ((got = virtq_pop(&dev->vq[q], &r->chain)) > 0)
		virtio_complete(dev, q, r->chain.head, rng_fill(&r->chain));
	if (got < 0)
		virtio_fail(dev, "malformed request chain");
}

static void rng_destroy(struct virtio_dev *dev)
{
	free(dev->priv);
}

/* ------------------------------------------------------------ ops table */

static const struct virtio_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = 1,
	.queue_max = 64,
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int virtio_rng_create(struct virtio_dev *dev, const struct gm *gm)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	virtio_dev_init(dev, &rng_ops, 0, r, gm);
	return 0;
}
