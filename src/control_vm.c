/* SPDX-License-Identifier: MIT */
/* The API's actions on a VM: start it, pause and resume it, shut it down,
 * change its devices. VMM thread. */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dev/pc_devices.h"
#include "virtio/balloon.h"
#include "virtio/blk.h"
#include "virtio/devices.h"
#include "virtio/net.h"

void control_api_start(struct control *ctl, struct api_result *res)
{
	char msg[API_FAULT_MAX];
	int err;

	log_capture(msg, sizeof(msg));
	err = control_start(ctl);
	log_capture(NULL, 0);
	if (err)
		api_fault(res, "Start microvm error: %s", msg[0] ? msg : strerror(-err));
	else
		res->status = 204;
}

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* PATCH /vm: idempotent, as Firecracker's. The metrics' latencies_us keep
 * the last pause and resume: the whole action and vm_pause/vm_resume. */
void control_api_pause(struct control *ctl, bool pause, struct api_result *res)
{
	uint64_t t0 = now_us(), t1;
	char msg[API_FAULT_MAX];
	int err = 0;

	if (pause && ctl->state == CONTROL_RUNNING) {
		log_capture(msg, sizeof(msg));
		t1 = now_us();
		err = vm_pause(&ctl->vm);
		ctl->obs.vmm_pause_us = now_us() - t1;
		log_capture(NULL, 0);
		if (err) {
			api_fault(res, "%s", msg);
			return;
		}
		ctl->state = CONTROL_PAUSED;
		log_info("paused the VM");
		ctl->obs.pause_us = now_us() - t0;
	} else if (!pause && ctl->state == CONTROL_PAUSED) {
		t1 = now_us();
		vm_resume(&ctl->vm);
		ctl->obs.vmm_resume_us = now_us() - t1;
		ctl->state = CONTROL_RUNNING;
		log_info("resumed the VM");
		ctl->obs.resume_us = now_us() - t0;
	}
	res->status = 204;
}

/* Firecracker's mechanism: Ctrl-Alt-Del on the i8042 keyboard; the guest
 * decides what it means (Linux: SIGINT to init, or a reboot). */
void control_api_ctrl_alt_del(struct control *ctl, struct api_result *res)
{
	struct device *kbd = device_find(&ctl->vm.devices, "i8042", NULL);
	int err = kbd ? i8042_ctrl_alt_del(kbd->opaque) : -ENODEV;

	if (err == -ENOSPC)
		api_fault(res,
			  "SendCtrlAltDel: the guest is not reading its keyboard (buffer full)");
	else if (err == -EAGAIN)
		api_fault(res, "SendCtrlAltDel: the guest has disabled its keyboard");
	else if (err)
		api_fault(res, "SendCtrlAltDel: %s", strerror(-err));
	else
		res->status = 204;
}

/* A media change: the disk is paused while its backing is swapped, so no
 * request is in flight and none starts (a VM already paused stays so; the
 * configuration change interrupt waits for its resume). */
static int change_media(struct control *ctl, struct virtio_dev *dev, const char *id,
			const char *path)
{
	static struct vm_config cand; /* large: not on the stack */
	struct device *reg = device_find(&ctl->vm.devices, "block", id);
	bool running = ctl->state == CONTROL_RUNNING;
	int err;

	/* The same rules as at boot: another disk's file only if both are
	 * read-only. */
	cand = ctl->cfg;
	snprintf(config_disk(&cand, id)->path, CONFIG_PATH_MAX, "%s", path);
	err = config_check_disks(&cand);
	if (err)
		return err;
	if (running)
		reg->ops->pause(reg->opaque);
	err = virtio_blk_change_media(dev, path);
	if (running)
		reg->ops->resume(reg->opaque);
	return err;
}

void control_api_patch_drive(struct control *ctl, const struct drive_patch *p, uint64_t present,
			     struct api_result *res)
{
	struct disk_config *d = config_disk(&ctl->cfg, p->id);
	struct virtio_dev *dev = virtio_devices_find(&ctl->vm, "block", p->id);
	char msg[API_FAULT_MAX];
	int err = 0;

	if (!d || !dev) {
		api_fault(res, "drive '%s': no such drive", p->id);
		return;
	}
	if (present & DRIVE_PATCH_LIMIT) {
		log_capture(msg, sizeof(msg));
		err = config_check_disk_limit(p->id, &p->limit);
		log_capture(NULL, 0);
		if (err) {
			api_fault(res, "%s", msg);
			return;
		}
	}
	if (present & DRIVE_PATCH_PATH) {
		log_capture(msg, sizeof(msg));
		err = change_media(ctl, dev, p->id, p->path);
		log_capture(NULL, 0);
		if (err) {
			api_fault(res, "%s", msg[0] ? msg : strerror(-err));
			return;
		}
		snprintf(d->path, sizeof(d->path), "%s", p->path);
		log_info("drive '%s': new media %s", p->id, p->path);
	}
	if (present & DRIVE_PATCH_LIMIT) {
		d->limit = p->limit;
		virtio_blk_set_ratelimit(dev, &d->limit);
	}
	res->status = 204;
}

