/* SPDX-License-Identifier: MIT */
/* A vCPU's architectural state in a snapshot (vcpu_state.h). */
#include "arch/x86/vcpu_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "snapshot/snap.h"
#include "vcpu.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

/* The MSRs a snapshot carries, in the order they are restored (KVM_SET_MSRS
 * takes them in order): IA32_TSC before TSC_DEADLINE, which KVM takes
 * relative to the TSC, and the async-PF interrupt vector before async PF
 * itself, which KVM refuses to enable without it. The rest of the state
 * the guest set through MSRs travels elsewhere: EFER, FS/GS base and
 * APIC_BASE in the segment registers, the x2APIC in the LAPIC page. */
static const struct {
	uint32_t index;
	bool mtrr; /* KVM emulates MTRRs without listing them: always saved */
} msrs[] = {
	{ MSR_IA32_TSC, false },
	{ 0x0000003b, false }, /* IA32_TSC_ADJUST */
	{ 0xc0000103, false }, /* TSC_AUX */
	{ 0x00000174, false }, /* IA32_SYSENTER_CS */
	{ 0x00000175, false }, /* IA32_SYSENTER_ESP */
	{ 0x00000176, false }, /* IA32_SYSENTER_EIP */
	{ 0xc0000081, false }, /* STAR */
	{ 0xc0000082, false }, /* LSTAR */
	{ 0xc0000083, false }, /* CSTAR */
	{ 0xc0000084, false }, /* SFMASK */
	{ 0xc0000102, false }, /* KERNEL_GS_BASE */
	{ 0x00000277, false }, /* IA32_PAT */
	{ 0x000001a0, false }, /* IA32_MISC_ENABLE */
	{ 0x00000048, false }, /* IA32_SPEC_CTRL */
	{ 0x00000da0, false }, /* IA32_XSS */
	{ 0x000002ff, true },  /* MTRRdefType */
	{ 0x00000250, true },  /* MTRRfix64K_00000 */
	{ 0x00000258, true },  /* MTRRfix16K_80000 */
	{ 0x00000259, true },  /* MTRRfix16K_A0000 */
	{ 0x00000268, true },  /* MTRRfix4K_C0000 .. */
	{ 0x00000269, true },
	{ 0x0000026a, true },
	{ 0x0000026b, true },
	{ 0x0000026c, true },
	{ 0x0000026d, true },
	{ 0x0000026e, true },
	{ 0x0000026f, true }, /* .. MTRRfix4K_F8000 */
	{ 0x00000200, true }, /* MTRRphysBase0 .. */
	{ 0x00000201, true },
	{ 0x00000202, true },
	{ 0x00000203, true },
	{ 0x00000204, true },
	{ 0x00000205, true },
	{ 0x00000206, true },
	{ 0x00000207, true },
	{ 0x00000208, true },
	{ 0x00000209, true },
	{ 0x0000020a, true },
	{ 0x0000020b, true },
	{ 0x0000020c, true },
	{ 0x0000020d, true },
	{ 0x0000020e, true },
	{ 0x0000020f, true },  /* .. MTRRphysMask7 */
	{ 0x00000011, false }, /* MSR_KVM_WALL_CLOCK (the old numbers) */
	{ 0x00000012, false }, /* MSR_KVM_SYSTEM_TIME */
	{ 0x4b564d00, false }, /* MSR_KVM_WALL_CLOCK_NEW */
	{ 0x4b564d01, false }, /* MSR_KVM_SYSTEM_TIME_NEW */
	{ 0x4b564d06, false }, /* MSR_KVM_ASYNC_PF_INT */
	{ 0x4b564d02, false }, /* MSR_KVM_ASYNC_PF_EN */
	{ 0x4b564d03, false }, /* MSR_KVM_STEAL_TIME */
	{ 0x4b564d04, false }, /* MSR_KVM_PV_EOI_EN */
	{ 0x4b564d05, false }, /* MSR_KVM_POLL_CONTROL */
	{ MSR_IA32_TSC_DEADLINE, false },
};

_Static_assert(ARRAY_SIZE(msrs) <= VCPU_STATE_MSRS_MAX, "VCPU_STATE_MSRS_MAX too small");

