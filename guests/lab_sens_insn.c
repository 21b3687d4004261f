/* SPDX-License-Identifier: MIT */
/*
 * The miniature monitor's x86-64 decoder and emulator (lab_sens.h): the
 * decoder knows the lengths of the general-purpose integer instructions
 * (enough for a linear sweep over compiled or hand-written integer code);
 * the emulator runs, against the virtual CPU, the privileged instructions
 * the deprivileged kernel uses and the sensitive unprivileged ones, as a
 * CPU at CPL0 with the kernel's own tables would.
 */
#include "lab_sens.h"
#include "rt.h"

#define RFLAGS_ZF 0x40
#define RFLAGS_IF 0x200
#define RFLAGS_ARITH 0x0cd5 /* CF PF AF ZF SF DF OF */
#define COM1_LSR_IDLE 0x60  /* transmitter empty: a virtual UART never busy */

/* One-byte opcodes: bit set = has a ModRM byte. */
static const uint32_t modrm1[8] = {
	0x0f0f0f0f, 0x0f0f0f0f,
	0x00000000, 0x00000a08, /* 00-7f: ALU, 63, 69, 6b */
	0x0000ffff, 0x00000000,
	0xff0f00c3, 0xc0c00000, /* 80-8f; c0 c1 c6 c7 d0-d3 d8-df; f6 f7 fe ff */
};
/* One-byte opcodes invalid in 64-bit mode (or VEX/EVEX, not decoded). */
static const uint32_t bad1[8] = {
	0xc0c040c0, 0x80808080,
	0x0000ffff, 0x00000007, /* 06 07 0e 16 17 1e 1f; 27 2f 37 3f; REX twice; 60-62 */
	0x04000004, 0x00000000,
	0x00704030, 0x00000400, /* 82 9a; c4 c5 ce d4 d5 d6; ea */
};
/* Two-byte (0f xx) opcodes without a ModRM byte. */
static const uint32_t nomodrm2[8] = {
	0x00004be0, 0x00ff0000, 0x00000000, 0x00800000, /* 05-09 0b 0e; 30-37; 77 */
	0x0000ffff, 0x00000307, 0x0000ff00, 0x00000000, /* 80-8f; a0-a2 a8 a9; c8-cf */
};

static int bit(const uint32_t *map, uint8_t op)
{
	return (map[op >> 5] >> (op & 31)) & 1;
}

/* Immediate bytes of one-byte opcode `op` (in: prefixes, REX, ModRM). */
static int imm1(uint8_t op, const struct insn *in)
{
	int z = in->opsize16 ? 2 : 4;

	if (op < 0x40 && (op & 7) == 4)
		return 1;
	if (op < 0x40 && (op & 7) == 5)
		return z;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xb0 && op <= 0xb7) || (op >= 0xe0 && op <= 0xe7))
		return 1;
	if (op >= 0xb8 && op <= 0xbf)
		return (in->rex & 8) ? 8 : z;
	if (op >= 0xa0 && op <= 0xa3)
		return in->addr32 ? 4 : 8;
	switch (op) {
	case 0x6a:
	case 0x6b:
	case 0x80:
	case 0x83:
	case 0xa8:
	case 0xc0:
	case 0xc1:
	case 0xc6:
	case 0xcd:
	case 0xeb:
		return 1;
	case 0x68:
	case 0x69:
	case 0x81:
	case 0xa9:
	case 0xc7:
		return z;
	case 0xe8:
	case 0xe9:
		return 4;
	case 0xc2:
	case 0xca:
		return 2;
	case 0xc8:
		return 3;
	case 0xf6:
		return (in->reg & 7) < 2 ? 1 : 0;
	case 0xf7:
		return (in->reg & 7) < 2 ? z : 0;
	}
	return 0;
}

/* Immediate bytes of two-byte opcode 0f `op`. */
static int imm2(uint8_t op)
{
	if (op >= 0x80 && op <= 0x8f)
		return 4;
	switch (op) {
	case 0x70:
	case 0x71:
	case 0x72:
	case 0x73:
	case 0xa4:
	case 0xac:
	case 0xba:
	case 0xc2:
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return 1;
	}
	return 0;
}

