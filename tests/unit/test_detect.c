/* SPDX-License-Identifier: MIT */
/* petrel-detect's decisions on canned CPUID tables, timings and fake sysfs
 * trees. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect.h"
#include "detect_linux.h"
#include "harness.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------- fake CPUIDs */

/* A processor: its leaves (registers, or their bytes: EAX first), and
 * what it returns for any other. */
struct fake_leaf {
	uint32_t leaf;
	union {
		uint32_t r[4];
		char s[16];
	};
};

static const struct fake_leaf *fake_leaves;
static size_t fake_n;
static bool fake_intel; /* out of range: the highest basic leaf; else zeros */
static unsigned int fake_calls;

static void fake_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	(void)sub;
	fake_calls++;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < fake_n; i++)
			if (fake_leaves[i].leaf == leaf) {
				memcpy(r, fake_leaves[i].r, 16);
				return;
			}
		if (!fake_intel)
			break;
		leaf = fake_leaves[0].r[0]; /* Intel: the max basic leaf's data */
	}
	memset(r, 0, 16);
}

/* Bare-metal Intel: max basic 0x16, whose data is not a signature. */
static const struct fake_leaf bare_intel[] = {
	{ 0, .r = { 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 } },
	{ 1, .r = { 0x50657, 0x800, 0x7ffefbff, 0xbfebfbff } },
	{ 0x16, .r = { 0x9c4, 0xfa0, 0x64, 0 } },
	{ 0x80000000, .r = { 0x80000008, 0, 0, 0 } },
	{ 0x80000002, .s = "Intel(R) Xeon(R)" },
	{ 0x80000003, .s = " Gold 6248 CPU @" },
	{ 0x80000004, .s = " 2.50GHz" },
};

/* petrel's default on an AMD host: hypervisor bit, KVM's and petrel's leaves. */
static const struct fake_leaf petrel_amd[] = {
	{ 0, .r = { 0x10, 0x68747541, 0x444d4163, 0x69746e65 } },
	{ 1, .r = { 0xa10f11, 0x800, 0x80000000 | 0x7ed8320b, 0x178bfbff } },
	{ 0x40000000, .s = "\x01\x00\x00\x40KVMKVMKVM\0\0\0" },
	{ 0x40000100, .s = "\x01\x01\x00\x40PetrelPetrel" },
	{ 0x80000000, .r = { 0x80000008, 0, 0, 0 } },
};

/* An unknown hypervisor with a name-like signature, and QEMU's model. */
static const struct fake_leaf odd_intel[] = {
	{ 0, .r = { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 } },
	{ 1, .r = { 0x663, 0x800, 0x80000000, 0 } },
	{ 0xd, .r = { 7, 0x340, 0x340, 0 } },
	{ 0x40000000, .s = "\x05\x00\x00\x40NoSuchHyperv" },
	{ 0x80000000, .r = { 0x80000004, 0, 0, 0 } },
	{ 0x80000002, .s = "QEMU Virtual CPU" },
	{ 0x80000003, .s = " version 2.5+" },
	{ 0x80000004, .r = { 0 } },
};

static void use(const struct fake_leaf *l, size_t n, bool intel)
{
	fake_leaves = l;
	fake_n = n;
	fake_intel = intel;
	fake_calls = 0;
}

/* The first evidence named `check`, or NULL. */
static const struct detect_evidence *find(const struct detect_report *r, const char *check)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (!strcmp(r->ev[i].check, check))
			return &r->ev[i];
	return NULL;
}

static unsigned int count(const struct detect_report *r, const char *check, enum detect_kind k)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->n; i++)
		n += !strcmp(r->ev[i].check, check) && r->ev[i].kind == k;
	return n;
}

static void detect_signatures(void)
{
	CHECK(!strcmp(detect_signature_name("KVMKVMKVM\0\0\0"), "KVM"));
	CHECK(!strcmp(detect_signature_name("Microsoft Hv"), "Hyper-V"));
	CHECK(!strcmp(detect_signature_name("VMwareVMware"), "VMware"));
	CHECK(!strcmp(detect_signature_name("XenVMMXenVMM"), "Xen"));
	CHECK(!strcmp(detect_signature_name("TCGTCGTCGTCG"), "QEMU TCG"));
	CHECK(!strcmp(detect_signature_name("bhyve bhyve "), "bhyve"));
	CHECK(!strcmp(detect_signature_name(" lrpepyh  vr"), "Parallels"));
	CHECK(!strcmp(detect_signature_name("ACRNACRNACRN"), "ACRN"));
	CHECK(!strcmp(detect_signature_name("PetrelPetrel"), "petrel"));
	CHECK(detect_signature_name("KVMKVMKVMKVM") == NULL);
	CHECK(detect_signature_name("\0\0\0\0\0\0\0\0\0\0\0\0") == NULL);
}

