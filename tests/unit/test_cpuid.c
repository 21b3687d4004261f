/* SPDX-License-Identifier: MIT */
/* The CPUID policy on a fake KVM_GET_SUPPORTED_CPUID table. */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/cpuid.h"
#include "harness.h"
#include "petrel/platform.h"

#define BIT(n) (1U << (n))
#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

#define L1_ECX_SSE3 BIT(0)
#define L1_ECX_VMX BIT(5)
#define L1_ECX_CX16 BIT(13)
#define L1_ECX_POPCNT BIT(23)
#define L1_ECX_XSAVE BIT(26)
#define L1_ECX_OSXSAVE BIT(27)
#define L1_ECX_AVX BIT(28)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_FPU BIT(0)
#define L1_EDX_HTT BIT(28)
#define L7_EBX_FSGSBASE BIT(0)
#define L7_EBX_SMAP BIT(20)
#define LX1_ECX_LAHF BIT(0)
#define LX1_ECX_SVM BIT(2)
#define LX1_EDX_LM BIT(29)

#define L1_ECX_HOST                                                                                \
	(L1_ECX_SSE3 | L1_ECX_VMX | L1_ECX_CX16 | L1_ECX_POPCNT | L1_ECX_XSAVE | L1_ECX_OSXSAVE |  \
	 L1_ECX_AVX)

/* Cache leaf 4 EAX: type, level, and the host's sharing fields. */
#define L4(type, level, share) ((type) | (level) << 5 | BIT(8) | (share) << 14 | 7U << 26)

static const struct kvm_cpuid_entry2 host_entries[] = {
	{ .function = 0, .eax = 0xd },
	{ .function = 1, .eax = 0x906ea, .ebx = 0x00100800, .ecx = L1_ECX_HOST, .edx = L1_EDX_FPU },
	{ .function = 4, .index = 0, .flags = SIG, .eax = L4(1, 1, 1), .ebx = 0x1c0003f },
	{ .function = 4, .index = 1, .flags = SIG, .eax = L4(2, 1, 1), .ebx = 0x1c0003f },
	{ .function = 4, .index = 2, .flags = SIG, .eax = L4(3, 2, 1), .ebx = 0x3c0003f },
	{ .function = 4, .index = 3, .flags = SIG, .eax = L4(3, 3, 15), .ebx = 0x3c0003f },
	{ .function = 4, .index = 4, .flags = SIG, .eax = 0 },
	{ .function = 7, .index = 0, .flags = SIG, .ebx = L7_EBX_SMAP | L7_EBX_FSGSBASE },
	{ .function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 9 },
	{ .function = 0xb, .index = 1, .flags = SIG, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 9 },
	{ .function = 0xb, .index = 2, .flags = SIG, .eax = 0, .ebx = 0, .ecx = 0x2, .edx = 9 },
	{ .function = 0xd, .index = 0, .flags = SIG, .eax = 0x7, .ebx = 0x340, .ecx = 0x340 },
	{ .function = 0xd, .index = 1, .flags = SIG, .eax = 0xf },
	{ .function = 0x40000000,
	  .eax = 0x40000001,
	  .ebx = 0x4b4d564b,
	  .ecx = 0x564b4d56,
	  .edx = 0x4d },
	{ .function = 0x40000001, .eax = 0x01007afb },
	{ .function = 0x80000000, .eax = 0x80000008 },
	{ .function = 0x80000001, .ecx = LX1_ECX_LAHF | LX1_ECX_SVM, .edx = LX1_EDX_LM },
	{ .function = 0x80000008, .eax = 0x3030, .ecx = 0x7007 },
};

#define NHOST ARRAY_SIZE(host_entries)

/* A supported-CPUID table as cpuid_supported returns it: room for
 * CPUID_EXTRA_ENTRIES more. `amd` switches the vendor string. */
static struct kvm_cpuid2 *host_table(bool amd)
{
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + (NHOST + CPUID_EXTRA_ENTRIES) * sizeof(c->entries[0]));

	if (!c)
		abort();
	c->nent = NHOST;
	memcpy(c->entries, host_entries, sizeof(host_entries));
	if (amd) { /* "AuthenticAMD" */
		c->entries[0].ebx = 0x68747541;
		c->entries[0].edx = 0x69746e65;
		c->entries[0].ecx = 0x444d4163;
	} else { /* "GenuineIntel" */
		c->entries[0].ebx = 0x756e6547;
		c->entries[0].edx = 0x49656e69;
		c->entries[0].ecx = 0x6c65746e;
	}
	return c;
}

static const struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	static const struct kvm_cpuid_entry2 none = { .function = 0xdeadbeef };
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	return e ? e : &none;
}

/* vCPU 3 of 4 on the given host. */
static struct kvm_cpuid2 *vcpu3(bool amd, bool emulated)
{
	struct kvm_cpuid2 *base = host_table(amd), *copy = host_table(amd), *c;

