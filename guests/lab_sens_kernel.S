/* SPDX-License-Identifier: MIT */
/*
 * The deprivileged "guest kernel" of lab/03 and lab/04 (lab_sens.h). It
 * believes it runs at CPL0: it loads its own GDT, IDT, LDT and TSS,
 * writes CR0 and CR3, switches interrupts off and on, halts, talks to
 * COM1. In fact lab_sens.c runs it at CPL3: each privileged instruction
 * faults to the monitor, which emulates it. Then it reads back its state
 * with the sensitive unprivileged instructions of Robin & Irvine's list,
 * one row each, and records what it saw (seen) next to what a CPU at CPL0
 * would have shown it (expect). Last, three timed loops.
 *
 * Everything between dpk_text_start and dpk_text_end is code (the
 * rewriter of lab/04 sweeps it linearly); the kernel's data is in .data.
 * Registers: the lab-port commands use RBX, RSI, RDI, R8 and AL.
 */
#include "lab_sens.h"

#define ROW_SEEN(i) (dpk_rows + (i) * 32 + 16)
#define ROW_EXPECT(i) (dpk_rows + (i) * 32 + 24)
#define DPK_CR0 0x8001003b /* PG WP NE ET TS MP PE: TS and MP are the kernel's own */
#define DPK_CR3 0x1234000
#define COM1 0x3f8

	.set	R_LGDT, 0
	.set	R_LIDT, 1
	.set	R_LLDT, 2
	.set	R_LTR, 3
	.set	R_CR0W, 4
	.set	R_CR0R, 5
	.set	R_CR3, 6
	.set	R_STI, 7
	.set	R_HLT, 8
	.set	R_CLI, 9
	.set	R_IN, 10
	.set	R_OUT, 11
	.set	R_SGDT, 12
	.set	R_SIDT, 13
	.set	R_SLDT, 14
	.set	R_STR, 15
	.set	R_SMSW, 16
	.set	R_PUSHF, 17
	.set	R_POPF, 18
	.set	R_MOVCS, 19
	.set	R_MOVSS, 20
	.set	R_LAR, 21
	.set	R_LSL, 22
	.set	R_VERR, 23
	.set	R_VERW, 24
	.set	NROWS, 25

/* A command to the monitor: an OUT it traps and emulates. */
.macro	hcall cmd, arg
	movl	$\cmd, %ebx
	movl	$\arg, %esi
	outb	%al, $LAB_PORT
.endm
.macro	row i
	hcall	CMD_ROW, \i
.endm
.macro	rowend vs
	hcall	CMD_ROWEND, \vs
.endm
.macro	expect i, v
	movabsq	$\v, %rax
	movq	%rax, ROW_EXPECT(\i)(%rip)
.endm
/* reg = limit << 48 | base of the 10-byte pseudo-descriptor at mem */
.macro	dtr reg, mem
	movzwq	\mem, \reg
	shlq	$48, \reg
	orq	2+\mem, \reg
.endm
/* Row i: the descriptor-table load insn of the table at mem; the monitor
 * reports its virtual register vs */
.macro	load_dt i, insn, mem, vs
	row	\i
	leaq	\mem(%rip), %rax
	\insn	(%rax)
	rowend	\vs
	dtr	%rax, \mem(%rip)
	movq	%rax, ROW_EXPECT(\i)(%rip)
.endm
/* Row i: the descriptor-table store insn, against what the kernel loaded */
.macro	store_dt i, insn, loaded
	row	\i
	leaq	dpk_scratch(%rip), %rax
	\insn	(%rax)
	dtr	%rcx, dpk_scratch(%rip)
	movq	%rcx, ROW_SEEN(\i)(%rip)
	rowend	VS_NONE
	dtr	%rax, \loaded(%rip)
	movq	%rax, ROW_EXPECT(\i)(%rip)
.endm
.macro	tsc reg
	rdtsc
	shlq	$32, %rdx
	orq	%rdx, %rax
	movq	%rax, \reg
.endm
/* count iterations of insn, timed; the cycles go to the monitor as id.
 * Twice: the second report (the one the monitor keeps) runs warm, its
 * code cached, and under a translator such as QEMU's TCG translated. */
.macro	timed id, count, insn:vararg
	.rept	2
	movq	\count(%rip), %rcx
	tsc	%r13
1:	\insn
	decq	%rcx
	jnz	1b
	tsc	%rdi
	subq	%r13, %rdi
	movq	\count(%rip), %r8
	hcall	CMD_TIME, \id
	.endr
.endm

	.section dpk_text, "ax"
	.globl	dpk_text_start, dpk_text_end, dpk_entry
