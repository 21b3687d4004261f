/* SPDX-License-Identifier: MIT */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/server.h"
#include "arch/x86/boot.h"
#include "arch/x86/machine.h"
#include "dirty.h"
#include "metrics_signal.h"
#include "sandbox/jail.h"

/* SIGINT, SIGTERM and SIGHUP arrive through a signalfd in the event loop,
 * so they stop the VM cleanly (terminal restored) instead of killing us. */
static void control_on_signal(void *opaque, uint32_t events)
{
	struct control *ctl = opaque;
	struct signalfd_siginfo si;
	char why[64];

	(void)events;
	if (read(ctl->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGHUP:
		metrics_signal_count(METRICS_SIG_HUP);
		break;
	case SIGINT:
		metrics_signal_count(METRICS_SIG_INT);
		break;
	default:
		metrics_signal_count(METRICS_SIG_TERM);
		break;
	}
	snprintf(why, sizeof(why), "stopped by signal %s", sigabbrev_np((int)si.ssi_signo));
	if (ctl->state == CONTROL_NOT_STARTED) {
		log_msg("%s", why);
		ctl->status = VM_STATUS_SIGNAL + (int)si.ssi_signo;
		evloop_quit(&ctl->ev);
		return;
	}
	vm_stop(&ctl->vm, VM_STATUS_SIGNAL + (int)si.ssi_signo, why);
}

static int control_signals(struct control *ctl)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* Blocked before any other thread exists, so every thread inherits it. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	ctl->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (ctl->sig_fd < 0)
		return -errno;
	return evloop_add(&ctl->ev, ctl->sig_fd, EPOLLIN, control_on_signal, ctl);
}

int control_logger(const struct logger_config *l, const char *id)
{
	return l->set
		   ? log_configure(l->path, l->level, l->show_level, l->show_origin, l->module, id)
		   : 0;
}

int control_init(struct control *ctl, const struct vm_config *cfg,
		 const struct control_options *opt)
{
	int err;

	*ctl = (struct control){ .cfg = *cfg,
				 .opt = *opt,
				 .id = opt->id,
				 .sig_fd = -1,
				 .obs = { .fd = -1, .timer_fd = -1 } };
	uffd_backend_init(&ctl->uffd);
	log_set_thread("vmm");
	err = evloop_init(&ctl->ev);
	if (!err)
		err = control_signals(ctl);
	if (err) {
		log_msg("event loop: %s", strerror(-err));
		control_destroy(ctl);
		return err;
	}
	err = control_logger(&cfg->logger, ctl->id);
	if (!err)
		err = control_metrics_init(ctl);
	if (err)
		control_destroy(ctl);
	return err;
}

/* Bind the API socket (if asked for and not done yet), its thread not
 * started: a jail may come in between. */
static int control_api_open(struct control *ctl)
{
	struct api_server_config cfg = { .path = ctl->opt.api_sock,
					 .max_payload = ctl->opt.max_payload,
					 .stall_ms = API_STALL_MS };
	int err;

	if (!ctl->opt.api_sock || ctl->api)
		return 0;
	err = sandbox_build(&ctl->api_filter, SANDBOX_API, !ctl->cfg.no_seccomp);
	if (!err)
		err = api_server_open(&ctl->api, &cfg, &ctl->ev, control_api_execute, ctl,
				      &ctl->api_filter);
	return err;
}

/* Start the API's thread if its socket is open and the thread is not. */
static int control_api_run(struct control *ctl)
{
	int err;

	if (!ctl->api || ctl->api_running)
		return 0;
	err = api_server_run(ctl->api);
	ctl->api_running = !err;
	if (!err)
		control_metrics_ready(ctl);
	return err;
}

int control_serve(struct control *ctl)
{
	int err = control_api_open(ctl);

	return err ? err : control_api_run(ctl);
}

/* Board, devices, vCPUs, kernel: everything between vm_create and the
 * jail. 0 or -errno after one message. */
