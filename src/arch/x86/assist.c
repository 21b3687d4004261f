/* SPDX-License-Identifier: MIT */
#include "arch/x86/assist.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "arch/x86/diag.h"

#define VEC_BP 3
#define VEC_MF 16
#define CR0_NE (1ULL << 5)
#define FSW_ES (1U << 7) /* x87 exception summary: an unmasked exception is pending */

/* Move RIP past the instruction (faults leave it in place) and, if
 * vector >= 0, inject that exception (no error code) for the next entry. */
static int assist_finish(int vcpu_fd, struct kvm_regs *regs, unsigned int advance, int vector)
{
	struct kvm_vcpu_events events;

	regs->rip += advance;
	if (ioctl(vcpu_fd, KVM_SET_REGS, regs))
		return -1;
	if (vector < 0)
		return 0;
	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events))
		return -1;
	events.exception.injected = 1;
	events.exception.nr = (__u8)vector;
	events.exception.has_error_code = 0;
	events.flags = 0;
	return ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events) ? -1 : 0;
}

int assist_complete(int vcpu_fd, const struct gm *gm)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint8_t op;

	if (diag_code_bytes(vcpu_fd, gm, &op, 1) != 1 || ioctl(vcpu_fd, KVM_GET_REGS, &regs))
		return -1;
	switch (op) {
	case 0xcc:
		return assist_finish(vcpu_fd, &regs, 1, VEC_BP); /* a trap: frame points past it */
	case 0x9b:
		if (ioctl(vcpu_fd, KVM_GET_FPU, &fpu) || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs))
			return -1;
		if ((fpu.fsw & FSW_ES) && (sregs.cr0 & CR0_NE))
			return assist_finish(vcpu_fd, &regs, 0, VEC_MF); /* a fault */
		return assist_finish(vcpu_fd, &regs, 1, -1);
	default:
		return -1;
	}
}
