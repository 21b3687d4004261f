/* SPDX-License-Identifier: MIT */
/*
 * The REST API's requests, carried out on the VMM thread: Firecracker's
 * rules for what may happen before and after InstanceStart, then the
 * change to the configuration (before) or to the running VM (after).
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api/routes.h"
#include "config_json.h"

static void ok(struct api_result *res)
{
	res->status = 204;
}

/* A check that prints its one line (config_check_*): that line is the
 * fault_message, as it would be on stderr from the command line. */
static bool checked(struct api_result *res, int (*check)(const struct vm_config *),
		    const struct vm_config *cfg)
{
	char msg[API_FAULT_MAX];
	int err;

	log_capture(msg, sizeof(msg));
	err = check(cfg);
	log_capture(NULL, 0);
	if (err)
		api_fault(res, "%s", msg[0] ? msg : "invalid configuration");
	return !err;
}

static const char *const state_name[] = {
	[CONTROL_NOT_STARTED] = "Not started",
	[CONTROL_RUNNING] = "Running",
	[CONTROL_PAUSED] = "Paused",
};

static void get_info(struct control *ctl, struct api_result *res)
{
	api_reply_json(res, json_pack("{s:s, s:s, s:s, s:s}", "id", ctl->id, "state",
				      state_name[ctl->state], "vmm_version", PETREL_VERSION,
				      "app_name", "petrel"));
}

static void get_machine(const struct vm_config *cfg, struct api_result *res)
{
	api_reply_json(
	    res, json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)cfg->cpus,
			   "mem_size_mib", (json_int_t)(cfg->mem_size >> 20), "smt", cfg->smt,
			   "track_dirty_pages", cfg->track_dirty_pages, "huge_pages", "None"));
}

static int check_machine(const struct vm_config *c)
{
	return config_check_machine(c->mem_size, c->cpus, c->smt);
}

/* A file the VM will need must be there now, as Firecracker checks. */
static bool file_ok(struct api_result *res, const char *what, const char *path)
{
	struct stat st;

	if (!stat(path, &st))
		return true;
	api_fault(res, "%s '%s': %s", what, path, strerror(errno));
	return false;
}

/* --------------------------------------------------------- before boot */

static void put_drive(struct control *ctl, const struct disk_config *d, struct api_result *res)
{
	static struct vm_config cand; /* large: not on the stack */
	struct disk_config *old;

	cand = ctl->cfg;
	old = config_disk(&cand, d->id);
	if (!old && cand.ndisks == CONFIG_MAX_DISKS) {
		api_fault(res, "drive '%s': at most %d drives", d->id, CONFIG_MAX_DISKS);
		return;
	}
	*(old ? old : &cand.disk[cand.ndisks++]) = *d;
	if (!file_ok(res, "drive path_on_host", d->path) ||
	    !checked(res, config_check_disks, &cand))
		return;
	ctl->cfg = cand;
	ok(res);
}

/* A share by its tag: added, or replacing the one with that tag. */
static void put_fs(struct control *ctl, const struct fs_config *f, struct api_result *res)
{
	static struct vm_config cand;
	unsigned int i = 0;

	cand = ctl->cfg;
	while (i < cand.nfs && strcmp(cand.fs[i].tag, f->tag))
		i++;
	if (i == CONFIG_MAX_FS) {
		api_fault(res, "virtio-fs '%s': at most %d shares", f->tag, CONFIG_MAX_FS);
		return;
	}
	cand.fs[i] = *f;
	cand.nfs += i == cand.nfs;
	if (!file_ok(res, f->dir[0] ? "virtio-fs dir" : "virtio-fs socket",
		     f->dir[0] ? f->dir : f->socket) ||
	    !checked(res, config_check_fs, &cand))
		return;
	ctl->cfg = cand;
	ok(res);
}

static void put_net(struct control *ctl, const struct net_config *n, struct api_result *res)
{
	static struct vm_config cand;
	struct net_config *old;

	cand = ctl->cfg;
	old = config_net(&cand, n->id);
	if (!old && cand.nnets == CONFIG_MAX_NETS) {
		api_fault(res, "network interface '%s': at most %d interfaces", n->id,
			  CONFIG_MAX_NETS);
		return;
	}
	*(old ? old : &cand.net[cand.nnets++]) = *n;
	if (!checked(res, config_check_nets, &cand))
		return;
	ctl->cfg = cand;
	ok(res);
}

/* What configures the VM to boot: after it, no snapshot may be loaded
 * (Firecracker sets this before it even judges the request). */
static bool boot_specific(enum api_action a)
{
	switch (a) {
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
	case API_PUT_BOOT_SOURCE:
	case API_PUT_DRIVE:
	case API_PUT_NET:
	case API_PUT_VSOCK:
	case API_PUT_FS:
	case API_PUT_BALLOON:
	case API_PUT_ENTROPY:
		return true;
	default:
		return false;
	}
}

