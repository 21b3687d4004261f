/* SPDX-License-Identifier: MIT */
#include "detect.h"

/* Freestanding: the few string helpers the core needs, its own. */
static size_t d_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static size_t d_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static char d_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* `needle` in the first `len` bytes of `hay`; case-insensitive if `fold`. */
static bool d_find(const char *hay, size_t len, const char *needle, bool fold)
{
	size_t n = d_strlen(needle);

	for (size_t i = 0; n && i + n <= len; i++) {
		size_t j = 0;

		while (j < n &&
		       (fold ? d_lower(hay[i + j]) == d_lower(needle[j]) : hay[i + j] == needle[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

static bool d_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = d_strlen(prefix);

	if (n > len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

static void d_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	while (src && src[i] && i + 1 < cap) {
		dst[i] = src[i];
		i++;
	}
	dst[i] = 0;
}

/* Append printable bytes of s[0..len) to e's detail, '.' for the rest. */
static void detail_bytes(struct detect_evidence *e, const char *s, size_t len)
{
	char buf[49];
	size_t i;

	for (i = 0; i < len && i < sizeof(buf) - 1; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '.';
	buf[i] = 0;
	detect_detail_str(e, buf);
}

struct detect_evidence *detect_add(struct detect_report *r, const char *check,
				   enum detect_kind kind, const char *who, const char *detail)
{
	struct detect_evidence *e;

	if (r->n == DETECT_MAX_EVIDENCE) {
		r->dropped++;
		return NULL;
	}
	e = &r->ev[r->n++];
	d_copy(e->check, sizeof(e->check), check);
	e->kind = kind;
	e->who = who;
	d_copy(e->detail, sizeof(e->detail), detail);
	return e;
}

void detect_detail_str(struct detect_evidence *e, const char *s)
{
	size_t n;

	if (!e)
		return;
	n = d_strlen(e->detail);
	d_copy(e->detail + n, sizeof(e->detail) - n, s);
}

static void detail_num(struct detect_evidence *e, uint64_t v, unsigned int base)
{
	char buf[24];
	int i = (int)sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16) {
		buf[--i] = 'x';
		buf[--i] = '0';
	}
	detect_detail_str(e, buf + i);
}

void detect_detail_hex(struct detect_evidence *e, uint64_t v)
{
	detail_num(e, v, 16);
}

void detect_detail_dec(struct detect_evidence *e, uint64_t v)
{
	detail_num(e, v, 10);
}

/* ------------------------------------------------------------- names */

static const char name_petrel[] = "petrel", name_kvm[] = "KVM", name_qemu[] = "QEMU",
		  name_firecracker[] = "Firecracker", name_hyperv[] = "Hyper-V",
		  name_vmware[] = "VMware", name_xen[] = "Xen", name_vbox[] = "VirtualBox",
		  name_tcg[] = "QEMU TCG", name_bhyve[] = "bhyve", name_parallels[] = "Parallels",
		  name_acrn[] = "ACRN", name_cloudh[] = "Cloud Hypervisor",
		  name_gce[] = "Google Compute Engine", name_jailhouse[] = "Jailhouse";

/* How specific a name is: a VMM on a hypervisor kernel beats the kernel. */
static int name_rank(const char *who)
{
	if (!who)
		return 0;
	if (who == name_kvm)
		return 1;
	if (who == name_petrel || who == name_firecracker || who == name_qemu ||
	    who == name_cloudh || who == name_gce)
		return 3;
	return 2;
}

static const struct {
	char sig[13];
	const char *who;
} signatures[] = {
	{ "KVMKVMKVM\0\0\0", name_kvm },    { "Microsoft Hv", name_hyperv },
	{ "VMwareVMware", name_vmware },    { "XenVMMXenVMM", name_xen },
	{ "TCGTCGTCGTCG", name_tcg },	    { "bhyve bhyve ", name_bhyve },
	{ " lrpepyh  vr", name_parallels }, { "ACRNACRNACRN", name_acrn },
	{ "VBoxVBoxVBox", name_vbox },	    { "Jailhouse\0\0\0", name_jailhouse },
	{ "PetrelPetrel", name_petrel },
};

const char *detect_signature_name(const char sig[12])
{
	for (size_t i = 0; i < sizeof(signatures) / sizeof(signatures[0]); i++) {
		size_t j = 0;

		while (j < 12 && sig[j] == signatures[i].sig[j])
			j++;
		if (j == 12)
			return signatures[i].who;
	}
	return NULL;
}

/* Words in DMI strings, ACPI IDs and brand strings, case-insensitive. */
static const struct {
	const char *word;
	const char *who;
} vm_words[] = {
	{ "qemu", name_qemu },
	{ "bochs", name_qemu },
	{ "kvm", name_kvm },
	{ "vmware", name_vmware },
	{ "virtualbox", name_vbox },
	{ "innotek", name_vbox },
	{ "xen", name_xen },
	{ "bhyve", name_bhyve },
	{ "parallels", name_parallels },
	{ "firecracker", name_firecracker },
	{ "petrel", name_petrel },
	{ "cloud hypervisor", name_cloudh },
	{ "google compute engine", name_gce },
	{ "virtual machine", NULL }, /* Hyper-V's product name, among others */
	{ "openstack", NULL },
};

/* Index of the first VM word in s[0..len), or -1. */
static int vm_word(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(vm_words) / sizeof(vm_words[0]); i++)
		if (d_find(s, len, vm_words[i].word, true))
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------- CPUID */

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
		detail_bytes(e, sig, d_strnlen(sig, 12));
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
	int w = -1;

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
	w = vm_word(brand, d_strlen(brand) < 48 ? d_strlen(brand) : 48);
	e = detect_add(r, "cpuid.model", w >= 0 ? DETECT_VM_STRONG : DETECT_INFO,
		       w >= 0 ? vm_words[w].who : NULL, "");
	detail_bytes(e, vendor, 12);
	detect_detail_str(e, " family ");
	detect_detail_hex(e,
			  ((fms >> 8) & 0xf) + ((fms >> 8 & 0xf) == 0xf ? (fms >> 20) & 0xff : 0));
	detect_detail_str(e, " model ");
	detect_detail_hex(e, ((fms >> 4) & 0xf) | ((fms >> 12) & 0xf0));
	detect_detail_str(e, " \"");
	detail_bytes(e, brand, d_strlen(brand) < 48 ? d_strlen(brand) : 48);
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

/* -------------------------------------------------------- Linux's view */

void detect_dmi(struct detect_report *r, const char *field, const char *value)
{
	size_t len = d_strlen(value);
	int w = vm_word(value, len);
	char check[DETECT_CHECK_LEN] = "dmi.";
	struct detect_evidence *e;

	d_copy(check + 4, sizeof(check) - 4, field);
	e = detect_add(r, check, w >= 0 ? DETECT_VM_STRONG : DETECT_CLEAN,
		       w >= 0 ? vm_words[w].who : NULL, "\"");
	detail_bytes(e, value, len);
	detect_detail_str(e, "\"");
}

void detect_dmi_missing(struct detect_report *r)
{
	detect_add(r, "dmi", DETECT_VM_WEAK, NULL,
		   "no DMI/SMBIOS tables (every PC firmware has them; microVMs do not)");
}

static const struct {
	const char *id; /* prefix of the OEM ID or OEM table ID */
	const char *who;
} acpi_ids[] = {
	{ "BOCHS", name_qemu },	      { "BXPC", name_qemu },	 { "VBOX", name_vbox },
	{ "VMWARE", name_vmware },    { "Xen", name_xen },	 { "FIRECK", name_firecracker },
	{ "FCVM", name_firecracker }, { "PETREL", name_petrel }, { "VRTUAL", name_hyperv },
	{ "CLOUDH", name_cloudh },    { "BHYVE", name_bhyve },	 { "ACRN", name_acrn },
};

static const char *acpi_id_name(const char *id, size_t len)
{
	for (size_t i = 0; i < sizeof(acpi_ids) / sizeof(acpi_ids[0]); i++)
		if (d_prefix(id, len, acpi_ids[i].id))
			return acpi_ids[i].who;
	return NULL;
}

void detect_acpi_table(struct detect_report *r, const char *name, const uint8_t *t, size_t len)
{
	const char *s = (const char *)t, *who;
	char check[DETECT_CHECK_LEN] = "acpi.";
	struct detect_evidence *e;

	if (len < 36)
		return;
	d_copy(check + 5, sizeof(check) - 5, name);
	who = acpi_id_name(s + 10, 6);
	if (!who)
		who = acpi_id_name(s + 16, 8);
	e = detect_add(r, check, who ? DETECT_VM_STRONG : DETECT_CLEAN, who, "OEM \"");
	detail_bytes(e, s + 10, 6);
	detect_detail_str(e, "\" table \"");
	detail_bytes(e, s + 16, 8);
	detect_detail_str(e, "\" creator \"");
	detail_bytes(e, s + 28, 4);
	detect_detail_str(e, "\"");
	/* ACPI 6.0+: the FADT's hypervisor vendor identity, zero on hardware. */
	if (d_prefix(s, len, "FACP") && len >= 276 && (t[4] | t[5] << 8) >= 276) {
		bool set = false;

		for (int i = 268; i < 276; i++)
			set |= t[i] != 0;
		if (set) {
			e = detect_add(r, "acpi.FACP.hypervisor", DETECT_VM_STRONG,
				       acpi_id_name(s + 268, 8), "hypervisor vendor identity \"");
			detail_bytes(e, s + 268, 8);
			detect_detail_str(e, "\"");
		}
	}
	if (d_prefix(s, len, "DSDT") || d_prefix(s, len, "SSDT")) {
		if (d_find(s, len, "LNRO0005", false))
			detect_add(r, check, DETECT_VM_STRONG, NULL,
				   "device LNRO0005 (virtio-mmio)");
		if (d_find(s, len, "QEMU0001", false))
			detect_add(r, check, DETECT_VM_STRONG, NULL, "device QEMU0001 (pvpanic)");
		if (d_find(s, len, "QEMU0002", false))
			detect_add(r, check, DETECT_VM_STRONG, name_qemu,
				   "device QEMU0002 (fw_cfg)");
	}
}

static const char *virtio_device_name(uint32_t id)
{
	switch (id) {
	case 1:
		return "net";
	case 2:
		return "block";
	case 3:
		return "console";
	case 4:
		return "entropy";
	case 5:
		return "balloon";
	case 16:
		return "gpu";
	case 19:
		return "vsock";
	default:
		return "device";
	}
}

static const char *virtio_vendor_name(uint32_t vendor)
{
	if (vendor == 0x4c525450) /* "PTRL" */
		return name_petrel;
	if (vendor == 0x554d4551) /* "QEMU" */
		return name_qemu;
	return NULL;
}

void detect_virtio(struct detect_report *r, const char *name, uint32_t vendor, uint32_t device)
{
	struct detect_evidence *e =
	    detect_add(r, "virtio", DETECT_VM_STRONG, virtio_vendor_name(vendor), name);

	detect_detail_str(e, ": virtio ");
	detect_detail_str(e, virtio_device_name(device));
	detect_detail_str(e, " (device ");
	detect_detail_dec(e, device);
	detect_detail_str(e, ", vendor ");
	detect_detail_hex(e, vendor);
	detect_detail_str(e, ")");
}

static const struct {
	uint16_t vendor;
	const char *what;
	const char *who;
} pci_vendors[] = {
	{ 0x1af4, "virtio (Red Hat)", NULL }, { 0x1b36, "QEMU (Red Hat)", name_qemu },
	{ 0x15ad, "VMware", name_vmware },    { 0x80ee, "VirtualBox", name_vbox },
	{ 0x5853, "Xen", name_xen },	      { 0x1414, "Hyper-V (Microsoft)", name_hyperv },
};

void detect_pci(struct detect_report *r, const char *name, uint32_t vendor, uint32_t device)
{
	for (size_t i = 0; i < sizeof(pci_vendors) / sizeof(pci_vendors[0]); i++) {
		struct detect_evidence *e;

		if (pci_vendors[i].vendor != vendor)
			continue;
		e = detect_add(r, "pci", DETECT_VM_STRONG, pci_vendors[i].who, name);
		detect_detail_str(e, ": ");
		detect_detail_str(e, pci_vendors[i].what);
		detect_detail_str(e, " device ");
		detect_detail_hex(e, vendor);
		detect_detail_str(e, ":");
		detect_detail_hex(e, device);
		return;
	}
}

static const struct {
	const char *prefix;
	const char *who;
} mac_prefixes[] = {
	{ "52:54:00", name_qemu },	{ "00:0c:29", name_vmware }, { "00:50:56", name_vmware },
	{ "00:05:69", name_vmware },	{ "00:1c:14", name_vmware }, { "08:00:27", name_vbox },
	{ "0a:00:27", name_vbox },	{ "00:16:3e", name_xen },    { "00:15:5d", name_hyperv },
	{ "00:1c:42", name_parallels },
};

/*
 * Weak: a MAC is the user's choice (petrel's default prefix is QEMU's
 * 52:54:00), and a bare-metal host running VMs carries these on its
 * bridges; the caller passes only interfaces backed by a device.
 */
void detect_mac(struct detect_report *r, const char *ifname, const char *mac)
{
	for (size_t i = 0; i < sizeof(mac_prefixes) / sizeof(mac_prefixes[0]); i++) {
		struct detect_evidence *e;

		if (!d_find(mac, 8, mac_prefixes[i].prefix, true) || d_strlen(mac) < 8)
			continue;
		e = detect_add(r, "net.mac", DETECT_VM_WEAK, mac_prefixes[i].who, ifname);
		detect_detail_str(e, " ");
		detect_detail_str(e, mac);
		return;
	}
}

static bool has_word(const char *list, const char *word)
{
	size_t n = d_strlen(word), len = d_strlen(list);

	for (size_t i = 0; i + n <= len; i++) {
		if ((i && list[i - 1] != ' ' && list[i - 1] != '\t') ||
		    !d_prefix(list + i, n, word))
			continue;
		if (list[i + n] == 0 || list[i + n] == ' ' || list[i + n] == '\n' ||
		    list[i + n] == '\t')
			return true;
	}
	return false;
}

void detect_cpuinfo_flags(struct detect_report *r, const char *flags)
{
	bool hv = has_word(flags, "hypervisor");

	detect_add(r, "cpuinfo", hv ? DETECT_VM_STRONG : DETECT_CLEAN, NULL,
		   hv ? "flag \"hypervisor\"" : "no \"hypervisor\" flag");
}

void detect_clocksources(struct detect_report *r, const char *list)
{
	static const struct {
		const char *cs;
		const char *who;
	} pv[] = {
		{ "kvm-clock", name_kvm },
		{ "hyperv_clocksource_tsc_page", name_hyperv },
		{ "xen", name_xen },
	};

	for (size_t i = 0; i < sizeof(pv) / sizeof(pv[0]); i++)
		if (has_word(list, pv[i].cs)) {
			struct detect_evidence *e =
			    detect_add(r, "clocksource", DETECT_VM_STRONG, pv[i].who, "");

			detect_detail_str(e, pv[i].cs);
			return;
		}
	detect_add(r, "clocksource", DETECT_CLEAN, NULL, "no paravirtual clock");
}

/* ---------------------------------------------------- petrel's devices */

void detect_virtio_mmio(struct detect_report *r, unsigned int slot, uint32_t magic,
			uint32_t version, uint32_t device, uint32_t vendor)
{
	struct detect_evidence *e;

	if (magic != 0x74726976) /* "virt" */
		return;
	e = detect_add(r, "virtio-mmio", DETECT_VM_STRONG, virtio_vendor_name(vendor), "slot ");
	detect_detail_dec(e, slot);
	detect_detail_str(e, ": version ");
	detect_detail_dec(e, version);
	detect_detail_str(e, device ? ", " : ", empty");
	if (device)
		detect_detail_str(e, virtio_device_name(device));
	detect_detail_str(e, ", vendor ");
	detect_detail_hex(e, vendor);
}

void detect_hypercall(struct detect_report *r, int64_t ret, uint64_t version)
{
	struct detect_evidence *e;

	if (ret == -38) { /* the preset -ENOSYS: nothing answered */
		detect_add(r, "hypercall", DETECT_CLEAN, NULL, "port 0x510 does not answer");
		return;
	}
	e = detect_add(r, "hypercall", DETECT_VM_STRONG, ret >= 0 ? name_petrel : NULL,
		       "port 0x510 VERSION: ");
	if (ret < 0) {
		detect_detail_str(e, "error ");
		detect_detail_dec(e, (uint64_t)-ret);
		return;
	}
	detect_detail_dec(e, version >> 32);
	detect_detail_str(e, ".");
	detect_detail_dec(e, (version >> 16) & 0xffff);
	detect_detail_str(e, ".");
	detect_detail_dec(e, version & 0xffff);
}

void detect_pvpanic(struct detect_report *r, uint8_t value)
{
	struct detect_evidence *e;

	if (value == 0xff) {
		detect_add(r, "pvpanic", DETECT_CLEAN, NULL, "port 0x505 reads 0xff");
		return;
	}
	e = detect_add(r, "pvpanic", DETECT_VM_STRONG, NULL, "port 0x505 reads ");
	detect_detail_hex(e, value);
	detect_detail_str(e, " (pvpanic features)");
}

/* ----------------------------------------------------------- verdict */

static const char *const kind_names[] = {
	[DETECT_INFO] = "info",
	[DETECT_CLEAN] = "clean",
	[DETECT_VM_WEAK] = "vm?",
	[DETECT_VM_STRONG] = "vm",
};

void detect_format(const struct detect_evidence *e, char *line)
{
	d_copy(line, DETECT_LINE_LEN, e->check);
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), ": ");
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), kind_names[e->kind]);
	if (e->who) {
		d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), " ");
		d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), e->who);
	}
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), " (");
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), e->detail);
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), ")");
}