/* The general register `n` (x86 numbering; 4 is RSP) of `f`. */
static uint64_t *gpr(struct frame *f, unsigned int n)
{
	uint64_t *const r[16] = { &f->rax, &f->rcx, &f->rdx, &f->rbx, &f->rsp, &f->rbp,
				  &f->rsi, &f->rdi, &f->r8,  &f->r9,  &f->r10, &f->r11,
				  &f->r12, &f->r13, &f->r14, &f->r15 };
	return r[n & 15];
}

static uint64_t sext(uint64_t v, int bytes)
{
	int s = 64 - 8 * bytes;

	return bytes >= 8 ? v : (uint64_t)((int64_t)(v << s) >> s);
}

int insn_decode(const uint8_t *b, uint64_t at, const struct frame *f, struct insn *in)
{
	unsigned int i = 0, disp = 0;
	int64_t d = 0;
	uint8_t op, sib = 0;
	int imm;

	*in = (struct insn){ 0 };
	for (;; i++) {
		if (i >= 14)
			return -1;
		if (b[i] == 0x66)
			in->opsize16 = 1;
		else if (b[i] == 0x67)
			in->addr32 = 1;
		else if (b[i] != 0xf0 && b[i] != 0xf2 && b[i] != 0xf3 && b[i] != 0x2e &&
			 b[i] != 0x36 && b[i] != 0x3e && b[i] != 0x26 && b[i] != 0x64 &&
			 b[i] != 0x65)
			break;
	}
	if ((b[i] & 0xf0) == 0x40)
		in->rex = b[i++];
	op = b[i++];
	if (op == 0x0f) {
		op = b[i++];
		in->op = 0x0f00 | op;
		if (op == 0x38 || op == 0x3a) /* three-byte maps: ModRM, 3a also ib */
			in->op = (uint16_t)(op << 8 | b[i++]);
		in->has_modrm = in->op >> 8 == 0x0f ? !bit(nomodrm2, op) : 1;
	} else {
		if (bit(bad1, op))
			return -1;
		in->op = op;
		in->has_modrm = bit(modrm1, op);
	}
	if (in->has_modrm) {
		uint8_t m = b[i++];

		in->mod = m >> 6;
		in->reg = (uint8_t)(((m >> 3) & 7) | ((in->rex & 4) << 1));
		in->rm = m & 7;
		if (in->mod != 3 && in->rm == 4)
			sib = b[i++];
		if (in->mod == 1)
			disp = 1;
		else if (in->mod == 2 || (in->mod == 0 && in->rm == 5) ||
			 (in->mod == 0 && in->rm == 4 && (sib & 7) == 5))
			disp = 4;
		for (unsigned int k = 0; k < disp; k++)
			d |= (int64_t)b[i + k] << (8 * k);
		d = (int64_t)sext((uint64_t)d, (int)disp);
		i += disp;
	}
	if (in->op >> 8 == 0x3a)
		imm = 1;
	else if (in->op >> 8 == 0x0f)
		imm = imm2((uint8_t)in->op);
	else if (in->op >> 8 == 0x38)
		imm = 0;
	else
		imm = imm1(op, in);
	for (int k = 0; k < imm; k++)
		in->imm |= (uint64_t)b[i + k] << (8 * k);
	i += (unsigned int)imm;
	if (i > 15)
		return -1;
	in->len = (uint8_t)i;
	if (in->has_modrm && in->mod != 3 && f) {
		uint64_t ea = (uint64_t)d;
		struct frame *ff = (struct frame *)f; /* gpr() reads only */

		if (in->rm == 4) {
			unsigned int base = (sib & 7) | ((in->rex & 1) << 3);
			unsigned int index = ((sib >> 3) & 7) | ((in->rex & 2) << 2);

			if (!(in->mod == 0 && (sib & 7) == 5))
				ea += *gpr(ff, base);
			if (index != 4)
				ea += *gpr(ff, index) << (sib >> 6);
		} else if (in->mod == 0 && in->rm == 5) {
			ea += at + in->len; /* RIP-relative */
		} else {
			ea += *gpr(ff, in->rm | ((in->rex & 1) << 3));
		}
		in->ea = in->addr32 ? (uint32_t)ea : ea;
	}
	return 0;
}

