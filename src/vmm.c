/* SPDX-License-Identifier: MIT */
#include "vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <unistd.h>

#include "arch/x86/host.h"
#include "check.h"
#include "size.h"

uint64_t vm_uptime_us(const struct vm *vm)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - vm->start.tv_sec) * 1000000LL +
			  (now.tv_nsec - vm->start.tv_nsec) / 1000);
}

int vm_own(struct vm *vm, void *p)
{
	if (vm->nowned == ARRAY_SIZE(vm->owned)) {
		free(p);
		return -ENOMEM;
	}
	vm->owned[vm->nowned++] = p;
	return 0;
}

void vm_stop(struct vm *vm, int status, const char *why)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!vm_stopping(vm)) {
		vm->status = status;
		if (why)
			log_msg("%s", why);
		/* Before the kicks (see vcpu_park). */
		atomic_store(&vm->stopping, true);
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpu[i]);
		vcpu_wake_all(&vm->vcpu_env);
		evloop_quit(vm->ev);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

static void vm_stop_from_vcpu(void *opaque, int status, const char *why)
{
	vm_stop(opaque, status, why);
}

int vm_set_ram_slots(struct vm *vm, uint32_t flags)
{
	for (unsigned int i = 0; i < vm->gm.nregions; i++) {
		const struct gm_region *r = &vm->gm.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = flags,
			.guest_phys_addr = r->base,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot)) {
			int err = -errno;

			log_msg("KVM refused %llu MiB of guest RAM%s: %s",
				(unsigned long long)(r->size >> 20),
				flags & KVM_MEM_LOG_DIRTY_PAGES ? " with dirty logging" : "",
				strerror(errno));
			return err;
		}
	}
	return 0;
}

static int vm_map_ram(struct vm *vm, int ram_fd)
{
	int err = gm_init_file(&vm->gm, vm->cfg->mem_size, ram_fd);

	if (err) {
		log_msg("cannot map %llu MiB of guest RAM: %s",
			(unsigned long long)(vm->cfg->mem_size >> 20), strerror(-err));
		return err;
	}
	return vm_set_ram_slots(vm, 0);
}

