/* SPDX-License-Identifier: MIT */
/*
 * Snapshots on the VMM thread: PUT /snapshot/create of a paused VM, and
 * the restore that PUT /snapshot/load and `petrel run --restore` do in a
 * fresh process (snapshot/snapshot.h has the files and their checks,
 * snapshot/uffd.h the page server's handshake).
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "arch/x86/machine.h"
#include "dirty.h"
#include "snapshot/snapshot.h"

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* The page server's process exited (its pidfd is readable): nothing will
 * ever fill the pages the guest has not touched yet, and a vCPU that
 * touches one waits forever, so the VM stops now, with one line. */
static void control_on_pager_exit(void *opaque, uint32_t events)
{
	struct control *ctl = opaque;
	char why[CONFIG_PATH_MAX + 128];

	(void)events;
	snprintf(why, sizeof(why),
		 "page server '%s' (pid %d) exited: the VM's memory is gone with it; stopping "
		 "the VM",
		 ctl->uffd.path, (int)ctl->uffd.pid);
	vm_stop(&ctl->vm, VM_STATUS_ERROR, why);
}

/* RAM anonymous, registered with the uffd and handed to the page server
 * before anything (the board, a device's load) touches it; its exit
 * watched from the event loop. */
static int control_uffd_attach(struct control *ctl)
{
	int err = uffd_backend_send(&ctl->uffd, &ctl->vm.gm);

	if (!err && ctl->uffd.pidfd >= 0) {
		err = evloop_add(&ctl->ev, ctl->uffd.pidfd, EPOLLIN, control_on_pager_exit, ctl);
		if (err)
			log_msg("page server '%s': watching it: %s", ctl->uffd.path,
				strerror(-err));
	}
	return err;
}

int control_restore(struct control *ctl, const struct snapshot_load_params *p, bool resume)
{
	static struct vm_config fresh; /* large: not on the stack */
	struct vm *vm = &ctl->vm;
	struct snapshot_load ld;
	int err;

	fresh = ctl->cfg;
	err = snapshot_load_open(&ld, p, &ctl->cfg);
	if (err)
		return err;
	/* The page server is reached before anything is built: a wrong path
	 * or a host without userfaultfd costs nothing. */
	if (p->uffd_path) {
		err = uffd_backend_open(&ctl->uffd, p->uffd_path);
		if (err)
			goto fail;
	}
	/* The board as a boot builds it, without the kernel: RAM comes from
	 * the memory file (or the page server), the registers from the
	 * snapshot. */
	err = vm_create(vm, &ctl->cfg, &ctl->ev, ld.mem_fd);
	if (err)
		goto fail;
	if (p->uffd_path)
		err = control_uffd_attach(ctl);
	if (!err)
		err = machine_create(vm);
	if (!err)
		err = vm_create_vcpus(vm);
	if (!err)
		err = machine_init_vcpus(vm);
	if (!err)
		err = snapshot_load_state(&ld, vm);
	/* Diff snapshots of the restored VM: what changes from now on. */
	if (!err && ctl->cfg.track_dirty_pages)
		err = control_dirty_start(ctl, false);
	snapshot_load_close(&ld);
	if (err) {
		vm_destroy(vm);
		uffd_backend_close(&ctl->uffd);
		ctl->cfg = fresh;
		return err;
	}
	err = control_launch(ctl, true);
	if (err) {
		if (ctl->state == CONTROL_NOT_STARTED) {
			uffd_backend_close(&ctl->uffd);
			ctl->cfg = fresh;
		}
		return err;
	}
	log_info("restored the VM from '%s'%s%s", p->state_path,
		 p->uffd_path ? ", its memory from page server " : "",
		 p->uffd_path ? p->uffd_path : "");
	if (resume) {
		vm_resume(vm);
		ctl->state = CONTROL_RUNNING;
	}
	return 0;

fail:
	snapshot_load_close(&ld);
	uffd_backend_close(&ctl->uffd);
	ctl->cfg = fresh;
	return err;
}

