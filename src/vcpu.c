/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/assist.h"
#include "arch/x86/diag.h"
#include "sandbox/seccomp.h"
#include "status.h"

enum exit_outcome {
	EXIT_CONTINUE,
	EXIT_STOP,
};

typedef enum exit_outcome (*exit_fn)(struct vcpu *vcpu);

static __thread struct vcpu *this_vcpu;

struct vcpu *vcpu_current(void)
{
	return this_vcpu;
}

static struct log_limit unhandled_pio_log = LOG_LIMIT_INIT(16);
static struct log_limit unhandled_mmio_log = LOG_LIMIT_INIT(16);

static const char *const stat_name[VCPU_STAT_NR] = {
	[VCPU_STAT_IO_IN] = "exit_io_in",
	[VCPU_STAT_IO_OUT] = "exit_io_out",
	[VCPU_STAT_MMIO_READ] = "exit_mmio_read",
	[VCPU_STAT_MMIO_WRITE] = "exit_mmio_write",
	[VCPU_STAT_HLT] = "exit_hlt",
	[VCPU_STAT_IOAPIC_EOI] = "exit_ioapic_eoi",
	[VCPU_STAT_SYSTEM_EVENT] = "exit_system_event",
	[VCPU_STAT_SHUTDOWN] = "exit_shutdown",
	[VCPU_STAT_ASSISTED] = "exit_emulation_assisted",
	[VCPU_STAT_FAILURES] = "failures",
	[VCPU_STAT_SIGNALS] = "run_interrupted",
	[VCPU_STAT_UNHANDLED_IO] = "unhandled_io",
	[VCPU_STAT_UNHANDLED_MMIO] = "unhandled_mmio",
};

const char *vcpu_stat_name(enum vcpu_stat s)
{
	return s < VCPU_STAT_NR ? stat_name[s] : "?";
}

static void vcpu_count(struct vcpu *vcpu, enum vcpu_stat s)
{
	atomic_fetch_add_explicit(&vcpu->stat[s], 1, memory_order_relaxed);
}

static void vcpu_stop(struct vcpu *vcpu, int status, const char *why)
{
	vcpu->env->stop(vcpu->env->opaque, status, why);
}

void vcpu_dump(struct vcpu *vcpu, const char *what)
{
	diag_dump(vcpu->fd, vcpu->id, vcpu->env->gm, what);
}

static void vcpu_fatal(struct vcpu *vcpu, int status, const char *what)
{
	vcpu_count(vcpu, VCPU_STAT_FAILURES);
	vcpu_dump(vcpu, what);
	vcpu_stop(vcpu, status, NULL);
}

static enum exit_outcome exit_io(struct vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint64_t bytes = (uint64_t)run->io.size * run->io.count;
	uint8_t *data = (uint8_t *)vcpu->run + run->io.data_offset;

	/* KVM fills these, but a bad offset would make us scribble past the
	 * kvm_run mapping: check once rather than trust. */
	if (run->io.data_offset > (uint64_t)vcpu->env->run_size ||
	    bytes > vcpu->env->run_size - run->io.data_offset) {
		vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, "KVM_EXIT_IO with a bad data offset");
		return EXIT_STOP;
	}
	vcpu_count(vcpu, is_write ? VCPU_STAT_IO_OUT : VCPU_STAT_IO_IN);
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (bus_access(vcpu->env->pio, run->io.port, data, run->io.size, is_write))
			continue;
		vcpu_count(vcpu, VCPU_STAT_UNHANDLED_IO);
		log_limited(&unhandled_pio_log,
			    "guest %s unhandled port 0x%x (%u bytes) on vCPU %u: ignored",
			    is_write ? "wrote" : "read", run->io.port, run->io.size, vcpu->id);
	}
	return EXIT_CONTINUE;
}

static enum exit_outcome exit_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, "KVM_EXIT_MMIO with a bad length");
		return EXIT_STOP;
	}
	vcpu_count(vcpu, run->mmio.is_write ? VCPU_STAT_MMIO_WRITE : VCPU_STAT_MMIO_READ);
	if (!bus_access(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, len,
			run->mmio.is_write)) {
		vcpu_count(vcpu, VCPU_STAT_UNHANDLED_MMIO);
		log_limited(&unhandled_mmio_log,
			    "guest %s unhandled MMIO 0x%llx (%u bytes) on vCPU %u: ignored",
			    run->mmio.is_write ? "wrote" : "read",
			    (unsigned long long)run->mmio.phys_addr, len, vcpu->id);
	}
	return EXIT_CONTINUE;
}

/* With the in-kernel irqchip KVM handles HLT itself; an HLT exit means a
 * vCPU halted with nothing that could wake it. */
static enum exit_outcome exit_hlt(struct vcpu *vcpu)
{
	vcpu_count(vcpu, VCPU_STAT_HLT);
	vcpu_stop(vcpu, VM_STATUS_OFF, "guest halted");
	return EXIT_STOP;
}

