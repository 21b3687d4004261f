/* SPDX-License-Identifier: MIT */
/*
 * petrel-detect's core: is this a VM, and which hypervisor? Each check
 * turns one observation into a piece of evidence; detect_verdict weighs
 * them. The core does no I/O and needs no libc (only <stdint.h>,
 * <stddef.h>, <stdbool.h> and inline assembly), so both the static Linux
 * binary (petrel_detect.c, detect_linux.c) and the freestanding test guest
 * (guests/detect.c) link it; the unit tests feed it canned observations.
 */
#ifndef PETREL_DETECT_H
#define PETREL_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum detect_kind {
	DETECT_INFO,	  /* reported, weighs nothing */
	DETECT_CLEAN,	  /* looked, found what bare metal shows */
	DETECT_VM_WEAK,	  /* suggests a VM; two weak ones make a verdict */
	DETECT_VM_STRONG, /* a VM on its own */
};

#define DETECT_MAX_EVIDENCE 48
#define DETECT_CHECK_LEN 24
#define DETECT_DETAIL_LEN 120
#define DETECT_LINE_LEN 192

struct detect_evidence {
	char check[DETECT_CHECK_LEN];
	enum detect_kind kind;
	const char *who; /* the hypervisor or VMM it names (static string), or NULL */
	char detail[DETECT_DETAIL_LEN];
};

struct detect_report {
	struct detect_evidence ev[DETECT_MAX_EVIDENCE];
	unsigned int n;
	unsigned int dropped; /* evidence past DETECT_MAX_EVIDENCE */
};

/* Append one piece of evidence (check and detail are truncated to fit);
 * returns it for detect_detail_* to extend, or NULL when the report is
 * full (counted in `dropped`). */
struct detect_evidence *detect_add(struct detect_report *r, const char *check,
				   enum detect_kind kind, const char *who, const char *detail);

/* Append to an evidence's detail, truncating at its end. */
void detect_detail_str(struct detect_evidence *e, const char *s);
void detect_detail_hex(struct detect_evidence *e, uint64_t v);
void detect_detail_dec(struct detect_evidence *e, uint64_t v);

/* --- CPUID ---------------------------------------------------------- */

/* Executes CPUID (leaf, subleaf) into r[0..3] = eax, ebx, ecx, edx. */
typedef void (*detect_cpuid_fn)(uint32_t leaf, uint32_t sub, uint32_t r[4]);

