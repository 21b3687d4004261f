/* SPDX-License-Identifier: MIT */
#include "arch/x86/cpuid.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "petrel/platform.h"

#define BIT(n) (1U << (n))

/* Leaf 1 */
#define L1_ECX_VMX BIT(5)
#define L1_ECX_FMA BIT(12)
#define L1_ECX_CX16 BIT(13)
#define L1_ECX_POPCNT BIT(23)
#define L1_ECX_XSAVE BIT(26)
#define L1_ECX_OSXSAVE BIT(27)
#define L1_ECX_AVX BIT(28)
#define L1_ECX_F16C BIT(29)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_HTT BIT(28)
/* Leaf 7.0 */
#define L7_EBX_AVX2 BIT(5)
#define L7_EBX_SMAP BIT(20)
/* Leaf 0x80000001 */
#define LX1_ECX_SVM BIT(2)

static const uint32_t petrel_version_word = 0x000100; /* 0.1.0 as 0xMMmmpp */

void cpuid_fill_brand(struct kvm_cpuid2 *c, const uint32_t brand[12])
{
	for (uint32_t i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000002 + i, 0);

		if (e && (e->eax | e->ebx | e->ecx | e->edx))
			return;
	}
	for (uint32_t i = 0; i < 3; i++) {
		struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000002 + i, 0);

		if (!e) /* KVM lists the leaves when its 0x80000000 reaches them */
			continue;
		e->eax = brand[4 * i];
		e->ebx = brand[4 * i + 1];
		e->ecx = brand[4 * i + 2];
		e->edx = brand[4 * i + 3];
	}
}

/* This processor's own brand string (zeros if it has none). */
static void cpuid_host_brand(uint32_t brand[12])
{
	unsigned int max = __get_cpuid_max(0x80000000, NULL);

	for (uint32_t i = 0; i < 3; i++) {
		unsigned int *r = &brand[4 * i];

		if (max < 0x80000004 || !__get_cpuid(0x80000002 + i, &r[0], &r[1], &r[2], &r[3]))
			r[0] = r[1] = r[2] = r[3] = 0;
	}
}

int cpuid_supported(int kvm_fd, struct kvm_cpuid2 **out)
{
	/* KVM_MAX_CPUID_ENTRIES in current kernels: one ioctl, no E2BIG retry. */
	unsigned int nent = 256;

	for (;;) {
		struct kvm_cpuid2 *c =
		    calloc(1, sizeof(*c) + (nent + CPUID_EXTRA_ENTRIES) * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			uint32_t brand[12];

			cpuid_host_brand(brand);
			cpuid_fill_brand(c, brand);
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index)
			return e;
	}
	return NULL;
}

/* Smallest s with (1 << s) >= n: APIC ID bits the core level needs. */
static uint32_t order_base_2(unsigned int n)
{
	uint32_t s = 0;

	while ((1U << s) < n)
		s++;
	return s;
}

static bool vendor_is_amd(struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0, 0);

	/* "AuthenticAMD" / "HygonGenuine": EBX "Auth" / "Hygo" */
	return e && (e->ebx == 0x68747541 || e->ebx == 0x6f677948);
}

static void cpuid_topology(struct kvm_cpuid2 *c, unsigned int id, unsigned int ncpus)
{
	uint32_t shift = order_base_2(ncpus);

	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (id << 24) | ((ncpus & 0xff) << 16);
			if (ncpus > 1)
				e->edx |= L1_EDX_HTT;
			else
				e->edx &= ~L1_EDX_HTT;
			break;
		case 4: /* deterministic cache parameters */
			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= ~(0x3fU << 26 | 0xfffU << 14);
			/* 6-bit field: cores per package - 1, at most 63. */
			e->eax |= ((ncpus > 64 ? 64 : ncpus) - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3) /* L3: shared by the package */
				e->eax |= (ncpus - 1) << 14;
			break;
		case 0xb:
		case 0x1f: /* extended topology: level 0 SMT, level 1 core */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1U << 8;
			} else if (e->index == 1) {
				e->eax = shift;
				e->ebx = ncpus;
				e->ecx = 2U << 8 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000008:
			if (vendor_is_amd(c))
				e->ecx = (e->ecx & ~0xf0ffU) | shift << 12 | (ncpus - 1);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

static void cpuid_hide_unemulatable(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ecx &= ~(L1_ECX_CX16 | L1_ECX_POPCNT | L1_ECX_XSAVE | L1_ECX_OSXSAVE |
				    L1_ECX_AVX | L1_ECX_FMA | L1_ECX_F16C);
		else if (e->function == 7 && e->index == 0)
			e->ebx &= ~(L7_EBX_SMAP | L7_EBX_AVX2);
		else if (e->function == 0xd)
			e->eax = e->ebx = e->ecx = e->edx = 0;
	}
}

