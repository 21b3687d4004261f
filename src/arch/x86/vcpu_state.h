/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's architectural state in a snapshot (section "vcpu.N", layout
 * VCPU_STATE_VERSION, docs/snapshot.md): general and segment registers,
 * XSAVE (or the legacy FPU image), XCRs, the MSRs that matter, the local
 * APIC's register page, pending events, the MP state and the debug
 * registers. One bidirectional function saves it from KVM or loads it
 * back, through snapshot/snap.h streams.
 *
 * A load reads the whole section into a scratch copy, checks every
 * value petrel can judge (booleans, enums, counts, which MSRs, sizes
 * against this host's), and only then hands it to KVM, which judges the
 * rest (a register combination the CPU would refuse fails its ioctl):
 * the guest's own state can at worst break the guest. The vCPU must be
 * parked (vm_pause, or not yet started), its CPUID already set.
 */
#ifndef PETREL_X86_VCPU_STATE_H
#define PETREL_X86_VCPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct vcpu;
struct snap;

#define VCPU_STATE_VERSION 1
#define VCPU_STATE_MSRS_MAX 64
/* The largest XSAVE image petrel takes (KVM's is 4096 bytes unless a
 * dynamic feature such as AMX was enabled, some 11 KiB then). */
#define VCPU_STATE_XSAVE_MAX (64u << 10)

/* What this host's KVM can save and restore; the same for every vCPU of
 * a VM (vcpu_state_probe). */
struct vcpu_state_caps {
	uint32_t xsave_size; /* KVM_GET_XSAVE(2)'s size; 0: only KVM_GET_FPU */
	bool xsave2;	     /* KVM_GET_XSAVE2 (else KVM_GET_XSAVE, 4096 bytes) */
	bool xcrs;	     /* KVM_GET_XCRS */
	unsigned int nmsrs;  /* the MSRs saved, in restore order */
	uint32_t msr[VCPU_STATE_MSRS_MAX];
};

/* Probe KVM (kvm_fd /dev/kvm, vm_fd the VM) for the above. 0 or -errno
 * after one message. */
int vcpu_state_probe(int kvm_fd, int vm_fd, struct vcpu_state_caps *caps) MUST_CHECK;

/* Save `vcpu`'s state into s, or load it from s, by s->op. Returns
 * snap_error(s): on LOAD, a failure (the stream's, or KVM refusing a
 * value, with the ioctl named in s->why) may leave the vCPU partly set;
 * the caller then destroys the VM. */
int vcpu_state_snapshot(struct vcpu *vcpu, const struct vcpu_state_caps *caps,
			struct snap *s) MUST_CHECK;

/* Is `index` an MSR a snapshot may carry (petrel saves it where KVM has
 * it)? For the unit tests and the loader's check. */
bool vcpu_state_msr_known(uint32_t index);

#endif
