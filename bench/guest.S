/* SPDX-License-Identifier: MIT */
/*
 * petrel bench guest: one PVH ELF that petrel, QEMU (microvm) and the bare
 * KVM_RUN loop all boot unchanged. Assembled per benchmark with
 *   -DN_EXITS=n  -DKIND=0 (none) | 1 (PIO out) | 2 (MMIO write)
 *
 * First instruction (KIND 0-2): the boot-timer MMIO write (0xd0000000 <-
 * 123), so a VMM can timestamp "first guest instruction". With N_EXITS == 0 and KIND == 0
 * the guest then writes 0 to the exit port (0x501) at CPL0: the trivial
 * guest. Otherwise it enters 64-bit long mode, drops to CPL3 (IOPL 3) with
 * SYSEXIT — CPL0 is run by KVM's instruction emulator on PVM hosts, CPL3 is
 * native — and does N_EXITS exits in a 3-instruction loop, then the exit-port
 * write. Page tables are built by the assembler (no CPL0 loops).
 * -DCPL=0 runs the same loop at CPL0 instead (for comparison on PVM).
 * -DKIND=3: the first instruction writes '!' to COM1 instead, then the
 * guest halts for good: "first guest instruction" as every VMM shows it, a
 * byte on the console (bench/run api: InstanceStart / QMP cont -> that
 * byte; the VMM is killed after).
 */
#ifndef N_EXITS
#define N_EXITS 0
#endif
#ifndef KIND
#define KIND 0
#endif
#define EXIT_PORT	0x501
#define BENCH_PORT	0x7f0		/* unused in all three VMMs */
#define BENCH_MMIO	0xd0001000	/* unmapped in all three VMMs */
#define BOOT_TIMER	0xd0000000
#define TSS_BASE	0x120000	/* must match guest.ld */
#define TSS_IOMAP	104
#define TSS_LIMIT	(TSS_IOMAP + 8192)	/* bitmap + the all-ones byte */
#ifndef CPL
#define CPL 3			/* where the exit loop runs: 3 (native on PVM) or 0 */
#endif

	.text
	.code32
	.globl	pvh_entry
pvh_entry:
#if KIND == 3
	movw	$0x3f8, %dx
	movb	$'!', %al
	outb	%al, %dx
	cli			/* then halts for good: the VMM lives on to answer */
4:	hlt
	jmp	4b
#elif N_EXITS == 0 && KIND == 0
	movb	$123, BOOT_TIMER
	movw	$EXIT_PORT, %dx
	xorl	%eax, %eax
	outb	%al, %dx
	hlt
#else
	movb	$123, BOOT_TIMER
	lgdt	gdt_desc
	movl	$0x20, %eax		/* CR4.PAE */
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	$0x80010031, %eax	/* PG WP NE ET PE */
	movl	%eax, %cr0
	ljmp	$0x08, $entry64
	.code64
entry64:
	movl	$0x10, %eax
	movl	%eax, %ss
	movw	$0x38, %ax		/* TSS: I/O bitmap allows every port */
	ltr	%ax
#if CPL == 0
	jmp	user
#endif
	movl	$0x174, %ecx		/* SYSENTER_CS = 0x08: SYSEXIT -> CS 0x2b, SS 0x33 */
	movl	$0x08, %eax
	xorl	%edx, %edx
	wrmsr
	movq	$user_stack_top, %rsp
	pushq	$0x3002			/* IOPL 3 (PVM ignores it: see .tss) */
	popfq
	movq	$user, %rdx
	movq	$user_stack_top, %rcx
	sysexitq
user:					/* CPL3 from here */
	movl	$N_EXITS, %ecx
	xorl	%eax, %eax
	testl	%ecx, %ecx
	jz	2f
#if KIND == 1
	movw	$BENCH_PORT, %dx
1:	outb	%al, %dx
#else
	movl	$BENCH_MMIO, %edi
1:	movb	%al, (%rdi)
#endif
	decl	%ecx
	jnz	1b
2:	movw	$EXIT_PORT, %dx
	xorl	%eax, %eax
	outb	%al, %dx
3:	jmp	3b

	.section .rodata
	.balign	16
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 0x08 kernel code 64 */
	.quad	0x00cf92000000ffff	/* 0x10 kernel data */
	.quad	0
	.quad	0x00cffa000000ffff	/* 0x20 user code 32 (unused) */
	.quad	0x00affa000000ffff	/* 0x28 user code 64 */
	.quad	0x00cff2000000ffff	/* 0x30 user data */
	/* 0x38: 64-bit TSS at TSS_BASE (fixed by guest.ld), limit TSS_LIMIT */
	.quad	(TSS_LIMIT & 0xffff) | ((TSS_BASE & 0xffffff) << 16) | (0x89 << 40) | ((TSS_BASE >> 24) << 56)
	.quad	0
gdt_end:
	.balign	8
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.data
	.balign	4096
pml4:	.quad	pdpt + 7
	.fill	511, 8, 0
pdpt:	.quad	pd + 0x0000 + 7
	.quad	pd + 0x1000 + 7
	.quad	pd + 0x2000 + 7
	.quad	pd + 0x3000 + 7
	.fill	508, 8, 0
pd:	.set	addr, 0
	.rept	2048
	.quad	addr + 0x87		/* 2 MiB, P W U PS */
	.set	addr, addr + 0x200000
	.endr
	.balign	16
	.fill	256, 1, 0
user_stack_top:

	/* PVM runs guest CPL3 with IOPL 0 whatever RFLAGS says, so user-mode
	 * in/out needs the TSS I/O permission bitmap. */
	.section .tss, "aw"
	.long	0
	.quad	user_stack_top		/* rsp0 (unused: no interrupts) */
	.fill	TSS_IOMAP - 12, 1, 0
	.fill	8192, 1, 0		/* every port allowed */
	.byte	0xff
#endif

	.section .note.Xen, "a", @note
	.balign	4
	.long	4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.balign	4
	.long	pvh_entry
	.section .note.GNU-stack, "", @progbits