	c = cpuid_for_vcpu(base, 3, 4, emulated, false);
	/* the input is const: untouched */
	if (memcmp(base, copy, sizeof(*base) + NHOST * sizeof(base->entries[0])) != 0) {
		free(c);
		c = NULL;
	}
	free(base);
	free(copy);
	return c;
}

static void cpuid_find_index(void)
{
	struct kvm_cpuid2 *c = host_table(false);

	CHECK(cpuid_find(c, 0xb, 1) && cpuid_find(c, 0xb, 1)->ebx == 16);
	CHECK(cpuid_find(c, 0xb, 3) == NULL);
	CHECK(cpuid_find(c, 0x40000000, 5) && cpuid_find(c, 0x40000000, 5)->edx == 0x4d);
	CHECK(cpuid_find(c, 0x12345678, 0) == NULL);
	free(c);
}

static void cpuid_hypervisor_bit_and_no_nesting(void)
{
	for (int amd = 0; amd <= 1; amd++) {
		struct kvm_cpuid2 *c = vcpu3(amd, false);

		REQUIRE(c);
		CHECK(find(c, 1, 0)->ecx & L1_ECX_HYPERVISOR);
		CHECK(!(find(c, 1, 0)->ecx & L1_ECX_VMX));
		CHECK(!(find(c, 0x80000001, 0)->ecx & LX1_ECX_SVM));
		CHECK(find(c, 0x80000001, 0)->ecx & LX1_ECX_LAHF);
		CHECK(find(c, 0x80000001, 0)->edx == LX1_EDX_LM);
		CHECK(find(c, 1, 0)->eax == 0x906ea);
		CHECK(find(c, 1, 0)->edx & L1_EDX_FPU);
		free(c);
	}
}

static void cpuid_topology_leaf1(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, false), *base, *one;
	const struct kvm_cpuid_entry2 *e;

	REQUIRE(c);
	e = find(c, 1, 0);
	CHECK(e->ebx >> 24 == 3);	     /* initial APIC ID */
	CHECK(((e->ebx >> 16) & 0xff) == 4); /* logical processors */
	CHECK((e->ebx & 0xffff) == 0x0800);  /* CLFLUSH size, brand */
	CHECK(e->edx & L1_EDX_HTT);
	free(c);
	base = host_table(false);
	one = cpuid_for_vcpu(base, 0, 1, false, false);
	REQUIRE(one);
	CHECK(find(one, 1, 0)->ebx >> 24 == 0);
	CHECK(((find(one, 1, 0)->ebx >> 16) & 0xff) == 1);
	CHECK(!(find(one, 1, 0)->edx & L1_EDX_HTT));
	free(one);
	free(base);
}

static void cpuid_topology_leaf_b(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, false);
	const struct kvm_cpuid_entry2 *l0, *l1, *l2;

	REQUIRE(c);
	l0 = find(c, 0xb, 0);
	l1 = find(c, 0xb, 1);
	l2 = find(c, 0xb, 2);
	CHECK(l0->eax == 0 && l0->ebx == 1 && l0->ecx == 0x100 && l0->edx == 3);
	CHECK(l1->eax == 2 && l1->ebx == 4 && l1->ecx == 0x201 && l1->edx == 3);
	CHECK(l2->eax == 0 && l2->ebx == 0 && l2->ecx == 2 && l2->edx == 3);
	free(c);
}

static void cpuid_topology_leaf4(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, false);

	REQUIRE(c);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t eax = find(c, 4, i)->eax;

		CHECK(eax >> 26 == 3); /* cores per package - 1 */
		CHECK((eax & 0x3ff) == (host_entries[2 + i].eax & 0x3ff)); /* type, level */
		CHECK(((eax >> 14) & 0xfff) == (i == 3 ? 3U : 0U));	   /* sharing */
	}
	CHECK(find(c, 4, 4)->eax == 0);
	free(c);
}

static void cpuid_signature_leaves(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, false);
	const struct kvm_cpuid_entry2 *e;
	char sig[13] = { 0 };

	REQUIRE(c);
	CHECK(c->nent == NHOST + 2);
	e = find(c, PETREL_CPUID_SIGNATURE_LEAF, 0);
	CHECK(e->eax == PETREL_CPUID_SIGNATURE_LEAF + 1);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	CHECK(strcmp(sig, "PetrelPetrel") == 0);
	CHECK(cpuid_find(c, PETREL_CPUID_SIGNATURE_LEAF + 1, 0) != NULL);
	/* KVM's leaves stay as KVM reported them (Linux finds kvm-clock) */
	CHECK(memcmp(find(c, 0x40000000, 0), &host_entries[13], sizeof(host_entries[13])) == 0);
	CHECK(memcmp(find(c, 0x40000001, 0), &host_entries[14], sizeof(host_entries[14])) == 0);
	free(c);
}

