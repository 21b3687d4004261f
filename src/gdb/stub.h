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
#include "gdb/x86_regs.h"
#include "log.h"

#define GDB_MAX_SWBP 64
#define GDB_MAX_HWBP 4

/* What the target's debug registers and flags should be on resume. */
struct gdb_debug {
	uint64_t dr[4], dr7;
	bool sw_bp;	/* int3s trap to petrel (KVM_GUESTDBG_USE_SW_BP) */
	int step_cpu;	/* single-step this vCPU, -1: none */
	int inject_cpu; /* re-inject a foreign exception into this vCPU, -1: none */
	int inject_vec; /* 1 (#DB) or 3 (#BP) */
};

/* The target. Every call returns 0 or -errno unless said otherwise. */
struct gdb_target_ops {
	unsigned int (*ncpus)(void *t);
	/* The stopped vCPU's register file, GDBX86_REGS_SIZE bytes. */
	int (*read_regs)(void *t, unsigned int cpu, uint8_t *regs);
	int (*write_regs)(void *t, unsigned int cpu, const uint8_t *regs);
	/* Guest virtual memory as `cpu` sees it (its page tables). */
	int (*read_mem)(void *t, unsigned int cpu, uint64_t gva, void *buf, size_t len);
	int (*write_mem)(void *t, unsigned int cpu, uint64_t gva, const void *buf, size_t len);
	/* `gva` -> guest physical *gpa through `cpu`'s page tables. */
	int (*translate)(void *t, unsigned int cpu, uint64_t gva, uint64_t *gpa);
	/* Run every vCPU with `dbg`; a later stop is reported through
	 * gdb_stub_debug_exit or gdb_stub_interrupted. */
	int (*resume)(void *t, const struct gdb_debug *dbg);
	/* Stop every vCPU soon (Ctrl-C); report with gdb_stub_interrupted. */
	void (*interrupt)(void *t);
	/* gdb left: clear debugging, run the guest. */
	void (*detach)(void *t);
	/* gdb's 'k': end the VM. */
	void (*kill)(void *t);
	/* Bytes for the peer; an error drops the connection. */
	int (*send)(void *t, const void *buf, size_t len);
};

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
