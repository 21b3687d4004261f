/* SPDX-License-Identifier: MIT */
/*
 * The virtio device model (virtio 1.2, modern devices only), independent of
 * the transport. A device sees its queues, guest memory, its config-space
 * bytes and two calls into the transport: "buffers were used" and "the
 * config changed". The transport (virtio/mmio.c, later PCI) owns every
 * register, the status machine, feature negotiation and the doorbells.
 *
 * Threads and locking: register accesses come from vCPU threads, queue
 * notifications and backend completions run on the event-loop thread.
 * Every entry into a device (ops below, event-loop callbacks the device
 * registered itself) holds `dev->lock`; a device that takes events from
 * its own fds locks it first (virtio_lock/virtio_unlock).
 */
#ifndef PETREL_VIRTIO_H
#define PETREL_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "petrel/virtio.h"

#include "log.h"
#include "mem.h"
#include "virtio/queue.h"

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_CONFIG_MAX 256

/* Every device status bit 2.1 defines; the driver may set no other. */
#define VIRTIO_STATUS_VALID                                                                        \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |              \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

struct virtio_dev;
struct sandbox_filter;
struct metrics_out;
struct snap;

/* The transport-independent state of a device that a snapshot carries
 * (virtio/mmio_snapshot.c walks it), as a device's snapshot op sees it:
 * on SAVE the device's current state, on LOAD what was read and checked
 * but not committed yet. */
struct virtio_snap {
	uint8_t status;
	uint64_t features;
	uint32_t config_generation;
	uint8_t config[VIRTIO_CONFIG_MAX];
	struct virtq vq[VIRTIO_MAX_QUEUES];
};

struct virtio_ops {
	const char *name; /* "block", "net": used in log lines */
	uint32_t device_id;
	unsigned int nqueues;
	uint16_t queue_max;   /* largest queue size offered, a power of 2 <= VIRTQ_MAX_SIZE */
	uint32_t config_size; /* bytes of dev->config, <= VIRTIO_CONFIG_MAX */
	/* An out-of-process back end (vhost-user) reads the doorbell eventfds
	 * and signals the interrupt eventfd itself (transport.queue_fds): the
	 * transport watches a doorbell only while dev->doorbells_watched, and
	 * InterruptStatus always shows "used buffers" (the back end cannot
	 * set it; the driver then looks at every queue). */
	bool external_queues;

	/* The driver wrote config bytes [off, off + len) (already stored in
	 * dev->config). Optional. */
	void (*config_write)(struct virtio_dev *dev, uint32_t off, uint32_t len);
	/* The VM is about to run (once, from vm_start, after the jail and
	 * before the vCPUs): start the device's own threads, which install
	 * `worker` (their seccomp filter; NULL: none) first. 0 or -errno
	 * after one message. Optional. */
	int (*start)(struct virtio_dev *dev, const struct sandbox_filter *worker);
	/* The VM is pausing (VMM thread, dev->lock NOT held; dev->paused is
	 * already set, so the transport takes no kicks and holds interrupts):
	 * stop taking host input (tap, sockets, timers) and complete what is
	 * in flight before returning. Optional. */
	void (*pause)(struct virtio_dev *dev);
	/* Take host input again (dev->paused is clear). Optional. */
	void (*resume)(struct virtio_dev *dev);
	/* DRIVER_OK was set: the queues in dev->vq are ready to use. Return 0
	 * or -errno (the device is then marked NEEDS_RESET). Optional. */
	int (*activate)(struct virtio_dev *dev);
	/* The driver kicked queue `q` (q < nqueues, device active). */
	void (*notify)(struct virtio_dev *dev, unsigned int q);
	/* The driver reset the device (status 0) or the transport did. Drop
	 * in-flight state; the transport clears queues and features after. */
	void (*reset)(struct virtio_dev *dev);
	/* Free dev->priv and close the device's fds. Called once, at VM
	 * teardown, after the event loop has stopped. */
	void (*destroy)(struct virtio_dev *dev);
	/* Report the device's counters (metrics.h), dev->count's among them
	 * (virtio_metrics_common); dev->lock held. With dev NULL: every name
	 * with 0, for the group Firecracker shows when the VM has no such
	 * device. Optional. */
	void (*metrics)(const struct virtio_dev *dev, struct metrics_out *out);
	/* Save or load the device's own state (snapshot/snap.h, by s->op)
	 * with the VM paused and dev->lock held, after the transport walked
	 * its part of the stream; `next` is that part (on LOAD: read and
	 * checked, not committed yet). On LOAD the op reads its fields into
	 * locals and checks them (against `next` too); then, and only if
	 * snap_finish(s) == 0 (it is the stream's last reader), it drops its
	 * current state as `reset` does and commits what it read. The
	 * transport commits `next` after it returns and, if the driver had
	 * set DRIVER_OK, calls `activate` (the guest's status handshake is
	 * not replayed). Returns snap_error(s). Optional: a device without it
	 * has no state beyond the transport's, and is reset before the
	 * commit. */
	int (*snapshot)(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next);
};