static void cpuid_signature_leaf_replaced_not_duplicated(void)
{
	struct kvm_cpuid2 *base = host_table(false), *c;

	/* a host table that already has the leaf (e.g. a second policy pass) */
	base->entries[base->nent++] = (struct kvm_cpuid_entry2){ .function = 0x40000100, .eax = 1 };
	c = cpuid_for_vcpu(base, 0, 1, false, false);
	REQUIRE(c);
	CHECK(c->nent == NHOST + 2);
	CHECK(find(c, 0x40000100, 0)->eax == 0x40000101);
	free(c);
	free(base);
}

static void cpuid_emulated_host_hides(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, true);
	const uint32_t hidden =
	    L1_ECX_CX16 | L1_ECX_POPCNT | L1_ECX_XSAVE | L1_ECX_OSXSAVE | L1_ECX_AVX;

	REQUIRE(c);
	CHECK(!(find(c, 1, 0)->ecx & hidden));
	CHECK(find(c, 1, 0)->ecx & L1_ECX_SSE3);
	CHECK(find(c, 1, 0)->ecx & L1_ECX_HYPERVISOR);
	CHECK(!(find(c, 7, 0)->ebx & L7_EBX_SMAP));
	CHECK(find(c, 7, 0)->ebx & L7_EBX_FSGSBASE);
	for (uint32_t i = 0; i < 2; i++) {
		const struct kvm_cpuid_entry2 *e = find(c, 0xd, i);

		CHECK(e->function == 0xd && !e->eax && !e->ebx && !e->ecx && !e->edx);
	}
	free(c);
}

static void cpuid_native_host_keeps(void)
{
	struct kvm_cpuid2 *c = vcpu3(false, false);
	const uint32_t kept =
	    L1_ECX_CX16 | L1_ECX_POPCNT | L1_ECX_XSAVE | L1_ECX_OSXSAVE | L1_ECX_AVX | L1_ECX_SSE3;

	REQUIRE(c);
	CHECK((find(c, 1, 0)->ecx & kept) == kept);
	CHECK(find(c, 7, 0)->ebx & L7_EBX_SMAP);
	CHECK(find(c, 0xd, 0)->eax == 0x7 && find(c, 0xd, 0)->ebx == 0x340);
	CHECK(find(c, 0xd, 1)->eax == 0xf);
	free(c);
}

static void cpuid_amd_core_count(void)
{
	struct kvm_cpuid2 *intel = vcpu3(false, false), *amd = vcpu3(true, false);

	REQUIRE(intel && amd);
	CHECK(find(intel, 0x80000008, 0)->ecx == 0x7007); /* Intel: left alone */
	/* AMD: NC = ncpus - 1, ApicIdCoreIdSize = 2 */
	CHECK((find(amd, 0x80000008, 0)->ecx & 0xff) == 3);
	CHECK(((find(amd, 0x80000008, 0)->ecx >> 12) & 0xf) == 2);
	CHECK(find(amd, 0x80000008, 0)->eax == 0x3030);
	free(intel);
	free(amd);
}

static void cpuid_many_vcpus(void)
{
	struct kvm_cpuid2 *base = host_table(false);

	for (unsigned int id = 0; id < 254; id += 23) {
		struct kvm_cpuid2 *c = cpuid_for_vcpu(base, id, 254, false, false);

		REQUIRE(c);
		CHECK(find(c, 1, 0)->ebx >> 24 == id);
		CHECK(((find(c, 1, 0)->ebx >> 16) & 0xff) == 254);
		CHECK(find(c, 0xb, 0)->edx == id && find(c, 0xb, 1)->edx == id);
		CHECK(find(c, 0xb, 1)->eax == 8 && find(c, 0xb, 1)->ebx == 254);
		CHECK(find(c, 4, 0)->eax >> 26 == 63); /* 6-bit field saturates */
		free(c);
	}
	free(base);
}

/* The host table plus a brand string in 0x80000002..4, with the spare
 * room cpuid_supported leaves. */
static struct kvm_cpuid2 *host_table_branded(bool amd, const char *brand)
{
	struct kvm_cpuid2 *h = host_table(amd), *c;
	uint32_t r[12] = { 0 };

	c = calloc(1, sizeof(*c) + (NHOST + 3 + CPUID_EXTRA_ENTRIES) * sizeof(c->entries[0]));
	if (!c)
		abort();
	memcpy(c, h, sizeof(*h) + NHOST * sizeof(h->entries[0]));
	free(h);
	memcpy(r, brand, strlen(brand));
	for (uint32_t i = 0; i < 3; i++)
		c->entries[c->nent++] = (struct kvm_cpuid_entry2){
			.function = 0x80000002 + i,
			.eax = r[4 * i],
			.ebx = r[4 * i + 1],
			.ecx = r[4 * i + 2],
			.edx = r[4 * i + 3],
		};
	return c;
}

