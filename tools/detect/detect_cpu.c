/* SPDX-License-Identifier: MIT */
/* The processor's checks: CPUID, exit timing, descriptor tables. */
#include "detect_int.h"

void detect_cpuid_native(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static bool printable12(const char s[12])
{
	for (int i = 0; i < 12; i++)
		if (s[i] && (s[i] < 0x20 || s[i] > 0x7e))
			return false;
	return s[0] != 0;
}

static void cpuid_signatures(struct detect_report *r, detect_cpuid_fn cpuid, uint32_t max_basic)
{
	uint32_t oor[4], v[4];
	unsigned int found = 0;
	struct detect_evidence *e;

	/* What this processor returns for a leaf it does not have. */
	cpuid(max_basic, 0, oor);
	for (uint32_t leaf = 0x40000000; leaf <= 0x4000ff00; leaf += 0x100) {
		char sig[12];
		const char *who;

		cpuid(leaf, 0, v);
		if ((v[0] == oor[0] && v[1] == oor[1] && v[2] == oor[2] && v[3] == oor[3]) ||
		    !(v[0] | v[1] | v[2] | v[3]))
			continue;
		__builtin_memcpy(sig, &v[1], 4);
		__builtin_memcpy(sig + 4, &v[2], 4);
		__builtin_memcpy(sig + 8, &v[3], 4);
		who = detect_signature_name(sig);
		/* An unknown name counts if it looks like one: a max-leaf EAX
		 * in its own block and printable bytes. */
		if (!who && ((v[0] & 0xffffff00) != leaf || !printable12(sig)))
			continue;
		found++;
		e = detect_add(r, "cpuid.signature", who ? DETECT_VM_STRONG : DETECT_VM_WEAK, who,
			       "leaf ");
		detect_detail_hex(e, leaf);
		detect_detail_str(e, " \"");
		detect_detail_bytes(e, sig, detect_strnlen(sig, 12));
		detect_detail_str(e, "\", max leaf ");
		detect_detail_hex(e, v[0]);
	}
	if (!found)
		detect_add(r, "cpuid.signature", DETECT_CLEAN, NULL,
			   "no signature in 0x40000000-0x4000ff00");
}

void detect_cpuid(struct detect_report *r, detect_cpuid_fn cpuid)
{
	uint32_t v[4], max_basic, fms;
	char vendor[12], brand[48];
	struct detect_evidence *e;
	const char *who = NULL;
	bool named;

	cpuid(0, 0, v);
	max_basic = v[0];
	__builtin_memcpy(vendor, &v[1], 4);
	__builtin_memcpy(vendor + 4, &v[3], 4);
	__builtin_memcpy(vendor + 8, &v[2], 4);
	cpuid(1, 0, v);
	fms = v[0];
	e = detect_add(r, "cpuid.hypervisor_bit", v[2] >> 31 ? DETECT_VM_STRONG : DETECT_CLEAN,
		       NULL, v[2] >> 31 ? "leaf 1 ECX bit 31 set" : "leaf 1 ECX bit 31 clear");
	cpuid_signatures(r, cpuid, max_basic);

	__builtin_memset(brand, 0, sizeof(brand));
	cpuid(0x80000000, 0, v);
	if (v[0] >= 0x80000004 && v[0] <= 0x8000ffff)
		for (uint32_t i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, 0, v);
			__builtin_memcpy(brand + 16 * i, v, 16);
		}
	named = detect_vm_word(brand, detect_strnlen(brand, 48), &who);
	e = detect_add(r, "cpuid.model", named ? DETECT_VM_STRONG : DETECT_INFO, who, "");
	detect_detail_bytes(e, vendor, 12);
	detect_detail_str(e, " family ");
	detect_detail_hex(e,
			  ((fms >> 8) & 0xf) + ((fms >> 8 & 0xf) == 0xf ? (fms >> 20) & 0xff : 0));
	detect_detail_str(e, " model ");
	detect_detail_hex(e, ((fms >> 4) & 0xf) | ((fms >> 12) & 0xf0));
	detect_detail_str(e, " \"");
	detect_detail_bytes(e, brand, detect_strnlen(brand, 48));
	detect_detail_str(e, "\"");
}

/* ------------------------------------------------------------ timing */

