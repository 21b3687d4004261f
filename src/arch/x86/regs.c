/* SPDX-License-Identifier: MIT */
#include "arch/x86/regs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "le.h"
#include "vcpu.h"

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

/* MSRs with the value every vCPU starts with: the architectural reset values
 * Linux expects firmware to leave, rather than whatever KVM defaults to. */
static const struct {
	uint32_t index;
	uint64_t value;
} boot_msrs[] = {
	{ 0x00000010, 0 },		    /* IA32_TSC */
	{ 0x00000174, 0 },		    /* IA32_SYSENTER_CS */
	{ 0x00000175, 0 },		    /* IA32_SYSENTER_ESP */
	{ 0x00000176, 0 },		    /* IA32_SYSENTER_EIP */
	{ 0x000001a0, 1 },		    /* IA32_MISC_ENABLE: fast strings */
	{ 0x00000277, 0x0007040600070406 }, /* IA32_PAT: power-on value */
	{ 0x000002ff, 0x806 },		    /* MTRRdefType: enabled, default write-back */
	{ 0xc0000081, 0 },		    /* STAR */
	{ 0xc0000082, 0 },		    /* LSTAR */
	{ 0xc0000083, 0 },		    /* CSTAR */
	{ 0xc0000084, 0 },		    /* SFMASK */
	{ 0xc0000102, 0 },		    /* KERNEL_GS_BASE */
};

static int regs_set_msrs(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(boot_msrs)];
	} m;
	int done;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	for (unsigned int i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		m.e[i].index = boot_msrs[i].index;
		m.e[i].data = boot_msrs[i].value;
	}
	done = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (done < 0)
		return -errno;
	if ((unsigned int)done != ARRAY_SIZE(boot_msrs)) {
		log_msg("vCPU %u: KVM refused MSR %#x", vcpu->id, boot_msrs[done].index);
		return -EINVAL;
	}
	return 0;
}

int regs_init_vcpu(struct vcpu *vcpu, const struct kvm_cpuid2 *supported, unsigned int ncpus,
		   bool stealth)
{
	struct kvm_cpuid2 *c =
	    cpuid_for_vcpu(supported, vcpu->id, ncpus, vcpu->env->emulated_host, stealth);
	int err;

	if (!c)
		return -ENOMEM;
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, c) ? -errno : 0;
	free(c);
	if (err) {
		log_msg("vCPU %u: KVM_SET_CPUID2: %s", vcpu->id, strerror(-err));
		return err;
	}
	err = regs_set_msrs(vcpu);
	if (err)
		log_msg("vCPU %u: KVM_SET_MSRS: %s", vcpu->id, strerror(-err));
	return err;
}

/* Flat segments; the 64-bit TSS descriptor at GDT_TSS doubles as the
 * 32-bit TSS PVH asks for (its upper half, the next slot, is zero). */
static const uint64_t gdt[] = {
	[0] = 0,
	[GDT_CODE64 / 8] = 0x00af9b000000ffffULL,
	[GDT_DATA / 8] = 0x00cf93000000ffffULL,
	[GDT_CODE32 / 8] = 0x00cf9b000000ffffULL,
	[GDT_TSS / 8] = 0x00008b0000000067ULL,
	[GDT_TSS / 8 + 1] = 0,
};

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code64, bool db)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = sel == GDT_TSS ? 0x67 : 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = sel != GDT_TSS,
		.l = code64,
		.g = sel != GDT_TSS,
	};
}

/* Identity map of the first 4 GiB with 2 MiB pages: the 64-bit boot
 * protocol needs the kernel, zero page and command line mapped. */
static int regs_page_tables(const struct gm *gm)
{
	uint8_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096), *pdpt = gm_ptr(gm, LAYOUT_PDPT, 4096);
	uint8_t *pd = gm_ptr(gm, LAYOUT_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	le_put(pml4, LAYOUT_PDPT | 0x3, 8); /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		le_put(pdpt + 8 * i, (LAYOUT_PD + 4096 * i) | 0x3, 8);
	for (uint64_t i = 0; i < 4 * 512; i++)
		le_put(pd + 8 * i, (i << 21) | 0x83, 8); /* present, writable, 2 MiB */
	return 0;
}

int regs_enter(struct vcpu *bsp, const struct boot_entry *entry)
{
	const struct gm *gm = bsp->env->gm;
	bool lm = entry->mode == BOOT_LINUX64;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2 };
	struct kvm_segment data = seg(GDT_DATA, 3, false, true);

	if (gm_write(gm, LAYOUT_GDT, gdt, sizeof(gdt)) || (lm && regs_page_tables(gm)))
		return -EFAULT;
	if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cs = lm ? seg(GDT_CODE64, 11, true, false) : seg(GDT_CODE32, 11, false, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = seg(GDT_TSS, 11, false, false);
	if (lm) {
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = entry->arg;
	} else {
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr3 = sregs.cr4 = sregs.efer = 0;
		regs.rbx = entry->arg;
	}
	regs.rip = entry->rip;
	regs.rsp = LAYOUT_BOOT_STACK;
	if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) || ioctl(bsp->fd, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}
