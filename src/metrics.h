/* SPDX-License-Identifier: MIT */
/*
 * Metrics: counters by group ("vcpu", "block_rootfs", "api_server"...),
 * written as Firecracker's JSON lines (to --metrics-path / PUT /metrics, on
 * FlushMetrics and every 60 s) and as Prometheus text (GET /metrics on the
 * API socket). Whoever has counters reports them through a struct
 * metrics_out: devices from their registry op (device.h), the core and
 * the API from the control plane's walk (control_metrics.c).
 *
 * A struct metrics holds one collection at a time: metrics_begin, then
 * groups and their values in a fixed order (the walk), then a rendering.
 * It also keeps the collection of the last JSON line written, so a
 * counter's JSON value is its change since then (Firecracker's
 * SharedIncMetric); a gauge's is its value (SharedStoreMetric).
 * Prometheus shows every counter's total. Memory is bounded: at most
 * METRICS_MAX_GROUPS groups and METRICS_MAX_VALUES values per collection,
 * allocated once; what does not fit is dropped and counted.
 *
 * Threads: one (the VMM thread); none of this is async-signal-safe (see
 * metrics_signal.h for what a signal handler does).
 */
#ifndef PETREL_METRICS_H
#define PETREL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* 255 vCPUs (a sum and one group each) and 64 registry devices (two
 * sums), the API's and the process's groups: 384 groups; the vCPUs'
 * 14 values each, up to ~30 per device, ~200 for the API. */
#define METRICS_MAX_GROUPS 384
#define METRICS_MAX_VALUES 6144
#define METRICS_NAME_MAX 64	  /* a group's JSON name or a label value, NUL included */
#define METRICS_VALUE_NAME_MAX 48 /* a value's name, NUL included */

/* A group that only the JSON line has (a sum Prometheus users compute
 * themselves: a family with both would count everything twice). */
#define METRICS_JSON_ONLY 1u

struct metrics;
struct metrics_out;

/* A count that only grows (requests, bytes, exits). Prometheus shows the
 * total; Firecracker's JSON the change since the last flush. `name` is
 * [a-z0-9_], shorter than METRICS_VALUE_NAME_MAX (anything else is
 * dropped), and copied. `o` NULL (a group that did not fit) is a no-op. */
void metrics_counter(struct metrics_out *o, const char *name, uint64_t value);

/* A value as it is now (queue depth, balloon size). Both formats show it
 * as it is. */
void metrics_gauge(struct metrics_out *o, const char *name, uint64_t value);

/* A collector with room for its bounds. 0 or -ENOMEM. */
int metrics_create(struct metrics **out) MUST_CHECK;
void metrics_destroy(struct metrics *m);

/* Start a collection (the previous one is forgotten; the last flushed one
 * is kept). */
void metrics_begin(struct metrics *m);

/*
 * Open group `name` (its JSON key) for values; values go to the group last
 * opened. In Prometheus its values are petrel_<family>_<value name>, with
 * the label instance="<id>" and, if `label` is not NULL,
 * <label>="<label_value>" (a device's id, a vCPU's number). `family` and
 * `label` are [a-z0-9_] (static strings); `flags` METRICS_JSON_ONLY or 0.
 * NULL when the groups are full, a name repeats, or a name is invalid
 * (counted in metrics_dropped).
 */
struct metrics_out *metrics_group(struct metrics *m, const char *name, const char *family,
				  const char *label, const char *label_value, unsigned int flags);

/* Add group `name` (JSON only): for each value name of the labelled
 * groups of `family`, the sum of their values, in the order the names
 * first came. false (and no group) if the family has no labelled group. */
bool metrics_sum(struct metrics *m, const char *name, const char *family);

/* The value `name` of group `group` in this collection, or `dflt` (for
 * tests). */
uint64_t metrics_get(const struct metrics *m, const char *group, const char *name, uint64_t dflt);

/* Values and groups dropped (bounds, bad names, repeats) since creation. */
uint64_t metrics_dropped(const struct metrics *m);

/* The collection as Firecracker's JSON line ("{...}\n"), utc_timestamp_ms
 * first, groups in collection order; counters as their change since the
 * collection last passed to metrics_flushed (a counter that went down
 * shows its value). malloc'd (*len bytes, NUL-terminated), or NULL on
 * ENOMEM. */
char *metrics_json(const struct metrics *m, uint64_t utc_ms, size_t *len);

/* The line metrics_json made of this collection was written: its
 * counters are the base of the next line's changes. */
void metrics_flushed(struct metrics *m);

/* The collection in Prometheus's text exposition format 0.0.4: one
 * family per metric name (# HELP, # TYPE, then every sample), every
 * sample labelled instance="<instance>". Groups flagged
 * METRICS_JSON_ONLY are left out. malloc'd, or NULL on ENOMEM. */
char *metrics_prometheus(const struct metrics *m, const char *instance, size_t *len);

/* Prometheus's content type for that text. */
#define METRICS_PROMETHEUS_TYPE "text/plain; version=0.0.4"

#endif