static int msr_pos(uint32_t index)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++)
		if (msrs[i].index == index)
			return (int)i;
	return -1;
}

bool vcpu_state_msr_known(uint32_t index)
{
	return msr_pos(index) >= 0;
}

/* ------------------------------------------------------------- probing */

/* The MSRs KVM lists (KVM_GET_MSR_INDEX_LIST and its feature list), as a
 * malloc'd array. 0 or -errno. */
static int msr_list(int kvm_fd, unsigned long req, uint32_t **out, uint32_t *n)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	*out = NULL;
	*n = 0;
	if (!ioctl(kvm_fd, req, &probe))
		return 0;
	if (errno != E2BIG || probe.nmsrs > 4096)
		return -errno;
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, req, l)) {
		free(l);
		return -errno;
	}
	*n = l->nmsrs < probe.nmsrs ? l->nmsrs : probe.nmsrs;
	memmove(l, l->indices, *n * sizeof(uint32_t));
	*out = (uint32_t *)l;
	return 0;
}

static bool listed(const uint32_t *l, uint32_t n, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (l[i] == index)
			return true;
	return false;
}

int vcpu_state_probe(int kvm_fd, int vm_fd, struct vcpu_state_caps *caps)
{
	uint32_t *list = NULL, *feat = NULL, nlist, nfeat = 0;
	int x2 = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2), err;

	*caps = (struct vcpu_state_caps){ 0 };
	if (x2 > 0) {
		caps->xsave2 = true;
		caps->xsave_size = (uint32_t)x2 > sizeof(struct kvm_xsave)
				       ? (uint32_t)x2
				       : sizeof(struct kvm_xsave);
	} else if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		caps->xsave_size = sizeof(struct kvm_xsave);
	}
	if (caps->xsave_size > VCPU_STATE_XSAVE_MAX) {
		log_msg("KVM's XSAVE area is %u bytes: more than petrel saves (%u)",
			caps->xsave_size, VCPU_STATE_XSAVE_MAX);
		return -EOPNOTSUPP;
	}
	caps->xcrs = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	err = msr_list(kvm_fd, KVM_GET_MSR_INDEX_LIST, &list, &nlist);
	if (!err && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) > 0)
		err = msr_list(kvm_fd, KVM_GET_MSR_FEATURE_INDEX_LIST, &feat, &nfeat);
	if (err) {
		log_msg("KVM_GET_MSR_INDEX_LIST: %s", strerror(-err));
		free(list);
		return err;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(msrs); i++)
		if (msrs[i].mtrr || listed(list, nlist, msrs[i].index) ||
		    listed(feat, nfeat, msrs[i].index))
			caps->msr[caps->nmsrs++] = msrs[i].index;
	free(list);
	free(feat);
	return 0;
}

/* --------------------------------------------------------------- state */

enum { FPU_LEGACY, FPU_XSAVE };

struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t fpu_kind;
	struct kvm_fpu fpu;
	uint32_t xsave_len;	 /* bytes of it in the stream */
	struct kvm_xsave *xsave; /* caps->xsave_size bytes */
	struct kvm_xcrs xcrs;
	uint32_t nmsrs;
	struct kvm_msr_entry msr[VCPU_STATE_MSRS_MAX];
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
	struct kvm_debugregs dbg;
};

/* The events flags petrel saves: the ones KVM reports without opt-in
 * capabilities (exception payloads and triple faults need
 * KVM_CAP_EXCEPTION_PAYLOAD / KVM_CAP_X86_TRIPLE_FAULT_EVENT, which petrel
 * does not enable). */
#define EVENT_FLAGS                                                                                \
	(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |                       \
	 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM)

/* KVM's __u64 is unsigned long long, uint64_t unsigned long. */
static void walk_u64(struct snap *s, __u64 *v)
{
	uint64_t x = *v;

	snap_u64(s, &x);
	*v = x;
}

/* KVM's 0/1 flags are __u8: walked as booleans (0 or 1 in the stream). */
static void walk_flag(struct snap *s, __u8 *v)
{
	bool b = snap_saving(s) && *v;

	snap_bool(s, &b);
	*v = b;
}