void control_api_snapshot_create(struct control *ctl, const struct snapshot_create_req *r,
				 struct api_result *res)
{
	uint64_t t0 = now_us(), t1;
	char msg[API_FAULT_MAX];
	int err;

	if (r->diff && !ctl->dirty) {
		/* Firecracker's words: there is nothing to take a diff from. */
		api_fault(res, "Diff snapshots are not allowed on uVMs with dirty page tracking "
			       "disabled.");
		return;
	}
	if (ctl->state != CONTROL_PAUSED) {
		/* Firecracker's words for a VM that runs. */
		api_fault(res,
			  "Create snapshot error: Cannot save the microVM state: Operation not "
			  "allowed: save/restore unavailable while running");
		return;
	}
	log_capture(msg, sizeof(msg));
	t1 = now_us();
	/* With tracking, every snapshot (Full or Diff) restarts the dirty
	 * set: the pages dirtied so far are collected into ctl->dirty, which
	 * keeps them until a snapshot is written (a failed one leaves them
	 * for the next). */
	err = ctl->dirty ? vm_dirty_collect(&ctl->vm, ctl->dirty) : 0;
	if (!err)
		err = snapshot_create(&ctl->vm, &ctl->cfg, r->state, r->mem,
				      r->diff ? ctl->dirty : NULL);
	t1 = now_us() - t1;
	log_capture(NULL, 0);
	if (err) {
		api_fault(res, "Create snapshot error: %s", msg[0] ? msg : strerror(-err));
		return;
	}
	if (ctl->dirty)
		memset(ctl->dirty, 0, (size_t)((vm_dirty_pages(&ctl->vm) + 63) / 64) * 8);
	log_info("%s snapshot of the VM in '%s' and '%s'", r->diff ? "diff" : "full", r->state,
		 r->mem);
	if (r->diff) {
		ctl->obs.vmm_diff_create_us = t1;
		ctl->obs.diff_create_us = now_us() - t0;
	} else {
		ctl->obs.vmm_snap_create_us = t1;
		ctl->obs.snap_create_us = now_us() - t0;
	}
	res->status = 204;
}

void control_api_snapshot_load(struct control *ctl, const struct snapshot_load_req *r,
			       struct api_result *res)
{
	static struct snapshot_load_params p; /* large: not on the stack */
	uint64_t t0 = now_us(), t1;
	char msg[API_FAULT_MAX];
	int err;

	if (ctl->boot_configured) {
		api_fault(res, "Load snapshot error: Loading a microVM snapshot not allowed after "
			       "configuring boot-specific resources.");
		return;
	}
	p = (struct snapshot_load_params){ .state_path = r->state,
					   .mem_path = r->uffd ? NULL : r->mem,
					   .uffd_path = r->uffd ? r->mem : NULL,
					   .nnet = r->nnet,
					   .clock_realtime = r->clock_realtime,
					   /* Not part of the snapshot (Firecracker's
					    * rule): from the request. */
					   .track = r->track_dirty_pages ? SNAPSHOT_TRACK_ON
									 : SNAPSHOT_TRACK_OFF };
	for (unsigned int i = 0; i < r->nnet && i < CONFIG_MAX_NETS; i++) {
		memcpy(p.net[i].id, r->net[i].id, sizeof(p.net[i].id));
		memcpy(p.net[i].tap, r->net[i].tap, sizeof(p.net[i].tap));
	}
	memcpy(p.vsock_uds, r->vsock_uds, sizeof(p.vsock_uds));
	log_capture(msg, sizeof(msg));
	t1 = now_us();
	err = control_restore(ctl, &p, r->resume);
	t1 = now_us() - t1;
	log_capture(NULL, 0);
	if (err) {
		api_fault(res, "Load snapshot error: %s", msg[0] ? msg : strerror(-err));
		return;
	}
	ctl->obs.vmm_snap_load_us = t1;
	ctl->obs.snap_load_us = now_us() - t0;
	res->status = 204;
}