static void cpuid_set(struct kvm_cpuid2 *c, uint32_t function, uint32_t eax, uint32_t ebx,
		      uint32_t ecx, uint32_t edx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, function, 0);

	if (!e) {
		e = &c->entries[c->nent++];
		*e = (struct kvm_cpuid_entry2){ .function = function };
	}
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

/*
 * A brand string (leaves 0x80000002..4, 48 bytes) that names a VM: what
 * QEMU's and KVM's CPU models report ("QEMU Virtual CPU", "KVM processor",
 * "Common KVM processor"). No real processor's brand has these words.
 */
static bool cpuid_brand_names_vm(const char brand[48])
{
	static const char *const words[] = { "KVM", "QEMU", "Virtual", "TCG" };
	char s[49];

	memcpy(s, brand, 48);
	s[48] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strstr(s, words[i]))
			return true;
	return false;
}

/*
 * --stealth: what a guest sees on the same processor without a hypervisor.
 * - Leaf 1 ECX bit 31 is clear (the bit is defined as "not used by
 *   hardware, 0"; only hypervisors set it).
 * - Nothing in 0x40000000..0x4fffffff: the leaves are left out of the
 *   table, and KVM answers a leaf it has no entry for as the processor
 *   does (KVM_SET_CPUID2 semantics, arch/x86/kvm/cpuid.c): on Intel a leaf
 *   above its class's maximum returns the highest basic leaf's data (SDM
 *   vol. 2A, CPUID: "If a value entered for CPUID.EAX is higher than the
 *   maximum input value for basic or extended function ..., the data for
 *   the highest basic information leaf is returned"); on AMD an undefined
 *   leaf returns zeros (APM vol. 3, CPUID). Either way not a signature.
 * - The brand string is the host's unless it names a VM (a nested host
 *   running a QEMU or KVM CPU model); then it becomes the string a real
 *   processor of that vendor shows with no marketing name programmed.
 *   Vendor, family, model and stepping stay the host's: real, consistent.
 */
static void cpuid_stealth(struct kvm_cpuid2 *c)
{
	char brand[48];
	bool have_brand = true;
	uint32_t n = 0;

	for (uint32_t i = 0; i < 3; i++) {
		const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000002 + i, 0);

		if (!e)
			have_brand = false;
		else
			memcpy(brand + 16 * i, (uint32_t[]){ e->eax, e->ebx, e->ecx, e->edx }, 16);
	}
	if (have_brand && cpuid_brand_names_vm(brand)) {
		const char *generic = vendor_is_amd(c) ? "AMD Processor" : "Genuine Intel(R) CPU";
		uint32_t r[12] = { 0 };

		memcpy(r, generic, strlen(generic));
		for (uint32_t i = 0; i < 3; i++)
			cpuid_set(c, 0x80000002 + i, r[4 * i], r[4 * i + 1], r[4 * i + 2],
				  r[4 * i + 3]);
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function >= 0x40000000 && e->function <= 0x4fffffff)
			continue;
		if (e->function == 1)
			e->ecx &= ~L1_ECX_HYPERVISOR;
		c->entries[n++] = *e;
	}
	c->nent = n;
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *base, unsigned int id,
				  unsigned int ncpus, bool emulated_host, bool stealth)
{
	size_t size = sizeof(*base) + (base->nent + CPUID_EXTRA_ENTRIES) * sizeof(base->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);

	if (!c)
		return NULL;
	memcpy(c, base, sizeof(*base) + base->nent * sizeof(base->entries[0]));
	cpuid_topology(c, id, ncpus);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ecx = (e->ecx & ~L1_ECX_VMX) | L1_ECX_HYPERVISOR;
		else if (e->function == 0x80000001)
			e->ecx &= ~LX1_ECX_SVM;
	}
	if (emulated_host)
		cpuid_hide_unemulatable(c);
	cpuid_set(c, PETREL_CPUID_SIGNATURE_LEAF, PETREL_CPUID_SIGNATURE_LEAF + 1,
		  PETREL_CPUID_SIGNATURE_EBX, PETREL_CPUID_SIGNATURE_ECX,
		  PETREL_CPUID_SIGNATURE_EDX);
	cpuid_set(c, PETREL_CPUID_SIGNATURE_LEAF + 1, petrel_version_word, 0, 0, 0);
	if (stealth)
		cpuid_stealth(c);
	return c;
}
