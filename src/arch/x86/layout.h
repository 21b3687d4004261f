/* SPDX-License-Identifier: MIT */
/*
 * Where petrel puts boot structures in guest RAM below 1 MiB, and the
 * fields of the Linux x86 boot protocol it uses (Documentation/arch/x86/
 * boot.rst; offsets into the bzImage file and into boot_params, which share
 * the setup header at 0x1f1).
 */
#ifndef PETREL_X86_LAYOUT_H
#define PETREL_X86_LAYOUT_H

#include "petrel/platform.h"

/* Guest physical layout of boot structures. */
#define LAYOUT_GDT 0x500ULL
#define LAYOUT_BOOT_STACK 0x5ff0ULL /* rsp at entry; guests set their own */
#define LAYOUT_START_INFO 0x6000ULL /* PVH hvm_start_info */
#define LAYOUT_PVH_MEMMAP 0x6100ULL
#define LAYOUT_PVH_MEMMAP_MAX 16
#define LAYOUT_PVH_MODLIST 0x6400ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL /* bzImage boot_params */
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* four pages: identity map of 4 GiB */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 4096ULL	    /* includes the NUL */
#define LAYOUT_EBDA 0x9fc00ULL		    /* RAM below this is usable */
#define LAYOUT_ACPI 0xe0000ULL		    /* ACPI tables, RSDP first */
#define LAYOUT_ACPI_END PETREL_VMGENID_ADDR /* then the VM generation ID's page */
#define LAYOUT_BIOS_END 0x100000ULL	    /* e820: [LAYOUT_ACPI, here) reserved */
#define LAYOUT_KERNEL_MIN 0x100000ULL	    /* nothing is loaded below 1 MiB */

/* GDT selectors (the 64-bit boot protocol wants __BOOT_CS 0x10, __BOOT_DS
 * 0x18; PVH wants a flat 32-bit code segment and a 32-bit TSS). */
#define GDT_CODE64 0x10
#define GDT_DATA 0x18
#define GDT_CODE32 0x20
#define GDT_TSS 0x28

/* bzImage file / boot_params setup-header fields. */
#define BP_SETUP_SECTS 0x1f1
#define BP_SYSSIZE 0x1f4
#define BP_VID_MODE 0x1fa
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_SETUP_DATA 0x250
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_HEADER_END 0x268	  /* end of the fields petrel reads (protocol 2.12+) */
#define BP_SETUP_HEADER_MAX 0x290 /* where boot_params' copy of the header ends */
#define BP_ENTRY64 0x200	  /* 64-bit entry: offset into the protected-mode code */

/* boot_params fields outside the setup header. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 0x1000

#define BP_BOOT_FLAG_MAGIC 0xaa55
#define BP_HEADER_MAGIC 0x53726448 /* "HdrS" */
#define BP_LOADED_HIGH 0x01
#define BP_CAN_USE_HEAP 0x80
#define BP_XLF_KERNEL_64 0x01
#define BP_XLF_CAN_BE_LOADED_ABOVE_4G 0x02

#endif
