/* SPDX-License-Identifier: MIT */
/*
 * Start-up code shared by every test guest: both boot entries, the GDT, the
 * identity page tables, the CPL3 entry (SYSEXIT) and the SMP trampoline.
 *
 * On petrel's PVM host every CPL0 instruction is emulated by KVM, so this
 * file uses only plain instructions (mov, or, and, lgdt, mov to cr, rdmsr,
 * wrmsr, ljmp, lret, sysexit) and no loops: the page tables are built by
 * the assembler, not at run time.
 */
#include "guest_layout.h"

/* ---------------------------------------------------------------------- */
/* Linux boot protocol: payload loaded at 0x100000.                        */
	.section .text.head, "ax"
	.code32
	.globl	bz_entry32
bz_entry32:			/* 32-bit protocol: not supported */
	cli
1:	hlt
	jmp	1b

	.org	0x200
	.code64
	.globl	bz_entry64
/* 64-bit protocol: long mode, rsi = boot_params, loader's GDT/page tables. */
bz_entry64:
	cli
	movq	%rsi, %r12
	lgdt	gdt_desc(%rip)
	movq	$pml4, %rax
	movq	%rax, %cr3
	movq	%cr4, %rax
	andq	$~(CR4_SMEP | CR4_SMAP), %rax
	movq	%rax, %cr4
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$boot_stack_top, %rsp
	pushq	$SEL_KCODE
	pushq	$1f
	lretq
1:	movl	$BOOT_KIND_LINUX, %edi
	movq	%r12, %rsi
	call	rt_start
	jmp	halt_forever

/* ---------------------------------------------------------------------- */
/* PVH: 32-bit protected mode, paging off, ebx = hvm_start_info.           */
	.text
	.code32
	.globl	pvh_entry
pvh_entry:
	cli
	movl	%ebx, %esi
	lgdt	gdt_desc
	movl	$(CR4_PAE), %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$(CR0_PG | CR0_WP | CR0_PE | CR0_ET | CR0_NE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_KCODE, $pvh_entry64

	/* The targets of far jumps from 32-bit code are 16-aligned: their
	 * addresses are immediates there, and the insn check, which reads
	 * all code as 64-bit, would take a low byte of 0x9b for fwait. */
	.code64
	.p2align 4
pvh_entry64:
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$boot_stack_top, %rsp
	movl	$BOOT_KIND_PVH, %edi
	movl	%esi, %esi		/* zero-extend start_info paddr */
	call	rt_start
	/* fall through */
	.globl	halt_forever
halt_forever:
	cli
1:	hlt
	jmp	1b

/*
 * void sysexit_to_user(void (*fn)(void), void *stack_top) — never returns.
 * SYSEXIT (64-bit, REX.W): CS = SYSENTER_CS + 32 (0x2b), SS = SYSENTER_CS + 40
 * (0x33), RIP = RDX, RSP = RCX. SYSEXIT does not change RFLAGS, so IOPL=3
 * set here lets the user code do port I/O on VT-x/SVM; PVM forces IOPL to 0
 * at CPL3, so rt.c also loads a TSS whose I/O bitmap allows every port.
 */
	.globl	sysexit_to_user
sysexit_to_user:
	movq	%rdi, %r8
	movq	%rsi, %r9
	movl	$MSR_SYSENTER_CS, %ecx
	movl	$SEL_KCODE, %eax
	xorl	%edx, %edx
	wrmsr
	pushq	$(RFLAGS_IOPL3 | 0x2)
	popfq
	movq	%r8, %rdx
	movq	%r9, %rcx
	subq	$8, %rcx		/* as if called: rsp+8 is 16-aligned */
	sysexitq

/* AP landing point in 64-bit mode (from the trampoline). */
	.globl	ap_entry64
	.p2align 4
ap_entry64:
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$1, %eax
	lock xaddl %eax, ap_next_index(%rip)	/* eax = this AP's index, 1.. */
	movl	%eax, %edi
	shlq	$AP_STACK_SHIFT, %rax
	addq	$ap_stacks, %rax
	movq	%rax, %rsp		/* top of stack slot (index) */
	call	ap_main
	jmp	halt_forever

/* ---------------------------------------------------------------------- */
/*
 * Real-mode AP trampoline. Copied to TRAMP_BASE (below 1 MiB) by the BSP;
 * the SIPI vector is TRAMP_BASE >> 12, so it starts with CS = TRAMP_BASE>>4,
 * IP = 0. Every address is computed relative to tramp_start.
 */
	.section .rodata
	.code16
	.globl	tramp_start, tramp_end
tramp_start:
	cli
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	(tramp_gdtr - tramp_start)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_KCODE32, $(TRAMP_BASE + tramp32 - tramp_start)
	.code32
tramp32:
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$(CR4_PAE), %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$(CR0_PG | CR0_WP | CR0_PE | CR0_ET | CR0_NE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_KCODE, $ap_entry64
	.balign	8
tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
tramp_end:

/* ---------------------------------------------------------------------- */
	.data
	.balign	16
	.globl	gdt_tss
gdt:
	.quad	0			/* 0x00 */
	.quad	0x00af9a000000ffff	/* 0x08 kernel code, 64-bit */
	.quad	0x00cf92000000ffff	/* 0x10 kernel data */
	.quad	0x00cf9a000000ffff	/* 0x18 kernel code, 32-bit (trampoline) */
	.quad	0x00cffa000000ffff	/* 0x20 user code, 32-bit (SYSEXIT legacy) */
	.quad	0x00affa000000ffff	/* 0x28 user code, 64-bit (SYSEXIT 64) */
	.quad	0x00cff2000000ffff	/* 0x30 user data (SYSEXIT 64 SS) */
gdt_tss:
	.quad	0, 0			/* 0x38 64-bit TSS, filled by tss_load() */
gdt_end:
	.balign	8
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/*
 * Identity map of the first 4 GiB with 2 MiB pages, user-accessible (the
 * CPL3 code runs on the same map). Built by the assembler.
 */
	.section .data.pagetables, "aw"
	.balign	4096
	.globl	pml4
pml4:
	.quad	pdpt + PTE_P + PTE_W + PTE_U
	.fill	511, 8, 0
pdpt:
	.quad	pd + 0x0000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x1000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x2000 + PTE_P + PTE_W + PTE_U
	.quad	pd + 0x3000 + PTE_P + PTE_W + PTE_U
	.fill	508, 8, 0
pd:
	.set	addr, 0
	.rept	2048
	.quad	addr + PTE_P + PTE_W + PTE_U + PTE_PS
	.set	addr, addr + 0x200000
	.endr

	.data
	.balign	4
	.globl	ap_next_index
ap_next_index:
	.long	1

	.bss
	.balign	16
	.globl	boot_stack_top
boot_stack:
	.skip	BOOT_STACK_SIZE
boot_stack_top:
	.balign	16
	.globl	ap_stacks
ap_stacks:			/* slot i's top is ap_stacks + i * AP_STACK_SIZE */
	.skip	AP_STACK_SIZE * (MAX_CPUS + 1)

	.section .note.Xen, "a", @note
	.balign	4
	.long	4			/* namesz */
	.long	4			/* descsz */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.balign	4
	.long	pvh_entry
	.balign	4

	.section .note.GNU-stack, "", @progbits
