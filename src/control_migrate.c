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
#include "dirty.h"
#include "migrate/send.h"
#include "migrate/stream.h"
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

/* Receive the VM, build it as a restore does, answer READY, wait for
 * COMMIT. 0 or -errno after one line; on error the process has no VM
 * running (state Not started, or stopping with status 1). */
static int incoming(struct control *ctl, int fd, const char *from)
{
	static struct snapshot_load_params p; /* large: not on the stack */
	struct mig_io io = { .fd = fd, .timeout_ms = MIG_IDLE_MS };
	char why[MIG_WHY_MAX] = "", msg[API_FAULT_MAX] = "";
	uint64_t t0 = now_us();
	struct mig_in in;
	uint32_t flags;
	int err;

	err = mig_in_recv(&in, &io, MIG_MEM_MAX, why);
	if (err) {
		log_msg("migration from %s: %s", from, why);
		send_error(fd, why);
		return err;
	}
	p = (struct snapshot_load_params){ .state_path = "the migration stream",
					   .mem_path = "the migrated RAM",
					   .state_buf = in.state,
					   .state_len = in.state_len,
					   .mem_fd = in.mem_fd };
	log_capture(msg, sizeof(msg));
	err = control_restore(ctl, &p, false);
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
	log_info("migrated in from %s: %llu pages, %llu MiB in %llu ms", from,
		 (unsigned long long)in.pages, (unsigned long long)(in.bytes >> 20),
		 (unsigned long long)((now_us() - t0) / 1000));
	return 0;
}

int control_incoming(struct control *ctl, const char *addr)
{
	char why[MIG_WHY_MAX] = "";
	struct mig_addr a;
	int lfd = -1, fd = -1, err;

	err = mig_addr_parse(addr, &a, why);
	if (!err)
		err = mig_listen(&a, &lfd, why);
	if (err) {
		log_msg("--incoming %s", why);
		return err;
	}
	log_info("waiting for a migration on %s", addr);
	err = accept_one(ctl, lfd, &fd);
	close(lfd);
	if (!a.tcp)
		unlink(a.path);
	if (err)
		return err;
	err = incoming(ctl, fd, addr);
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
	snprintf(job.dest, sizeof(job.dest), "%s", r->destination);
	snprintf(ctl->mig_dest, sizeof(ctl->mig_dest), "%s", r->destination);
	/* Pre-copy needs the dirty pages; if tracking is taken (diff
	 * snapshots: track_dirty_pages) or fails, stop-and-copy: the guest
	 * stands still for the whole of its RAM. */
	err = vm_dirty_start(&ctl->vm);
	job.precopy = !err;
	if (err)
		log_info("migration to %s: no dirty-page tracking (%s): stop-and-copy",
			 r->destination, strerror(-err));
	err = mig_sender_begin(&ctl->mig, &ctl->vm, &job);
	if (err) {
		if (job.precopy)
			vm_dirty_stop(&ctl->vm);
		api_fault(res, "a migration is running already");
		return;
	}
	ctl->mig_tracking = job.precopy;
	log_info("migrating to %s", r->destination);
	ctl->mig_res = res;
	res->deferred = true;
}
