/* SPDX-License-Identifier: MIT */
/* What a user sees when a guest dies: registers and the code at RIP. */
#ifndef PETREL_X86_DIAG_H
#define PETREL_X86_DIAG_H

#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* Print a one-screen report for vcpu: `what` happened, exit reason, RIP,
 * registers, segment and control state, the instruction bytes at RIP. */
void diag_dump(struct vcpu *vcpu, const char *what);

/* Read up to `max` instruction bytes at the guest's CS:RIP through its page
 * tables. Returns the number read (0 if RIP does not map to RAM). */
size_t diag_code_bytes(struct vcpu *vcpu, uint8_t *buf, size_t max);

#endif
