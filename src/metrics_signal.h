/* SPDX-License-Identifier: MIT */
/*
 * What signal handlers count, and seccomp's SIGSYS handler.
 *
 * The seccomp filters (sandbox/seccomp.c) trap a forbidden syscall
 * (SECCOMP_RET_TRAP) instead of killing at once, so that petrel can say
 * what happened: the handler counts it (seccomp.num_faults), logs the
 * thread and the syscall number, writes a last metrics line, and then
 * makes the same call again. The filter traps it again while SIGSYS is
 * blocked in its handler, and the kernel then kills the process with
 * SIGSYS, as SECCOMP_RET_KILL_PROCESS did: exit status 159 (128 + 31), a
 * core dump where they are on. A trapped syscall never runs, so the trap
 * gives a compromised thread nothing the kill did not.
 *
 * Everything here touches only atomics and makes async-signal-safe calls;
 * these are the process's only global metrics, because a signal handler
 * cannot be told where a struct is.
 */
#ifndef PETREL_METRICS_SIGNAL_H
#define PETREL_METRICS_SIGNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

enum metrics_sig {
	METRICS_SIG_HUP,  /* through the signalfd: the VM stops (control.c) */
	METRICS_SIG_INT,  /* likewise */
	METRICS_SIG_TERM, /* likewise */
	METRICS_SIG_PIPE, /* a write to a pipe or socket nobody reads: EPIPE */
	METRICS_SIG_NR,
};

/* Install the SIGSYS handler and a SIGPIPE handler that counts (a write
 * to a closed pipe then fails with EPIPE, as with SIGPIPE ignored). Once,
 * before any thread or filter. 0 or -errno. */
int metrics_signal_install(void) MUST_CHECK;

/* Count one `s`. Async-signal-safe. */
void metrics_signal_count(enum metrics_sig s);

/* How many `s` so far. */
uint64_t metrics_signal_get(enum metrics_sig s);

/* Firecracker's name of the counter: "sighup", "sigpipe"... */
const char *metrics_signal_name(enum metrics_sig s);

/* Forbidden syscalls trapped (at most 1: the first one ends petrel). */
uint64_t metrics_seccomp_faults(void);

/* The metrics file the SIGSYS handler writes its last line to (-1: none),
 * and whether a line is half written there now (then it writes none). */
void metrics_signal_set_fd(int fd);
void metrics_signal_line_open(bool open);

#endif