dpk_text_start:
dpk_entry:
	/* --- Privileged: each one faults and the monitor emulates it. --- */
	load_dt	R_LGDT, lgdt, dpk_gdtr, VS_GDTR
	load_dt	R_LIDT, lidt, dpk_idtr, VS_IDTR

	row	R_LLDT
	movl	$DPK_LDTR, %eax
	lldt	%ax
	rowend	VS_LDTR
	expect	R_LLDT, DPK_LDTR

	row	R_LTR
	movl	$DPK_TR, %eax
	ltr	%ax
	rowend	VS_TR
	expect	R_LTR, DPK_TR

	row	R_CR0W
	movabsq	$DPK_CR0, %rax
	movq	%rax, %cr0
	rowend	VS_CR0
	expect	R_CR0W, DPK_CR0

	row	R_CR0R
	movq	%cr0, %rcx
	movq	%rcx, ROW_SEEN(R_CR0R)(%rip)
	rowend	VS_NONE
	expect	R_CR0R, DPK_CR0

	row	R_CR3
	movabsq	$DPK_CR3, %rax
	movq	%rax, %cr3
	movq	%cr3, %rcx
	movq	%rcx, ROW_SEEN(R_CR3)(%rip)
	rowend	VS_NONE
	expect	R_CR3, DPK_CR3

	row	R_STI
	sti
	rowend	VS_IF
	expect	R_STI, 1

	row	R_HLT
	hlt
	rowend	VS_HLT
	expect	R_HLT, 1

	row	R_CLI
	cli
	rowend	VS_IF
	expect	R_CLI, 0

	row	R_IN
	movl	$(COM1 + 5), %edx
	inb	%dx, %al
	movzbl	%al, %ecx
	movq	%rcx, ROW_SEEN(R_IN)(%rip)
	rowend	VS_NONE
	expect	R_IN, 0x60

	row	R_OUT
	leaq	dpk_msg(%rip), %rdi
	movl	$COM1, %edx
1:	movb	(%rdi), %al
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	incq	%rdi
	jmp	1b
2:	rowend	VS_OUT
	expect	R_OUT, (dpk_msg_end - dpk_msg - 1)

	/* --- Sensitive, unprivileged: they run, and show the real CPU. --- */
	store_dt R_SGDT, sgdt, dpk_gdtr
	store_dt R_SIDT, sidt, dpk_idtr

	row	R_SLDT
	sldt	%rcx
	movq	%rcx, ROW_SEEN(R_SLDT)(%rip)
	rowend	VS_NONE
	expect	R_SLDT, DPK_LDTR

	row	R_STR
	str	%rcx
	movq	%rcx, ROW_SEEN(R_STR)(%rip)
	rowend	VS_NONE
	expect	R_STR, DPK_TR

	row	R_SMSW
	leaq	dpk_scratch(%rip), %rax
	movq	$0, (%rax)
	smsw	(%rax)
	movzwl	(%rax), %ecx
	movq	%rcx, ROW_SEEN(R_SMSW)(%rip)
	rowend	VS_NONE
	expect	R_SMSW, (DPK_CR0 & 0xffff)

	/* PUSHF's IF after cli and after sti: bit 0 and bit 1 of seen. The
	 * real IF does not follow the kernel's, so one of them is wrong. */
	cli
	row	R_PUSHF
	pushfq
	popq	%r12
	rowend	VS_NONE
	sti
	row	R_PUSHF
	pushfq
	popq	%rcx
	rowend	VS_NONE
	shrq	$9, %r12
	andl	$1, %r12d
	shrq	$8, %rcx
	andl	$2, %ecx
	orq	%r12, %rcx
	movq	%rcx, ROW_SEEN(R_PUSHF)(%rip)
	expect	R_PUSHF, 2

	/* POPF clearing IF (the kernel's IF is 1 now, after sti). */
	row	R_POPF
	pushfq
	andq	$~0x200, (%rsp)
	popfq
	rowend	VS_IF
	expect	R_POPF, 0

	row	R_MOVCS
	xorl	%eax, %eax
	movw	%cs, %ax
	movq	%rax, ROW_SEEN(R_MOVCS)(%rip)
	rowend	VS_NONE
	expect	R_MOVCS, DPK_CS

	row	R_MOVSS
	xorl	%eax, %eax
	movw	%ss, %ax
	movq	%rax, ROW_SEEN(R_MOVSS)(%rip)
	rowend	VS_NONE
	expect	R_MOVSS, DPK_SS

	/* LAR, LSL: the result, or all ones when refused (ZF clear). */
	row	R_LAR
	movl	$DPK_CS, %ecx
	xorl	%eax, %eax
	lar	%ecx, %eax
	jz	1f
	movq	$-1, %rax
