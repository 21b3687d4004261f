/* SPDX-License-Identifier: MIT */
/*
 * What the gdb stub drives: the target's operations (KVM in
 * gdb/server.c, plain memory in the unit tests) and the debug state a
 * resume sets. Shared by the protocol engine (stub.c) and the monitor
 * commands (monitor.c).
 */
#ifndef PETREL_GDB_TARGET_H
#define PETREL_GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