int insn_is_sensitive(const struct insn *in)
{
	switch (in->op) {
	case 0x0f01: /* sgdt sidt smsw */
		return in->reg == 0 || in->reg == 1 || in->reg == 4;
	case 0x0f00: /* sldt str verr verw */
		return in->reg == 0 || in->reg == 1 || in->reg == 4 || in->reg == 5;
	case 0x0f02: /* lar */
	case 0x0f03: /* lsl */
	case 0x9c:   /* pushf */
	case 0x9d:   /* popf */
	case 0x8c:   /* mov r/m, sreg */
		return 1;
	}
	return 0;
}

/* Reads a selector's descriptor from the kernel's GDT; 0 if outside it. */
static int descriptor(uint16_t sel, uint64_t *desc)
{
	if ((sel & ~3) == 0 || (sel & 4) || (uint32_t)(sel | 7) > vcpu.gdt_limit)
		return 0; /* null, LDT (the kernel's LDT is not modelled), past the limit */
	*desc = *(const volatile uint64_t *)(vcpu.gdt_base + (sel & ~7));
	return 1;
}

/* LAR (what = 0), LSL (1), VERR (2), VERW (3) at virtual CPL0: the ZF
 * result, and in *v the access rights or limit. */
static int seg_check(uint16_t sel, int what, uint64_t *v)
{
	uint64_t desc;
	unsigned int type, dpl;

	if (!descriptor(sel, &desc) || !(desc >> 47 & 1))
		return 0;
	type = (desc >> 40) & 15;
	dpl = (desc >> 45) & 3;
	if (!(desc >> 44 & 1)) { /* system: LDT, 64-bit TSS; LAR also call gate */
		if (what >= 2 ||
		    !(type == 2 || type == 9 || type == 11 || (what == 0 && type == 12)))
			return 0;
	} else if (!((type & 0xc) == 0xc) && dpl < (sel & 3u)) {
		return 0; /* non-conforming, DPL below the RPL (CPL is 0) */
	}
	if (what == 2)
		return (desc >> 44 & 1) && (!(type & 8) || (type & 2)); /* data, or readable code */
	if (what == 3)
		return (desc >> 44 & 1) && !(type & 8) && (type & 2); /* writable data */
	if (what == 0) {
		*v = (desc >> 32) & 0x00f0ff00; /* SDM: bits 16-19 undefined */
	} else {
		*v = (desc & 0xffff) | ((desc >> 32) & 0xf0000);
		if (desc >> 55 & 1)
			*v = *v << 12 | 0xfff;
	}
	return 1;
}

/* Writes a store result: a register (zero-extended, or its low 16 bits
 * under 0x66) or 16 bits of memory. */
static void store16(const struct insn *in, struct frame *f, uint64_t v)
{
	if (in->mod != 3)
		*(volatile uint16_t *)in->ea = (uint16_t)v;
	else if (in->opsize16)
		*gpr(f, in->rm | (in->rex & 1) << 3) =
		    (*gpr(f, in->rm | (in->rex & 1) << 3) & ~0xffffULL) | (uint16_t)v;
	else
		*gpr(f, in->rm | (in->rex & 1) << 3) = v;
}

static uint16_t load16(const struct insn *in, struct frame *f)
{
	return in->mod != 3 ? *(const volatile uint16_t *)in->ea
			    : (uint16_t)*gpr(f, in->rm | (in->rex & 1) << 3);
}

static void set_zf(struct frame *f, int zf)
{
	f->rflags = zf ? f->rflags | RFLAGS_ZF : f->rflags & ~(uint64_t)RFLAGS_ZF;
}

