/* SPDX-License-Identifier: MIT */
/* The platform's checks: firmware tables, devices, what Linux shows. */
#include "detect_int.h"

void detect_dmi(struct detect_report *r, const char *field, const char *value)
{
	size_t len = detect_strlen(value);
	const char *who = NULL;
	bool named = detect_vm_word(value, len, &who);
	char check[DETECT_CHECK_LEN] = "dmi.";
	struct detect_evidence *e;

	detect_copy(check + 4, sizeof(check) - 4, field);
	e = detect_add(r, check, named ? DETECT_VM_STRONG : DETECT_CLEAN, who, "\"");
	detect_detail_bytes(e, value, len);
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
	{ "BOCHS", detect_name_qemu },	     { "BXPC", detect_name_qemu },
	{ "VBOX", detect_name_vbox },	     { "VMWARE", detect_name_vmware },
	{ "Xen", detect_name_xen },	     { "FIRECK", detect_name_firecracker },
	{ "FCVM", detect_name_firecracker }, { "PETREL", detect_name_petrel },
	{ "VRTUAL", detect_name_hyperv },    { "CLOUDH", detect_name_cloudh },
	{ "BHYVE", detect_name_bhyve },	     { "ACRN", detect_name_acrn },
};

static const char *acpi_id_name(const char *id, size_t len)
{
	for (size_t i = 0; i < sizeof(acpi_ids) / sizeof(acpi_ids[0]); i++)
		if (detect_prefix(id, len, acpi_ids[i].id))
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
	detect_copy(check + 5, sizeof(check) - 5, name);
	who = acpi_id_name(s + 10, 6);
	if (!who)
		who = acpi_id_name(s + 16, 8);
	e = detect_add(r, check, who ? DETECT_VM_STRONG : DETECT_CLEAN, who, "OEM \"");
	detect_detail_bytes(e, s + 10, 6);
	detect_detail_str(e, "\" table \"");
	detect_detail_bytes(e, s + 16, 8);
	detect_detail_str(e, "\" creator \"");
	detect_detail_bytes(e, s + 28, 4);
	detect_detail_str(e, "\"");
	/* ACPI 6.0+: the FADT's hypervisor vendor identity, zero on hardware. */
	if (detect_prefix(s, len, "FACP") && len >= 276 && (t[4] | t[5] << 8) >= 276) {
		bool set = false;

		for (int i = 268; i < 276; i++)
			set |= t[i] != 0;
		if (set) {
			e = detect_add(r, "acpi.FACP.hypervisor", DETECT_VM_STRONG,
				       acpi_id_name(s + 268, 8), "hypervisor vendor identity \"");
			detect_detail_bytes(e, s + 268, 8);
			detect_detail_str(e, "\"");
		}
	}
	if (detect_prefix(s, len, "DSDT") || detect_prefix(s, len, "SSDT")) {
		if (detect_find(s, len, "LNRO0005", false))
			detect_add(r, check, DETECT_VM_STRONG, NULL,
				   "device LNRO0005 (virtio-mmio)");
		if (detect_find(s, len, "QEMU0001", false))
			detect_add(r, check, DETECT_VM_STRONG, NULL, "device QEMU0001 (pvpanic)");
		if (detect_find(s, len, "QEMU0002", false))
			detect_add(r, check, DETECT_VM_STRONG, detect_name_qemu,
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
		return detect_name_petrel;
	if (vendor == 0x554d4551) /* "QEMU" */
		return detect_name_qemu;
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
	{ 0x1af4, "virtio (Red Hat)", NULL },
	{ 0x1b36, "QEMU (Red Hat)", detect_name_qemu },
	{ 0x15ad, "VMware", detect_name_vmware },
	{ 0x80ee, "VirtualBox", detect_name_vbox },
	{ 0x5853, "Xen", detect_name_xen },
	{ 0x1414, "Hyper-V (Microsoft)", detect_name_hyperv },
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
	{ "52:54:00", detect_name_qemu },   { "00:0c:29", detect_name_vmware },
	{ "00:50:56", detect_name_vmware }, { "00:05:69", detect_name_vmware },
	{ "00:1c:14", detect_name_vmware }, { "08:00:27", detect_name_vbox },
	{ "0a:00:27", detect_name_vbox },   { "00:16:3e", detect_name_xen },
	{ "00:15:5d", detect_name_hyperv }, { "00:1c:42", detect_name_parallels },
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

		if (!detect_find(mac, 8, mac_prefixes[i].prefix, true) || detect_strlen(mac) < 8)
			continue;
		e = detect_add(r, "net.mac", DETECT_VM_WEAK, mac_prefixes[i].who, ifname);
		detect_detail_str(e, " ");
		detect_detail_str(e, mac);
		return;
	}
}

static bool has_word(const char *list, const char *word)
{
	size_t n = detect_strlen(word), len = detect_strlen(list);

	for (size_t i = 0; i + n <= len; i++) {
		if ((i && list[i - 1] != ' ' && list[i - 1] != '\t') ||
		    !detect_prefix(list + i, n, word))
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
		{ "kvm-clock", detect_name_kvm },
		{ "hyperv_clocksource_tsc_page", detect_name_hyperv },
		{ "xen", detect_name_xen },
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
	e = detect_add(r, "hypercall", DETECT_VM_STRONG, ret >= 0 ? detect_name_petrel : NULL,
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
