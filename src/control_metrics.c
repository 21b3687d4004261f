/* SPDX-License-Identifier: MIT */
/*
 * The metrics' walk: every counter of the process and the VM into a
 * struct metrics, in Firecracker's groups (README "Metrics" has the table).
 * VMM thread.
 */
#include "control.h"

#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "api/server.h"
#include "metrics.h"
#include "metrics_signal.h"
#include "virtio/devices.h"

/* ------------------------------------------------------------------ API */

static const char *const method_group[] = {
	[HTTP_GET] = "get_api_requests",
	[HTTP_PUT] = "put_api_requests",
	[HTTP_PATCH] = "patch_api_requests",
};

static const char *const method_prefix[] = {
	[HTTP_GET] = "get",
	[HTTP_PUT] = "put",
	[HTTP_PATCH] = "patch",
};

/* The method of action a's route. The actions of PUT /actions share one
 * route (InstanceStart's), found by its path. */
static enum http_method action_method(enum api_action a)
{
	const char *path = api_action_path(a);

	for (size_t i = 0; i < api_nroutes; i++)
		if (api_routes[i].action == a)
			return api_routes[i].method;
	for (size_t i = 0; i < api_nroutes; i++)
		if (!strcmp(api_routes[i].path, path))
			return api_routes[i].method;
	return HTTP_GET;
}

static bool method_known(enum http_method m)
{
	return (size_t)m < ARRAY_SIZE(method_group) && method_group[m];
}

/* One method's group: <endpoint>_count and <endpoint>_fails, each the sum
 * over the actions of that method and endpoint (Firecracker's names). */
static void obs_api_method(const struct api_stats *st, enum http_method method, struct metrics *m)
{
	struct metrics_out *o =
	    metrics_group(m, method_group[method], method_group[method], NULL, NULL, 0);
	bool done[API_NACTIONS] = { false };

	for (unsigned int a = 0; a < API_NACTIONS; a++) {
		const char *metric = api_action_metric((enum api_action)a);
		uint64_t count = 0, fails = 0;
		char name[METRICS_VALUE_NAME_MAX];

		if (done[a] || action_method((enum api_action)a) != method)
			continue;
		for (unsigned int b = a; b < API_NACTIONS; b++) {
			if (action_method((enum api_action)b) != method ||
			    strcmp(api_action_metric((enum api_action)b), metric))
				continue;
			done[b] = true;
			count += st ? atomic_load_explicit(&st->count[b], memory_order_relaxed) : 0;
			fails += st ? atomic_load_explicit(&st->fails[b], memory_order_relaxed) : 0;
		}
		snprintf(name, sizeof(name), "%s_count", metric);
		metrics_counter(o, name, count);
		snprintf(name, sizeof(name), "%s_fails", metric);
		metrics_counter(o, name, fails);
	}
}

/* latencies_us: Firecracker's pause_vm, resume_vm, full_create_snapshot,
 * diff_create_snapshot and load_snapshot (the last ones, in the whole action and, as vmm_*, in
 * the VMM's part of it), and petrel's per
 * endpoint: <method>_<endpoint>_sum_us (the api thread's time from
 * handing the parsed request to the VMM thread to its result back, summed;
 * divide by the _count) and _max_us. */
static void obs_latencies(const struct control *ctl, const struct api_stats *st, struct metrics *m)
{
	struct metrics_out *o = metrics_group(m, "latencies_us", "latencies_us", NULL, NULL, 0);
	bool done[API_NACTIONS] = { false };

	metrics_gauge(o, "pause_vm", ctl->obs.pause_us);
	metrics_gauge(o, "resume_vm", ctl->obs.resume_us);
	metrics_gauge(o, "vmm_pause_vm", ctl->obs.vmm_pause_us);
	metrics_gauge(o, "vmm_resume_vm", ctl->obs.vmm_resume_us);
	metrics_gauge(o, "full_create_snapshot", ctl->obs.snap_create_us);
	metrics_gauge(o, "vmm_full_create_snapshot", ctl->obs.vmm_snap_create_us);
	metrics_gauge(o, "diff_create_snapshot", ctl->obs.diff_create_us);
	metrics_gauge(o, "vmm_diff_create_snapshot", ctl->obs.vmm_diff_create_us);
	metrics_gauge(o, "load_snapshot", ctl->obs.snap_load_us);
	metrics_gauge(o, "vmm_load_snapshot", ctl->obs.vmm_snap_load_us);
	for (unsigned int a = 0; a < API_NACTIONS; a++) {
		enum http_method method = action_method((enum api_action)a);
		const char *metric = api_action_metric((enum api_action)a);
		uint64_t sum = 0, max = 0;
		char name[METRICS_VALUE_NAME_MAX];

		if (done[a] || !method_known(method))
			continue;
		for (unsigned int b = a; b < API_NACTIONS; b++) {
			uint64_t x;

			if (action_method((enum api_action)b) != method ||
			    strcmp(api_action_metric((enum api_action)b), metric))
				continue;
			done[b] = true;
			if (!st)
				continue;
			sum += atomic_load_explicit(&st->latency_us_sum[b], memory_order_relaxed);
			x = atomic_load_explicit(&st->latency_us_max[b], memory_order_relaxed);
			max = x > max ? x : max;
		}
		snprintf(name, sizeof(name), "%s_%s_sum_us", method_prefix[method], metric);
		metrics_counter(o, name, sum);
		snprintf(name, sizeof(name), "%s_%s_max_us", method_prefix[method], metric);
		metrics_gauge(o, name, max);
	}
}