static int control_build(struct control *ctl)
{
	struct vm *vm = &ctl->vm;
	int err = machine_create(vm);

	if (!err)
		err = vm_create_vcpus(vm);
	if (!err)
		err = machine_init_vcpus(vm);
	if (!err)
		err = boot_vm(vm);
	return err;
}

int control_launch(struct control *ctl, bool paused)
{
	struct vm *vm = &ctl->vm;
	const char *uds = ctl->cfg.vsock.cid ? ctl->cfg.vsock.uds : NULL;
	/* The jail while petrel is one thread (jail.h): the API's socket is
	 * bound before it (the jail's root cannot hold it), its thread starts
	 * after. */
	int err = control_api_open(ctl);

	if (!err && ctl->opt.jail)
		err = jail_enter(ctl->opt.jail, uds);
	if (!err)
		err = control_api_run(ctl);
	if (!err)
		err = control_migrate_init(ctl);
	if (err) {
		vm_destroy(vm);
		return err;
	}
	ctl->state = paused ? CONTROL_PAUSED : CONTROL_RUNNING;
	control_metrics_arm(ctl);
	err = paused ? vm_start_paused(vm) : vm_start(vm);
	log_info("started the VM (%u vCPUs, %llu MiB)%s", ctl->cfg.cpus,
		 (unsigned long long)(ctl->cfg.mem_size >> 20), paused ? ", paused" : "");
	control_metrics_ready(ctl);
	/* A first line at once, as Firecracker writes (its startup times). */
	if (!err)
		(void)control_metrics_flush(ctl);
	return err;
}

int control_start(struct control *ctl)
{
	struct vm *vm = &ctl->vm;
	int err = config_check(&ctl->cfg);

	if (err)
		return err;
	err = vm_create(vm, &ctl->cfg, &ctl->ev, -1);
	if (err)
		return err;
	err = control_build(ctl);
	if (!err && ctl->cfg.track_dirty_pages)
		err = control_dirty_start(ctl, true);
	if (err) {
		vm_destroy(vm);
		return err;
	}
	return control_launch(ctl, false);
}

int control_dirty_start(struct control *ctl, bool booted)
{
	struct vm *vm = &ctl->vm;
	int err;

	free(ctl->dirty);
	ctl->dirty = calloc((size_t)((vm_dirty_pages(vm) + 63) / 64), sizeof(uint64_t));
	if (!ctl->dirty) {
		log_msg("dirty-page tracking: out of memory");
		return -ENOMEM;
	}
	err = vm_dirty_start(vm);
	if (!err && booted)
		err = vm_dirty_mark_booted(vm);
	if (err) {
		log_msg("dirty-page tracking: %s", strerror(-err));
		free(ctl->dirty);
		ctl->dirty = NULL;
	}
	return err;
}

int control_run(struct control *ctl)
{
	evloop_run(&ctl->ev);
	if (ctl->state != CONTROL_NOT_STARTED)
		ctl->status = vm_finish(&ctl->vm);
	/* The last line, with every vCPU stopped: what happened since the
	 * previous one. */
	(void)control_metrics_flush(ctl);
	return ctl->status;
}

void control_destroy(struct control *ctl)
{
	/* Its thread reads guest RAM: gone before the VM. */
	control_migrate_destroy(ctl);
	api_server_stop(ctl->api);
	ctl->api = NULL;
	sandbox_free(&ctl->api_filter);
	control_metrics_destroy(ctl);
	if (ctl->state != CONTROL_NOT_STARTED)
		vm_destroy(&ctl->vm);
	uffd_backend_close(&ctl->uffd);
	ctl->state = CONTROL_NOT_STARTED;
	free(ctl->dirty);
	ctl->dirty = NULL;
	if (ctl->sig_fd >= 0)
		close(ctl->sig_fd);
	ctl->sig_fd = -1;
	evloop_destroy(&ctl->ev);
}
