/* SPDX-License-Identifier: MIT */
/* Evidence, names and the verdict; the checks are detect_cpu.c and
 * detect_platform.c. */
#include "detect_int.h"

size_t detect_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t detect_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static char detect_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool detect_find(const char *hay, size_t len, const char *needle, bool fold)
{
	size_t n = detect_strlen(needle);

	for (size_t i = 0; n && i + n <= len; i++) {
		size_t j = 0;

		while (j < n && (fold ? detect_lower(hay[i + j]) == detect_lower(needle[j])
				      : hay[i + j] == needle[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

bool detect_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = detect_strlen(prefix);

	if (n > len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

void detect_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	while (src && src[i] && i + 1 < cap) {
		dst[i] = src[i];
		i++;
	}
	dst[i] = 0;
}

void detect_detail_bytes(struct detect_evidence *e, const char *s, size_t len)
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
	detect_copy(e->check, sizeof(e->check), check);
	e->kind = kind;
	e->who = who;
	detect_copy(e->detail, sizeof(e->detail), detail);
	return e;
}

void detect_detail_str(struct detect_evidence *e, const char *s)
{
	size_t n;

	if (!e)
		return;
	n = detect_strlen(e->detail);
	detect_copy(e->detail + n, sizeof(e->detail) - n, s);
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

const char detect_name_petrel[] = "petrel", detect_name_kvm[] = "KVM", detect_name_qemu[] = "QEMU",
	   detect_name_firecracker[] = "Firecracker", detect_name_hyperv[] = "Hyper-V",
	   detect_name_vmware[] = "VMware", detect_name_xen[] = "Xen",
	   detect_name_vbox[] = "VirtualBox", detect_name_tcg[] = "QEMU TCG",
	   detect_name_bhyve[] = "bhyve", detect_name_parallels[] = "Parallels",
	   detect_name_acrn[] = "ACRN", detect_name_cloudh[] = "Cloud Hypervisor",
	   detect_name_gce[] = "Google Compute Engine", detect_name_jailhouse[] = "Jailhouse";

/* How specific a name is: a VMM on a hypervisor kernel beats the kernel. */
static int name_rank(const char *who)
{
	if (!who)
		return 0;
	if (who == detect_name_kvm)
		return 1;
	if (who == detect_name_petrel || who == detect_name_firecracker ||
	    who == detect_name_qemu || who == detect_name_cloudh || who == detect_name_gce)
		return 3;
	return 2;
}

static const struct {
	char sig[13];
	const char *who;
} signatures[] = {
	{ "KVMKVMKVM\0\0\0", detect_name_kvm },	   { "Microsoft Hv", detect_name_hyperv },
	{ "VMwareVMware", detect_name_vmware },	   { "XenVMMXenVMM", detect_name_xen },
	{ "TCGTCGTCGTCG", detect_name_tcg },	   { "bhyve bhyve ", detect_name_bhyve },
	{ " lrpepyh  vr", detect_name_parallels }, { "ACRNACRNACRN", detect_name_acrn },
	{ "VBoxVBoxVBox", detect_name_vbox },	   { "Jailhouse\0\0\0", detect_name_jailhouse },
	{ "PetrelPetrel", detect_name_petrel },
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
	{ "qemu", detect_name_qemu },
	{ "bochs", detect_name_qemu },
	{ "kvm", detect_name_kvm },
	{ "vmware", detect_name_vmware },
	{ "virtualbox", detect_name_vbox },
	{ "innotek", detect_name_vbox },
	{ "xen", detect_name_xen },
	{ "bhyve", detect_name_bhyve },
	{ "parallels", detect_name_parallels },
	{ "firecracker", detect_name_firecracker },
	{ "petrel", detect_name_petrel },
	{ "cloud hypervisor", detect_name_cloudh },
	{ "google compute engine", detect_name_gce },
	{ "virtual machine", NULL }, /* Hyper-V's product name, among others */
	{ "openstack", NULL },
};

bool detect_vm_word(const char *s, size_t len, const char **who)
{
	for (size_t i = 0; i < sizeof(vm_words) / sizeof(vm_words[0]); i++)
		if (detect_find(s, len, vm_words[i].word, true)) {
			*who = vm_words[i].who;
			return true;
		}
	return false;
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
	detect_copy(line, DETECT_LINE_LEN, e->check);
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), ": ");
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line),
		    kind_names[e->kind]);
	if (e->who) {
		detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), " ");
		detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line),
			    e->who);
	}
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), " (");
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), e->detail);
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), ")");
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
		on_kvm |= e->who == detect_name_kvm;
		if (name_rank(e->who) > name_rank(best))
			best = e->who;
	}
	vm = strong > 0 || weak > 1;
	detect_detail_dec(&sum, strong);
	detect_detail_str(&sum, " strong, ");
	detect_detail_dec(&sum, weak);
	detect_detail_str(&sum, " weak");
	detect_copy(line, DETECT_LINE_LEN, "verdict: ");
	if (!vm) {
		detect_copy(line + 9, DETECT_LINE_LEN - 9, "bare-metal (");
	} else {
		detect_copy(line + 9, DETECT_LINE_LEN - 9, "vm ");
		detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line),
			    best ? best : "unknown");
		if (on_kvm && best != detect_name_kvm)
			detect_copy(line + detect_strlen(line),
				    DETECT_LINE_LEN - detect_strlen(line), " on KVM");
		detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line),
			    " (");
	}
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), sum.detail);
	detect_copy(line + detect_strlen(line), DETECT_LINE_LEN - detect_strlen(line), ")");
	return vm;
}
