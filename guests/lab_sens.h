/* SPDX-License-Identifier: MIT */
/*
 * lab/03-sensitive-unprivileged and lab/04-binary-rewriting: a classic,
 * pre-VT-x trap-and-emulate monitor in miniature, inside one petrel guest.
 * The monitor (lab_sens.c, CPL0) runs a deprivileged "guest kernel"
 * (lab_sens_kernel.S) at CPL3 and emulates what traps; the instruction
 * decoder and emulator are lab_sens_insn.c. This header is what the three
 * share: the lab port protocol, the row records, the trap frame.
 */
#ifndef GUEST_LAB_SENS_H
#define GUEST_LAB_SENS_H

/* The kernel talks to its monitor with an OUT to this (virtual) port: a
 * trapped instruction the monitor emulates, the miniature's hypercall.
 * RBX: the command; RSI, RDI, R8: its arguments. */
#define LAB_PORT 0xe0
#define CMD_ROW 1    /* RSI: the row now running; its traps count to it */
#define CMD_ROWEND 2 /* RSI: VS_* to store as the row's "seen", or 0 */
#define CMD_TIME 3   /* RSI: TIME_* id, RDI: TSC cycles, R8: iterations */
#define CMD_DONE 4   /* the kernel is done: report and exit */

/* Virtual CPU state a row can report (CMD_ROWEND). */
#define VS_NONE 0
#define VS_IF 1
#define VS_CR0 2
#define VS_GDTR 3 /* limit << 48 | base */
#define VS_IDTR 4
#define VS_LDTR 5
#define VS_TR 6
#define VS_HLT 7 /* HLTs emulated so far */
#define VS_OUT 8 /* bytes the kernel wrote to its (virtual) COM1 */
#define VS_COUNT 9

/* The kernel's timing loops (CMD_TIME). */
#define TIME_ADD 1  /* add: an ordinary instruction */
#define TIME_SGDT 2 /* sgdt: sensitive, unprivileged */
#define TIME_CLI 3  /* cli: privileged, traps */

/* Row classes: privileged, sensitive and unprivileged, and the
 * sensitive unprivileged ones that CR4.UMIP makes privileged. */
#define CLS_PRIV 0x50 /* 'P' */
#define CLS_SENS 0x53 /* 'S' */
#define CLS_UMIP 0x55 /* 'U' */

/* The virtual CPU: the kernel believes it runs at CPL0 with these. */
#define DPK_CS 0x08
#define DPK_SS 0x10
#define DPK_TR 0x68
#define DPK_LDTR 0x78

#ifndef __ASSEMBLER__
#include <stdint.h>

/* One row of the table, in the kernel's memory (lab_sens_kernel.S). */
struct dpk_row {
	const char *name;
	uint64_t cls; /* CLS_* */
	uint64_t seen;
	uint64_t expect;
};

extern struct dpk_row dpk_rows[];
extern const uint64_t dpk_nrows;
extern char dpk_text_start[], dpk_text_end[], dpk_entry[], dpk_stack_top[];
extern uint64_t dpk_n_native, dpk_n_trap; /* the timing loops' iterations */

/* What the CPU pushed on a trap from CPL3, under what trap_entry pushed. */
struct frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* The virtual CPU the monitor keeps for the kernel. */
struct vcpu {
	uint64_t vif;
	uint64_t cr[5]; /* CR0, -, CR2, CR3, CR4 */
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit, ldtr, tr;
	uint64_t hlts, outs;
};

extern struct vcpu vcpu;

/* A decoded instruction (lab_sens_insn.c). */
struct insn {
	uint8_t len;
	uint8_t rex, opsize16, addr32;
	uint16_t op; /* one-byte opcode, or 0x0f00 | second byte */
	uint8_t has_modrm, mod, reg, rm;
	uint64_t ea; /* the memory operand's address (mod != 3) */
	uint64_t imm;
};

/* Decodes the instruction of `bytes` (at most 15, as found at address
 * `at`); memory operands use `f`'s registers (NULL: no address is
 * computed). 0 on success; -1 for an encoding outside the integer subset
 * this decoder knows (then the rewriter must not guess its length). */
int insn_decode(const uint8_t *bytes, uint64_t at, const struct frame *f, struct insn *in);

/* Whether `in` is one of the sensitive unprivileged instructions that the
 * rewriter replaces (SGDT ... MOV from a segment register). */
int insn_is_sensitive(const struct insn *in);

/* Emulates `in` (decoded at f->rip) against `vcpu` and `f`, as a CPU at
 * CPL0 would run it, and moves f->rip past it. `port_out` handles an OUT
 * (port, value). 0 on success; -1 for an instruction it does not emulate. */
int insn_emulate(const struct insn *in, struct frame *f,
		 void (*port_out)(struct frame *f, uint16_t port, uint32_t v));
#endif

#endif