static void detect_cpuid_bare_intel(void)
{
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	use(bare_intel, ARRAY_SIZE(bare_intel), true);
	detect_cpuid(&r, fake_cpuid);
	CHECK(count(&r, "cpuid.hypervisor_bit", DETECT_CLEAN) == 1);
	/* 0x40000000.. return leaf 0x16's data: not a signature */
	CHECK(count(&r, "cpuid.signature", DETECT_CLEAN) == 1);
	CHECK(fake_calls > 256); /* every block of the range was looked at */
	REQUIRE(find(&r, "cpuid.model"));
	CHECK(find(&r, "cpuid.model")->kind == DETECT_INFO);
	CHECK(strstr(find(&r, "cpuid.model")->detail, "GenuineIntel family 0x6 model 0x55"));
	CHECK(strstr(find(&r, "cpuid.model")->detail, "Xeon(R) Gold 6248"));
	CHECK(!detect_verdict(&r, line));
	CHECK(!strncmp(line, "verdict: bare-metal (0 strong, 0 weak)", 38));
}

static void detect_cpuid_petrel(void)
{
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	use(petrel_amd, ARRAY_SIZE(petrel_amd), false);
	detect_cpuid(&r, fake_cpuid);
	CHECK(count(&r, "cpuid.hypervisor_bit", DETECT_VM_STRONG) == 1);
	CHECK(count(&r, "cpuid.signature", DETECT_VM_STRONG) == 2);
	REQUIRE(find(&r, "cpuid.signature"));
	CHECK(!strcmp(find(&r, "cpuid.signature")->who, "KVM"));
	CHECK(!strcmp(r.ev[2].who, "petrel"));
	detect_format(&r.ev[2], line);
	CHECK(!strcmp(line, "cpuid.signature: vm petrel (leaf 0x40000100 \"PetrelPetrel\", "
			    "max leaf 0x40000101)"));
	detect_format(&r.ev[1], line);
	CHECK(strstr(line, "\"KVMKVMKVM\"") != NULL);
	CHECK(detect_verdict(&r, line));
	CHECK(!strcmp(line, "verdict: vm petrel on KVM (3 strong, 0 weak)"));
}

/* --stealth on AMD: no bit, zeros for the whole range. */
static void detect_cpuid_stealth(void)
{
	struct fake_leaf l[ARRAY_SIZE(petrel_amd)];
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	memcpy(l, petrel_amd, sizeof(l));
	l[1].r[2] &= ~0x80000000U;
	l[2].leaf = l[3].leaf = 0x12345;
	use(l, ARRAY_SIZE(l), false);
	detect_cpuid(&r, fake_cpuid);
	CHECK(count(&r, "cpuid.hypervisor_bit", DETECT_CLEAN) == 1);
	CHECK(count(&r, "cpuid.signature", DETECT_CLEAN) == 1);
	CHECK(!detect_verdict(&r, line));
}

static void detect_cpuid_unknown_and_brand(void)
{
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	use(odd_intel, ARRAY_SIZE(odd_intel), true);
	detect_cpuid(&r, fake_cpuid);
	CHECK(count(&r, "cpuid.signature", DETECT_VM_WEAK) == 1);
	REQUIRE(find(&r, "cpuid.model"));
	CHECK(find(&r, "cpuid.model")->kind == DETECT_VM_STRONG);
	CHECK(!strcmp(find(&r, "cpuid.model")->who, "QEMU"));
	CHECK(detect_verdict(&r, line));
	CHECK(!strncmp(line, "verdict: vm QEMU (", 18));
}

/* ------------------------------------------------------------ timing */