static enum exit_outcome exit_shutdown(struct vcpu *vcpu)
{
	vcpu_count(vcpu, VCPU_STAT_SHUTDOWN);
	vcpu_fatal(vcpu, VM_STATUS_TRIPLE_FAULT, "guest triple fault (KVM_EXIT_SHUTDOWN)");
	return EXIT_STOP;
}

static enum exit_outcome exit_fail_entry(struct vcpu *vcpu)
{
	char what[160];

	snprintf(what, sizeof(what),
		 "KVM could not enter the guest (KVM_EXIT_FAIL_ENTRY, reason 0x%llx)",
		 (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason);
	vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, what);
	return EXIT_STOP;
}

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	default:
		return "internal error";
	}
}

static enum exit_outcome exit_internal_error(struct vcpu *vcpu)
{
	uint32_t suberror = vcpu->run->internal.suberror;
	char what[160];

	if (suberror == KVM_INTERNAL_ERROR_EMULATION && vcpu->env->emulated_host &&
	    assist_complete(vcpu->fd, vcpu->env->gm) == 0) {
		vcpu_count(vcpu, VCPU_STAT_ASSISTED);
		return EXIT_CONTINUE;
	}
	snprintf(what, sizeof(what),
		 "KVM internal error: %s (KVM_EXIT_INTERNAL_ERROR, suberror %u)",
		 internal_error_name(suberror), suberror);
	vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, what);
	return EXIT_STOP;
}

/* The guest's EOI of a vector the userspace I/O APIC delivered as
 * level-triggered: KVM reports only those (see machine.c). */
static enum exit_outcome exit_ioapic_eoi(struct vcpu *vcpu)
{
	vcpu_count(vcpu, VCPU_STAT_IOAPIC_EOI);
	if (vcpu->env->eoi)
		vcpu->env->eoi(vcpu->env->eoi_opaque, vcpu->run->eoi.vector);
	return EXIT_CONTINUE;
}

static enum exit_outcome exit_system_event(struct vcpu *vcpu)
{
	vcpu_count(vcpu, VCPU_STAT_SYSTEM_EVENT);
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vcpu_stop(vcpu, VM_STATUS_OFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vcpu_stop(vcpu, VM_STATUS_OFF, "guest rebooted");
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		vcpu_fatal(vcpu, VM_STATUS_PANIC, "guest crashed (KVM_SYSTEM_EVENT_CRASH)");
		break;
	default:
		vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, "unknown KVM system event");
		break;
	}
	return EXIT_STOP;
}

