/* SPDX-License-Identifier: MIT */
/* What a user sees when a guest dies: registers and the code at RIP. */
#ifndef PETREL_X86_DIAG_H
#define PETREL_X86_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* Print a one-screen report for vCPU `id` (its fd `vcpu_fd`, the VM's
 * RAM `gm`): `what` happened, RIP, registers, segment and control state,
 * the instruction bytes at RIP. */
void diag_dump(int vcpu_fd, unsigned int id, const struct gm *gm, const char *what);

/* Read up to `max` instruction bytes at the guest's CS:RIP through its page
 * tables. Returns the number read (0 if RIP does not map to RAM). */
size_t diag_code_bytes(int vcpu_fd, const struct gm *gm, uint8_t *buf, size_t max);

#endif
