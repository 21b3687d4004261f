/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: each runs KVM_RUN and dispatches exits through a table.
 * A vCPU is made to leave KVM_RUN by setting run->immediate_exit and
 * sending it VCPU_KICK_SIGNAL, whose handler is empty: KVM_RUN then
 * returns EINTR whether the signal arrives inside KVM_RUN or just before.
 *
 * The vCPUs know nothing of struct vm: what they share with it is a
 * struct vcpu_env (buses, guest memory, the stop flag, two calls back
 * into the VM), so the core's layering stays one-way (vmm -> vcpu).
 */
#ifndef PETREL_VCPU_H
#define PETREL_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "log.h"
#include "mem.h"

#define VCPU_KICK_SIGNAL SIGUSR1

struct sandbox_filter;

/* What a VM's vCPUs share; owned by the VM, filled before vcpu_create. */
struct vcpu_env {
	int run_size; /* size of each vCPU's kvm_run mapping */
	bool emulated_host;
	struct bus *pio, *mmio;
	const struct gm *gm;
	const atomic_bool *stopping;
	/* Stop the VM with `status` (vm_stop); `why` is logged unless NULL. */
	void (*stop)(void *opaque, int status, const char *why);
	void *opaque;
	/* A local APIC's EOI of a level-triggered vector
	 * (KVM_EXIT_IOAPIC_EOI), for the irqchip; NULL: ignored. */
	void (*eoi)(void *eoi_opaque, uint8_t vector);
	void *eoi_opaque;

	/* Pause: vcpu_pause_all sets `pause` and kicks; each running vCPU
	 * finishes its current exit, parks, and the last one to park signals
	 * `cond`. All under `lock`. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool pause;
	unsigned int running; /* started threads that have not exited */
	unsigned int parked;
};

/* Exit counters, by what the guest did. Written by the vCPU's thread
 * only, read by others (relaxed: each is a statistic on its own). */
enum vcpu_stat {
	VCPU_STAT_IO_IN,
	VCPU_STAT_IO_OUT,
	VCPU_STAT_MMIO_READ,
	VCPU_STAT_MMIO_WRITE,
	VCPU_STAT_HLT,
	VCPU_STAT_IOAPIC_EOI,
	VCPU_STAT_SYSTEM_EVENT,
	VCPU_STAT_SHUTDOWN,
	VCPU_STAT_ASSISTED, /* emulation failures petrel completed (assist.h) */
	VCPU_STAT_FAILURES, /* exits that stopped the VM with an error */
	VCPU_STAT_SIGNALS,  /* KVM_RUN interrupted by a kick or a signal */
	/* Guest errors: an access no device claims (ignored, reads as 0). */
	VCPU_STAT_UNHANDLED_IO,
	VCPU_STAT_UNHANDLED_MMIO,
	VCPU_STAT_NR,
};

struct vcpu {
	struct vcpu_env *env;
	unsigned int id; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Installed by the thread before its first KVM_RUN; NULL: none. */
	const struct sandbox_filter *filter;
	_Atomic uint64_t stat[VCPU_STAT_NR];
};

/* The counter's metric name: Firecracker's "exit_io_in", "exit_mmio_write",
 * "failures", and petrel's own in the same style. */
const char *vcpu_stat_name(enum vcpu_stat s);

/* Set up env's pause state (lock, condition). 0 or -errno. */
int vcpu_env_init(struct vcpu_env *env) MUST_CHECK;
void vcpu_env_destroy(struct vcpu_env *env);

/* Create vCPU `id` of the VM `vm_fd` (KVM_CREATE_VCPU, map kvm_run). 0 or
 * -errno. */
int vcpu_create(struct vcpu *vcpu, struct vcpu_env *env, int vm_fd, unsigned int id) MUST_CHECK;

/* Start the thread; it runs until the VM stops. 0 or -errno. */
int vcpu_start(struct vcpu *vcpu) MUST_CHECK;

/* Make a running vCPU leave KVM_RUN soon. Safe from any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* Park every started vCPU of vcpus[0..n) outside KVM_RUN, its last exit
 * completed (a KVM_RUN with immediate_exit set finishes an emulated
 * instruction's in-kernel part, so the registers are whole). Waits at
 * most `timeout_ms`; 0, or -ETIMEDOUT (then none stays parked: a vCPU
 * blocked elsewhere, e.g. in a write to a stdout nobody drains, cannot be
 * stopped, and the others are let go again). Call from one thread. */
int vcpu_pause_all(struct vcpu *vcpus, unsigned int n, unsigned int timeout_ms) MUST_CHECK;

/* Let parked vCPUs run again. */
void vcpu_resume_all(struct vcpu *vcpus, unsigned int n);

/* Wake parked vCPUs so they see the stop flag (vm_stop). */
void vcpu_wake_all(struct vcpu_env *env);

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

/* Print the one-screen report of a vCPU that stopped the VM (diag.h). */
void vcpu_dump(struct vcpu *vcpu, const char *what);

#endif
