/* SPDX-License-Identifier: MIT */
/* Application processors for the test guests: start them all the way
 * firmware does, and a spinlock for what they share. */
#ifndef PETREL_GUEST_SMP_H
#define PETREL_GUEST_SMP_H

#include <stdint.h>

/* INIT, SIPI, SIPI (broadcast to all but self) through the local APIC to
 * the real-mode trampoline, copied to TRAMP_BASE first; each AP then runs
 * ap_main(index). */
void smp_start_aps(void);

/* This CPU's local APIC ID. */
uint32_t smp_apic_id(void);

void spin_lock(volatile uint32_t *lock);
void spin_unlock(volatile uint32_t *lock);

#endif