void control_api_patch_net(struct control *ctl, const struct net_patch *p, uint64_t present,
			   struct api_result *res)
{
	struct net_config *n = config_net(&ctl->cfg, p->id);
	struct virtio_dev *dev = virtio_devices_find(&ctl->vm, "net", p->id);
	char msg[API_FAULT_MAX];
	int err;

	if (!n || !dev) {
		api_fault(res, "network interface '%s': no such interface", p->id);
		return;
	}
	log_capture(msg, sizeof(msg));
	err = config_check_net_limits(p->id, present & NET_PATCH_RX ? &p->rx : NULL,
				      present & NET_PATCH_TX ? &p->tx : NULL);
	log_capture(NULL, 0);
	if (err) {
		api_fault(res, "%s", msg);
		return;
	}
	if (present & NET_PATCH_RX)
		n->rx = p->rx;
	if (present & NET_PATCH_TX)
		n->tx = p->tx;
	virtio_net_set_ratelimit(dev, &n->rx, &n->tx);
	res->status = 204;
}

static json_t *balloon_stats_json(const struct balloon_stats *st)
{
	/* Firecracker's BalloonStats names, by virtio tag. */
	static const char *const fc_name[VIRTIO_BALLOON_S_NR] = {
		[VIRTIO_BALLOON_S_SWAP_IN] = "swap_in",
		[VIRTIO_BALLOON_S_SWAP_OUT] = "swap_out",
		[VIRTIO_BALLOON_S_MAJFLT] = "major_faults",
		[VIRTIO_BALLOON_S_MINFLT] = "minor_faults",
		[VIRTIO_BALLOON_S_MEMFREE] = "free_memory",
		[VIRTIO_BALLOON_S_MEMTOT] = "total_memory",
		[VIRTIO_BALLOON_S_AVAIL] = "available_memory",
		[VIRTIO_BALLOON_S_CACHES] = "disk_caches",
		[VIRTIO_BALLOON_S_HTLB_PGALLOC] = "hugetlb_allocations",
		[VIRTIO_BALLOON_S_HTLB_PGFAIL] = "hugetlb_failures",
	};
	json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)st->target_pages,
			      "actual_pages", (json_int_t)st->actual_pages, "target_mib",
			      (json_int_t)(st->target_pages >> 8), "actual_mib",
			      (json_int_t)(st->actual_pages >> 8));

	for (unsigned int tag = 0; j && tag < VIRTIO_BALLOON_S_NR; tag++)
		if (st->have & (1u << tag))
			json_object_set_new(j, fc_name[tag],
					    json_integer((json_int_t)st->val[tag]));
	return j;
}

void control_api_balloon(struct control *ctl, const struct api_request *r, struct api_result *res)
{
	struct virtio_dev *dev = virtio_devices_find(&ctl->vm, "balloon", NULL);
	struct balloon_stats st;

	if (!dev) {
		api_fault(res, "No balloon device configured.");
		return;
	}
	switch (r->action) {
	case API_PATCH_BALLOON:
		if (virtio_balloon_set_target(dev, (uint64_t)r->u.amount_mib << 20)) {
			api_fault(res, "balloon amount_mib %u: more than the guest's %llu MiB",
				  r->u.amount_mib, (unsigned long long)(ctl->cfg.mem_size >> 20));
			return;
		}
		ctl->cfg.balloon.amount_mib = r->u.amount_mib;
		res->status = 204;
		return;
	case API_GET_BALLOON_STATS:
		if (!ctl->cfg.balloon.stats_polling_interval_s) {
			api_fault(res, "Statistics for the balloon device are not enabled");
			return;
		}
		if (virtio_balloon_stats(dev, &st)) {
			api_fault(res, "balloon statistics unavailable");
			return;
		}
		api_reply_json(res, balloon_stats_json(&st));
		return;
	default: /* API_PATCH_BALLOON_STATS */
		if (virtio_balloon_set_stats_interval(dev, r->u.stats_polling_interval_s)) {
			api_fault(res,
				  "Cannot enable or disable the balloon statistics after the "
				  "microVM started (stats_polling_interval_s %u, was %u).",
				  r->u.stats_polling_interval_s,
				  ctl->cfg.balloon.stats_polling_interval_s);
			return;
		}
		ctl->cfg.balloon.stats_polling_interval_s = r->u.stats_polling_interval_s;
		res->status = 204;
	}
}