static void walk_segment(struct snap *s, struct kvm_segment *g)
{
	walk_u64(s, &g->base);
	snap_u32(s, &g->limit);
	snap_u16(s, &g->selector);
	snap_u8(s, &g->type);
	snap_u8(s, &g->dpl);
	walk_flag(s, &g->present);
	walk_flag(s, &g->db);
	walk_flag(s, &g->s);
	walk_flag(s, &g->l);
	walk_flag(s, &g->g);
	walk_flag(s, &g->avl);
	walk_flag(s, &g->unusable);
	snap_check(s, g->type <= 15 && g->dpl <= 3, "segment type %u / DPL %u out of range",
		   g->type, g->dpl);
}

static void walk_dtable(struct snap *s, struct kvm_dtable *t)
{
	walk_u64(s, &t->base);
	snap_u16(s, &t->limit);
}

static void walk_regs(struct snap *s, struct vcpu_state *st)
{
	struct kvm_regs *r = &st->regs;
	__u64 *const gpr[] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi,
			       &r->rsp, &r->rbp, &r->r8,  &r->r9,  &r->r10, &r->r11,
			       &r->r12, &r->r13, &r->r14, &r->r15, &r->rip, &r->rflags };
	struct kvm_sregs *sr = &st->sregs;
	struct kvm_segment *const seg[] = { &sr->cs, &sr->ds, &sr->es, &sr->fs,
					    &sr->gs, &sr->ss, &sr->tr, &sr->ldt };
	__u64 *const cr[] = { &sr->cr0, &sr->cr2,  &sr->cr3,	  &sr->cr4,
			      &sr->cr8, &sr->efer, &sr->apic_base };

	for (unsigned int i = 0; i < ARRAY_SIZE(gpr); i++)
		walk_u64(s, gpr[i]);
	for (unsigned int i = 0; i < ARRAY_SIZE(seg); i++)
		walk_segment(s, seg[i]);
	walk_dtable(s, &sr->gdt);
	walk_dtable(s, &sr->idt);
	for (unsigned int i = 0; i < ARRAY_SIZE(cr); i++)
		walk_u64(s, cr[i]);
	/* A pending external interrupt KVM has not delivered yet (one bit). */
	for (unsigned int i = 0; i < ARRAY_SIZE(sr->interrupt_bitmap); i++)
		walk_u64(s, &sr->interrupt_bitmap[i]);
}

static void walk_fpu(struct snap *s, struct vcpu_state *st, const struct vcpu_state_caps *caps)
{
	struct kvm_fpu *f = &st->fpu;

	snap_u8(s, &st->fpu_kind);
	if (!snap_check(s, st->fpu_kind <= FPU_XSAVE, "FPU state kind %u unknown", st->fpu_kind))
		return;
	if (st->fpu_kind == FPU_XSAVE) {
		snap_u32(s, &st->xsave_len);
		/* The image is the CPU's XSAVE format (little-endian by
		 * definition), laid out as this host's CPUID leaf 0xD says:
		 * a snapshot from a CPU with other features is refused by
		 * KVM_SET_XSAVE, or here if it is larger. */
		if (!snap_check(s, caps->xsave_size, "XSAVE state, but this host's KVM has none") ||
		    !snap_check(s,
				st->xsave_len >= sizeof(struct kvm_xsave) &&
				    st->xsave_len <= caps->xsave_size,
				"XSAVE state of %u bytes (this host's: %u)", st->xsave_len,
				caps->xsave_size))
			return;
		snap_bytes(s, st->xsave, st->xsave_len);
		return;
	}
	if (!snap_check(s, !caps->xsave_size, "legacy FPU state, but this host's KVM has XSAVE"))
		return;
	snap_bytes(s, f->fpr, sizeof(f->fpr));
	snap_u16(s, &f->fcw);
	snap_u16(s, &f->fsw);
	snap_u8(s, &f->ftwx);
	snap_u16(s, &f->last_opcode);
	walk_u64(s, &f->last_ip);
	walk_u64(s, &f->last_dp);
	snap_bytes(s, f->xmm, sizeof(f->xmm));
	snap_u32(s, &f->mxcsr);
}