/* What a device asks of its transport. */
struct virtio_transport_ops {
	/* Used buffers were published on a queue and the driver wants an
	 * interrupt (the device already checked virtq_need_interrupt). */
	void (*used)(struct virtio_dev *dev, unsigned int q);
	void (*config_changed)(struct virtio_dev *dev);
	/* The device found the driver broken: set NEEDS_RESET and tell it. */
	void (*needs_reset)(struct virtio_dev *dev);
	/* external_queues devices: queue q's doorbell eventfd (the guest's
	 * kicks) into *kick and the device's interrupt eventfd into *call;
	 * the transport keeps them. */
	void (*queue_fds)(struct virtio_dev *dev, unsigned int q, int *kick, int *call);
	/* external_queues devices: dev->doorbells_watched changed. */
	void (*doorbells_changed)(struct virtio_dev *dev);
};

/* What the transport counts of every device, under dev->lock. */
struct virtio_counters {
	uint64_t kicks[VIRTIO_MAX_QUEUES]; /* notifications taken, per queue */
	uint64_t interrupts;		   /* used-buffer and config interrupts sent */
	uint64_t activate_fails;	   /* the device could not start at DRIVER_OK */
	/* Guest errors: */
	uint64_t cfg_fails;	  /* config-space accesses outside it, or writes to none */
	uint64_t transport_fails; /* register accesses refused (width, status, queue) */
	uint64_t needs_reset;	  /* virtio_fail: the driver broke the protocol */
};

struct virtio_dev {
	const struct virtio_ops *ops;
	void *priv; /* the device's own state */
	const struct gm *gm;
	pthread_mutex_t lock;

	/* Device-specific feature bits this device offers (they can depend on
	 * its backing, e.g. a read-only disk); the transport adds VERSION_1,
	 * EVENT_IDX and INDIRECT_DESC. */
	uint64_t offered;

	/* Owned by the transport, readable by the device under `lock`. */
	uint8_t status;
	uint64_t features; /* what the driver accepted */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint8_t config[VIRTIO_CONFIG_MAX]; /* little-endian fields, as the guest reads them */
	uint32_t config_generation;
	/* The VM is paused (set and cleared by the transport under `lock`):
	 * a device takes nothing from its rings while it is set. */
	bool paused;
	/* external_queues devices: the transport watches the doorbells and
	 * calls notify (the back end is gone and the device answers). */
	bool doorbells_watched;

	const struct virtio_transport_ops *transport;
	void *transport_priv;
	struct virtio_counters count;
};

/* Initialise the common part for a device of type `ops` offering the
 * device-specific feature bits `offered`. */
void virtio_dev_init(struct virtio_dev *dev, const struct virtio_ops *ops, uint64_t offered,
		     void *priv, const struct gm *gm);

static inline void virtio_lock(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

static inline void virtio_unlock(struct virtio_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}

static inline bool virtio_active(const struct virtio_dev *dev)
{
	return (dev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

static inline bool virtio_has(const struct virtio_dev *dev, unsigned int bit)
{
	return dev->features & VIRTIO_BIT(bit);
}

/* Called by devices with dev->lock held. */

/* Publish a finished chain on queue q (virtq_push) and interrupt the
 * driver if it wants one. `written` is the number of bytes the device
 * wrote into the chain's device-writable buffers. Those buffers are not
 * marked dirty (dirty-page tracking, mem.h): a device that wrote into
 * them calls virtio_complete_chain, or marks them itself first. */
void virtio_complete(struct virtio_dev *dev, unsigned int q, uint16_t head, uint32_t written);

/* virtio_complete for the chain `c`, after marking the pages of the first
 * `written` bytes of its device-writable buffers dirty (so a dirty-page
 * collect cannot miss what the device wrote). */
void virtio_complete_chain(struct virtio_dev *dev, unsigned int q, const struct virtq_chain *c,
			   uint32_t written);

/* After publishing with virtq_push / virtq_push_n directly (a device that
 * batches): interrupt the driver for queue q if it wants one now. */
void virtio_signal_used(struct virtio_dev *dev, unsigned int q);

/* The driver broke the protocol (malformed chain, bad ring): log `why`
 * once per device (rate-limited), set NEEDS_RESET, stop using the
 * device until the driver resets it. */
void virtio_fail(struct virtio_dev *dev, const char *why);

/* Config space changed (bump generation, config interrupt). */
void virtio_config_changed(struct virtio_dev *dev);

/* For a device's metrics op: report dev->count's activate_fails,
 * cfg_fails, needs_reset_count, transport_fails and interrupt_count (0s
 * for dev NULL), and return it (or a zeroed one) for the device's
 * per-queue kick counts. */
const struct virtio_counters *virtio_metrics_common(const struct virtio_dev *dev,
						    struct metrics_out *out);

#endif
