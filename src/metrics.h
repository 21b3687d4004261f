/* SPDX-License-Identifier: MIT */
/*
 * Metrics: counters by group ("vcpu", "block_rootfs", "api_server"...),
 * written as Firecracker's JSON lines (to --metrics-path / PUT /metrics, on
 * FlushMetrics and every 60 s) and as Prometheus text (GET /metrics on the
 * API socket). Whoever has counters reports them through a struct
 * metrics_out: devices from their registry op (device.h), the core and
 * the API from the metrics module's own walk.
 */
#ifndef PETREL_METRICS_H
#define PETREL_METRICS_H

#include <stdint.h>

struct metrics_out;

/* A count that only grows (requests, bytes, exits). Prometheus shows the
 * total; Firecracker's JSON the change since the last flush. `name` is a
 * static string of [a-z0-9_]. */
void metrics_counter(struct metrics_out *o, const char *name, uint64_t value);

/* A value as it is now (queue depth, balloon size). Both formats show it
 * as it is. */
void metrics_gauge(struct metrics_out *o, const char *name, uint64_t value);

#endif