static void detect_timing_decisions(void)
{
	static const struct {
		struct detect_timing t;
		uint64_t cycles;
		enum detect_kind kind;
		bool rdtsc_traps;
	} cases[] = {
		/* bare metal, TSC at the core's clock */
		{ { .rdtsc = 20, .alu = 1020, .cpuid = 220, .samples = 1001 },
		  200,
		  DETECT_CLEAN,
		  false },
		/* this PVM host: 13k cycles */
		{ { .rdtsc = 52, .alu = 780, .cpuid = 9282 }, 12678, DETECT_VM_STRONG, false },
		/* a slow core under a fast TSC: 1600 ticks are 800 cycles, bare */
		{ { .rdtsc = 0, .alu = 2000, .cpuid = 1600 }, 800, DETECT_CLEAN, false },
		/* a fast core: 900 ticks are 1800 cycles, a trap */
		{ { .rdtsc = 0, .alu = 500, .cpuid = 900 }, 1800, DETECT_VM_STRONG, false },
		/* broken calibration: ticks taken as cycles */
		{ { .rdtsc = 100, .alu = 90, .cpuid = 5100 }, 5000, DETECT_VM_STRONG, false },
		/* trapping RDTSC */
		{ { .rdtsc = 3000, .alu = 4000, .cpuid = 3200 }, 200, DETECT_CLEAN, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct detect_report r = { 0 };

		CHECK(detect_timing_cpuid_cycles(&cases[i].t) == cases[i].cycles);
		detect_timing(&r, &cases[i].t);
		CHECK(count(&r, "timing.cpuid", cases[i].kind) == 1);
		CHECK(count(&r, "timing.rdtsc", DETECT_VM_WEAK) == cases[i].rdtsc_traps);
	}
}

static void detect_median_sorts(void)
{
	uint64_t v[] = { 9, 1, 1000000, 5, 3, 7, 2 };

	CHECK(detect_median(v, ARRAY_SIZE(v)) == 5);
	CHECK(v[0] == 1 && v[6] == 1000000);
	CHECK(detect_median(v, 0) == 0);
}

/* The real measurement runs and is self-consistent (no timing asserted). */
static void detect_timing_measures(void)
{
	static uint64_t s[DETECT_MAX_SAMPLES];
	struct detect_timing t;

	detect_timing_measure(&t, s, 100);
	CHECK(t.samples == 101);
	CHECK(t.alu > t.rdtsc && t.cpuid > 0);
}

/* ------------------------------------------------------------- sysfs */

static char root[64];

static void put(const char *rel, const void *data, size_t len)
{
	char path[256], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, len, f);
	fclose(f);
}

static void puts_file(const char *rel, const char *s)
{
	put(rel, s, strlen(s));
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len, const char *oem,
			const char *table)
{
	memset(t, 0, len);
	memcpy(t, sig, 4);
	memcpy(t + 4, &len, 4);
	memcpy(t + 10, oem, 6);
	memcpy(t + 16, table, 8);
	memcpy(t + 28, "INTL", 4);
}

static void tree_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd))
		abort();
}