static void walk_xcrs(struct snap *s, struct vcpu_state *st, const struct vcpu_state_caps *caps)
{
	struct kvm_xcrs *x = &st->xcrs;

	snap_u32_max(s, &x->nr_xcrs, caps->xcrs ? KVM_MAX_XCRS : 0, "XCR count");
	for (uint32_t i = 0; i < x->nr_xcrs; i++) {
		snap_u32(s, &x->xcrs[i].xcr);
		walk_u64(s, &x->xcrs[i].value);
	}
}

/* The MSRs: each index one petrel saves and this host's KVM has, none
 * twice. On LOAD they are put back in msrs[]' order (the restore order). */
static void walk_msrs(struct snap *s, struct vcpu_state *st, const struct vcpu_state_caps *caps)
{
	bool seen[ARRAY_SIZE(msrs)] = { false };
	struct kvm_msr_entry sorted[VCPU_STATE_MSRS_MAX];
	uint32_t n = 0;

	snap_u32_max(s, &st->nmsrs, ARRAY_SIZE(msrs), "MSR count");
	for (uint32_t i = 0; i < st->nmsrs && !snap_error(s); i++) {
		struct kvm_msr_entry *e = &st->msr[i];
		int pos;

		snap_u32(s, &e->index);
		walk_u64(s, &e->data);
		pos = msr_pos(e->index);
		if (snap_saving(s) || snap_error(s))
			continue;
		if (!snap_check(s, pos >= 0, "MSR %#x is not one petrel saves", e->index) ||
		    !snap_check(s, !seen[pos], "MSR %#x given twice", e->index) ||
		    !snap_check(s, listed(caps->msr, caps->nmsrs, e->index),
				"MSR %#x: this host's KVM does not have it", e->index))
			return;
		seen[pos] = true;
	}
	if (snap_saving(s) || snap_error(s))
		return;
	for (unsigned int p = 0; p < ARRAY_SIZE(msrs); p++)
		for (uint32_t i = 0; seen[p] && i < st->nmsrs; i++)
			if (st->msr[i].index == msrs[p].index)
				sorted[n++] = st->msr[i];
	memcpy(st->msr, sorted, n * sizeof(sorted[0]));
}

static void walk_events(struct snap *s, struct kvm_vcpu_events *e)
{
	walk_flag(s, &e->exception.injected);
	snap_u8(s, &e->exception.nr);
	walk_flag(s, &e->exception.has_error_code);
	walk_flag(s, &e->exception.pending);
	snap_u32(s, &e->exception.error_code);
	walk_flag(s, &e->interrupt.injected);
	snap_u8(s, &e->interrupt.nr);
	walk_flag(s, &e->interrupt.soft);
	snap_u8(s, &e->interrupt.shadow);
	walk_flag(s, &e->nmi.injected);
	walk_flag(s, &e->nmi.pending);
	walk_flag(s, &e->nmi.masked);
	snap_u32(s, &e->sipi_vector);
	snap_u32(s, &e->flags);
	walk_flag(s, &e->smi.smm);
	walk_flag(s, &e->smi.pending);
	walk_flag(s, &e->smi.smm_inside_nmi);
	walk_flag(s, &e->smi.latched_init);
	snap_check(s, e->exception.nr < 32, "exception vector %u out of range", e->exception.nr);
	snap_check(s,
		   !(e->interrupt.shadow & ~(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI)),
		   "interrupt shadow %#x unknown", e->interrupt.shadow);
	snap_check(s, !(e->flags & ~EVENT_FLAGS), "event flags %#x unknown", e->flags);
	snap_check(s, e->sipi_vector <= 0xff, "SIPI vector %#x out of range", e->sipi_vector);
}

/* The whole section, either way. */
static void vcpu_state_walk(struct snap *s, struct vcpu_state *st,
			    const struct vcpu_state_caps *caps)
{
	walk_regs(s, st);
	walk_fpu(s, st, caps);
	walk_xcrs(s, st, caps);
	walk_msrs(s, st, caps);
	/* The local APIC's register page, as the APIC lays it out. */
	snap_bytes(s, st->lapic.regs, sizeof(st->lapic.regs));
	walk_events(s, &st->events);
	snap_u32(s, &st->mp.mp_state);
	snap_check(s, st->mp.mp_state <= KVM_MP_STATE_SIPI_RECEIVED, "MP state %u unknown",
		   st->mp.mp_state);
	for (unsigned int i = 0; i < 4; i++)
		walk_u64(s, &st->dbg.db[i]);
	walk_u64(s, &st->dbg.dr6);
	walk_u64(s, &st->dbg.dr7);
}

