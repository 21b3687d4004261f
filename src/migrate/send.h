/* SPDX-License-Identifier: MIT */
/*
 * The source side of a live migration (docs/migration.md): a worker
 * thread ("petrel-migrate", seccomp role "migrate") that connects to the
 * target, sends the guest's RAM while the guest runs (pre-copy), asks the
 * VMM thread to pause the VM and save its state, sends the rest and the
 * state, and commits.
 *
 * The VMM thread and the worker meet at two points, each announced on
 * `event_fd` (an eventfd the VMM thread's loop watches):
 *   MIG_STEP_WANT_PAUSE - the worker wants the VM paused and its state
 *                         saved: the VMM thread does so and calls
 *                         mig_sender_paused;
 *   MIG_STEP_FINISHED   - the worker is done; mig_sender_result says how.
 * Only the VMM thread pauses, resumes or stops the VM and starts or
 * stops dirty-page tracking; the worker reads guest RAM (racily while
 * the guest runs: what changes is sent again) and collects the dirty
 * pages (vm_dirty_collect: the VMM thread makes no other use of the
 * tracking meanwhile), and after the pause nothing changes under it.
 *
 * Who runs the guest when something breaks: the source until the COMMIT
 * record is written; the target from the moment it reads COMMIT. A
 * failure before COMMIT leaves the source resuming the guest; a lost
 * DONE after COMMIT leaves the source paused (res.unknown): the target
 * may or may not run it, and running both would corrupt the shared disks.
 */
#ifndef PETREL_MIGRATE_SEND_H
#define PETREL_MIGRATE_SEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "migrate/stream.h"

struct vm;
struct sandbox_filter;

/* PUT /migrate's parameters. */
struct mig_job {
	struct mig_addr addr;
	char dest[256];	      /* as given, for messages */
	uint32_t downtime_ms; /* the most the guest may stand still */
	uint32_t max_rounds;  /* pre-copy rounds before giving up */
	bool resume;	      /* the guest was running: the target resumes it */
	/* Dirty-page tracking is on (vm_dirty_start, by the VMM thread):
	 * pre-copy; else stop-and-copy (the whole RAM with the VM paused). */
	bool precopy;
};

struct mig_result {
	int err;
	char why[MIG_WHY_MAX + 64];
	bool paused;  /* the VMM thread paused the VM for this migration */
	bool unknown; /* COMMIT written, DONE never read */
	uint64_t total_us, downtime_us, bytes, pages, rounds;
	uint64_t rate_bps;  /* the link's measured rate, bytes per second */
	uint64_t dirty_bps; /* the guest's dirtying rate in the last round */
};

enum mig_step {
	MIG_STEP_IDLE,
	MIG_STEP_RUNNING,
	MIG_STEP_WANT_PAUSE,
	MIG_STEP_PAUSED,
	MIG_STEP_FINISHED,
	MIG_STEP_QUIT,
};

struct mig_sender {
	pthread_t thread;
	bool thread_ok;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int event_fd;
	const struct sandbox_filter *filter;
	/* Under lock. */
	enum mig_step step;
	struct vm *vm;
	struct mig_job job;
	uint8_t *state; /* the VM's state container, from mig_sender_paused */
	size_t state_len;
	int pause_err;
	int sock; /* the connection, -1 (shut down by mig_sender_destroy) */
	struct mig_result res;
};

/* Start the worker, idle, with `filter` (may be NULL). Before the VMM
 * thread's seccomp filter (it may not create threads after). 0/-errno
 * after one line. */
int mig_sender_init(struct mig_sender *s, const struct sandbox_filter *filter) MUST_CHECK;

/* VMM thread: migrate `vm` as `job` says. -EBUSY if one is running. */
int mig_sender_begin(struct mig_sender *s, struct vm *vm, const struct mig_job *job) MUST_CHECK;

/* VMM thread, on event_fd: the step the worker waits in (clears the
 * eventfd). */
enum mig_step mig_sender_step(struct mig_sender *s);

/* VMM thread, answering MIG_STEP_WANT_PAUSE: the VM is paused and its
 * state is `state` (taken: freed by the sender), or err != 0: it could
 * not be (the VM runs as before). */
void mig_sender_paused(struct mig_sender *s, int err, uint8_t *state, size_t len);

/* VMM thread, at MIG_STEP_FINISHED: the outcome; the sender goes idle. */
void mig_sender_result(struct mig_sender *s, struct mig_result *res);

/* Stop the worker (a migration in flight fails: its socket is shut
 * down) and free everything. */
void mig_sender_destroy(struct mig_sender *s);

#endif
