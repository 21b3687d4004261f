/* SPDX-License-Identifier: MIT */
/* What kind of virtualisation this host's KVM is built on. */
#ifndef PETREL_X86_HOST_H
#define PETREL_X86_HOST_H

#include <stdbool.h>

enum host_kind {
	HOST_VMX,     /* Intel VT-x (kvm_intel) */
	HOST_SVM,     /* AMD-V (kvm_amd) */
	HOST_PVM,     /* PVM: no hardware extensions; guest CPL0 is emulated */
	HOST_UNKNOWN, /* /dev/kvm works, but no known backend module is loaded */
};

struct host_info {
	enum host_kind kind;
	bool nested;	     /* the host itself runs in a VM (CPUID hypervisor bit) */
	bool two_dim_paging; /* EPT / NPT enabled */
};

/* Read /sys/module and the host CPUID. Never fails. */
void host_probe(struct host_info *h);

/* "hardware-assisted (AMD-V, NPT)", "emulated (PVM ...)", ... */
const char *host_kind_describe(const struct host_info *h);

static inline bool host_emulates_cpl0(const struct host_info *h)
{
	return h->kind == HOST_PVM;
}

#endif
