/* SPDX-License-Identifier: MIT */
/* Prints what CPUID shows the guest; the test checks the policy. */
#include "rt.h"

static void sig(uint32_t leaf, char out[13], uint32_t *max)
{
	uint32_t r[4];

	cpuid(leaf, 0, r);
	memcpy(out, &r[1], 4);
	memcpy(out + 4, &r[2], 4);
	memcpy(out + 8, &r[3], 4);
	out[12] = 0;
	for (int i = 0; i < 12; i++)
		if (out[i] && (out[i] < 0x20 || out[i] > 0x7e))
			out[i] = '.';
		else if (!out[i])
			out[i] = '_';
	if (max)
		*max = r[0];
}

int guest_main(void)
{
	uint32_t r[4], max_basic, max_ext, max_hv;
	char vendor[13], hv[13], pet[13];

	cpuid(0, 0, r);
	max_basic = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	printf("cpuid: vendor=%s max_basic=%#x\n", vendor, max_basic);

	cpuid(1, 0, r);
	printf("cpuid: leaf1 eax=%#x ebx=%#x ecx=%#x edx=%#x\n", r[0], r[1], r[2], r[3]);
	printf("cpuid: hypervisor=%u vmx=%u apic_id=%u logical=%u x2apic=%u\n", (r[2] >> 31) & 1,
	       (r[2] >> 5) & 1, r[1] >> 24, (r[1] >> 16) & 0xff, (r[2] >> 21) & 1);

	cpuid(0x80000000, 0, r);
	max_ext = r[0];
	if (max_ext >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		printf("cpuid: svm=%u lm=%u\n", (r[2] >> 2) & 1, (r[3] >> 29) & 1);
	} else {
		printf("cpuid: svm=0 lm=? (max_ext=%#x)\n", max_ext);
	}

	sig(0x40000000, hv, &max_hv);
	printf("cpuid: leaf 0x40000000 signature=%s max=%#x\n", hv, max_hv);
	sig(PETREL_CPUID_SIGNATURE_LEAF, pet, NULL);
	printf("cpuid: leaf %#x signature=%s\n", PETREL_CPUID_SIGNATURE_LEAF, pet);
	cpuid(PETREL_CPUID_SIGNATURE_LEAF, 0, r);
	printf("cpuid: petrel signature %s\n",
	       (r[1] == PETREL_CPUID_SIGNATURE_EBX && r[2] == PETREL_CPUID_SIGNATURE_ECX &&
		r[3] == PETREL_CPUID_SIGNATURE_EDX)
		   ? "ok"
		   : "missing");
	return 0;
}
