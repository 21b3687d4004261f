/* SPDX-License-Identifier: MIT */
/* The source side of a live migration: the worker thread (send.h). */
#include "migrate/send.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dirty.h"
#include "le.h"
#include "sandbox/seccomp.h"
#include "vmm.h"

/* The target builds the VM from the state before it answers READY: on
 * the emulated test host that takes seconds. */
#define READY_TIMEOUT_MS 60000
#define DONE_TIMEOUT_MS 10000
#define SEND_TIMEOUT_S 30 /* a target that reads nothing for this long is gone */

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static void signal_vmm(struct mig_sender *s)
{
	uint64_t one = 1;

	if (write(s->event_fd, &one, sizeof(one)) != sizeof(one))
		log_msg("migrate: eventfd: %m");
}

/* One run of `count` pages from page `first` at `host`, in one writev. */
static int send_run(int fd, uint64_t first, uint32_t count, const uint8_t *host)
{
	uint8_t h[MIG_RECORD_HEAD + 16];
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)host, (size_t)count * MIG_PAGE } };

	le_put(h, MIG_PAGES, 4);
	le_put(h + 4, 16 + (uint64_t)count * MIG_PAGE, 4);
	mig_pages_encode(first, count, h + MIG_RECORD_HEAD);
	return mig_writev(fd, iov, 2);
}

/* Send the pages of guest RAM (numbered by RAM offset: the regions in
 * order) whose bit is set in `bits`, or, with bits NULL, every page that
 * is not all zero (the target's RAM starts zeroed). */
static int send_ram(struct mig_sender *s, int fd, const uint64_t *bits, struct mig_result *res)
{
	const struct gm *gm = &s->vm->gm;
	uint64_t base = 0;

	for (unsigned int r = 0; r < gm->nregions; r++) {
		const struct gm_region *g = &gm->region[r];
		uint64_t npages = g->size / MIG_PAGE;

		for (uint64_t p = 0; p < npages;) {
			uint64_t page = base + p;
			uint32_t run = 0;
			int err;

			while (p + run < npages && run < MIG_PAGES_MAX) {
				uint64_t q = page + run;
				bool want = bits ? bits[q / 64] >> (q % 64) & 1
						 : !gm_page_zero(g->host + (p + run) * MIG_PAGE);

				if (!want)
					break;
				run++;
			}
			if (!run) {
				p++;
				continue;
			}
			err = send_run(fd, page, run, g->host + p * MIG_PAGE);
			if (err)
				return err;
			res->pages += run;
			res->bytes += MIG_RECORD_HEAD + 16 + (uint64_t)run * MIG_PAGE;
			p += run;
		}
		base += npages;
	}
	return 0;
}