/* The descriptor-table group, 0f 00 and 0f 01. */
static int emulate_tables(const struct insn *in, struct frame *f)
{
	volatile uint8_t *m = (volatile uint8_t *)in->ea;
	uint64_t v = 0;

	if (in->op == 0x0f00) {
		switch (in->reg & 7) {
		case 0:
			store16(in, f, vcpu.ldtr);
			return 0;
		case 1:
			store16(in, f, vcpu.tr);
			return 0;
		case 2:
			vcpu.ldtr = load16(in, f);
			return 0;
		case 3:
			vcpu.tr = load16(in, f);
			return 0;
		case 4:
		case 5:
			set_zf(f, seg_check(load16(in, f), (in->reg & 7) - 2, &v));
			return 0;
		}
		return -1;
	}
	if ((in->reg & 7) == 4) { /* smsw */
		store16(in, f, in->mod == 3 && !in->opsize16 ? vcpu.cr[0] : vcpu.cr[0] & 0xffff);
		return 0;
	}
	if (in->mod == 3 || (in->reg & 7) > 3)
		return -1;
	switch (in->reg & 7) {
	case 0:
		*(volatile uint16_t *)m = vcpu.gdt_limit;
		*(volatile uint64_t *)(m + 2) = vcpu.gdt_base;
		break;
	case 1:
		*(volatile uint16_t *)m = vcpu.idt_limit;
		*(volatile uint64_t *)(m + 2) = vcpu.idt_base;
		break;
	case 2:
		vcpu.gdt_limit = *(volatile uint16_t *)m;
		vcpu.gdt_base = *(volatile uint64_t *)(m + 2);
		break;
	case 3:
		vcpu.idt_limit = *(volatile uint16_t *)m;
		vcpu.idt_base = *(volatile uint64_t *)(m + 2);
		break;
	}
	return 0;
}

int insn_emulate(const struct insn *in, struct frame *f,
		 void (*port_out)(struct frame *f, uint16_t port, uint32_t v))
{
	unsigned int r = in->reg;
	uint64_t v;

	switch (in->op) {
	case 0xfa:
		vcpu.vif = 0;
		break;
	case 0xfb:
		vcpu.vif = 1;
		break;
	case 0xf4:
		vcpu.hlts++;
		break; /* nothing to wait for: a virtual interrupt "arrived" */
	case 0xe4:
	case 0xec: /* in al */
		v = (in->op == 0xe4 ? in->imm : (uint16_t)f->rdx) == PETREL_COM1_PORT + 5
			? COM1_LSR_IDLE
			: 0xff;
		f->rax = (f->rax & ~0xffULL) | v;
		break;
	case 0xe6:
	case 0xee: /* out al */
		port_out(f, (uint16_t)(in->op == 0xe6 ? in->imm : f->rdx), (uint8_t)f->rax);
		break;
	case 0x0f20:
	case 0x0f22: /* mov from / to a control register */
		if (in->mod != 3 || r > 4 || r == 1)
			return -1;
		if (in->op == 0x0f20)
			*gpr(f, in->rm | (in->rex & 1) << 3) = vcpu.cr[r];
		else
			vcpu.cr[r] = *gpr(f, in->rm | (in->rex & 1) << 3);
		break;
	case 0x0f00:
	case 0x0f01:
		if (emulate_tables(in, f))
			return -1;
		break;
	case 0x0f02:
	case 0x0f03: /* lar, lsl */
		if (seg_check(load16(in, f), in->op == 0x0f03, &v)) {
			*gpr(f, r) = v;
			set_zf(f, 1);
		} else {
			set_zf(f, 0);
		}
		break;
	case 0x9c: /* pushf: the virtual IF, the real arithmetic flags */
		f->rsp -= 8;
		*(volatile uint64_t *)f->rsp = (f->rflags & ~(uint64_t)RFLAGS_IF) | (vcpu.vif << 9);
		break;
	case 0x9d: /* popf: IF goes to the virtual CPU */
		v = *(volatile uint64_t *)f->rsp;
		f->rsp += 8;
		vcpu.vif = v >> 9 & 1;
		f->rflags = (f->rflags & ~(uint64_t)RFLAGS_ARITH) | (v & RFLAGS_ARITH);
		break;
	case 0x8c: /* mov r/m, sreg: the kernel's CS and SS are virtual */
		if ((r & 7) == 1 || (r & 7) == 2) {
			store16(in, f, (r & 7) == 1 ? DPK_CS : DPK_SS);
			break;
		}
		return -1;
	default:
		return -1;
	}
	f->rip += in->len;
	return 0;
}
