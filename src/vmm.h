/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: the KVM handles, guest memory, the two buses, the
 * vCPUs, the device registry and the lifecycle. Everything hangs off
 * struct vm; there are no global singletons.
 *
 * The core knows no device: the board (arch/x86/machine.c) creates the
 * devices, which join vm->devices, and wires the interrupt controller
 * into vm->irq_line. Building a VM is a sequence its caller (control.c)
 * drives, because the board, the boot loader and the jail come between
 * the core's steps:
 *
 *   vm_create -> machine_create -> vm_create_vcpus -> machine_init_vcpus
 *   -> boot_vm -> (jail) -> vm_start ... vm_stop -> vm_finish -> vm_destroy
 */
#ifndef PETREL_VMM_H
#define PETREL_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "bus.h"
#include "config.h"
#include "device.h"
#include "evloop.h"
#include "log.h"
#include "mem.h"
#include "sandbox/seccomp.h"
#include "status.h"
#include "vcpu.h"

struct console;

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	bool emulated_host;    /* KVM runs guest CPL0 in its instruction emulator */
	struct timespec start; /* petrel's start, for the boot timer */

	struct gm gm;
	uint64_t *dirty_log; /* KVM_GET_DIRTY_LOG's buffer; non-NULL: tracking on (dirty.h) */
	struct bus pio;
	struct bus mmio;
	struct evloop *ev;    /* the VMM thread's loop; the caller's */
	unsigned int ev_mark; /* the loop's watches before this VM's */

	struct vcpu_env vcpu_env;
	struct vcpu *vcpu;
	unsigned int ncpus;

	struct device_list devices;
	unsigned int nvirtio; /* virtio-mmio slots in use (virtio/devices.c) */
	/* The board's interrupt controller (set by machine_create): drive
	 * I/O APIC pin `irq`. */
	void (*irq_line)(void *opaque, unsigned int irq, bool level);
	void *irq_opaque;
	struct console *console; /* COM1's host side, set by the board */
	void *owned[16];	 /* device state freed with the VM */
	unsigned int nowned;

	struct sandbox_filter filter[SANDBOX_NROLES];
	unsigned int nfilters; /* built by vm_start */

	/* Lifecycle: the first vm_stop wins and sets the status. */
	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	int status;
	bool started; /* vm_start ran */
	bool paused;  /* VMM thread only */
	bool clock_saved;
	struct kvm_clock_data paused_clock;
	uint64_t paused_realtime_ns; /* CLOCK_REALTIME when the clock stopped */
	uint64_t clock_realtime_ns;  /* the next resume adds the time since; 0: not */
};

/* Open KVM, create the VM, map its RAM, and prepare the vCPUs' shared
 * state; no device, no vCPU yet. RAM is anonymous (ram_fd -1) or the
 * first cfg->mem_size bytes of the regular file ram_fd, mapped private
 * (gm_init_file: the guest's writes never reach the file; the caller may
 * close ram_fd after). Watches added to `ev` from now on belong to this
 * VM. On error prints one line naming the problem and returns -errno;
 * *vm is then fully torn down. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct evloop *ev, int ram_fd) MUST_CHECK;

/* (Re-)register every RAM region with KVM as memslot i (its index in
 * vm->gm) with `flags` (0 or KVM_MEM_LOG_DIRTY_PAGES). 0 or -errno after
 * one message. */
int vm_set_ram_slots(struct vm *vm, uint32_t flags) MUST_CHECK;

/* Create cfg->cpus vCPUs (after the board's irqchip: KVM needs the split
 * irqchip enabled first). 0 or -errno after one message. */
int vm_create_vcpus(struct vm *vm) MUST_CHECK;

/* Start the VM: compile the seccomp filters, start the devices' threads
 * (vm->devices), then the vCPU threads, then install the VMM filter on
 * the calling thread. The first threads start here, not in vm_create: a
 * jail entered between the two (src/sandbox/jail.h) covers every thread.
 * 0, or -errno after one message (the VM is then stopping with status
 * 1). */
int vm_start(struct vm *vm) MUST_CHECK;

/* vm_start for a VM whose state was loaded rather than booted: the
 * devices start paused and every vCPU parks before it first enters the
 * guest, as if vm_pause had run; vm_resume lets them go. */
int vm_start_paused(struct vm *vm) MUST_CHECK;

/* Before vm_start_paused: pause every device now, as vm_pause would (a
 * device's state is loaded only while it is paused: device_ops.snapshot);
 * vm_start_paused then starts them paused without pausing them again.
 * Nothing if the VM has started or is paused already. */
void vm_pause_devices(struct vm *vm);

/* The kvm-clock value (ns) the next vm_resume sets, for a VM whose state
 * was loaded, and realtime_ns, the host's CLOCK_REALTIME when the guest's
 * clock read clock_ns (as vm_pause records them). With catch_up, that
 * resume adds the wall time since (Firecracker's clock_realtime), once. */
void vm_set_paused_clock(struct vm *vm, uint64_t clock_ns, uint64_t realtime_ns, bool catch_up);

/* Park every vCPU (vcpu_pause_all), quiesce every device, and stop the
 * guest's kvm-clock. VMM thread. 0, or -errno after one message (the VM
 * is then running as before). */
int vm_pause(struct vm *vm) MUST_CHECK;

/* Undo vm_pause: the kvm-clock goes on from where it stopped, devices
 * deliver what they held, vCPUs run. VMM thread. */
void vm_resume(struct vm *vm);

/* Ask the VM to stop with `status`; `why` is logged unless NULL. The
 * first call decides the status; later ones are ignored. Makes the event
 * loop return. Safe from any thread, never blocks on a vCPU. */
void vm_stop(struct vm *vm, int status, const char *why);

static inline bool vm_stopping(const struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

/* Once the event loop has returned: join every vCPU. Returns the exit
 * status (enum vm_status or a test guest's exit-port value). */
int vm_finish(struct vm *vm);

/* Tear down what vm_create and the board built, in reverse order, and
 * forget the VM's event-loop watches. The loop itself stays. */
void vm_destroy(struct vm *vm);

/* Drive I/O APIC pin `irq` through the board's interrupt controller.
 * Errors are logged there; a lost edge is not fatal. */
static inline void vm_irq_line(struct vm *vm, unsigned int irq, bool level)
{
	if (vm->irq_line)
		vm->irq_line(vm->irq_opaque, irq, level);
}

/* Free `p` when the VM is destroyed. 0, or -ENOMEM (then `p` is freed
 * now). */
int vm_own(struct vm *vm, void *p) MUST_CHECK;

/* Microseconds since petrel started. */
uint64_t vm_uptime_us(const struct vm *vm);

#endif
