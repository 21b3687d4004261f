/* SPDX-License-Identifier: MIT */
/*
 * Seccomp filters, one per thread role (DESIGN contract 8). Every fd and
 * mapping is acquired in vm_create; vm_run compiles the filters (with
 * libseccomp, once) and each thread installs its role's filter before it
 * does anything a guest can drive: a vCPU before its first KVM_RUN, a
 * block worker before its first request, the main thread (the event loop)
 * once the other threads exist. Filters are per thread: a thread created
 * after one is installed would inherit it, so the main thread installs
 * last. A syscall outside the list kills the whole process with SIGSYS
 * (trapped first, so that petrel counts and logs it: metrics_signal.h).
 */
#ifndef PETREL_SANDBOX_SECCOMP_H
#define PETREL_SANDBOX_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>

#include "log.h"

enum sandbox_role {
	SANDBOX_VMM,	 /* main thread: the event loop, device backends, teardown */
	SANDBOX_VCPU,	 /* vCPU threads: KVM_RUN and the exits it dispatches */
	SANDBOX_BLK_IO,	 /* virtio-blk worker threads */
	SANDBOX_API,	 /* the REST API's thread */
	SANDBOX_MIGRATE, /* a live migration's sender (migrate/send.h) */
	SANDBOX_NROLES,
};

struct sandbox_filter {
	enum sandbox_role role;
	struct sock_fprog prog; /* len 0: no filter (--no-seccomp) */
	unsigned int nsyscalls; /* distinct syscalls allowed */
	/* PETREL_TEST_SECCOMP_VIOLATION named this role: after installing,
	 * the thread makes a forbidden syscall (test hook). */
	bool violate;
};

/* Compile role's filter into *f (enabled), or leave it empty (not
 * enabled); either way read the test hook's environment variable. 0, or
 * -errno after one message. Free with sandbox_free. */
int sandbox_build(struct sandbox_filter *f, enum sandbox_role role, bool enabled) MUST_CHECK;

void sandbox_free(struct sandbox_filter *f);

/* Install f on the calling thread (no_new_privs, then the filter); an
 * empty f installs nothing. Then, if f->violate, make the forbidden
 * syscall. Makes no allocation. 0 or -errno. */
int sandbox_install(const struct sandbox_filter *f) MUST_CHECK;

/* "vmm", "vcpu", "blk-io", "api", "migrate". */
const char *sandbox_role_name(enum sandbox_role role);

#endif
