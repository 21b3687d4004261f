/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: each runs KVM_RUN and dispatches exits through a table.
 * A vCPU is stopped by setting run->immediate_exit and sending it
 * VCPU_KICK_SIGNAL, whose handler is empty: KVM_RUN then returns EINTR
 * whether the signal arrives inside KVM_RUN or just before it.
 */
#ifndef PETREL_VCPU_H
#define PETREL_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define VCPU_KICK_SIGNAL SIGUSR1

struct vm;
struct sandbox_filter;

struct vcpu {
	struct vm *vm;
	unsigned int id; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Installed by the thread before its first KVM_RUN; NULL: none. */
	const struct sandbox_filter *filter;
};

/* Create vCPU `id` (KVM_CREATE_VCPU, map kvm_run). 0 or -errno. */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id) MUST_CHECK;

/* Start the thread; it runs until the VM stops. 0 or -errno. */
int vcpu_start(struct vcpu *vcpu) MUST_CHECK;

/* Make a running vCPU leave KVM_RUN soon. Safe from any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* Once the VM is stopping: join the threads of vcpus[0..n), kicking
 * those left every 100 ms (a thread may be blocked in a device's write). */
void vcpu_join_all(struct vcpu *vcpus, unsigned int n);

/* Join the thread (if started), unmap and close. */
void vcpu_destroy(struct vcpu *vcpu);

/* The vCPU whose thread is calling, or NULL on other threads. Lets a
 * device handler name the vCPU that touched it in a diagnostic. */
struct vcpu *vcpu_current(void);

/* Install the empty VCPU_KICK_SIGNAL handler; once per process. */
int vcpu_signals_init(void) MUST_CHECK;

#endif