/* Ask the VMM thread to pause the VM and save its state; wait. */
static int ask_pause(struct mig_sender *s, struct mig_result *res)
{
	int err;

	pthread_mutex_lock(&s->lock);
	if (s->step == MIG_STEP_RUNNING) {
		s->step = MIG_STEP_WANT_PAUSE;
		signal_vmm(s);
	}
	while (s->step == MIG_STEP_WANT_PAUSE)
		pthread_cond_wait(&s->cond, &s->lock);
	err = s->step == MIG_STEP_QUIT ? -ECANCELED : s->pause_err;
	res->paused = s->step == MIG_STEP_PAUSED && !s->pause_err;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The target's answer: READY (or DONE), or its ERROR line. */
static int wait_answer(int fd, uint32_t want, int timeout_ms, struct mig_result *res)
{
	struct mig_io io = { .fd = fd, .timeout_ms = timeout_ms };
	char why[MIG_WHY_MAX] = "";
	uint8_t text[MIG_WHY_MAX];
	uint32_t type, len;
	int err = mig_read_head(&io, 1u << want | 1u << MIG_ERROR, &type, &len, why);

	if (!err && type == MIG_ERROR) {
		err = mig_read(&io, text, len, why);
		if (!err) {
			mig_error_text(text, len, why);
			snprintf(res->why, sizeof(res->why), "the target refused: %s", why);
			return -EPROTO;
		}
	}
	if (err)
		snprintf(res->why, sizeof(res->why), "waiting for the target's %s: %s",
			 mig_type_name(want), why);
	return err;
}

static uint64_t popcount(const uint64_t *bits, uint64_t words)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < words; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

static uint64_t mbps(uint64_t bps)
{
	return bps / 1000000;
}

/* Pre-copy (the guest runs): round 0 sends every non-zero page, each
 * later round the pages dirtied during the one before, until what is
 * left would go in job->downtime_ms at the link's measured rate. Leaves
 * the pages still to send in `bits`. -EAGAIN with res->why when the
 * guest will not converge: max_rounds spent, or it dirties faster than
 * the link carries. */
static int precopy(struct mig_sender *s, const struct mig_job *job, int fd, uint64_t *bits,
		   uint64_t words, struct mig_result *res)
{
	uint64_t t = now_us(), sent = res->bytes, left, us;
	int err = send_ram(s, fd, NULL, res);

	for (uint32_t round = 1;; round++) {
		if (err) {
			snprintf(res->why, sizeof(res->why), "sending to the target: %s",
				 strerror(-err));
			return err;
		}
		us = now_us() - t;
		/* The rate of a round that sent enough to time it. */
		if (res->bytes - sent >= (1u << 20) || !res->rate_bps)
			res->rate_bps = (res->bytes - sent) * 1000000 / (us ? us : 1);
		memset(bits, 0, words * sizeof(*bits));
		err = vm_dirty_collect(s->vm, bits);
		if (err) {
			snprintf(res->why, sizeof(res->why), "dirty-page tracking: %s",
				 strerror(-err));
			return err;
		}
		left = popcount(bits, words) * MIG_PAGE;
		res->dirty_bps = left * 1000000 / (us ? us : 1);
		res->rounds = round;
		if (left * 1000 <= (uint64_t)job->downtime_ms * res->rate_bps)
			return 0;
		if (round > job->max_rounds || (round > 2 && res->dirty_bps >= res->rate_bps)) {
			snprintf(
			    res->why, sizeof(res->why),
			    "no convergence after %u rounds: the guest dirties %llu MB/s, the "
			    "link carries %llu MB/s, %llu MiB would stop it for more than %u ms",
			    round, (unsigned long long)mbps(res->dirty_bps),
			    (unsigned long long)mbps(res->rate_bps),
			    (unsigned long long)(left >> 20), job->downtime_ms);
			return -EAGAIN;
		}
		t = now_us();
		sent = res->bytes;
		err = send_ram(s, fd, bits, res);
	}
}

static int migrate(struct mig_sender *s, const struct mig_job *job, struct mig_result *res)
{
	char why[MIG_WHY_MAX] = "";
	struct mig_setup setup = { .mem_size = s->vm->cfg->mem_size, .cpus = s->vm->ncpus };
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	uint64_t words = (vm_dirty_pages(s->vm) + 63) / 64;
	uint8_t h[MIG_HEADER_LEN], p[16];
	uint64_t t0 = now_us(), tp, *bits = NULL;
	int fd, err;

	err = mig_connect(&job->addr, &fd, why);
	if (err) {
		snprintf(res->why, sizeof(res->why), "%s", why);
		return err;
	}
	pthread_mutex_lock(&s->lock);
	s->sock = fd;
	pthread_mutex_unlock(&s->lock);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	mig_header_encode(h);
	mig_setup_encode(&setup, p);
	err = mig_write(fd, h, sizeof(h));
	if (!err)
		err = mig_send(fd, MIG_SETUP, p, sizeof(p));
	if (err) {
		snprintf(res->why, sizeof(res->why), "sending to the target: %s", strerror(-err));
		return err;
	}
	if (job->precopy) {
		bits = calloc(words, sizeof(*bits));
		if (!bits) {
			snprintf(res->why, sizeof(res->why), "out of memory");
			return -ENOMEM;
		}
		err = precopy(s, job, fd, bits, words, res);
		if (err)
			goto out;
	}
	/* The downtime counts from the request: the pause and the state's
	 * saving are part of it. */
	tp = now_us();
	err = ask_pause(s, res);
	if (err) {
		snprintf(res->why, sizeof(res->why), "pausing the VM: %s", strerror(-err));
		goto out;
	}
	/* Paused: what the last round left plus what the guest (or a
	 * device, before it quiesced) wrote since; without tracking, all. */
	if (bits) {
		err = vm_dirty_collect(s->vm, bits);
		if (err) {
			snprintf(res->why, sizeof(res->why), "dirty-page tracking: %s",
				 strerror(-err));
			goto out;
		}
	}
	err = send_ram(s, fd, bits, res);
	if (!err) {
		err = mig_send(fd, MIG_STATE, s->state, s->state_len);
		res->bytes += MIG_RECORD_HEAD + s->state_len;
	}
	if (err) {
		snprintf(res->why, sizeof(res->why), "sending to the target: %s", strerror(-err));
		goto out;
	}
	err = wait_answer(fd, MIG_READY, READY_TIMEOUT_MS, res);
	if (err)
		goto out;
	le_put(p, job->resume ? MIG_COMMIT_RESUME : 0, 4);
	err = mig_send(fd, MIG_COMMIT, p, 4);
	if (err) {
		/* Not written: the target cannot have read it, the guest
		 * stays here. */
		snprintf(res->why, sizeof(res->why), "sending COMMIT: %s", strerror(-err));
		goto out;
	}
	err = wait_answer(fd, MIG_DONE, DONE_TIMEOUT_MS, res);
	if (err) {
		res->unknown = true;
		goto out;
	}
	res->downtime_us = now_us() - tp;
	res->total_us = now_us() - t0;
out:
	free(bits);
	return err;
}

static void *mig_thread(void *opaque)
{
	struct mig_sender *s = opaque;
	int err = 0;

	pthread_setname_np(pthread_self(), "petrel-migrate");
	log_set_thread("migrate");
	if (s->filter)
		err = sandbox_install(s->filter);
	if (err) {
		log_msg("migrate: seccomp filter: %s", strerror(-err));
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct mig_result res = { 0 };
		struct mig_job job;

		while (s->step != MIG_STEP_RUNNING && s->step != MIG_STEP_QUIT)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->step == MIG_STEP_QUIT)
			break;
		job = s->job;
		pthread_mutex_unlock(&s->lock);
		res.err = migrate(s, &job, &res);
		pthread_mutex_lock(&s->lock);
		if (s->sock >= 0)
			close(s->sock);
		s->sock = -1;
		free(s->state);
		s->state = NULL;
		s->res = res;
		if (s->step == MIG_STEP_QUIT)
			break;
		s->step = MIG_STEP_FINISHED;
		signal_vmm(s);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int mig_sender_init(struct mig_sender *s, const struct sandbox_filter *filter)
{
	int err;

	*s = (struct mig_sender){ .sock = -1, .filter = filter };
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0) {
		err = -errno;
		log_msg("migrate: eventfd: %m");
		return err;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	err = -pthread_create(&s->thread, NULL, mig_thread, s);
	if (err) {
		log_msg("migrate: starting its thread: %s", strerror(-err));
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		close(s->event_fd);
		s->event_fd = -1;
		return err;
	}
	s->thread_ok = true;
	return 0;
}

int mig_sender_begin(struct mig_sender *s, struct vm *vm, const struct mig_job *job)
{
	int err = 0;

	pthread_mutex_lock(&s->lock);
	if (s->step != MIG_STEP_IDLE) {
		err = -EBUSY;
	} else {
		s->vm = vm;
		s->job = *job;
		s->pause_err = 0;
		s->step = MIG_STEP_RUNNING;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

enum mig_step mig_sender_step(struct mig_sender *s)
{
	enum mig_step step;
	uint64_t v;

	if (read(s->event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_msg("migrate: eventfd: %m");
	pthread_mutex_lock(&s->lock);
	step = s->step;
	pthread_mutex_unlock(&s->lock);
	return step;
}

void mig_sender_paused(struct mig_sender *s, int err, uint8_t *state, size_t len)
{
	pthread_mutex_lock(&s->lock);
	s->pause_err = err;
	s->state = state;
	s->state_len = len;
	if (s->step == MIG_STEP_WANT_PAUSE)
		s->step = MIG_STEP_PAUSED;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void mig_sender_result(struct mig_sender *s, struct mig_result *res)
{
	pthread_mutex_lock(&s->lock);
	*res = s->res;
	s->step = MIG_STEP_IDLE;
	pthread_mutex_unlock(&s->lock);
}

void mig_sender_destroy(struct mig_sender *s)
{
	if (!s->thread_ok)
		return;
	pthread_mutex_lock(&s->lock);
	s->step = MIG_STEP_QUIT;
	if (s->sock >= 0)
		shutdown(s->sock, SHUT_RDWR);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->thread_ok = false;
	free(s->state);
	s->state = NULL;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	close(s->event_fd);
	s->event_fd = -1;
}