static void preboot(struct control *ctl, const struct api_request *r, struct api_result *res)
{
	struct vm_config *cfg = &ctl->cfg;
	static struct vm_config cand;

	if (boot_specific(r->action))
		ctl->boot_configured = true;
	switch (r->action) {
	case API_PUT_MACHINE:
	case API_PATCH_MACHINE:
		cand = *cfg;
		config_json_apply_machine(&cand, &r->u.machine, r->present,
					  r->action == API_PATCH_MACHINE);
		if (checked(res, check_machine, &cand)) {
			*cfg = cand;
			ok(res);
		}
		return;
	case API_PUT_BOOT_SOURCE:
		if (!file_ok(res, "kernel", r->u.boot.kernel) ||
		    (r->u.boot.initrd[0] && !file_ok(res, "initrd", r->u.boot.initrd)))
			return;
		cfg->boot = r->u.boot;
		ok(res);
		return;
	case API_PUT_DRIVE:
		put_drive(ctl, &r->u.drive, res);
		return;
	case API_PUT_NET:
		put_net(ctl, &r->u.net, res);
		return;
	case API_PUT_VSOCK:
		cfg->vsock = r->u.vsock;
		ok(res);
		return;
	case API_PUT_FS:
		put_fs(ctl, &r->u.fs, res);
		return;
	case API_PUT_BALLOON:
		if ((uint64_t)r->u.balloon.amount_mib << 20 > cfg->mem_size) {
			api_fault(res, "balloon amount_mib %u: more than the guest's %llu MiB",
				  r->u.balloon.amount_mib,
				  (unsigned long long)(cfg->mem_size >> 20));
			return;
		}
		cfg->balloon = r->u.balloon;
		ok(res);
		return;
	case API_PUT_ENTROPY:
		cfg->rng = r->u.rng;
		ok(res);
		return;
	case API_ACTION_START:
		control_api_start(ctl, res);
		return;
	case API_SNAPSHOT_LOAD:
		control_api_snapshot_load(ctl, &r->u.snap_load, res);
		return;
	default:
		api_fault(res, "The requested operation is not supported before starting the "
			       "microVM.");
	}
}

/* ---------------------------------------------------------- after boot */

static void postboot(struct control *ctl, const struct api_request *r, struct api_result *res)
{
	switch (r->action) {
	case API_PATCH_VM:
		control_api_pause(ctl, r->u.pause, res);
		return;
	case API_ACTION_CTRL_ALT_DEL:
		control_api_ctrl_alt_del(ctl, res);
		return;
	case API_ACTION_FLUSH_METRICS:
		control_api_flush_metrics(ctl, res);
		return;
	case API_PATCH_DRIVE:
		control_api_patch_drive(ctl, &r->u.drive_patch, r->present, res);
		return;
	case API_PATCH_NET:
		control_api_patch_net(ctl, &r->u.net_patch, r->present, res);
		return;
	case API_PATCH_BALLOON:
	case API_GET_BALLOON_STATS:
	case API_PATCH_BALLOON_STATS:
		control_api_balloon(ctl, r, res);
		return;
	case API_SNAPSHOT_CREATE:
		control_api_snapshot_create(ctl, &r->u.snap_create, res);
		return;
	case API_MIGRATE:
		control_api_migrate(ctl, &r->u.migrate, res);
		return;
	default:
		api_fault(res, "The requested operation is not supported after starting the "
			       "microVM.");
	}
}

/* ------------------------------------------------------------ dispatch */

void control_api_execute(void *opaque, const struct api_request *r, struct api_result *res)
{
	struct control *ctl = opaque;

	switch (r->action) {
	case API_GET_INFO:
		get_info(ctl, res);
		return;
	case API_GET_VERSION:
		api_reply_json(res,
			       json_pack("{s:s, s:s}", "firecracker_version", CONTROL_API_VERSION,
					 "petrel_version", PETREL_VERSION));
		return;
	case API_GET_VM_CONFIG:
		res->body = config_json_dump(&ctl->cfg);
		if (res->body)
			res->status = 200;
		else
			api_fault(res, "out of memory");
		return;
	case API_GET_MACHINE:
		get_machine(&ctl->cfg, res);
		return;
	case API_GET_BALLOON:
		if (!ctl->cfg.balloon.present) {
			api_fault(res, "No balloon device configured.");
			return;
		}
		api_reply_json(
		    res, json_pack("{s:I, s:b, s:I, s:b}", "amount_mib",
				   (json_int_t)ctl->cfg.balloon.amount_mib, "deflate_on_oom",
				   ctl->cfg.balloon.deflate_on_oom, "stats_polling_interval_s",
				   (json_int_t)ctl->cfg.balloon.stats_polling_interval_s,
				   "free_page_reporting", ctl->cfg.balloon.free_page_reporting));
		return;
	case API_GET_METRICS:
		control_api_prometheus(ctl, res);
		return;
	case API_PUT_LOGGER:
	case API_PUT_METRICS:
		if (ctl->state != CONTROL_NOT_STARTED)
			break;
		control_api_observe(ctl, r, res);
		return;
	default:
		break;
	}
	if (ctl->state == CONTROL_NOT_STARTED)
		preboot(ctl, r, res);
	else
		postboot(ctl, r, res);
}
