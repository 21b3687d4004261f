/* SPDX-License-Identifier: MIT */
/* Initial vCPU state: CPUID, MSRs, and the boot processor's entry state. */
#ifndef PETREL_X86_REGS_H
#define PETREL_X86_REGS_H

#include <linux/kvm.h>

#include "arch/x86/entry.h"
#include "log.h"

struct vcpu;

/* Set CPUID (from the policy) and the MSRs petrel defines on purpose.
 * 0 or -errno after a message. */
int regs_init_vcpu(struct vcpu *vcpu, const struct kvm_cpuid2 *supported, unsigned int ncpus,
		   bool stealth) MUST_CHECK;

/* Write the GDT and identity page tables to guest RAM and put the BSP in
 * the state `entry` asks for. Application processors stay in KVM's
 * wait-for-SIPI state. 0 or -errno after a message. */
int regs_enter(struct vcpu *bsp, const struct boot_entry *entry) MUST_CHECK;

#endif