/* ----------------------------------------------------------- KVM side */

static bool kvm_io(struct snap *s, int fd, unsigned long req, void *arg, const char *name)
{
	if (!ioctl(fd, req, arg))
		return true;
	snap_fail(s, -errno, "%s: %s", name, strerror(errno));
	return false;
}

/* KVM_GET_MSRS stops at the first MSR it cannot read (one the guest's
 * CPUID leaves out, on some kernels): that one is left out and the rest
 * read again. */
static void get_msrs(int fd, struct vcpu_state *st, const struct vcpu_state_caps *caps,
		     struct snap *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[VCPU_STATE_MSRS_MAX];
	} m;
	uint64_t tsc = 0;
	uint32_t n = caps->nmsrs;
	int got;

	memset(&m, 0, sizeof(m));
	for (uint32_t i = 0; i < n; i++)
		m.e[i].index = caps->msr[i];
	for (;;) {
		m.hdr.nmsrs = n;
		got = ioctl(fd, KVM_GET_MSRS, &m);
		if (got < 0) {
			snap_fail(s, -errno, "KVM_GET_MSRS: %s", strerror(errno));
			return;
		}
		if ((uint32_t)got >= n)
			break;
		memmove(&m.e[got], &m.e[got + 1], (n - (uint32_t)got - 1) * sizeof(m.e[0]));
		n--;
	}
	for (uint32_t i = 0; i < n; i++)
		if (m.e[i].index == MSR_IA32_TSC)
			tsc = m.e[i].data;
	/* A TSC-deadline timer that has fired reads as 0 while its
	 * interrupt may not have reached the LAPIC yet (KVM keeps that
	 * pending count outside the state it reports): restored as 0, the
	 * interrupt would be lost and a guest waiting for it would wait
	 * forever. As Firecracker does, it goes back as "now" (the TSC),
	 * so the timer fires once at the resume; a spurious timer interrupt
	 * is harmless to a guest, a lost one is not. */
	for (uint32_t i = 0; i < n; i++)
		if (m.e[i].index == MSR_IA32_TSC_DEADLINE && !m.e[i].data)
			m.e[i].data = tsc;
	st->nmsrs = n;
	memcpy(st->msr, m.e, n * sizeof(m.e[0]));
}

static void vcpu_state_get(struct vcpu *vcpu, struct vcpu_state *st,
			   const struct vcpu_state_caps *caps, struct snap *s)
{
	int fd = vcpu->fd;

	if (!kvm_io(s, fd, KVM_GET_REGS, &st->regs, "KVM_GET_REGS") ||
	    !kvm_io(s, fd, KVM_GET_SREGS, &st->sregs, "KVM_GET_SREGS"))
		return;
	st->fpu_kind = caps->xsave_size ? FPU_XSAVE : FPU_LEGACY;
	st->xsave_len = caps->xsave_size;
	if (st->fpu_kind == FPU_LEGACY ? !kvm_io(s, fd, KVM_GET_FPU, &st->fpu, "KVM_GET_FPU")
	    : caps->xsave2	       ? !kvm_io(s, fd, KVM_GET_XSAVE2, st->xsave, "KVM_GET_XSAVE2")
				       : !kvm_io(s, fd, KVM_GET_XSAVE, st->xsave, "KVM_GET_XSAVE"))
		return;
	if (caps->xcrs && !kvm_io(s, fd, KVM_GET_XCRS, &st->xcrs, "KVM_GET_XCRS"))
		return;
	if (st->xcrs.nr_xcrs > KVM_MAX_XCRS)
		st->xcrs.nr_xcrs = KVM_MAX_XCRS;
	get_msrs(fd, st, caps, s);
	if (snap_error(s) || !kvm_io(s, fd, KVM_GET_LAPIC, &st->lapic, "KVM_GET_LAPIC") ||
	    !kvm_io(s, fd, KVM_GET_VCPU_EVENTS, &st->events, "KVM_GET_VCPU_EVENTS") ||
	    !kvm_io(s, fd, KVM_GET_MP_STATE, &st->mp, "KVM_GET_MP_STATE") ||
	    !kvm_io(s, fd, KVM_GET_DEBUGREGS, &st->dbg, "KVM_GET_DEBUGREGS"))
		return;
	st->events.flags &= EVENT_FLAGS;
}

