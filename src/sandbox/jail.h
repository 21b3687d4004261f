/* SPDX-License-Identifier: MIT */
/*
 * The jail of `petrel run --jail DIR --uid N --gid N` and `petrel jail`:
 * namespaces, pivot_root into DIR, rlimits, a cgroup, an unprivileged uid
 * and gid, no capabilities. README "Jail" describes it for users.
 *
 * Two stages, because of two kernel facts:
 *  - KVM answers a VM's ioctls only in the process (mm) that created it
 *    (-EIO from a fork's child). Becoming PID 1 of a new pid namespace
 *    needs a fork, so jail_fork comes first, before /dev/kvm is opened.
 *  - unshare(CLONE_NEWNS) or (CLONE_NEWNET) in a multi-threaded process
 *    moves only the calling thread (measured on 6.18: the other threads
 *    keep the host's mount and network namespaces), and capabilities, the
 *    bounding set and no_new_privs are per thread. So jail_enter runs
 *    while petrel has exactly one thread; it checks.
 * And the tap device must be attached (TUNSETIFF) in the host's network
 * namespace, so the new one is made in jail_enter, after every fd is open.
 *
 *   jail_fork   (single-threaded, nothing open yet)
 *     checks: root, DIR a directory, uid and gid not 0
 *     cgroup: a child cgroup with memory.max and cpu.max, if cgroup v2
 *     unshare mount (made private), pid, ipc, uts; fork
 *     parent: waits, forwards SIGINT/SIGTERM/SIGHUP, removes the cgroup
 *     child (PID 1): joins the cgroup, closes inherited fds > 2
 *   vm_create   (opens /dev/kvm, disks, tap, sockets; starts no thread)
 *   jail_enter  (single-threaded)
 *     unshare network; bind DIR on itself, the vsock socket directory
 *     inside it, read-only, nosuid, nodev; pivot_root; old root detached
 *     rlimits; bounding and ambient caps dropped; setgroups, setresgid,
 *     setresuid; no capabilities left; no_new_privs
 *   vm_run      (starts every thread: all inherit the jail)
 */
#ifndef PETREL_SANDBOX_JAIL_H
#define PETREL_SANDBOX_JAIL_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

/* memory.max for `mem` bytes of guest RAM: see jail.c. */
#define JAIL_MEM_MAX(mem) ((mem) + (mem) / 256 + (64ULL << 20))

#define JAIL_CHILD 256 /* jail_fork: this is the jailed child (no exit status) */

struct jail {
	const struct jail_config *cfg;
	char cgroup[640]; /* the VM's cgroup directory, "" if none */
	sigset_t mask;	  /* the signal mask before jail_fork */
	int parent_fd;	  /* child: a pipe the parent holds open */
};

/* Stage 1: checks, cgroup, namespaces, fork (see above). In the parent,
 * returns the child's exit status once it ended (128 + N if signal N
 * killed it); in the child, JAIL_CHILD. -errno after one line naming the
 * problem (the caller exits 1). `mem` (bytes of guest RAM) and `cpus` size
 * the cgroup. */
int jail_fork(struct jail *j, const struct jail_config *cfg, uint64_t mem,
	      unsigned int cpus) MUST_CHECK;

/* Stage 2, in the child, once every fd is open and while it is the only
 * thread: the rest of the jail (see above). `uds` is NULL or the absolute
 * path of a unix socket whose directory must stay reachable in the jail
 * (vsock connects to `<uds>_<port>` there): that directory is bind-mounted
 * read-only at the same path under DIR (which gets the missing directories
 * of that path). 0, or -errno after one line. */
int jail_enter(struct jail *j, const char *uds) MUST_CHECK;

/* `petrel jail`: restore the signal mask and exec cfg->argv (a path inside
 * DIR, or a name looked up in PATH there). Returns only on failure, after
 * one line. */
void jail_exec(struct jail *j);

#endif