static void brand_of(struct kvm_cpuid2 *c, char out[49])
{
	for (uint32_t i = 0; i < 3; i++) {
		const struct kvm_cpuid_entry2 *e = find(c, 0x80000002 + i, 0);

		memcpy(out + 16 * i, (uint32_t[]){ e->eax, e->ebx, e->ecx, e->edx }, 16);
	}
	out[48] = 0;
}

static void cpuid_stealth_hides_hypervisor(void)
{
	for (int amd = 0; amd <= 1; amd++) {
		for (int emulated = 0; emulated <= 1; emulated++) {
			struct kvm_cpuid2 *base = host_table_branded(amd, "AMD EPYC"), *c;
			char brand[49];

			c = cpuid_for_vcpu(base, 1, 2, emulated, true);
			REQUIRE(c);
			CHECK(!(find(c, 1, 0)->ecx & L1_ECX_HYPERVISOR));
			CHECK(!(find(c, 1, 0)->ecx & L1_ECX_VMX));
			CHECK(!(find(c, 0x80000001, 0)->ecx & LX1_ECX_SVM));
			for (uint32_t i = 0; i < c->nent; i++)
				CHECK(c->entries[i].function < 0x40000000 ||
				      c->entries[i].function > 0x4fffffff);
			CHECK(c->nent == base->nent - 2); /* KVM's two leaves gone */
			/* the rest of the policy still applies */
			CHECK(find(c, 1, 0)->eax == 0x906ea && find(c, 1, 0)->ebx >> 24 == 1);
			CHECK(find(c, 0, 0)->eax == 0xd);
			CHECK(find(c, 0xb, 1)->ebx == 2);
			brand_of(c, brand);
			CHECK(strcmp(brand, "AMD EPYC") == 0); /* a real brand stays */
			free(c);
			free(base);
		}
	}
}

static void cpuid_stealth_brand(void)
{
	static const struct {
		bool amd;
		const char *host, *guest;
	} cases[] = {
		{ false, "QEMU Virtual CPU version 2.5+", "Genuine Intel(R) CPU" },
		{ false, "Common KVM processor", "Genuine Intel(R) CPU" },
		{ true, "AMD EPYC TCG model", "AMD Processor" },
		{ false, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
		  "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kvm_cpuid2 *base = host_table_branded(cases[i].amd, cases[i].host), *c;
		char brand[49];

		c = cpuid_for_vcpu(base, 0, 1, false, true);
		REQUIRE(c);
		brand_of(c, brand);
		CHECK(strcmp(brand, cases[i].guest) == 0);
		free(c);
		/* without --stealth the host's brand is passed through */
		c = cpuid_for_vcpu(base, 0, 1, false, false);
		REQUIRE(c);
		brand_of(c, brand);
		CHECK(strcmp(brand, cases[i].host) == 0);
		free(c);
		free(base);
	}
}

static void cpuid_brand_filled_from_host(void)
{
	static const char host[48] = "AMD EPYC 7B13 64-Core Processor";
	struct kvm_cpuid2 *kvm = host_table_branded(true, ""), *named, *plain;
	uint32_t h[12];
	char brand[49];

	memcpy(h, host, sizeof(h));
	/* KVM's zeros are replaced by the host's name */
	cpuid_fill_brand(kvm, h);
	brand_of(kvm, brand);
	CHECK(strcmp(brand, host) == 0);
	/* a brand KVM does report is kept */
	named = host_table_branded(true, "AMD EPYC");
	cpuid_fill_brand(named, h);
	brand_of(named, brand);
	CHECK(strcmp(brand, "AMD EPYC") == 0);
	/* no brand leaves listed: none added */
	plain = host_table(true);
	cpuid_fill_brand(plain, h);
	CHECK(plain->nent == NHOST && cpuid_find(plain, 0x80000002, 0) == NULL);
	free(kvm);
	free(named);
	free(plain);
}

int main(void)
{
	RUN(cpuid_find_index);
	RUN(cpuid_hypervisor_bit_and_no_nesting);
	RUN(cpuid_topology_leaf1);
	RUN(cpuid_topology_leaf_b);
	RUN(cpuid_topology_leaf4);
	RUN(cpuid_signature_leaves);
	RUN(cpuid_signature_leaf_replaced_not_duplicated);
	RUN(cpuid_emulated_host_hides);
	RUN(cpuid_native_host_keeps);
	RUN(cpuid_amd_core_count);
	RUN(cpuid_many_vcpus);
	RUN(cpuid_stealth_hides_hypervisor);
	RUN(cpuid_stealth_brand);
	RUN(cpuid_brand_filled_from_host);
	return harness_exit();
}
