/* SPDX-License-Identifier: MIT */
/*
 * Live migration on the VMM thread (docs/migration.md): the target's
 * `petrel run --incoming ADDR`, and the source's PUT /migrate, whose
 * sender thread (migrate/send.h) asks this thread to pause the VM and
 * save its state, and tells it the outcome.
 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/server.h"
#include "config_json.h"
#include "dirty.h"
#include "migrate/send.h"
#include "migrate/stream.h"
#include "sandbox/jail.h"
#include "snapshot/snapshot.h"

/* The target: a source that sends nothing for this long is gone (its
 * pre-copy rounds keep the stream busy; a round's scan of a large idle
 * RAM is the longest quiet). */
#define MIG_IDLE_MS 30000
/* PUT /migrate's defaults: QEMU's and cloud-hypervisor's downtime target
 * (300 ms) would stop a busy guest too early for the 20 ms the issue
 * wants of an idle one; an idle guest converges at once either way, a
 * busy one gets this many rounds to fit 100 ms. */
#define MIG_DOWNTIME_MS 100
#define MIG_ROUNDS 30

/* A SETUP's configuration is what a --config-file may hold. */
_Static_assert(MIG_CONFIG_MAX == CONFIG_JSON_FILE_MAX, "SETUP's configuration limit");

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* ------------------------------------------------------------ the target */

/* Accept one connection on lfd, or give up at a signal. */
static int accept_one(struct control *ctl, int lfd, int *fd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
				       { .fd = ctl->sig_fd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg("--incoming: poll: %m");
			return -errno;
		}
		if (p[1].revents && read(ctl->sig_fd, &si, sizeof(si)) == sizeof(si)) {
			log_msg("stopped by signal %s while waiting for a migration",
				sigabbrev_np((int)si.ssi_signo));
			return -EINTR;
		}
		if (p[0].revents) {
			*fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (*fd >= 0)
				return 0;
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
				log_msg("--incoming: accept: %m");
				return -errno;
			}
		}
	}
}

/* Tell the source why we give up (best effort: it may be gone). */
static void send_error(int fd, const char *line)
{
	size_t n = strnlen(line, MIG_WHY_MAX - 1);

	if (mig_send(fd, MIG_ERROR, line, n ? n : 1))
		log_info("migration: the source did not take our ERROR");
}

/* At SETUP: the VM of the source's configuration, built whole (RAM,
 * board, devices, vCPUs) before a page comes, so that at STATE only its
 * state is loaded. 0 or -errno after one line. */
static int build_vm(struct control *ctl, const struct mig_in *in, const char *from)
{
	static struct vm_config c; /* large: not on the stack */
	char why[SNAP_WHY_MAX] = "";
	int err = snapshot_config_parse(in->config, &ctl->cfg, &c, why);

	if (err) {
		log_msg("migration from %s: SETUP: the configuration: %s", from, why);
		return err;
	}
	if (c.mem_size != in->setup.mem_size || c.cpus != in->setup.cpus) {
		log_msg("migration from %s: SETUP: %llu MiB and %u vCPUs, but its configuration "
			"has %llu MiB and %u",
			from, (unsigned long long)(in->setup.mem_size >> 20), in->setup.cpus,
			(unsigned long long)(c.mem_size >> 20), c.cpus);
		return -EINVAL;
	}
	err = config_check(&c);
	if (err)
		return err;
	/* A jailed target's cgroup learns the VM's size now, before its RAM
	 * is mapped (jail_fork could not know it). */
	if (ctl->opt.jail)
		jail_limit(ctl->opt.jail, c.mem_size, c.cpus);
	ctl->cfg = c;
	return control_restore_build(ctl, -1, false);
}

/* After STATE: the state into the VM built at SETUP, which starts
 * paused. 0 or -errno after one line; the VM is then gone. */
static int load_vm(struct control *ctl, const struct mig_in *in)
{
	static struct snapshot_load_params p; /* large: not on the stack */
	struct snapshot_load ld;
	int err;

	p = (struct snapshot_load_params){ .state_path = "the migration stream",
					   .state_buf = in->state,
					   .state_len = in->state_len,
					   .built_config = in->config,
					   .migration = true };
	err = snapshot_load_open(&ld, &p, &ctl->cfg);
	if (err) {
		vm_destroy(&ctl->vm);
		return err;
	}
	return control_restore_start(ctl, &ld, false);
}

/* Receive the VM (built at SETUP, filled by PAGES, loaded at STATE),
 * answer READY, wait for COMMIT. 0 or -errno after one line; on error
 * the process has no VM running (state Not started, or stopping with
 * status 1). */
