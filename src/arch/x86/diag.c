/* SPDX-License-Identifier: MIT */
#include "arch/x86/diag.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"

/* Linear address -> guest physical through the guest's own page tables
 * (KVM_TRANSLATE), then through the checked accessor. Page by page, since
 * an instruction may straddle a page boundary. */
size_t diag_code_bytes(int vcpu_fd, const struct gm *gm, uint8_t *buf, size_t max)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t la;
	size_t got = 0;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
		return 0;
	la = sregs.cs.base + regs.rip;
	if (!(sregs.efer & (1ULL << 10))) /* EFER.LMA clear: 32-bit addresses */
		la &= 0xffffffffULL;
	while (got < max) {
		struct kvm_translation tr = { .linear_address = la + got };
		size_t chunk = 4096 - ((la + got) & 4095);

		if (chunk > max - got)
			chunk = max - got;
		if (ioctl(vcpu_fd, KVM_TRANSLATE, &tr) || !tr.valid ||
		    gm_read(gm, tr.physical_address, buf + got, chunk))
			break;
		got += chunk;
	}
	return got;
}

static void diag_segment(const char *name, const struct kvm_segment *s)
{
	log_msg("  %-3s sel 0x%04x base 0x%016llx limit 0x%08x type %u dpl %u%s%s%s", name,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl,
		s->present ? "" : " not-present", s->l ? " 64-bit" : "", s->db ? " 32-bit" : "");
}

void diag_dump(int vcpu_fd, unsigned int id, const struct gm *gm, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	uint8_t code[16];
	char hex[sizeof(code) * 3 + 1] = "";
	size_t n;

	log_msg("%s on vCPU %u", what, id);
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) || ioctl(vcpu_fd, KVM_GET_SREGS, &s)) {
		log_msg("  (registers unavailable: %m)");
		return;
	}
	log_msg("  rip %016llx  rsp %016llx  rflags %08llx  cpl %u", r.rip, r.rsp, r.rflags,
		s.cs.dpl);
	log_msg("  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx", r.rax, r.rbx, r.rcx, r.rdx);
	log_msg("  rsi %016llx  rdi %016llx  rbp %016llx  r8  %016llx", r.rsi, r.rdi, r.rbp, r.r8);
	log_msg("  r9  %016llx  r10 %016llx  r11 %016llx  r12 %016llx", r.r9, r.r10, r.r11, r.r12);
	log_msg("  r13 %016llx  r14 %016llx  r15 %016llx", r.r13, r.r14, r.r15);
	log_msg("  cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx", s.cr0, s.cr2, s.cr3, s.cr4);
	log_msg("  efer %llx  apic_base %llx  gdt %llx/%x  idt %llx/%x", (unsigned long long)s.efer,
		(unsigned long long)s.apic_base, (unsigned long long)s.gdt.base, s.gdt.limit,
		(unsigned long long)s.idt.base, s.idt.limit);
	diag_segment("cs", &s.cs);
	diag_segment("ss", &s.ss);
	diag_segment("ds", &s.ds);
	n = diag_code_bytes(vcpu_fd, gm, code, sizeof(code));
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof(hex) - 3 * i, " %02x", code[i]);
	log_msg("  code at rip:%s", n ? hex : " (not in guest RAM)");
}
