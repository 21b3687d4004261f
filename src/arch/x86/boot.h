/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading: a Linux bzImage through the 64-bit boot protocol, or an
 * ELF kernel through its PVH entry. Every field read from an image is
 * hostile: loaders check offsets and sizes against the file and every
 * destination against guest RAM (gm_ptr), and print one line naming the
 * file and the problem.
 */
#ifndef PETREL_X86_BOOT_H
#define PETREL_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/entry.h"
#include "mem.h"

struct vm;

struct boot_input {
	const char *kernel_name; /* for messages */
	const uint8_t *kernel;
	size_t kernel_size;
	const char *initrd_name;
	const uint8_t *initrd; /* NULL: no initrd */
	size_t initrd_size;
	const char *cmdline; /* final command line */
	gpa_t rsdp;
};

bool bzimage_probe(const uint8_t *img, size_t size);
bool elf_probe(const uint8_t *img, size_t size);

/* Load into guest RAM and describe the entry. 0, or a negative errno after
 * one message. */
int bzimage_load(const struct gm *gm, const struct boot_input *in,
		 struct boot_entry *out) MUST_CHECK;
int pvh_load(const struct gm *gm, const struct boot_input *in, struct boot_entry *out) MUST_CHECK;

/* Pick the loader by the image's magic (bzImage first, then ELF) and
 * load it. 0, or a negative errno after one message (-ENOEXEC for an
 * unknown format). */
int boot_load(const struct gm *gm, const struct boot_input *in, struct boot_entry *out) MUST_CHECK;

/* Highest page-aligned gpa where `size` bytes fit in [lo, hi). 0, or
 * -ENOSPC. Shared by both loaders for the initrd. */
int boot_place_high(uint64_t lo, uint64_t hi, uint64_t size, gpa_t *out) MUST_CHECK;

/* The command line petrel passes: its defaults (console=ttyS0, panic=-1,
 * and on an emulated host what keeps Linux off instructions the emulator
 * cannot run) unless `user` sets the same parameter, then `user`.
 * malloc'd, or NULL on ENOMEM. */
char *boot_cmdline(const char *user, bool emulated_host);

/* Read the files named in vm->cfg, load the kernel, write boot tables and
 * set every vCPU's entry state. 0 or -errno after one message. */
int boot_vm(struct vm *vm) MUST_CHECK;

#endif
