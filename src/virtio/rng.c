/* SPDX-License-Identifier: MIT */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio/throttle.h"
#include "metrics.h"

/* ----------------------------------------------------------------- state */

/* At most this much per request: a driver asking for a huge buffer gets a
 * short answer (allowed: used length says how much was written) instead
 * of holding the event loop. */
#define RNG_MAX_REQUEST 4096

struct rng {
	struct virtio_dev *dev;
	struct evloop *ev;
	struct virtq_chain chain;
	struct throttle limit;
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
		/* The rate limit counts what rng_fill will deliver (less only
		 * if getrandom fails) and one op; over it, the request stays
		 * on the ring for the limiter's timer. */
		uint32_t want =
		    r->chain.in_len < RNG_MAX_REQUEST ? r->chain.in_len : RNG_MAX_REQUEST;
		bool failed = false;
		uint32_t done;

		if (!throttle_take(&r->limit, want, 1)) {
			virtq_unpop(&dev->vq[q]);
			return;
		}
		done = rng_fill(&r->chain, &failed);
		r->requests++;
		r->bytes += done;
		r->host_fails += failed;
		virtio_complete_chain(dev, q, &r->chain, done);
	}
	if (got < 0)
		virtio_fail(dev, "malformed request chain");
}

/* Serve what waits on the queue (requests the rate limit held back);
 * not while paused. */
static void rng_serve(struct virtio_dev *dev)
{
	if (virtio_active(dev) && !dev->paused && dev->vq[0].ready)
		rng_notify(dev, 0);
}

/* Event-loop thread: the request the rate limit held back may pass. */
static void rng_on_timer(void *opaque, uint32_t events)
{
	struct rng *r = opaque;

	(void)events;
	virtio_lock(r->dev);
	throttle_expired(&r->limit);
	rng_serve(r->dev);
	virtio_unlock(r->dev);
}

void virtio_rng_set_ratelimit(struct virtio_dev *dev, const struct ratelimit_config *cfg)
{
	struct rng *r = dev->priv;

	virtio_lock(dev);
	throttle_set(&r->limit, cfg);
	rng_serve(dev);
	virtio_unlock(dev);
}

void virtio_rng_get_stats(struct virtio_dev *dev, struct virtio_rng_stats *out)
{
	const struct rng *r = dev->priv;

	virtio_lock(dev);
	*out = (struct virtio_rng_stats){ .throttled = r->limit.throttled };
	virtio_unlock(dev);
}

void virtio_rng_metrics(const struct virtio_dev *dev, struct metrics_out *out)
{
	const struct rng *r = dev ? dev->priv : NULL;

	virtio_metrics_common(dev, out);
	metrics_counter(out, "entropy_event_count", r ? r->requests : 0);
	metrics_counter(out, "entropy_bytes", r ? r->bytes : 0);
	metrics_counter(out, "host_rng_fails", r ? r->host_fails : 0);
	metrics_counter(out, "entropy_rate_limiter_throttled", r ? r->limit.throttled : 0);
}

/* ------------------------------------------------------------ ops table */

/* A held request's timer may have fired while paused. */
static void rng_resume(struct virtio_dev *dev)
{
	virtio_lock(dev);
	rng_serve(dev);
	virtio_unlock(dev);
}

static void rng_reset(struct virtio_dev *dev)
{
	struct rng *r = dev->priv;

	throttle_stop(&r->limit);
}

static void rng_destroy(struct virtio_dev *dev)
{
	struct rng *r = dev->priv;

	throttle_close(&r->limit, r->ev);
	free(r);
	dev->priv = NULL;
}

static const struct virtio_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nqueues = 1,
	.queue_max = 64,
	.resume = rng_resume,
	.notify = rng_notify,
	.reset = rng_reset,
	.destroy = rng_destroy,
	.metrics = virtio_rng_metrics,
};

int virtio_rng_create(struct virtio_dev *dev, struct evloop *ev, const struct gm *gm,
		      const struct rng_config *cfg)
{
	struct rng *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->dev = dev;
	r->ev = ev;
	err = throttle_open(&r->limit, ev, rng_on_timer, r);
	if (err) {
		free(r);
		return err;
	}
	throttle_set(&r->limit, &cfg->limit);
	virtio_dev_init(dev, &rng_ops, 0, r, gm);
	return 0;
}
