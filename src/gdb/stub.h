/* SPDX-License-Identifier: MIT */
/*
 * The gdb stub's protocol engine: packets in, replies and target actions
 * out, through a table of target operations, with no KVM, socket or thread
 * of its own (unit tests drive it with a fake target). All-stop: the
 * target runs every vCPU or none. vCPU i is gdb thread i + 1.
 *
 * Single-threaded: every call on one stub comes from one thread (the VMM
 * thread's event loop).
 */
#ifndef PETREL_GDB_STUB_H
#define PETREL_GDB_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb/packet.h"
#include "gdb/target.h"
#include "gdb/x86_regs.h"
#include "log.h"

#define GDB_MAX_SWBP 64
#define GDB_MAX_HWBP 4

struct gdb_swbp {
	uint64_t addr;
	uint8_t orig;
	bool used;
};

struct gdb_hwbp {
	uint64_t addr;
	unsigned int type, len; /* Z type 1, 2 or 4; bytes */
	bool used;
};

struct gdb_stub {
	const struct gdb_target_ops *ops;
	void *t;
	struct gdbpkt_rx rx;
	bool noack, running, stepping, gone;
	unsigned int g_cpu; /* Hg: registers and memory */
	int step_cpu;	    /* the vCPU single-stepping while running, -1: none */
	char last_stop[64]; /* '?' answers with the last stop reply */
	struct gdb_swbp sw[GDB_MAX_SWBP];
	struct gdb_hwbp hw[GDB_MAX_HWBP];
	char reply[GDBPKT_MAX + 1];
	char mon[GDBPKT_MAX / 2]; /* a monitor command's output */
	char frame[2 * GDBPKT_MAX + 8];
};

/* Set up for a new connection; the VM is stopped at its first
 * instruction (the stop reply says thread 1, SIGTRAP). */
void gdb_stub_init(struct gdb_stub *s, const struct gdb_target_ops *ops, void *t);

/* Bytes from the peer. Returns 0, or -ECONNRESET once the session is over
 * (detach, kill or a send error): the caller closes the connection. */
int gdb_stub_input(struct gdb_stub *s, const uint8_t *buf, size_t n) MUST_CHECK;

/* The target stopped on `cpu` for a debug exception (KVM_EXIT_DEBUG:
 * `vector` 1 or 3, linear `pc`, `dr6`). Returns true if it was the stub's
 * (the stop reply went out, the VM stays stopped); false if it belongs to
 * the guest: the caller resumes with gdb_stub_resume_foreign. */
bool gdb_stub_debug_exit(struct gdb_stub *s, unsigned int cpu, unsigned int vector, uint64_t pc,
			 uint64_t dr6);

/* Resume after a foreign exception on `cpu` (it goes back to the guest). */
int gdb_stub_resume_foreign(struct gdb_stub *s, unsigned int cpu, unsigned int vector) MUST_CHECK;

/* The target stopped after ops->interrupt: SIGINT stop reply. */
void gdb_stub_interrupted(struct gdb_stub *s, unsigned int cpu);

/* The peer vanished: remove every breakpoint, detach the target. */
void gdb_stub_disconnect(struct gdb_stub *s);

#endif