/* The order matters (Firecracker's and QEMU's, for the same reasons):
 *  - the MP state first: some setters look at whether the vCPU runs;
 *  - KVM_SET_REGS drops a pending exception, so it goes before the events;
 *  - the segment registers carry APIC_BASE, which places and enables the
 *    local APIC, so they go before the LAPIC page;
 *  - the LAPIC page before the MSRs: KVM takes TSC_DEADLINE only when the
 *    LAPIC timer is in TSC-deadline mode (KVM_SET_LAPIC also stops the
 *    timer), and TSC_DEADLINE after IA32_TSC (msrs[]' order);
 *  - the events last: the pending interrupt, exception and NMI on top of
 *    everything else. */
static void vcpu_state_put(struct vcpu *vcpu, struct vcpu_state *st,
			   const struct vcpu_state_caps *caps, struct snap *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[VCPU_STATE_MSRS_MAX];
	} m;
	int fd = vcpu->fd, done;

	if (!kvm_io(s, fd, KVM_SET_MP_STATE, &st->mp, "KVM_SET_MP_STATE") ||
	    !kvm_io(s, fd, KVM_SET_REGS, &st->regs, "KVM_SET_REGS") ||
	    !kvm_io(s, fd, KVM_SET_SREGS, &st->sregs, "KVM_SET_SREGS"))
		return;
	if (st->fpu_kind == FPU_LEGACY ? !kvm_io(s, fd, KVM_SET_FPU, &st->fpu, "KVM_SET_FPU")
				       : !kvm_io(s, fd, KVM_SET_XSAVE, st->xsave, "KVM_SET_XSAVE"))
		return;
	if (caps->xcrs && st->xcrs.nr_xcrs &&
	    !kvm_io(s, fd, KVM_SET_XCRS, &st->xcrs, "KVM_SET_XCRS"))
		return;
	if (!kvm_io(s, fd, KVM_SET_DEBUGREGS, &st->dbg, "KVM_SET_DEBUGREGS") ||
	    !kvm_io(s, fd, KVM_SET_LAPIC, &st->lapic, "KVM_SET_LAPIC"))
		return;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = st->nmsrs;
	memcpy(m.e, st->msr, st->nmsrs * sizeof(m.e[0]));
	done = ioctl(fd, KVM_SET_MSRS, &m);
	if (done < 0) {
		snap_fail(s, -errno, "KVM_SET_MSRS: %s", strerror(errno));
		return;
	}
	if ((uint32_t)done < st->nmsrs) {
		snap_fail(s, -EINVAL, "KVM refused MSR %#x = %#llx", st->msr[done].index,
			  (unsigned long long)st->msr[done].data);
		return;
	}
	kvm_io(s, fd, KVM_SET_VCPU_EVENTS, &st->events, "KVM_SET_VCPU_EVENTS");
}

int vcpu_state_snapshot(struct vcpu *vcpu, const struct vcpu_state_caps *caps, struct snap *s)
{
	size_t xsave_size = caps->xsave_size ? caps->xsave_size : sizeof(struct kvm_xsave);
	struct vcpu_state *st = calloc(1, sizeof(*st));

	if (st)
		st->xsave = calloc(1, xsave_size);
	if (!st || !st->xsave) {
		if (st)
			free(st);
		snap_fail(s, -ENOMEM, "out of memory");
		return snap_error(s);
	}
	if (snap_saving(s)) {
		vcpu_state_get(vcpu, st, caps, s);
		if (!snap_error(s))
			vcpu_state_walk(s, st, caps);
	} else {
		vcpu_state_walk(s, st, caps);
		/* Everything read and checked before KVM sees any of it. */
		if (!snap_finish(s))
			vcpu_state_put(vcpu, st, caps, s);
	}
	free(st->xsave);
	free(st);
	return snap_error(s);
}
