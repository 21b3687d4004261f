/* SPDX-License-Identifier: MIT */
#include "arch/x86/host.h"

#include <cpuid.h>
#include <stdio.h>
#include <unistd.h>

static bool sysfs_flag(const char *path)
{
	char buf[8] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1';
}

void host_probe(struct host_info *h)
{
	unsigned int eax, ebx, ecx, edx;

	*h = (struct host_info){ .kind = HOST_UNKNOWN };
	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx))
		h->nested = ecx & (1U << 31);
	/* Backend modules: kvm_intel / kvm_amd drive VT-x / AMD-V; kvm_pvm
	 * runs guests without them. Only one can own /dev/kvm. */
	if (access("/sys/module/kvm_intel", F_OK) == 0) {
		h->kind = HOST_VMX;
		h->two_dim_paging = sysfs_flag("/sys/module/kvm_intel/parameters/ept");
	} else if (access("/sys/module/kvm_amd", F_OK) == 0) {
		h->kind = HOST_SVM;
		h->two_dim_paging = sysfs_flag("/sys/module/kvm_amd/parameters/npt");
	} else if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		h->kind = HOST_PVM;
	}
}

const char *host_kind_describe(const struct host_info *h)
{
	switch (h->kind) {
	case HOST_VMX:
		return h->two_dim_paging ? "hardware-assisted (Intel VT-x with EPT)"
					 : "hardware-assisted (Intel VT-x, EPT off)";
	case HOST_SVM:
		return h->two_dim_paging ? "hardware-assisted (AMD-V with NPT)"
					 : "hardware-assisted (AMD-V, NPT off)";
	case HOST_PVM:
		return "emulated (PVM: no VT-x/AMD-V; guest CPL0 code runs in KVM's "
		       "instruction emulator, CPL3 at native speed)";
	default:
		return "unknown (no kvm_intel, kvm_amd or kvm_pvm module found)";
	}
}
