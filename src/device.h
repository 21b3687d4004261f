/* SPDX-License-Identifier: MIT */
/*
 * The device registry: every device of a VM joins its list with a name and
 * an ops table, and the core (start, pause, resume, teardown), the control
 * plane (find a drive by its id) and the metrics walk the list instead of
 * knowing any device. Devices join in creation order; teardown goes in
 * reverse.
 *
 * Threads: the list is built before the VM's threads start and does not
 * change after; the ops run on the VMM thread (the event loop).
 */
#ifndef PETREL_DEVICE_H
#define PETREL_DEVICE_H

#include <stdbool.h>

#include "log.h"

struct sandbox_filter;
struct metrics_out;
struct snap;

struct device_ops {
	/* The VM is about to run (after the jail, before the vCPUs): start
	 * the device's own threads, which install `worker` (the blk-io role's
	 * seccomp filter) before they do any work. 0 or -errno after one
	 * message. Optional. */
	int (*start)(void *opaque, const struct sandbox_filter *worker);
	/* The vCPUs are parked: take no new work (doorbells, host input),
	 * complete what is in flight, and hold interrupts until resume. Returns
	 * when the device is quiet. Optional. */
	void (*pause)(void *opaque);
	/* Undo pause: deliver held interrupts, take work again. Optional. */
	void (*resume)(void *opaque);
	/* Save the device's state into `s` or load it from `s`, by s->op
	 * (snapshot/snap.h), with the VM paused (after `pause`). A load
	 * validates every value before it changes the device, and leaves the
	 * device as it was if the stream fails; the caller then resumes or
	 * destroys the VM. The device's section in a snapshot is named after
	 * it (device.name); layout version `snapshot_version`. Returns
	 * snap_error(s) (and may set it). A device without state (no
	 * `snapshot`) has no section. Optional. */
	int (*snapshot)(void *opaque, struct snap *s);
	unsigned int snapshot_version;
	/* Report counters (metrics.h). Optional. */
	void (*metrics)(void *opaque, struct metrics_out *out);
	/* Free everything; the threads that use the device have stopped.
	 * Optional. */
	void (*destroy)(void *opaque);
};

#define DEVICE_NAME_MAX 48

struct device {
	/* Firecracker's metrics key: "block_rootfs", "net_eth0", "uart"... */
	char name[DEVICE_NAME_MAX];
	const char *kind; /* "block", "net", "vsock", "balloon", "entropy", ... */
	const char *id;	  /* the user's id (drive_id, iface_id), or NULL */
	const struct device_ops *ops;
	void *opaque;
};

#define DEVICE_MAX 64

struct device_list {
	struct device dev[DEVICE_MAX];
	unsigned int n;
};

/* Add a device. `kind` and `id` must outlive the list. 0, or -ENOSPC
 * (then `ops->destroy` has NOT been called: the caller still owns it). */
int device_add(struct device_list *l, const char *name, const char *kind, const char *id,
	       const struct device_ops *ops, void *opaque) MUST_CHECK;

/* The first device of `kind` whose id is `id` (NULL: any id), or NULL. */
struct device *device_find(struct device_list *l, const char *kind, const char *id);

/* ops->start on every device in order; stops at the first error. */
int device_start_all(struct device_list *l, const struct sandbox_filter *worker) MUST_CHECK;

/* ops->pause in reverse order (consumers before what feeds them), resume
 * in order. */
void device_pause_all(struct device_list *l);
void device_resume_all(struct device_list *l);

/* ops->destroy in reverse order; the list is empty after. */
void device_destroy_all(struct device_list *l);

#endif
