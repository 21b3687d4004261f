/* SPDX-License-Identifier: MIT */
/*
 * The VMM thread's side of the control plane: it owns the event loop, the
 * configuration being built, the VM once it is started and the lifecycle
 * (Not started -> Running <-> Paused), and carries out actions one at a
 * time: those of the REST API (api/), and the start that the command line
 * or a config file asks for. Nothing here runs on another thread.
 */
#ifndef PETREL_CONTROL_H
#define PETREL_CONTROL_H

#include <stdbool.h>

#include "api/request.h"
#include "config.h"
#include "evloop.h"
#include "log.h"
#include "snapshot/uffd.h"
#include "migrate/send.h"
#include "vmm.h"

/* The Firecracker API level petrel serves (GET /version). */
#define CONTROL_API_VERSION "1.16.0"

struct jail;
struct api_server;
struct metrics;
struct metrics_out;

enum control_state {
	CONTROL_NOT_STARTED,
	CONTROL_RUNNING,
	CONTROL_PAUSED,
};

struct control_options {
	const char *id;	      /* --id */
	const char *api_sock; /* NULL: no API */
	size_t max_payload;
	struct jail *jail; /* entered between building the VM and starting it; NULL: none */
	uint64_t start_ns; /* CLOCK_MONOTONIC when main began (process_startup_time_us) */
};

/* The metrics file and its flushes (control_obs.c), and what the control
 * plane measures for them. */
struct control_obs {
	struct metrics *m; /* NULL until control_metrics_init */
	int fd;		   /* the metrics file or FIFO; -1: none */
	int timer_fd;	   /* the 60 s flush, armed when the VM starts */
	bool watched;	   /* fd (a FIFO) is in the event loop, for room */
	char *pending;	   /* the unwritten end of the last line (a full FIFO) */
	size_t pending_off, pending_len;
	uint64_t missed; /* lines not written (full FIFO, failed write) */
	uint64_t fails;	 /* of those, the ones that failed for another reason */
	/* The last pause and resume, in µs: the whole API action, and
	 * vm_pause / vm_resume within it (Firecracker's latencies_us); the
	 * same for the last full snapshot created and loaded. */
	uint64_t pause_us, resume_us, vmm_pause_us, vmm_resume_us;
	uint64_t snap_create_us, vmm_snap_create_us, snap_load_us, vmm_snap_load_us;
	uint64_t diff_create_us, vmm_diff_create_us; /* the last diff snapshot */
	/* From main's start to the API socket listening (or, without one,
	 * to the VM started): wall and the process's CPU time, in µs. */
	uint64_t startup_us, startup_cpu_us;
};

struct control {
	struct evloop ev;
	struct vm_config cfg; /* what the next start builds; the VM's own after */
	struct vm vm;	      /* valid from a successful start */
	enum control_state state;
	/* A boot-specific resource was configured through the API (boot
	 * source, machine, drives, interfaces, vsock, balloon, entropy): a
	 * snapshot may no longer be loaded (Firecracker's rule). */
	bool boot_configured;
	const char *id;
	struct control_options opt;
	int sig_fd; /* signalfd: SIGINT, SIGTERM, SIGHUP */
	int status; /* exit status once the loop has returned */
	struct api_server *api;
	bool api_running; /* its thread started (control_api_run) */
	struct sandbox_filter api_filter;
	struct control_obs obs;
	/* A VM restored through a page server (the Uffd backend): its uffd
	 * and socket, open for the VM's life, closed after its RAM. */
	struct uffd_backend uffd;
	/* Dirty-page tracking (track_dirty_pages) for diff snapshots: the
	 * pages dirtied since the last snapshot, boot or restore that a
	 * snapshot collected (vm_dirty_collect) but did not write yet (it
	 * failed); vm_dirty_pages bits. NULL: tracking is off. */
	uint64_t *dirty;
	/* Live migration's sender (control_migrate.c): started with the API. */
	struct mig_sender mig;
	bool mig_ok;
	bool mig_tracking; /* the migration turned dirty-page tracking on */
	struct sandbox_filter mig_filter;
	struct api_result *mig_res; /* PUT /migrate's answer, deferred */
	char mig_dest[MIGRATE_DEST_MAX];
};

/* Set up the event loop and the signals (blocked here, so every thread
 * inherits the mask, and read through a signalfd), the logger and the
 * metrics cfg asks for. `cfg` is copied. 0 or -errno after one message. */
int control_init(struct control *ctl, const struct vm_config *cfg,
		 const struct control_options *opt) MUST_CHECK;

/* Serve the REST API on opt->api_sock (after a jail, before the VMM
 * thread's seccomp filter: see control_start). 0 or -errno after one
 * message. */
int control_serve(struct control *ctl) MUST_CHECK;

/* InstanceStart: check the configuration, build the VM (KVM, RAM, board,
 * devices, vCPUs, kernel), enter the jail, start the API if it is not
 * running yet, start the VM's threads. 0, or -errno after one message
 * naming the problem; the VM is then torn down and the state stays Not
 * started (unless starting the threads failed: then the VM is stopping
 * with status 1). */