bool detect_verdict(const struct detect_report *r, char *line)
{
	unsigned int strong = 0, weak = 0;
	const char *best = NULL;
	bool on_kvm = false, vm;
	struct detect_evidence sum = { .kind = DETECT_INFO };

	for (unsigned int i = 0; i < r->n; i++) {
		const struct detect_evidence *e = &r->ev[i];

		if (e->kind < DETECT_VM_WEAK)
			continue;
		if (e->kind == DETECT_VM_STRONG)
			strong++;
		else
			weak++;
		on_kvm |= e->who == name_kvm;
		if (name_rank(e->who) > name_rank(best))
			best = e->who;
	}
	vm = strong > 0 || weak > 1;
	detect_detail_dec(&sum, strong);
	detect_detail_str(&sum, " strong, ");
	detect_detail_dec(&sum, weak);
	detect_detail_str(&sum, " weak");
	d_copy(line, DETECT_LINE_LEN, "verdict: ");
	if (!vm) {
		d_copy(line + 9, DETECT_LINE_LEN - 9, "bare-metal (");
	} else {
		d_copy(line + 9, DETECT_LINE_LEN - 9, "vm ");
		d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line),
		       best ? best : "unknown");
		if (on_kvm && best != name_kvm)
			d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), " on KVM");
		d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), " (");
	}
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), sum.detail);
	d_copy(line + d_strlen(line), DETECT_LINE_LEN - d_strlen(line), ")");
	return vm;
}
