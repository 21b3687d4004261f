/* SPDX-License-Identifier: MIT */
/*
 * A vsock device across a snapshot. Connections cannot survive one: their
 * unix sockets and the programs at the other end belong to this process.
 * So a snapshot holds the guest's CID only (and the transport's queues),
 * a restored device starts with no connection, and as soon as it runs it
 * sends the guest a VIRTIO_VSOCK_EVENT_TRANSPORT_RESET event (virtio 1.2,
 * 5.10.6.6): the guest resets its connected sockets, keeps its listening
 * ones and rereads its CID, and new connections work. Firecracker does
 * the same. Layout version 1: le64 guest CID.
 */
#include <errno.h>

#include "le.h"
#include "snapshot/snap.h"
#include "virtio/vsock_conn.h"

#define VSOCK_EVENT_TRANSPORT_RESET 0
#define VSOCK_EVENT_SIZE 4 /* struct virtio_vsock_event: le32 id */

void vsock_event_send(struct vsock *vs)
{
	struct virtio_dev *dev = vs->dev;
	struct virtq *q = &dev->vq[VSOCK_EVQ];
	/* The tx scratch chain: unused between packets. */
	struct virtq_chain *c = &vs->tx;
	uint8_t ev[VSOCK_EVENT_SIZE];
	int r;

	if (!vs->reset_event || !virtio_active(dev) || dev->paused || !q->ready)
		return;
	r = virtq_pop(q, c);
	if (r < 0)
		virtio_fail(dev, "malformed event chain");
	if (r <= 0)
		return;
	if (c->in_len < sizeof(ev)) {
		virtio_fail(dev, "event buffer shorter than an event");
		return;
	}
	le_put(ev, VSOCK_EVENT_TRANSPORT_RESET, sizeof(ev));
	virtq_chain_write(c, 0, ev, sizeof(ev));
	vs->reset_event = false;
	virtio_complete_chain(dev, VSOCK_EVQ, c, sizeof(ev));
}

int vsock_snapshot(struct virtio_dev *dev, struct snap *s, const struct virtio_snap *next)
{
	struct vsock *vs = dev->priv;
	uint64_t cid = vs->guest_cid;

	snap_u64(s, &cid);
	if (snap_check(s, cid == vs->guest_cid, "vsock guest CID %llu, the snapshot's is %llu",
		       (unsigned long long)vs->guest_cid, (unsigned long long)cid))
		snap_check(s, le_get(next->config, 8) == cid,
			   "vsock config space does not hold the guest CID %llu",
			   (unsigned long long)cid);
	if (snap_finish(s) || snap_saving(s))
		return snap_error(s);
	vsock_reset(dev);
	/* Only a driver that was running has sockets to reset. */
	vs->reset_event = next->status & VIRTIO_STATUS_DRIVER_OK;
	return 0;
}
