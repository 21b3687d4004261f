/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: the KVM handles, guest memory, the two buses, the
 * vCPUs and the lifecycle. Everything hangs off struct vm; there are no
 * global singletons.
 */
#ifndef PETREL_VMM_H
#define PETREL_VMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bus.h"
#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"

/* Exit statuses of `petrel run` (documented in README and --help). */
enum vm_status {
	VM_STATUS_OFF = 0,	    /* guest powered off or rebooted */
	VM_STATUS_ERROR = 1,	    /* bad input, host error */
	VM_STATUS_USAGE = 2,	    /* malformed command line */
	VM_STATUS_TRIPLE_FAULT = 3, /* KVM_EXIT_SHUTDOWN */
	VM_STATUS_KVM_ERROR = 4,    /* internal error, emulation failure, failed entry */
	VM_STATUS_PANIC = 5,	    /* guest reported a panic (pvpanic) */
	VM_STATUS_SIGNAL = 128,	    /* + N: stopped by host signal N */
};

struct vcpu;
struct console;
struct ioapic;
struct virtio_mmio;
struct api;

#define VM_MAX_VIRTIO 16 /* = PETREL_VIRTIO_MMIO_SLOTS */

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int run_size;	       /* size of each vCPU's kvm_run mapping */
	bool emulated_host;    /* KVM runs guest CPL0 in its instruction emulator */
	struct timespec start; /* petrel's start, for the boot timer */

	struct gm gm;
	struct bus pio;
	struct bus mmio;
	struct evloop ev;

	struct vcpu *vcpu;
	unsigned int ncpus;

	struct console *console; /* the terminal side of COM1 */
	struct ioapic *ioapic;	 /* the userspace half of the split irqchip */
	struct virtio_mmio *virtio[VM_MAX_VIRTIO];
	unsigned int nvirtio;
	struct api *api; /* --api, or NULL */
	void *owned[16]; /* device state freed with the VM */
	unsigned int nowned;
	int sig_fd; /* signalfd: SIGINT, SIGTERM, SIGHUP stop the VM */

	/* Lifecycle: the first vm_stop wins and sets the status. */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int status;
};

/* Build a VM from cfg: open KVM, map RAM, create devices and vCPUs, load
 * the kernel. On error prints one line naming the problem and returns
 * -errno; *vm is then fully torn down. */
int vm_create(struct vm *vm, const struct vm_config *cfg) MUST_CHECK;

/* Start the vCPU threads, run the event loop on the calling thread until
 * the VM stops, join every vCPU. Returns the exit status (enum vm_status
 * or a test guest's exit-port value). */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Ask the VM to stop with `status`; `why` is logged unless NULL. The
 * first call decides the status; later ones are ignored. Safe from any
 * thread, never blocks on a vCPU. */
void vm_stop(struct vm *vm, int status, const char *why);

static inline bool vm_stopping(const struct vm *vm)
{
	return atomic_load_explicit(&vm->stopping, memory_order_acquire);
}

/* Drive I/O APIC pin `irq`. Implemented by the machine
 * (arch/x86/machine.c). Errors are logged; a lost edge is not fatal. */
void vm_irq_line(struct vm *vm, unsigned int irq, bool level);

/* Free `p` when the VM is destroyed. 0, or -ENOMEM (then `p` is freed
 * now). */
int vm_own(struct vm *vm, void *p) MUST_CHECK;

/* Microseconds since petrel started. */
uint64_t vm_uptime_us(const struct vm *vm);

#endif
