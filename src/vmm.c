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
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/host.h"
#include "arch/x86/machine.h"
#include "check.h"
#include "api.h"
#include "console.h"
#include "sandbox/seccomp.h"
#include "size.h"
#include "vcpu.h"
#include "virtio/devices.h"

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
		atomic_store_explicit(&vm->stopping, true, memory_order_release);
		for (unsigned int i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpu[i]);
		evloop_wake(&vm->ev);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

/* Two --disk options naming one file or block device (by identity, so a
 * symlink or a second device node counts) would each cache and write it
 * behind the other's back; only read-only ones may share. Paths that do
 * not stat are left to blk_io_open to report. */
static int vm_check_disks(const struct vm_config *cfg)
{
	struct stat st[CONFIG_MAX_DISKS];
	bool ok[CONFIG_MAX_DISKS];

	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		const struct disk_config *d = &cfg->disk[i];

		ok[i] = !stat(d->path, &st[i]);
		for (unsigned int j = 0; ok[i] && j < i; j++) {
			bool same =
			    S_ISBLK(st[i].st_mode)
				? S_ISBLK(st[j].st_mode) && st[i].st_rdev == st[j].st_rdev
				: st[i].st_dev == st[j].st_dev && st[i].st_ino == st[j].st_ino;

			if (ok[j] && same && !(d->read_only && cfg->disk[j].read_only)) {
				log_msg("disk '%s': the same file as disk '%s' (only read-only "
					"disks may share one)",
					d->path, cfg->disk[j].path);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int vm_check_config(const struct vm_config *cfg)
{
	struct sysinfo si;
	char mem[32];

	size_format(cfg->mem_size, mem, sizeof(mem));
	if (cfg->mem_size < CONFIG_MIN_MEM) {
		log_msg("--mem %s: guest RAM must be at least %llu MiB", mem, CONFIG_MIN_MEM >> 20);
		return -EINVAL;
	}
	if (cfg->mem_size % 4096) {
		log_msg("--mem %s: must be a multiple of 4 KiB", mem);
		return -EINVAL;
	}
	/* Guest RAM is mapped MAP_NORESERVE, so nothing else stops a guest
	 * from being given more than the host could ever back. */
	if (!sysinfo(&si) && cfg->mem_size / si.mem_unit > (uint64_t)si.totalram + si.totalswap) {
		log_msg("--mem %s: more than this host's %llu MiB of RAM and swap", mem,
			(unsigned long long)(((uint64_t)si.totalram + si.totalswap) * si.mem_unit >>
					     20));
		return -EINVAL;
	}
	return vm_check_disks(cfg);
}

static int vm_map_ram(struct vm *vm)
{
	int err = gm_init(&vm->gm, vm->cfg->mem_size);

	if (err) {
		log_msg("cannot map %llu MiB of guest RAM: %s",
			(unsigned long long)(vm->cfg->mem_size >> 20), strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < vm->gm.nregions; i++) {
		const struct gm_region *r = &vm->gm.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->base,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot)) {
			err = -errno;
			log_msg("KVM refused %llu MiB of guest RAM: %s",
				(unsigned long long)(r->size >> 20), strerror(errno));
			return err;
		}
	}
	return 0;
}

/* SIGINT, SIGTERM and SIGHUP arrive through a signalfd in the event loop,
 * so they stop the VM cleanly (terminal restored) instead of killing us. */
static void vm_on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;
	char why[64];

	(void)events;
	if (read(vm->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	snprintf(why, sizeof(why), "stopped by signal %s", sigabbrev_np((int)si.ssi_signo));
	vm_stop(vm, VM_STATUS_SIGNAL + (int)si.ssi_signo, why);
}

static int vm_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any vCPU thread exists, so every thread inherits it. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	vm->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (vm->sig_fd < 0)
		return -errno;
	return evloop_add(&vm->ev, vm->sig_fd, EPOLLIN, vm_on_signal, vm);
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct host_info host;
	int err, max_cpus;

	*vm = (struct vm){ .cfg = cfg, .kvm_fd = -1, .vm_fd = -1, .sig_fd = -1 };
	clock_gettime(CLOCK_MONOTONIC, &vm->start);
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->ev.epfd = vm->ev.wake_fd = -1;
	err = vm_check_config(cfg);
	if (err)
		return err;
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
		log_msg("--cpus %u: this host's KVM allows at most %d", cfg->cpus, max_cpus);
		err = -EINVAL;
		goto err;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vm_fd < 0 || vm->run_size <= 0) {
		err = -errno;
		log_msg("KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	err = vm_map_ram(vm);
	if (err)
		goto err;
	err = evloop_init(&vm->ev);
	if (!err)
		err = vm_signals(vm);
	if (err) {
		log_msg("event loop: %s", strerror(-err));
		goto err;
	}
	err = machine_create(vm);
	if (!err && cfg->api) {
		struct virtio_dev *balloon = virtio_devices_find(vm, VIRTIO_ID_BALLOON);

		err = api_create(&vm->api, vm, cfg->api, balloon ? &api_virtio_balloon : NULL,
				 balloon);
	}
	if (err)
		goto err;
	vm->vcpu = calloc(cfg->cpus, sizeof(*vm->vcpu));
	if (!vm->vcpu) {
		err = -ENOMEM;
		goto err;
	}
	for (; vm->ncpus < cfg->cpus; vm->ncpus++) {
		err = vcpu_create(&vm->vcpu[vm->ncpus], vm, vm->ncpus);
		if (err) {
			log_msg("creating vCPU %u: %s", vm->ncpus, strerror(-err));
			goto err;
		}
	}
	err = machine_init_vcpus(vm);
	if (!err)
		err = boot_vm(vm);
	if (err)
		goto err;
	return 0;

err:
	vm_destroy(vm);
	return err;
}

/* The first threads start here, not in vm_create: a jail entered between
 * the two (src/sandbox/jail.h) then covers every thread. The seccomp
 * filters go on in order: the block workers', each vCPU's as its thread
 * starts, then this thread's, last, because a thread inherits the filter
 * of the thread that creates it. */
int vm_run(struct vm *vm)
{
	struct sandbox_filter filter[SANDBOX_NROLES];
	int err = 0, built;

	/* Compiling a filter takes 25-120 us: none for block workers that do
	 * not exist. */
	for (built = 0; !err && built < SANDBOX_NROLES; built++)
		err = sandbox_build(&filter[built], (enum sandbox_role)built,
				    !vm->cfg->no_seccomp &&
					(built != SANDBOX_BLK_IO || vm->cfg->ndisks > 0));
	if (err)
		built--;
	if (!err)
		err = virtio_devices_start(vm);
	if (!err)
		err = virtio_devices_sandbox(vm, &filter[SANDBOX_BLK_IO]);
	if (!err)
		err = vcpu_signals_init();
	for (unsigned int i = 0; !err && i < vm->ncpus; i++) {
		vm->vcpu[i].filter = &filter[SANDBOX_VCPU];
		err = vcpu_start(&vm->vcpu[i]);
		if (err)
			log_msg("starting vCPU threads: %s", strerror(-err));
	}
	if (!err) {
		err = sandbox_install(&filter[SANDBOX_VMM]);
		if (err)
			log_msg("seccomp filter: %s", strerror(-err));
	}
	if (err)
		vm_stop(vm, VM_STATUS_ERROR, NULL);
	evloop_run(&vm->ev, &vm->stopping);
	vcpu_join_all(vm->vcpu, vm->ncpus);
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	while (built-- > 0)
		sandbox_free(&filter[built]);
	return vm->status;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	free(vm->vcpu);
	vm->vcpu = NULL;
	vm->ncpus = 0;
	api_destroy(vm->api);
	vm->api = NULL;
	console_destroy(vm->console);
	vm->console = NULL;
	machine_destroy(vm);
	for (unsigned int i = 0; i < vm->nowned; i++)
		free(vm->owned[i]);
	vm->nowned = 0;
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->sig_fd >= 0)
		close(vm->sig_fd);
	evloop_destroy(&vm->ev);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	gm_destroy(&vm->gm);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->sig_fd = vm->vm_fd = vm->kvm_fd = -1;
	pthread_mutex_destroy(&vm->stop_lock);
}