1:	movq	%rax, ROW_SEEN(R_LAR)(%rip)
	rowend	VS_NONE
	movl	dpk_gdt + DPK_CS + 4(%rip), %eax
	andl	$0x00f0ff00, %eax
	movq	%rax, ROW_EXPECT(R_LAR)(%rip)

	row	R_LSL
	movl	$DPK_SS, %ecx
	xorl	%eax, %eax
	lsl	%ecx, %eax
	jz	1f
	movq	$-1, %rax
1:	movq	%rax, ROW_SEEN(R_LSL)(%rip)
	rowend	VS_NONE
	expect	R_LSL, 0xffffffff

	/* VERR, VERW: 1 when the segment is readable / writable. */
	row	R_VERR
	movl	$DPK_CS, %ecx
	verr	%cx
	setz	%al
	movzbl	%al, %eax
	movq	%rax, ROW_SEEN(R_VERR)(%rip)
	rowend	VS_NONE
	expect	R_VERR, 1

	row	R_VERW
	movl	$DPK_SS, %ecx
	verw	%cx
	setz	%al
	movzbl	%al, %eax
	movq	%rax, ROW_SEEN(R_VERW)(%rip)
	rowend	VS_NONE
	expect	R_VERW, 1

	/* --- Costs: an ordinary instruction, SGDT, a privileged one. --- */
	timed	TIME_ADD, dpk_n_native, addq $1, %r10
	leaq	dpk_scratch(%rip), %r11
	timed	TIME_SGDT, dpk_n_trap, sgdt (%r11)
	timed	TIME_CLI, dpk_n_trap, cli

	hcall	CMD_DONE, 0
3:	jmp	3b
dpk_text_end:

	.section .rodata
	.globl	dpk_nrows
	.balign	8
dpk_nrows:
	.quad	NROWS
dpk_msg:
	.asciz	"dpk: hello from the deprivileged kernel, one trapped OUT per byte\n"
dpk_msg_end:

.macro	rowdef name, cls
	.pushsection .rodata
9:	.asciz	"\name"
	.popsection
	.quad	9b, \cls, 0, 0
.endm

	.data
	.balign	8
	.globl	dpk_rows, dpk_n_native, dpk_n_trap
dpk_rows:
	rowdef	lgdt, CLS_PRIV
	rowdef	lidt, CLS_PRIV
	rowdef	lldt, CLS_PRIV
	rowdef	ltr, CLS_PRIV
	rowdef	mov-to-cr0, CLS_PRIV
	rowdef	mov-from-cr0, CLS_PRIV
	rowdef	mov-cr3, CLS_PRIV
	rowdef	sti, CLS_PRIV
	rowdef	hlt, CLS_PRIV
	rowdef	cli, CLS_PRIV
	rowdef	in, CLS_PRIV
	rowdef	out, CLS_PRIV
	rowdef	sgdt, CLS_UMIP
	rowdef	sidt, CLS_UMIP
	rowdef	sldt, CLS_UMIP
	rowdef	str, CLS_UMIP
	rowdef	smsw, CLS_UMIP
	rowdef	pushf, CLS_SENS
	rowdef	popf, CLS_SENS
	rowdef	mov-from-cs, CLS_SENS
	rowdef	mov-from-ss, CLS_SENS
	rowdef	lar, CLS_SENS
	rowdef	lsl, CLS_SENS
	rowdef	verr, CLS_SENS
	rowdef	verw, CLS_SENS
dpk_n_native:
	.quad	100000
dpk_n_trap:
	.quad	200
dpk_scratch:
	.quad	0, 0

/* The kernel's own descriptor tables: code 0x08, data 0x10, a TSS at
 * DPK_TR and an LDT at DPK_LDTR (16-byte system descriptors). */
	.balign	16
dpk_gdt:
	.quad	0
	.quad	0x00af9a000000ffff
	.quad	0x00cf92000000ffff
	.fill	(DPK_TR - 0x18) / 8, 8, 0
	.quad	0x0000890000000067, 0
	.quad	0x0000820000000000, 0
dpk_gdt_end:
	.balign	8
dpk_gdtr:
	.word	dpk_gdt_end - dpk_gdt - 1
	.quad	dpk_gdt
	.balign	8
dpk_idtr:
	.word	4095
	.quad	dpk_idt

	.bss
	.balign	16
dpk_idt:
	.skip	4096
	.globl	dpk_stack_top
dpk_stack:
	.skip	16384
dpk_stack_top:

	.section .note.GNU-stack, "", @progbits
