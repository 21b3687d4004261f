/* SPDX-License-Identifier: MIT */
/*
 * gdb's `monitor CMD` (qRcmd): a few commands answered as console text.
 * `info version` is what the kernel's lx-* scripts probe to learn that the
 * stub numbers vCPUs as threads 1..N, as QEMU does ($lx_current() and
 * $lx_per_cpu() without a CPU then use the selected thread).
 */
#ifndef PETREL_GDB_MONITOR_H
#define PETREL_GDB_MONITOR_H

#include <stddef.h>

#include "gdb/target.h"
#include "log.h"

/* Run the (already hex-decoded, NUL-terminated) command `cmd` against the
 * stopped target (`ops`, `t`), whose current vCPU (gdb's Hg thread - 1) is
 * `cpu`; its output, NUL-terminated, in out[size] (truncated to fit). 0,
 * or -ENOENT for an unknown command (out then holds a message too). */
int gdb_monitor_run(const struct gdb_target_ops *ops, void *t, unsigned int cpu, const char *cmd,
		    char *out, size_t size) MUST_CHECK;

#endif