int vm_create(struct vm *vm, const struct vm_config *cfg, struct evloop *ev, int ram_fd)
{
	struct host_info host;
	int err, max_cpus, run_size;

	*vm = (struct vm){ .cfg = cfg, .kvm_fd = -1, .vm_fd = -1, .ev = ev };
	vm->ev_mark = evloop_mark(ev);
	clock_gettime(CLOCK_MONOTONIC, &vm->start);
	pthread_mutex_init(&vm->stop_lock, NULL);
	err = vcpu_env_init(&vm->vcpu_env);
	if (err) {
		pthread_mutex_destroy(&vm->stop_lock);
		return err;
	}
	vm->kvm_fd = kvm_open();
	if (vm->kvm_fd < 0) {
		err = vm->kvm_fd;
		goto err;
	}
	err = kvm_require_caps(vm->kvm_fd);
	if (err)
		goto err;
	host_probe(&host);
	vm->emulated_host = host_emulates_cpl0(&host);
	max_cpus = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_cpus > 0 && cfg->cpus > (unsigned int)max_cpus) {
		log_msg("vCPU count %u: this host's KVM allows at most %d", cfg->cpus, max_cpus);
		err = -EINVAL;
		goto err;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vm_fd < 0 || run_size <= 0) {
		err = -errno;
		log_msg("KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	err = vm_map_ram(vm, ram_fd);
	if (err)
		goto err;
	vm->vcpu_env.run_size = run_size;
	vm->vcpu_env.emulated_host = vm->emulated_host;
	vm->vcpu_env.pio = &vm->pio;
	vm->vcpu_env.mmio = &vm->mmio;
	vm->vcpu_env.gm = &vm->gm;
	vm->vcpu_env.stopping = &vm->stopping;
	vm->vcpu_env.stop = vm_stop_from_vcpu;
	vm->vcpu_env.opaque = vm;
	return 0;

err:
	vm_destroy(vm);
	return err;
}

int vm_create_vcpus(struct vm *vm)
{
	vm->vcpu = calloc(vm->cfg->cpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return -ENOMEM;
	for (; vm->ncpus < vm->cfg->cpus; vm->ncpus++) {
		int err = vcpu_create(&vm->vcpu[vm->ncpus], &vm->vcpu_env, vm->vm_fd, vm->ncpus);

		if (err) {
			log_msg("creating vCPU %u: %s", vm->ncpus, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* How long a pause waits for the vCPUs: they leave KVM_RUN within
 * microseconds of a kick, unless one is blocked writing guest output to
 * a stdout nobody drains. */
#define VM_PAUSE_TIMEOUT_MS 1000

/* The seccomp filters go on in order: the block workers', each vCPU's as
 * its thread starts, then this thread's, last, because a thread inherits
 * the filter of the thread that creates it. With `paused`, the devices
 * are paused and the vCPUs park before their first KVM_RUN. */
static int vm_start_threads(struct vm *vm, bool paused)
{
	bool want_workers = device_find(&vm->devices, "block", NULL) != NULL;
	int err = 0;

	vm->started = true;
	/* Compiling a filter takes 25-120 us: none for block workers that do
	 * not exist. */
	/* The VM's roles; the API's thread has its own (control.c). */
	for (; !err && vm->nfilters <= SANDBOX_BLK_IO; vm->nfilters++)
		err = sandbox_build(&vm->filter[vm->nfilters], (enum sandbox_role)vm->nfilters,
				    !vm->cfg->no_seccomp &&
					(vm->nfilters != SANDBOX_BLK_IO || want_workers));
	if (err)
		vm->nfilters--;
	if (!err)
		err = device_start_all(&vm->devices, &vm->filter[SANDBOX_BLK_IO]);
	if (!err)
		err = vcpu_signals_init();
	if (!err && paused) {
		/* Nothing has run yet: no guest, no event loop. The devices
		 * start quiet, as after vm_pause (if vm_pause_devices has not
		 * paused them already), and the vCPUs see the pause flag
		 * before their first KVM_RUN. */
		if (!vm->paused)
			device_pause_all(&vm->devices);
		atomic_store(&vm->vcpu_env.pause, true);
		vm->paused = true;
	}
	for (unsigned int i = 0; !err && i < vm->ncpus; i++) {
		vm->vcpu[i].filter = &vm->filter[SANDBOX_VCPU];
		err = vcpu_start(&vm->vcpu[i]);
		if (err)
			log_msg("starting vCPU threads: %s", strerror(-err));
	}
	/* Parked for sure before anyone reads their state (a snapshot). */
	if (!err && paused)
		err = vcpu_pause_all(vm->vcpu, vm->ncpus, VM_PAUSE_TIMEOUT_MS);
	if (!err) {
		err = sandbox_install(&vm->filter[SANDBOX_VMM]);
		if (err)
			log_msg("seccomp filter: %s", strerror(-err));
	}
	if (err)
		vm_stop(vm, VM_STATUS_ERROR, NULL);
	return err;
}

int vm_start(struct vm *vm)
{
	return vm_start_threads(vm, false);
}

int vm_start_paused(struct vm *vm)
{
	return vm_start_threads(vm, true);
}

void vm_pause_devices(struct vm *vm)
{
	if (vm->started || vm->paused)
		return;
	device_pause_all(&vm->devices);
	vm->paused = true;
}

void vm_set_paused_clock(struct vm *vm, uint64_t clock_ns, uint64_t realtime_ns, bool catch_up)
{
	vm->paused_clock = (struct kvm_clock_data){ .clock = clock_ns };
	vm->clock_saved = true;
	vm->paused_realtime_ns = realtime_ns;
	vm->clock_realtime_ns = catch_up ? realtime_ns : 0;
}

int vm_pause(struct vm *vm)
{
	struct timespec now;
	int err;

	if (vm->paused)
		return 0;
	err = vcpu_pause_all(vm->vcpu, vm->ncpus, VM_PAUSE_TIMEOUT_MS);
	if (err) {
		log_msg("pause: a vCPU did not stop within %u ms (blocked writing guest output?)",
			VM_PAUSE_TIMEOUT_MS);
		return err;
	}
	device_pause_all(&vm->devices);
	/* The guest's kvm-clock stands still while paused (as QEMU and Cloud
	 * Hypervisor do): its monotonic time does not count the pause. The
	 * host's wall clock at that moment goes with it (a snapshot's). */
	vm->clock_saved = !ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->paused_clock);
	clock_gettime(CLOCK_REALTIME, &now);
	vm->paused_realtime_ns = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
	vm->clock_realtime_ns = 0;
	vm->paused = true;
	return 0;
}

void vm_resume(struct vm *vm)
{
	struct timespec now;
	uint64_t real;

	if (!vm->paused)
		return;
	if (vm->clock_saved) {
		struct kvm_clock_data c = { .clock = vm->paused_clock.clock };

		/* A restored clone asked to catch up with the wall clock
		 * (clock_realtime): the time since its snapshot is added, as
		 * KVM_CLOCK_REALTIME would, on any host. */
		clock_gettime(CLOCK_REALTIME, &now);
		real = (uint64_t)now.tv_sec * 1000000000 + (uint64_t)now.tv_nsec;
		if (vm->clock_realtime_ns && real > vm->clock_realtime_ns)
			c.clock += real - vm->clock_realtime_ns;
		vm->clock_realtime_ns = 0;
		if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &c))
			log_msg("resume: KVM_SET_CLOCK: %m");
	}
	device_resume_all(&vm->devices);
	vm->paused = false;
	vcpu_resume_all(vm->vcpu, vm->ncpus);
}

int vm_finish(struct vm *vm)
{
	vcpu_join_all(vm->vcpu, vm->ncpus);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	return vm->status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	free(vm->vcpu);
	vm->vcpu = NULL;
	vm->ncpus = 0;
	device_destroy_all(&vm->devices);
	for (unsigned int i = 0; i < vm->nowned; i++)
		free(vm->owned[i]);
	vm->nowned = 0;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	while (vm->nfilters > 0)
		sandbox_free(&vm->filter[--vm->nfilters]);
	evloop_forget(vm->ev, vm->ev_mark);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	free(vm->dirty_log);
	vm->dirty_log = NULL;
	gm_destroy(&vm->gm);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	vcpu_env_destroy(&vm->vcpu_env);
	pthread_mutex_destroy(&vm->stop_lock);
}