static int incoming(struct control *ctl, int fd, const char *from, const struct mig_mem_cap *cap)
{
	struct mig_io io = { .fd = fd, .timeout_ms = MIG_IDLE_MS };
	char why[MIG_WHY_MAX] = "", msg[API_FAULT_MAX] = "";
	uint64_t t0 = now_us(), t_state;
	struct mig_in in;
	uint32_t flags;
	int err;

	err = mig_in_setup(&in, &io, cap, why);
	if (err) {
		log_msg("migration from %s: %s", from, why);
		send_error(fd, why);
		return err;
	}
	log_capture(msg, sizeof(msg));
	err = build_vm(ctl, &in, from);
	log_capture(NULL, 0);
	if (err) {
		send_error(fd, msg[0] ? msg : strerror(-err));
		mig_in_free(&in);
		return err;
	}
	err = mig_send_accept(fd);
	if (err)
		snprintf(why, sizeof(why), "sending ACCEPT: %s", strerror(-err));
	else
		err = mig_in_pages(&in, &io, &ctl->vm.gm, why);
	if (err) {
		log_msg("migration from %s: %s", from, why);
		send_error(fd, why);
		vm_destroy(&ctl->vm);
		mig_in_free(&in);
		return err;
	}
	t_state = now_us();
	log_capture(msg, sizeof(msg));
	err = load_vm(ctl, &in);
	log_capture(NULL, 0);
	mig_in_free(&in);
	if (err) {
		send_error(fd, msg[0] ? msg : strerror(-err));
		return err;
	}
	err = mig_send(fd, MIG_READY, NULL, 0);
	if (err)
		snprintf(why, sizeof(why), "sending READY: %s", strerror(-err));
	else
		err = mig_in_commit(&io, &flags, why);
	if (err) {
		/* No COMMIT: the source still has the guest. */
		log_msg("migration from %s: %s (the source keeps the VM)", from, why);
		vm_stop(&ctl->vm, VM_STATUS_ERROR, NULL);
		return err;
	}
	/* Committed: the guest is ours from here, whether or not the source
	 * hears DONE (it then stays paused: send.h). */
	if (mig_send(fd, MIG_DONE, NULL, 0))
		log_info("migration from %s: the source did not take DONE", from);
	if (flags & MIG_COMMIT_RESUME) {
		vm_resume(&ctl->vm);
		ctl->state = CONTROL_RUNNING;
	}
	log_info("migrated in from %s: %llu pages, %llu MiB in %llu ms (STATE to running: %llu "
		 "us)",
		 from, (unsigned long long)in.pages, (unsigned long long)(in.bytes >> 20),
		 (unsigned long long)((now_us() - t0) / 1000),
		 (unsigned long long)(now_us() - t_state));
	return 0;
}

int control_incoming(struct control *ctl, const char *addr)
{
	char why[MIG_WHY_MAX] = "";
	struct mig_mem_cap cap;
	struct mig_addr a;
	int lfd = -1, fd = -1, err;

	err = mig_addr_parse(addr, &a, why);
	if (!err)
		err = mig_listen(&a, &lfd, why);
	if (err) {
		log_msg("--incoming %s", why);
		return err;
	}
	mig_mem_cap_host(&cap);
	log_info("waiting for a migration on %s", addr);
	err = accept_one(ctl, lfd, &fd);
	close(lfd);
	if (!a.tcp)
		unlink(a.path);
	if (err)
		return err;
	err = incoming(ctl, fd, addr, &cap);
	close(fd);
	return err;
}

/* ------------------------------------------------------------ the source */