int control_start(struct control *ctl) MUST_CHECK;

/* What control_start does once the VM is built (control_snapshot.c's
 * restore too): bind the API, enter the jail, start the API's thread,
 * then the VM's threads, running or (paused) as vm_start_paused leaves
 * them. 0 or -errno after one message; before the VM's threads, the VM
 * is torn down. */
int control_launch(struct control *ctl, bool paused) MUST_CHECK;

/* Start dirty-page tracking of the VM built (not started yet) for diff
 * snapshots: everything clean, or, for a VM just `booted`, the pages its
 * boot wrote dirty (the first diff then holds all of its memory). 0 or
 * -errno after one message (tracking is then off). */
int control_dirty_start(struct control *ctl, bool booted) MUST_CHECK;

/* Restore the VM of a snapshot instead of booting one (the CLI's
 * --restore and PUT /snapshot/load): read and check the files, build the
 * VM with its RAM mapped from the memory file (or, with p->uffd_path,
 * anonymous and handed to that page server before anything touches it;
 * the server's exit then stops the VM with status 1), load its state,
 * launch it paused, and resume it if `resume`. 0, or -errno after one message (the
 * process is then as fresh as before, unless starting threads failed). */
struct snapshot_load_params;
int control_restore(struct control *ctl, const struct snapshot_load_params *p,
		    bool resume) MUST_CHECK;

/* `petrel run --incoming ADDR`: listen on ADDR (unix:PATH, tcp:HOST:PORT),
 * accept one source, receive its VM, build it as a restore does, and run
 * it once the source commits (docs/migration.md). 0, or -errno after one
 * line (sent to the source too): the process then has no VM running. */
int control_incoming(struct control *ctl, const char *addr) MUST_CHECK;

/* The migration sender's thread and its event-loop watch, if the API is
 * served (only PUT /migrate starts a migration); before the VMM thread's
 * seccomp filter. 0 or -errno after one line. Destroy: idempotent. */
int control_migrate_init(struct control *ctl) MUST_CHECK;
void control_migrate_destroy(struct control *ctl);

/* Run the event loop until the VM stops (or, before a start, a signal
 * comes). Returns petrel's exit status. */
int control_run(struct control *ctl);

/* Tear everything down (the API, the VM if it was built, the loop). */
void control_destroy(struct control *ctl);

/* Configure the logger as `l` says (nothing if it is not set), lines
 * naming instance `id`. 0 or -errno after one message. */
int control_logger(const struct logger_config *l, const char *id) MUST_CHECK;

/* The metrics of this process (control_obs.c): set up from cfg.metrics
 * (the file, and the timer of the 60 s flush), and torn down. 0 or
 * -errno after one message naming the file. */
int control_metrics_init(struct control *ctl) MUST_CHECK;
void control_metrics_destroy(struct control *ctl);

/* The VM is about to start: arm the 60 s flush (before the VMM thread's
 * seccomp filter, which has no timerfd_settime). */
void control_metrics_arm(struct control *ctl);

/* Write one metrics line now (the VM started, petrel is exiting). 0, or
 * -errno (the line is counted as missed). No file: 0. */
int control_metrics_flush(struct control *ctl);

/* petrel is ready to take work (the API listening, or the VM started):
 * the first call records process_startup_time_us. */
void control_metrics_ready(struct control *ctl);

/* Fill `m` with every counter of the process and the VM, if one runs
 * (control_metrics.c): the API's, the logger's, seccomp and signals, the
 * vCPUs', the registry's devices' and Firecracker's always-present
 * groups. */
void control_metrics_collect(struct control *ctl, struct metrics *m);

/* api_execute_fn: one API request (control_api.c). */
void control_api_execute(void *opaque, const struct api_request *r, struct api_result *res);

/* The actions control_api.c dispatches to (control_vm.c, control_obs.c). */
void control_api_start(struct control *ctl, struct api_result *res);
void control_api_pause(struct control *ctl, bool pause, struct api_result *res);
void control_api_ctrl_alt_del(struct control *ctl, struct api_result *res);
void control_api_patch_drive(struct control *ctl, const struct drive_patch *p, uint64_t present,
			     struct api_result *res);
void control_api_patch_net(struct control *ctl, const struct net_patch *p, uint64_t present,
			   struct api_result *res);
void control_api_balloon(struct control *ctl, const struct api_request *r, struct api_result *res);
void control_api_observe(struct control *ctl, const struct api_request *r, struct api_result *res);
void control_api_flush_metrics(struct control *ctl, struct api_result *res);
void control_api_prometheus(struct control *ctl, struct api_result *res);
void control_api_snapshot_create(struct control *ctl, const struct snapshot_create_req *r,
				 struct api_result *res);
void control_api_snapshot_load(struct control *ctl, const struct snapshot_load_req *r,
			       struct api_result *res);
void control_api_migrate(struct control *ctl, const struct migrate_req *r, struct api_result *res);

#endif