void detect_cpuid_native(uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* The hypervisor a 12-byte CPUID signature (EBX, ECX, EDX of a leaf in
 * 0x40000000..) names, or NULL if it is none petrel-detect knows. */
const char *detect_signature_name(const char sig[12]);

/* Leaf 1 ECX bit 31; the signature leaves 0x40000000..0x4000ff00 (every
 * 0x100, where hypervisors put their interfaces, petrel's at 0x40000100);
 * the brand string. A leaf counts only if it is not what the processor
 * returns for an out-of-range leaf (Intel: the highest basic leaf's data;
 * AMD: zeros). */
void detect_cpuid(struct detect_report *r, detect_cpuid_fn cpuid);

/* --- exit timing ---------------------------------------------------- */

/* Timing in TSC ticks, medians of `samples` runs (odd, up to 1001). */
struct detect_timing {
	uint64_t rdtsc; /* two back-to-back RDTSCs */
	uint64_t alu;	/* DETECT_ALU_OPS dependent adds: DETECT_ALU_OPS core cycles */
	uint64_t cpuid; /* CPUID leaf 0 between two RDTSCs */
	unsigned int samples;
};

#define DETECT_ALU_OPS 1000
/* A CPUID that costs more core cycles than this trapped to a hypervisor
 * (detect.c explains the number). */
#define DETECT_CPUID_TRAP_CYCLES 1000
#define DETECT_MAX_SAMPLES 1001

/* Measure on the calling CPU. `scratch` holds `samples` values. Native
 * instructions only: run it where they execute natively (not in an
 * instruction emulator: at CPL3 in petrel's guests on a PVM host). */
void detect_timing_measure(struct detect_timing *t, uint64_t *scratch, unsigned int samples);

/* CPUID's cost in core cycles: (cpuid - rdtsc) ticks scaled by the ALU
 * run's ticks per cycle. */
uint64_t detect_timing_cpuid_cycles(const struct detect_timing *t);

/* Evidence from a measurement: CPUID above DETECT_CPUID_TRAP_CYCLES is a
 * VM; an RDTSC pair above 1000 ticks is a trapping RDTSC (weak). */
void detect_timing(struct detect_report *r, const struct detect_timing *t);

/* Sort v[0..n) ascending and return the median. */
uint64_t detect_median(uint64_t *v, unsigned int n);

/* --- descriptor tables ("red pill") --------------------------------- */

/* What SIDT, SGDT, SLDT and STR showed at one privilege level; an
 * instruction that faulted (UMIP at CPL3) has its _ok false. */
struct detect_dtables {
	unsigned int cpl;
	bool sidt_ok, sgdt_ok, sldt_ok, str_ok;
	uint64_t idt_base, gdt_base;
	uint16_t idt_limit, gdt_limit, ldt, tr;
};

/* The instructions themselves; at CPL3 with CR4.UMIP set each raises #GP
 * (Linux answers SIDT and SGDT with placeholders, SLDT and STR with
 * SIGSEGV): the caller handles that. */
void detect_sidt(uint64_t *base, uint16_t *limit);
void detect_sgdt(uint64_t *base, uint16_t *limit);
uint16_t detect_sldt(void);
uint16_t detect_str(void);

/* Reported as information: on 64-bit x86 the table bases say nothing about
 * a VM (the "red pill" was a 32-bit, single-CPU trick); Linux's dummy
 * values under UMIP are recognised and said so. */
void detect_dtables(struct detect_report *r, const struct detect_dtables *d);

/* --- Linux's view (hosted; canned strings in the unit tests) -------- */

/* A DMI string: /sys/class/dmi/id/<field>. */
void detect_dmi(struct detect_report *r, const char *field, const char *value);
/* No DMI at all: every PC firmware provides SMBIOS; microVMs do not. */
void detect_dmi_missing(struct detect_report *r);
/* An ACPI table (its first `len` bytes; the header and the FADT's
 * hypervisor identity, and the DSDT's device IDs are looked at). */
void detect_acpi_table(struct detect_report *r, const char *name, const uint8_t *t, size_t len);
/* A virtio device (/sys/bus/virtio/devices/X: vendor, device). */
void detect_virtio(struct detect_report *r, const char *name, uint32_t vendor, uint32_t device);
/* A PCI function's vendor and device IDs. */
void detect_pci(struct detect_report *r, const char *name, uint32_t vendor, uint32_t device);
/* A network interface backed by a device and its MAC "xx:xx:xx:xx:xx:xx". */
void detect_mac(struct detect_report *r, const char *ifname, const char *mac);
/* The "flags" line of /proc/cpuinfo. */
void detect_cpuinfo_flags(struct detect_report *r, const char *flags);
/* The kernel's available clocksources (space separated). */
void detect_clocksources(struct detect_report *r, const char *list);

/* --- petrel's devices (freestanding guest) -------------------------- */

/* Registers read at virtio-mmio slot `slot` of include/petrel/platform.h. */
void detect_virtio_mmio(struct detect_report *r, unsigned int slot, uint32_t magic,
			uint32_t version, uint32_t device, uint32_t vendor);
/* The hypercall port: `ret` is what the VERSION call left in a block
 * preset to -ENOSYS, `version` its arg[2]. */
void detect_hypercall(struct detect_report *r, int64_t ret, uint64_t version);
/* An 8-bit read of the pvpanic port 0x505 (nothing there reads 0xff). */
void detect_pvpanic(struct detect_report *r, uint8_t value);

/* --- verdict -------------------------------------------------------- */

/* "check: kind [who] (detail)" into line (DETECT_LINE_LEN bytes). */
void detect_format(const struct detect_evidence *e, char *line);

/* True iff one strong or two weak pieces say VM. `line` gets
 * "verdict: vm NAME (...)" or "verdict: bare-metal (...)". NAME is the most
 * specific name the evidence gives: a VMM (petrel, Firecracker, QEMU...)
 * before the hypervisor kernel it runs on (KVM), or "unknown". */
bool detect_verdict(const struct detect_report *r, char *line);

#endif