/* The sender's eventfd: it wants the VM paused, or it is done. */
static void on_sender(void *opaque, uint32_t events)
{
	struct control *ctl = opaque;
	struct api_result *res = ctl->mig_res;
	struct mig_result r;
	uint8_t *state = NULL;
	size_t len = 0;
	int err = 0;

	(void)events;
	switch (mig_sender_step(&ctl->mig)) {
	case MIG_STEP_WANT_PAUSE:
		if (ctl->state == CONTROL_RUNNING)
			err = vm_pause(&ctl->vm);
		if (!err)
			err = snapshot_save_state(&ctl->vm, &ctl->cfg, &state, &len);
		if (err && ctl->state == CONTROL_RUNNING && ctl->vm.paused)
			vm_resume(&ctl->vm);
		mig_sender_paused(&ctl->mig, err, state, len);
		return;
	case MIG_STEP_FINISHED:
		break;
	default:
		return;
	}
	mig_sender_result(&ctl->mig, &r);
	ctl->mig_res = NULL;
	if (ctl->mig_tracking)
		vm_dirty_stop(&ctl->vm);
	ctl->mig_tracking = false;
	if (!r.err) {
		log_info("migrated to %s: %llu MiB in %llu rounds, %llu ms, the guest stopped "
			 "for %llu ms",
			 ctl->mig_dest, (unsigned long long)(r.bytes >> 20),
			 (unsigned long long)r.rounds, (unsigned long long)(r.total_us / 1000),
			 (unsigned long long)(r.downtime_us / 1000));
		api_reply_json(res, json_pack("{s:I, s:I, s:I, s:I}", "total_ms",
					      (json_int_t)(r.total_us / 1000), "downtime_us",
					      (json_int_t)r.downtime_us, "rounds",
					      (json_int_t)r.rounds, "bytes", (json_int_t)r.bytes));
		api_server_answer(ctl->api);
		/* The target runs the guest: this petrel's part is over. */
		vm_stop(&ctl->vm, VM_STATUS_OFF, NULL);
		return;
	}
	if (r.unknown) {
		/* COMMIT went out, DONE never came: the target may run the
		 * guest. Never both: it stays paused here. */
		ctl->state = CONTROL_PAUSED;
		log_msg("migration to %s: %s; COMMIT was sent: the target may be running the "
			"VM, which stays paused here (resume it only if the target is not)",
			ctl->mig_dest, r.why);
		api_fault(res,
			  "migration to %s: %s; the VM stays paused here (the target may run it)",
			  ctl->mig_dest, r.why);
	} else {
		if (r.paused && ctl->state == CONTROL_RUNNING)
			vm_resume(&ctl->vm);
		log_msg("migration to %s failed: %s; the VM runs on here", ctl->mig_dest, r.why);
		api_fault(res, "migration to %s failed: %s", ctl->mig_dest, r.why);
	}
	api_server_answer(ctl->api);
}

int control_migrate_init(struct control *ctl)
{
	int err;

	if (!ctl->api || ctl->mig_ok)
		return 0;
	err = sandbox_build(&ctl->mig_filter, SANDBOX_MIGRATE, !ctl->cfg.no_seccomp);
	if (!err)
		err = mig_sender_init(&ctl->mig, &ctl->mig_filter);
	if (err) {
		sandbox_free(&ctl->mig_filter);
		return err;
	}
	ctl->mig_ok = true;
	err = evloop_add(&ctl->ev, ctl->mig.event_fd, EPOLLIN, on_sender, ctl);
	if (err)
		log_msg("migrate: event loop: %s", strerror(-err));
	return err;
}

void control_migrate_destroy(struct control *ctl)
{
	if (!ctl->mig_ok)
		return;
	evloop_del(&ctl->ev, ctl->mig.event_fd);
	mig_sender_destroy(&ctl->mig);
	sandbox_free(&ctl->mig_filter);
	ctl->mig_ok = false;
}

void control_api_migrate(struct control *ctl, const struct migrate_req *r, struct api_result *res)
{
	char why[MIG_WHY_MAX] = "";
	struct mig_job job = { .downtime_ms = r->downtime_ms ? r->downtime_ms : MIG_DOWNTIME_MS,
			       .max_rounds = r->max_rounds ? r->max_rounds : MIG_ROUNDS,
			       .resume = ctl->state == CONTROL_RUNNING };
	int err;

	if (mig_addr_parse(r->destination, &job.addr, why)) {
		api_fault(res, "destination %s", why);
		return;
	}
	if (!ctl->mig_ok) {
		api_fault(res, "migration is not available in this petrel");
		return;
	}
	job.config = snapshot_config_text(&ctl->cfg);
	if (!job.config) {
		api_fault(res, "migration: out of memory");
		return;
	}
	snprintf(job.dest, sizeof(job.dest), "%s", r->destination);
	snprintf(ctl->mig_dest, sizeof(ctl->mig_dest), "%s", r->destination);
	/* Pre-copy needs the dirty pages. A VM that tracks them for diff
	 * snapshots shares its tracking: the sender collects, and keeps
	 * every page it collected in ctl->dirty for the next diff. Else the
	 * migration's own; if that fails, stop-and-copy: the guest stands
	 * still for the whole of its RAM. */
	job.dirty_keep = ctl->dirty;
	err = ctl->dirty ? 0 : vm_dirty_start(&ctl->vm);
	job.precopy = !err;
	if (err)
		log_info("migration to %s: no dirty-page tracking (%s): stop-and-copy",
			 r->destination, strerror(-err));
	err = mig_sender_begin(&ctl->mig, &ctl->vm, &job);
	if (err) {
		if (job.precopy && !ctl->dirty)
			vm_dirty_stop(&ctl->vm);
		api_fault(res, "a migration is running already");
		return;
	}
	ctl->mig_tracking = job.precopy && !ctl->dirty;
	log_info("migrating to %s", r->destination);
	ctl->mig_res = res;
	res->deferred = true;
}