static void detect_sysfs_qemu(void)
{
	uint8_t fadt[276], dsdt[80];
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	strcpy(root, "/tmp/petrel-detect.XXXXXX");
	REQUIRE(mkdtemp(root));
	puts_file("sys/class/dmi/id/sys_vendor", "QEMU\n");
	puts_file("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
	acpi_header(fadt, "FACP", sizeof(fadt), "BOCHS ", "BXPCFACP");
	put("sys/firmware/acpi/tables/FACP", fadt, sizeof(fadt));
	acpi_header(dsdt, "DSDT", sizeof(dsdt), "BOCHS ", "BXPCDSDT");
	memcpy(dsdt + 50, "QEMU0002", 8);
	put("sys/firmware/acpi/tables/DSDT", dsdt, sizeof(dsdt));
	puts_file("sys/firmware/acpi/tables/data/junk", "x");
	puts_file("sys/bus/virtio/devices/virtio0/vendor", "0x554d4551\n");
	puts_file("sys/bus/virtio/devices/virtio0/device", "0x0002\n");
	puts_file("sys/bus/pci/devices/0000:00:00.0/vendor", "0x8086\n");
	puts_file("sys/bus/pci/devices/0000:00:00.0/device", "0x29c0\n");
	puts_file("sys/bus/pci/devices/0000:00:01.0/vendor", "0x1b36\n");
	puts_file("sys/bus/pci/devices/0000:00:01.0/device", "0x000d\n");
	puts_file("sys/class/net/eth0/address", "52:54:00:12:34:56\n");
	puts_file("sys/class/net/eth0/device/uevent", "");
	puts_file("sys/class/net/br0/address", "00:0c:29:00:00:01\n"); /* no device: ignored */
	puts_file("proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n");
	puts_file("sys/devices/system/clocksource/clocksource0/available_clocksource",
		  "kvm-clock tsc acpi_pm \n");
	detect_linux_scan(&r, root);
	tree_remove();

	CHECK(count(&r, "dmi.sys_vendor", DETECT_VM_STRONG) == 1);
	CHECK(count(&r, "dmi.product_name", DETECT_CLEAN) == 1);
	CHECK(count(&r, "acpi.FACP", DETECT_VM_STRONG) == 1);
	CHECK(find(&r, "acpi.FACP.hypervisor") == NULL);      /* identity all zero */
	CHECK(count(&r, "acpi.DSDT", DETECT_VM_STRONG) == 2); /* header, fw_cfg */
	CHECK(count(&r, "virtio", DETECT_VM_STRONG) == 1);
	REQUIRE(find(&r, "virtio"));
	CHECK(!strcmp(find(&r, "virtio")->who, "QEMU"));
	CHECK(count(&r, "pci", DETECT_VM_STRONG) == 1);
	CHECK(count(&r, "net.mac", DETECT_VM_WEAK) == 1);
	REQUIRE(find(&r, "net.mac"));
	CHECK(!strcmp(find(&r, "net.mac")->detail, "eth0 52:54:00:12:34:56"));
	CHECK(count(&r, "cpuinfo", DETECT_VM_STRONG) == 1);
	CHECK(count(&r, "clocksource", DETECT_VM_STRONG) == 1);
	CHECK(detect_verdict(&r, line));
	CHECK(!strncmp(line, "verdict: vm QEMU on KVM (", 25));
}

static void detect_sysfs_bare(void)
{
	uint8_t fadt[276];
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	strcpy(root, "/tmp/petrel-detect.XXXXXX");
	REQUIRE(mkdtemp(root));
	puts_file("sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
	puts_file("sys/class/dmi/id/bios_vendor", "Dell Inc.\n");
	acpi_header(fadt, "FACP", sizeof(fadt), "DELL  ", "CBX3    ");
	put("sys/firmware/acpi/tables/FACP", fadt, sizeof(fadt));
	puts_file("sys/bus/pci/devices/0000:00:00.0/vendor", "0x8086\n");
	puts_file("sys/bus/pci/devices/0000:00:00.0/device", "0x3e30\n");
	puts_file("sys/class/net/eno1/address", "3c:ec:ef:01:02:03\n");
	puts_file("sys/class/net/eno1/device/uevent", "");
	puts_file("sys/class/net/virbr0/address", "52:54:00:aa:bb:cc\n"); /* a host's bridge */
	puts_file("proc/cpuinfo", "flags\t\t: fpu vme hypervisorx lahf_lm\n");
	puts_file("sys/devices/system/clocksource/clocksource0/available_clocksource",
		  "tsc hpet acpi_pm\n");
	detect_linux_scan(&r, root);
	tree_remove();

	CHECK(count(&r, "dmi.sys_vendor", DETECT_CLEAN) == 1);
	CHECK(count(&r, "acpi.FACP", DETECT_CLEAN) == 1);
	CHECK(count(&r, "virtio", DETECT_CLEAN) == 1);
	CHECK(count(&r, "pci", DETECT_CLEAN) == 1);
	CHECK(find(&r, "net.mac") == NULL);
	CHECK(count(&r, "cpuinfo", DETECT_CLEAN) == 1);
	CHECK(count(&r, "clocksource", DETECT_CLEAN) == 1);
	CHECK(!detect_verdict(&r, line));
}

/* A microVM: no DMI, Firecracker's ACPI with a hypervisor identity. */
static void detect_sysfs_microvm(void)
{
	uint8_t fadt[276];
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	strcpy(root, "/tmp/petrel-detect.XXXXXX");
	REQUIRE(mkdtemp(root));
	acpi_header(fadt, "FACP", sizeof(fadt), "FIRECK", "FCVMFADT");
	memcpy(fadt + 268, "FIRECKVM", 8);
	put("sys/firmware/acpi/tables/FACP", fadt, sizeof(fadt));
	detect_linux_scan(&r, root);
	tree_remove();

	CHECK(count(&r, "dmi", DETECT_VM_WEAK) == 1);
	CHECK(count(&r, "acpi.FACP", DETECT_VM_STRONG) == 1);
	CHECK(count(&r, "acpi.FACP.hypervisor", DETECT_VM_STRONG) == 1);
	CHECK(detect_verdict(&r, line));
	CHECK(!strncmp(line, "verdict: vm Firecracker (2 strong, 1 weak)", 42));
}

/* ---------------------------------------------- petrel's devices, verdict */

static void detect_petrel_devices(void)
{
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	detect_virtio_mmio(&r, 0, 0x74726976, 2, 4, 0x4c525450);
	detect_virtio_mmio(&r, 1, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
	CHECK(r.n == 1 && !strcmp(r.ev[0].who, "petrel"));
	detect_format(&r.ev[0], line);
	CHECK(!strcmp(line, "virtio-mmio: vm petrel (slot 0: version 2, entropy, vendor "
			    "0x4c525450)"));
	detect_hypercall(&r, -38, 0);
	CHECK(r.ev[1].kind == DETECT_CLEAN);
	detect_hypercall(&r, 0, 1ULL << 16); /* 0.1.0 */
	CHECK(r.ev[2].kind == DETECT_VM_STRONG && !strcmp(r.ev[2].who, "petrel"));
	CHECK(strstr(r.ev[2].detail, "VERSION: 0.1.0") != NULL);
	detect_pvpanic(&r, 0xff);
	detect_pvpanic(&r, 3);
	CHECK(r.ev[3].kind == DETECT_CLEAN && r.ev[4].kind == DETECT_VM_STRONG);
}

static void detect_verdict_weighs(void)
{
	struct detect_report r = { 0 };
	char line[DETECT_LINE_LEN];

	detect_add(&r, "a", DETECT_INFO, NULL, "");
	detect_add(&r, "b", DETECT_CLEAN, NULL, "");
	CHECK(!detect_verdict(&r, line));
	detect_add(&r, "c", DETECT_VM_WEAK, NULL, "");
	CHECK(!detect_verdict(&r, line)); /* one weak is not enough */
	detect_add(&r, "d", DETECT_VM_WEAK, NULL, "");
	CHECK(detect_verdict(&r, line));
	CHECK(!strcmp(line, "verdict: vm unknown (0 strong, 2 weak)"));
}

static void detect_report_bounds(void)
{
	struct detect_report r = { 0 };
	char long_detail[400], line[DETECT_LINE_LEN];

	memset(long_detail, 'x', sizeof(long_detail) - 1);
	long_detail[sizeof(long_detail) - 1] = 0;
	for (int i = 0; i < DETECT_MAX_EVIDENCE + 5; i++)
		detect_detail_str(detect_add(&r, long_detail, DETECT_INFO, NULL, long_detail),
				  long_detail);
	CHECK(r.n == DETECT_MAX_EVIDENCE && r.dropped == 5);
	CHECK(strlen(r.ev[0].check) == DETECT_CHECK_LEN - 1);
	CHECK(strlen(r.ev[0].detail) == DETECT_DETAIL_LEN - 1);
	detect_format(&r.ev[0], line);
	CHECK(strlen(line) ==
	      DETECT_CHECK_LEN - 1 + strlen(": info (") + DETECT_DETAIL_LEN - 1 + 1);
	detect_dmi(&r, "x", "");
	CHECK(r.dropped == 6);
}

int main(void)
{
	RUN(detect_signatures);
	RUN(detect_cpuid_bare_intel);
	RUN(detect_cpuid_petrel);
	RUN(detect_cpuid_stealth);
	RUN(detect_cpuid_unknown_and_brand);
	RUN(detect_timing_decisions);
	RUN(detect_median_sorts);
	RUN(detect_timing_measures);
	RUN(detect_sysfs_qemu);
	RUN(detect_sysfs_bare);
	RUN(detect_sysfs_microvm);
	RUN(detect_petrel_devices);
	RUN(detect_verdict_weighs);
	RUN(detect_report_bounds);
	return harness_exit();
}
