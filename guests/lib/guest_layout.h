/* SPDX-License-Identifier: MIT */
/* Constants shared by start.S and the C runtime of the test guests. */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_KCODE32 0x18
#define SEL_UCODE 0x2b /* SYSENTER_CS + 32, RPL 3 */
#define SEL_UDATA 0x33 /* SYSENTER_CS + 40, RPL 3 */
#define SEL_TSS 0x38

#define BOOT_KIND_PVH 0
#define BOOT_KIND_LINUX 1

#define CR0_PE 0x1
#define CR0_ET 0x10
#define CR0_NE 0x20
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define CR4_SMEP 0x100000
#define CR4_SMAP 0x200000
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define MSR_SYSENTER_CS 0x174
#define RFLAGS_IOPL3 0x3000

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PS 0x80

#define BOOT_STACK_SIZE 16384
#define AP_STACK_SHIFT 13
#define AP_STACK_SIZE (1 << AP_STACK_SHIFT)
#define MAX_CPUS 16

/* AP trampoline: below 1 MiB, 4 KiB aligned; SIPI vector = TRAMP_BASE >> 12. */
#define TRAMP_BASE 0x8000

#endif
