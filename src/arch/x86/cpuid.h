/* SPDX-License-Identifier: MIT */
/*
 * CPUID policy: what a guest vCPU is told, derived on purpose from what
 * this host's KVM supports (KVM_GET_SUPPORTED_CPUID):
 *  - topology for N vCPUs: one package, N cores, one thread each; the
 *    initial APIC ID of vCPU i is i;
 *  - the hypervisor bit, KVM's paravirt leaves at 0x40000000 (so Linux uses
 *    kvm-clock) and petrel's signature leaf at 0x40000100;
 *  - VMX and SVM hidden: guests get no nested virtualisation;
 *  - with `stealth` (--stealth) none of the first two: no hypervisor bit,
 *    no leaf in 0x40000000..0x4fffffff, and a brand string that does not
 *    name a VM (cpuid.c says what a guest sees instead);
 *  - on a host whose KVM emulates guest CPL0 (PVM), the features that
 *    emulator cannot execute hidden: CX16 (cmpxchg16b), POPCNT, XSAVE and
 *    everything that needs it (AVX..., leaf 0xD), SMAP (clac/stac).
 */
#ifndef PETREL_X86_CPUID_H
#define PETREL_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

/* Room for the leaves the policy may add. */
#define CPUID_EXTRA_ENTRIES 4

/* KVM_GET_SUPPORTED_CPUID into a malloc'd table with CPUID_EXTRA_ENTRIES
 * spare entries (nent counts only the filled ones), with the host's brand
 * string where KVM leaves it out (cpuid_fill_brand). 0 or -errno. */
int cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out) MUST_CHECK;

/* Copy `base` (with spare room, as above) and apply the policy for vCPU
 * `id` of `ncpus`. Returns a malloc'd table or NULL (ENOMEM). */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, unsigned int id,
				  unsigned int ncpus, bool emulated_host, bool stealth);

/* Recent KVMs report leaves 0x80000002..4 (the brand string) as zeros, and
 * a processor without a name is not one a guest would meet: if all three
 * are zero, put `brand` (EAX, EBX, ECX, EDX of each leaf) into those of
 * them that `c` lists. A table with a brand string is left alone. */
void cpuid_fill_brand(struct kvm_cpuid2 *c, const uint32_t brand[12]);

/* The entry for (function, index), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index);

#endif