static inline uint64_t tsc_begin(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t tsc_end(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

uint64_t detect_median(uint64_t *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		uint64_t x = v[i];
		unsigned int j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return n ? v[n / 2] : 0;
}

void detect_timing_measure(struct detect_timing *t, uint64_t *s, unsigned int samples)
{
	uint32_t r[4];
	uint64_t t0;

	if (samples > DETECT_MAX_SAMPLES)
		samples = DETECT_MAX_SAMPLES;
	samples |= 1;
	t->samples = samples;
	for (unsigned int i = 0; i < samples; i++) {
		t0 = tsc_begin();
		s[i] = tsc_end() - t0;
	}
	t->rdtsc = detect_median(s, samples);
	for (unsigned int i = 0; i < samples; i++) {
		uint64_t x = i;

		t0 = tsc_begin();
		/* A dependency chain: one add per core cycle, whatever the
		 * TSC's rate. */
		__asm__ volatile(".rept 1000\n\taddq $1, %0\n\t.endr" : "+r"(x));
		s[i] = tsc_end() - t0;
	}
	t->alu = detect_median(s, samples);
	for (unsigned int i = 0; i < samples; i++) {
		t0 = tsc_begin();
		detect_cpuid_native(0, 0, r);
		s[i] = tsc_end() - t0;
	}
	t->cpuid = detect_median(s, samples);
}

uint64_t detect_timing_cpuid_cycles(const struct detect_timing *t)
{
	uint64_t cpuid = t->cpuid > t->rdtsc ? t->cpuid - t->rdtsc : 0;
	uint64_t alu = t->alu > t->rdtsc ? t->alu - t->rdtsc : 0;

	if (alu < DETECT_ALU_OPS / 4) /* nonsense calibration: take ticks as cycles */
		return cpuid;
	return cpuid * DETECT_ALU_OPS / alu;
}

/*
 * Why DETECT_CPUID_TRAP_CYCLES. CPUID is microcoded: on bare metal leaf 0
 * takes about 100-300 core cycles (Intel and AMD cores of the last decade).
 * Under VT-x or AMD-V CPUID always exits to the hypervisor, and an exit and
 * re-entry alone cost about 1000-2000 cycles on the same cores before the
 * hypervisor does anything; software virtualisation (PVM, binary
 * translation, TCG) is slower still. The threshold sits between the two
 * with a factor of about two on each side. Cycles, not TSC ticks: the TSC
 * runs at a fixed rate while the core's clock moves with turbo and power
 * states, so the ALU chain (one cycle per add) converts ticks to cycles.
 * Medians: an interrupt or a preemption inflates a sample, never deflates
 * one.
 */
void detect_timing(struct detect_report *r, const struct detect_timing *t)
{
	uint64_t cycles = detect_timing_cpuid_cycles(t);
	struct detect_evidence *e;

	e = detect_add(r, "timing.cpuid",
		       cycles > DETECT_CPUID_TRAP_CYCLES ? DETECT_VM_STRONG : DETECT_CLEAN, NULL,
		       "CPUID ");
	detect_detail_dec(e, cycles);
	detect_detail_str(e, " cycles: ");
	detect_detail_dec(e, t->cpuid);
	detect_detail_str(e, " ticks, 1000 adds ");
	detect_detail_dec(e, t->alu);
	detect_detail_str(e, ", RDTSC pair ");
	detect_detail_dec(e, t->rdtsc);
	detect_detail_str(e, ", medians of ");
	detect_detail_dec(e, t->samples);
	detect_detail_str(e, "; a trap is above ");
	detect_detail_dec(e, DETECT_CPUID_TRAP_CYCLES);
	if (t->rdtsc > 1000) {
		e = detect_add(r, "timing.rdtsc", DETECT_VM_WEAK, NULL, "RDTSC pair ");
		detect_detail_dec(e, t->rdtsc);
		detect_detail_str(e, " ticks: RDTSC traps");
	}
}

/* ----------------------------------------------------- descriptor tables */

void detect_sidt(uint64_t *base, uint16_t *limit)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = { 0 };

	__asm__ volatile("sidt %0" : "=m"(d));
	*base = d.base;
	*limit = d.limit;
}

void detect_sgdt(uint64_t *base, uint16_t *limit)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = { 0 };

	__asm__ volatile("sgdt %0" : "=m"(d));
	*base = d.base;
	*limit = d.limit;
}

uint16_t detect_sldt(void)
{
	uint16_t v;

	__asm__ volatile("sldt %0" : "=r"(v));
	return v;
}

uint16_t detect_str(void)
{
	uint16_t v;

	__asm__ volatile("str %0" : "=r"(v));
	return v;
}

/* Linux's answers to SIDT/SGDT at CPL3 under UMIP (arch/x86/kernel/umip.c). */
#define UMIP_DUMMY_IDT_BASE 0xffffffffffff0000ULL
#define UMIP_DUMMY_GDT_BASE 0xfffffffffffe0000ULL

void detect_dtables(struct detect_report *r, const struct detect_dtables *d)
{
	struct detect_evidence *e = detect_add(r, "dtables", DETECT_INFO, NULL, "CPL ");

	detect_detail_dec(e, d->cpl);
	if (d->sidt_ok) {
		detect_detail_str(e, ": IDT ");
		detect_detail_hex(e, d->idt_base);
		detect_detail_str(e, "/");
		detect_detail_hex(e, d->idt_limit);
	} else {
		detect_detail_str(e, ": SIDT faults");
	}
	if (d->sgdt_ok) {
		detect_detail_str(e, " GDT ");
		detect_detail_hex(e, d->gdt_base);
		detect_detail_str(e, "/");
		detect_detail_hex(e, d->gdt_limit);
	}
	if (d->sldt_ok) {
		detect_detail_str(e, " LDT ");
		detect_detail_hex(e, d->ldt);
	}
	if (d->str_ok) {
		detect_detail_str(e, " TR ");
		detect_detail_hex(e, d->tr);
	}
	if (d->sidt_ok && d->sgdt_ok && d->idt_base == UMIP_DUMMY_IDT_BASE &&
	    d->gdt_base == UMIP_DUMMY_GDT_BASE)
		detect_detail_str(e, "; UMIP: Linux's placeholders");
	if (!d->sldt_ok || !d->str_ok)
		detect_detail_str(e, "; SLDT/STR fault (UMIP)");
}
