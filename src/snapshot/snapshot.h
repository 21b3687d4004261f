/* SPDX-License-Identifier: MIT */
/*
 * Full snapshots of a VM (docs/snapshot.md): the state file (the
 * container of snapshot/file.h: sections "config", "vm", "vcpu.0" ..
 * "vcpu.N-1", then one per device of the registry that has state) and
 * the memory file (guest RAM as it is, sparse: all-zero pages are holes).
 *
 * Create writes both files through temporary files in their directories,
 * renamed over the final names only once both are whole: a failure never
 * leaves a half file under either name (nor changes the files a restored
 * VM maps: those keep their old inodes).
 *
 * Load is in three steps around the building of the VM, which the caller
 * drives (control_snapshot.c) as it does for a boot:
 *   snapshot_load_open  - read and check the state file whole, the
 *                         configuration in it and the memory file's size;
 *                         nothing built yet;
 *   vm_create(ld.mem_fd) -> board -> vCPUs with their CPUID -> (no kernel)
 *   snapshot_load_state - every vCPU's and device's section into the VM
 *                         (the devices paused first: vm_pause_devices);
 *                         a section no one read is refused;
 *   vm_start_paused -> vm_resume (if asked)
 * and snapshot_load_close after. Nothing on that path is proportional to
 * guest RAM: the memory file is mapped, not read.
 *
 * Errors: 0 or -errno after one log_msg line naming the file and the
 * problem ("snapshot '/x/vm.state': section 'vcpu.1': MSR 0x10 given
 * twice"). VMM thread.
 */
#ifndef PETREL_SNAPSHOT_SNAPSHOT_H
#define PETREL_SNAPSHOT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "snapshot/file.h"

struct vm;

/* Layout versions of petrel's own sections. */
#define SNAPSHOT_CONFIG_VERSION 1
#define SNAPSHOT_VM_VERSION 1

/* Write the paused VM `vm` (configured as `cfg`) to `state_path` and
 * `mem_path` (created or replaced). With `dirty` (vm_dirty_pages(vm)
 * bits, dirty.h) a diff snapshot: the memory file holds only those pages
 * (memfile.h); the state file is the same as a full one's. */
int snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		    const char *mem_path, const uint64_t *dirty) MUST_CHECK;

/* The paused VM's state container (what snapshot_create writes to the
 * state file) into a malloc'd buffer (*buf, *len), for a live
 * migration's STATE record. 0 or -errno after one line. */
int snapshot_save_state(struct vm *vm, const struct vm_config *cfg, uint8_t **buf,
			size_t *len) MUST_CHECK;

/* A network interface's new host tap (Firecracker's network_overrides). */
struct snapshot_net_override {
	char id[CONFIG_ID_MAX];
	char tap[CONFIG_IFNAME_MAX];
};

struct snapshot_load_params {
	const char *state_path; /* the state file, or what names state_buf in messages */
	const char *mem_path;	/* the memory file (File backend); NULL with uffd_path */
	const char *uffd_path;	/* Uffd backend: the page server's socket; NULL: File */
	/* A live migration's target: the state container already in memory
	 * (state_buf, state_len; not a file) and the RAM in an fd of the
	 * memory file's layout (mem_fd, dup'd: the caller keeps its own;
	 * read only when state_buf is set). state_buf NULL: the files. */
	const uint8_t *state_buf;
	size_t state_len;
	int mem_fd;
	struct snapshot_net_override net[CONFIG_MAX_NETS];
	unsigned int nnet;
	char vsock_uds[CONFIG_UDS_MAX]; /* vsock_override's uds_path; "": none */
	bool clock_realtime;		/* the guest's clock catches up with the wall clock */
	/* Dirty-page tracking of the restored VM (for diff snapshots): the
	 * saved configuration's track_dirty_pages (`petrel run --restore`),
	 * or the load's (PUT /snapshot/load: Firecracker does not keep it). */
	enum { SNAPSHOT_TRACK_AS_SAVED, SNAPSHOT_TRACK_OFF, SNAPSHOT_TRACK_ON } track;
};

struct snapshot_load {
	struct snap_file file;
	int mem_fd; /* the memory file, for vm_create; -1 once closed or Uffd */
	uint64_t clock_ns, realtime_ns;
	bool clock_realtime;
	char path[CONFIG_PATH_MAX]; /* the state file, for messages */
};

/* Read, decode and check the state file p->state_path (or p->state_buf),
 * and open the memory file (or dup p->mem_fd). `cfg` holds the restoring process's own settings (logger,
 * metrics, jail, seccomp): they stay; everything else becomes the saved
 * VM's configuration, with p's overrides (each must name an interface or
 * a vsock device the VM has), judged by config_check. The vCPU count and
 * memory size of section "vm" must match it, the memory file's size too
 * (without p->mem_path, the Uffd backend, there is no file to open: its
 * page server has it).
 * On error nothing is left open and cfg is unchanged. */
int snapshot_load_open(struct snapshot_load *ld, const struct snapshot_load_params *p,
		       struct vm_config *cfg) MUST_CHECK;

/* Load every vCPU's section and every registered device's into `vm`
 * (built from the configuration snapshot_load_open gave, its vCPUs'
 * CPUID set, not started), set the clock its resume will set, and refuse
 * any section left over. On error the VM is half loaded: destroy it. */
int snapshot_load_state(struct snapshot_load *ld, struct vm *vm) MUST_CHECK;

/* Free what snapshot_load_open kept (idempotent). */
void snapshot_load_close(struct snapshot_load *ld);

/* The name of vCPU `id`'s section ("vcpu.3"). */
void snapshot_vcpu_section(unsigned int id, char name[SNAP_NAME_MAX]);

#endif