static const exit_fn exit_table[] = {
	[KVM_EXIT_IO] = exit_io,
	[KVM_EXIT_MMIO] = exit_mmio,
	[KVM_EXIT_HLT] = exit_hlt,
	[KVM_EXIT_SHUTDOWN] = exit_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
	[KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
	[KVM_EXIT_IOAPIC_EOI] = exit_ioapic_eoi,
};

static enum exit_outcome vcpu_dispatch(struct vcpu *vcpu)
{
	uint32_t reason = vcpu->run->exit_reason;
	char what[64];

	if (reason < ARRAY_SIZE(exit_table) && exit_table[reason])
		return exit_table[reason](vcpu);
	snprintf(what, sizeof(what), "unexpected KVM exit reason %u", reason);
	vcpu_fatal(vcpu, VM_STATUS_KVM_ERROR, what);
	return EXIT_STOP;
}

/* Wait in the parked state while a pause lasts. The vCPU's last exit is
 * completed first: KVM finishes an instruction's in-kernel part (the
 * data of a port or MMIO read, say) on the next KVM_RUN, and with
 * immediate_exit set that KVM_RUN returns at once, before any guest code
 * runs. Then its registers are whole (what a snapshot will need). */
static void vcpu_park(struct vcpu *vcpu)
{
	struct vcpu_env *env = vcpu->env;

	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0)
		log_msg("vCPU %u: KVM_RUN with immediate_exit returned an exit", vcpu->id);
	pthread_mutex_lock(&env->lock);
	env->parked++;
	pthread_cond_broadcast(&env->cond);
	while (atomic_load(&env->pause) && !atomic_load(env->stopping))
		pthread_cond_wait(&env->cond, &env->lock);
	env->parked--;
	pthread_mutex_unlock(&env->lock);
	/* A kick from now on sets it again. The loop reads the pause and stop
	 * flags after this store, and whoever sets a flag stores it before
	 * kicking (all sequentially consistent), so either the flag is seen or
	 * KVM_RUN sees the kick's immediate_exit. */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static void vcpu_loop(struct vcpu *vcpu)
{
	while (!atomic_load(vcpu->env->stopping)) {
		if (atomic_load(&vcpu->env->pause)) {
			vcpu_park(vcpu);
			continue;
		}
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_count(vcpu, VCPU_STAT_SIGNALS);
				continue;
			}
			log_msg("vCPU %u: KVM_RUN: %m", vcpu->id);
			vcpu_count(vcpu, VCPU_STAT_FAILURES);
			vcpu_stop(vcpu, VM_STATUS_KVM_ERROR, NULL);
			return;
		}
		if (vcpu_dispatch(vcpu) == EXIT_STOP)
			return;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vcpu_env *env = vcpu->env;
	char name[16];
	int err = 0;

	snprintf(name, sizeof(name), "petrel-vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	log_set_thread(name + strlen("petrel-"));
	this_vcpu = vcpu;
	if (vcpu->filter)
		err = sandbox_install(vcpu->filter);
	if (err) {
		log_msg("vCPU %u: seccomp filter: %s", vcpu->id, strerror(-err));
		vcpu_stop(vcpu, VM_STATUS_ERROR, NULL);
	} else {
		vcpu_loop(vcpu);
	}
	pthread_mutex_lock(&env->lock);
	env->running--;
	pthread_cond_broadcast(&env->cond);
	pthread_mutex_unlock(&env->lock);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only here so the signal interrupts KVM_RUN, or a blocked write */
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

int vcpu_env_init(struct vcpu_env *env)
{
	int err = pthread_mutex_init(&env->lock, NULL);

	if (err)
		return -err;
	err = pthread_cond_init(&env->cond, NULL);
	if (err) {
		pthread_mutex_destroy(&env->lock);
		return -err;
	}
	atomic_init(&env->pause, false);
	env->running = env->parked = 0;
	return 0;
}

void vcpu_env_destroy(struct vcpu_env *env)
{
	pthread_cond_destroy(&env->cond);
	pthread_mutex_destroy(&env->lock);
}

int vcpu_create(struct vcpu *vcpu, struct vcpu_env *env, int vm_fd, unsigned int id)
{
	void *run;
	int err;

	*vcpu = (struct vcpu){ .env = env, .id = id, .fd = -1 };
	vcpu->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return -errno;
	run = mmap(NULL, (size_t)env->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (run == MAP_FAILED) {
		err = -errno;
		close(vcpu->fd);
		vcpu->fd = -1;
		return err;
	}
	vcpu->run = run;
	return 0;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct vcpu_env *env = vcpu->env;
	int err;

	/* Counted before the thread exists, so a pause right after sees it. */
	pthread_mutex_lock(&env->lock);
	env->running++;
	pthread_mutex_unlock(&env->lock);
	err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (err) {
		pthread_mutex_lock(&env->lock);
		env->running--;
		pthread_mutex_unlock(&env->lock);
		return -err;
	}
	vcpu->started = true;
	return 0;
}

int vcpu_pause_all(struct vcpu *vcpus, unsigned int n, unsigned int timeout_ms)
{
	struct vcpu_env *env;
	struct timespec t;
	bool all;

	if (!n)
		return 0;
	env = vcpus[0].env;
	atomic_store(&env->pause, true);
	for (unsigned int i = 0; i < n; i++)
		vcpu_kick(&vcpus[i]);
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&env->lock);
	while (env->parked < env->running)
		if (pthread_cond_timedwait(&env->cond, &env->lock, &t) == ETIMEDOUT)
			break;
	all = env->parked >= env->running;
	if (!all) {
		atomic_store(&env->pause, false);
		pthread_cond_broadcast(&env->cond);
	}
	pthread_mutex_unlock(&env->lock);
	return all ? 0 : -ETIMEDOUT;
}

void vcpu_resume_all(struct vcpu *vcpus, unsigned int n)
{
	if (!n)
		return;
	pthread_mutex_lock(&vcpus[0].env->lock);
	atomic_store(&vcpus[0].env->pause, false);
	pthread_cond_broadcast(&vcpus[0].env->cond);
	pthread_mutex_unlock(&vcpus[0].env->lock);
}

void vcpu_wake_all(struct vcpu_env *env)
{
	pthread_mutex_lock(&env->lock);
	pthread_cond_broadcast(&env->cond);
	pthread_mutex_unlock(&env->lock);
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->run)
		return;
	/* Ordered before the signal: a vCPU about to enter KVM_RUN sees the
	 * flag and returns at once; one inside is interrupted by the signal. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

/* A vCPU thread may be blocked outside KVM_RUN, in a device's write to a
 * host fd nobody drains (console_write_all): a kick's signal fails that
 * write with EINTR and the device gives up once the VM is stopping. The
 * stop's one kick may come before the thread blocks, or while it waits
 * for the lock of a device whose holder is blocked so, so every thread
 * not yet joined is kicked again every 100 ms until all are gone. */
void vcpu_join_all(struct vcpu *vcpus, unsigned int n)
{
	unsigned int left = n;
	struct timespec t;

	while (left) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 100 * 1000 * 1000;
		if (t.tv_nsec >= 1000 * 1000 * 1000) {
			t.tv_sec++;
			t.tv_nsec -= 1000 * 1000 * 1000;
		}
		left = 0;
		for (unsigned int i = 0; i < n; i++) {
			if (!vcpus[i].started)
				continue;
			if (pthread_timedjoin_np(vcpus[i].thread, NULL, &t) == ETIMEDOUT)
				left++;
			else
				vcpus[i].started = false;
		}
		for (unsigned int i = 0; i < n; i++)
			vcpu_kick(&vcpus[i]);
	}
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->env->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->started = false;
	vcpu->run = NULL;
	vcpu->fd = -1;
}