static void obs_api(const struct control *ctl, struct metrics *m)
{
	const struct api_stats *st = ctl->api ? api_server_stats(ctl->api) : NULL;
	struct metrics_out *o = metrics_group(m, "api_server", "api_server", NULL, NULL, 0);

	metrics_gauge(o, "process_startup_time_us", ctl->obs.startup_us);
	metrics_gauge(o, "process_startup_time_cpu_us", ctl->obs.startup_cpu_us);
	metrics_counter(o, "bad_requests", st ? atomic_load(&st->bad_requests) : 0);
	metrics_counter(o, "connections_refused", st ? atomic_load(&st->refused) : 0);
	metrics_counter(o, "connections_dropped", st ? atomic_load(&st->dropped) : 0);
	obs_api_method(st, HTTP_GET, m);
	obs_api_method(st, HTTP_PUT, m);
	obs_api_method(st, HTTP_PATCH, m);
	obs_latencies(ctl, st, m);
}

/* ------------------------------------------------------------- process */

static void obs_process(const struct control *ctl, struct metrics *m)
{
	struct metrics_out *o = metrics_group(m, "logger", "logger", NULL, NULL, 0);

	metrics_counter(o, "missed_log_count", log_missed());
	metrics_counter(o, "rate_limited_log_count", log_suppressed());
	metrics_counter(o, "missed_metrics_count", ctl->obs.missed);
	metrics_counter(o, "metrics_fails", ctl->obs.fails);
	metrics_counter(o, "metrics_values_dropped", metrics_dropped(m));
	o = metrics_group(m, "seccomp", "seccomp", NULL, NULL, 0);
	metrics_gauge(o, "num_faults", metrics_seccomp_faults());
	o = metrics_group(m, "signals", "signals", NULL, NULL, 0);
	for (unsigned int s = 0; s < METRICS_SIG_NR; s++) {
		const char *name = metrics_signal_name((enum metrics_sig)s);
		uint64_t n = metrics_signal_get((enum metrics_sig)s);

		/* Firecracker's sighup is a stored value (it ends the VM),
		 * its sigpipe a count; sigint and sigterm end petrel's too. */
		if (s == METRICS_SIG_PIPE)
			metrics_counter(o, name, n);
		else
			metrics_gauge(o, name, n);
	}
}

/* ---------------------------------------------------------------- the VM */

/* "vcpu" (the sum, Firecracker's) and "vcpu0".. (petrel's, labelled
 * vcpu="N" in Prometheus). */
static void obs_vcpus(const struct vm *vm, struct metrics *m)
{
	char name[METRICS_NAME_MAX], id[16];

	for (unsigned int i = 0; vm && i < vm->ncpus; i++) {
		struct metrics_out *o;

		snprintf(name, sizeof(name), "vcpu%u", i);
		snprintf(id, sizeof(id), "%u", i);
		o = metrics_group(m, name, "vcpu", "vcpu", id, 0);
		for (unsigned int s = 0; s < VCPU_STAT_NR; s++)
			metrics_counter(
			    o, vcpu_stat_name((enum vcpu_stat)s),
			    atomic_load_explicit(&vm->vcpu[i].stat[s], memory_order_relaxed));
	}
	if (!metrics_sum(m, "vcpu", "vcpu")) {
		struct metrics_out *o =
		    metrics_group(m, "vcpu", "vcpu", NULL, NULL, METRICS_JSON_ONLY);

		for (unsigned int s = 0; s < VCPU_STAT_NR; s++)
			metrics_counter(o, vcpu_stat_name((enum vcpu_stat)s), 0);
	}
}

/* A device's group: its registry name; in Prometheus its kind, labelled
 * with its id (drive="rootfs", iface="eth0") if it has one. */
static void obs_devices(struct device_list *l, struct metrics *m)
{
	for (unsigned int i = 0; l && i < l->n; i++) {
		const struct device *d = &l->dev[i];
		const char *label = !strcmp(d->kind, "block") ? "drive"
				    : !strcmp(d->kind, "net") ? "iface"
							      : "id";

		if (d->ops->metrics)
			d->ops->metrics(d->opaque, metrics_group(m, d->name, d->kind,
								 d->id ? label : NULL, d->id, 0));
	}
	virtio_devices_metrics_always(l, m);
}

void control_metrics_collect(struct control *ctl, struct metrics *m)
{
	struct vm *vm = ctl->state != CONTROL_NOT_STARTED ? &ctl->vm : NULL;

	metrics_begin(m);
	obs_api(ctl, m);
	obs_process(ctl, m);
	obs_vcpus(vm, m);
	obs_devices(vm ? &vm->devices : NULL, m);
}
