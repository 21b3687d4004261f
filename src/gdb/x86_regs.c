/* SPDX-License-Identifier: MIT */
/* The x86-64 register file for gdb: see x86_regs.h. */
#include "gdb/x86_regs.h"

#include <string.h>

/* The names and order gdb's amd64 target expects (its 64bit-core.xml,
 * 64bit-sse.xml, 64bit-segments.xml), then petrel's control registers. */
const struct gdbx86_reg gdbx86_regs[] = {
	{ "rax", "int64", "general", 8 },    { "rbx", "int64", "general", 8 },
	{ "rcx", "int64", "general", 8 },    { "rdx", "int64", "general", 8 },
	{ "rsi", "int64", "general", 8 },    { "rdi", "int64", "general", 8 },
	{ "rbp", "data_ptr", "general", 8 }, { "rsp", "data_ptr", "general", 8 },
	{ "r8", "int64", "general", 8 },     { "r9", "int64", "general", 8 },
	{ "r10", "int64", "general", 8 },    { "r11", "int64", "general", 8 },
	{ "r12", "int64", "general", 8 },    { "r13", "int64", "general", 8 },
	{ "r14", "int64", "general", 8 },    { "r15", "int64", "general", 8 },
	{ "rip", "code_ptr", "general", 8 }, { "eflags", "int32", "general", 4 },
	{ "cs", "int32", "general", 4 },     { "ss", "int32", "general", 4 },
	{ "ds", "int32", "general", 4 },     { "es", "int32", "general", 4 },
	{ "fs", "int32", "general", 4 },     { "gs", "int32", "general", 4 },
	{ "st0", "i387_ext", "float", 10 },  { "st1", "i387_ext", "float", 10 },
	{ "st2", "i387_ext", "float", 10 },  { "st3", "i387_ext", "float", 10 },
	{ "st4", "i387_ext", "float", 10 },  { "st5", "i387_ext", "float", 10 },
	{ "st6", "i387_ext", "float", 10 },  { "st7", "i387_ext", "float", 10 },
	{ "fctrl", "int", "float", 4 },	     { "fstat", "int", "float", 4 },
	{ "ftag", "int", "float", 4 },	     { "fiseg", "int", "float", 4 },
	{ "fioff", "int", "float", 4 },	     { "foseg", "int", "float", 4 },
	{ "fooff", "int", "float", 4 },	     { "fop", "int", "float", 4 },
	{ "xmm0", "vec128", "vector", 16 },  { "xmm1", "vec128", "vector", 16 },
	{ "xmm2", "vec128", "vector", 16 },  { "xmm3", "vec128", "vector", 16 },
	{ "xmm4", "vec128", "vector", 16 },  { "xmm5", "vec128", "vector", 16 },
	{ "xmm6", "vec128", "vector", 16 },  { "xmm7", "vec128", "vector", 16 },
	{ "xmm8", "vec128", "vector", 16 },  { "xmm9", "vec128", "vector", 16 },
	{ "xmm10", "vec128", "vector", 16 }, { "xmm11", "vec128", "vector", 16 },
	{ "xmm12", "vec128", "vector", 16 }, { "xmm13", "vec128", "vector", 16 },
	{ "xmm14", "vec128", "vector", 16 }, { "xmm15", "vec128", "vector", 16 },
	{ "mxcsr", "int", "vector", 4 },     { "fs_base", "int64", "system", 8 },
	{ "gs_base", "int64", "system", 8 }, { "cr0", "int64", "system", 8 },
	{ "cr2", "int64", "system", 8 },     { "cr3", "int64", "system", 8 },
	{ "cr4", "int64", "system", 8 },     { "cr8", "int64", "system", 8 },
	{ "efer", "int64", "system", 8 },
};
const unsigned int gdbx86_nregs = sizeof(gdbx86_regs) / sizeof(gdbx86_regs[0]);

const char gdbx86_target_xml[] =
    "<?xml version=\"1.0\"?>"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target version=\"1.0\">"
    "<architecture>i386:x86-64</architecture>"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\" group=\"general\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\" group=\"general\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\" group=\"general\"/>"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\" group=\"general\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\" group=\"general\"/>"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\" group=\"float\"/>"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "</feature>"
    "<feature name=\"org.gnu.gdb.i386.sse\">"
    /* gdb's own 64bit-sse.xml view of an xmm register */
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\">"
    "<field name=\"v4_float\" type=\"v4f\"/>"
    "<field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/>"
    "<field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/>"
    "<field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/>"
    "</union>"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\" group=\"vector\"/>"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"int\" group=\"vector\"/>"
    "</feature>"
    "<feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "</feature>"
    "<feature name=\"org.petrel.x86.control\">"
    "<reg name=\"cr0\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"cr2\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"cr3\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"cr4\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"cr8\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "<reg name=\"efer\" bitsize=\"64\" type=\"int64\" group=\"system\"/>"
    "</feature>"
    "</target>";

enum {
	R_RIP = 16,
	R_EFLAGS,
	R_CS,
	R_ST0 = 24,
	R_FCTRL = 32,
	R_XMM0 = 40,
	R_MXCSR = 56,
	R_FS_BASE,
	R_GS_BASE,
	R_CR0,
};

size_t gdbx86_reg_offset(unsigned int n)
{
	size_t off = 0;

	for (unsigned int i = 0; i < n && i < gdbx86_nregs; i++)
		off += gdbx86_regs[i].size;
	return off;
}

static void put(uint8_t *out, unsigned int n, uint64_t v)
{
	memcpy(out + gdbx86_reg_offset(n), &v, gdbx86_regs[n].size < 8 ? gdbx86_regs[n].size : 8);
}

static uint64_t get(const uint8_t *in, unsigned int n)
{
	uint64_t v = 0;

	memcpy(&v, in + gdbx86_reg_offset(n), gdbx86_regs[n].size < 8 ? gdbx86_regs[n].size : 8);
	return v;
}

void gdbx86_from_kvm(uint8_t *out, const struct kvm_regs *r, const struct kvm_sregs *s,
		     const struct kvm_fpu *f)
{
	/* gdb's order, not KVM's (rbx before rcx, rsp after rbp). */
	const uint64_t gpr[16] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
				   r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
	const struct kvm_segment *seg[6] = { &s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs };
	const uint64_t cr[6] = { s->cr0, s->cr2, s->cr3, s->cr4, s->cr8, s->efer };
	uint32_t tag = 0;

	memset(out, 0, GDBX86_REGS_SIZE);
	for (unsigned int i = 0; i < 16; i++)
		put(out, i, gpr[i]);
	put(out, R_RIP, r->rip);
	put(out, R_EFLAGS, r->rflags);
	for (unsigned int i = 0; i < 6; i++)
		put(out, R_CS + i, seg[i]->selector);
	for (unsigned int i = 0; i < 8; i++) {
		memcpy(out + gdbx86_reg_offset(R_ST0 + i), f->fpr[i], 10);
		/* KVM keeps the abridged (FXSAVE) tag: 1 = valid; gdb wants
		 * the full word, 2 bits a register, 11 = empty. */
		if (!(f->ftwx & (1u << i)))
			tag |= 3u << (2 * i);
	}
	put(out, R_FCTRL, f->fcw);
	put(out, R_FCTRL + 1, f->fsw);
	put(out, R_FCTRL + 2, tag);
	put(out, R_FCTRL + 4, f->last_ip);
	put(out, R_FCTRL + 6, f->last_dp);
	put(out, R_FCTRL + 7, f->last_opcode);
	for (unsigned int i = 0; i < 16; i++)
		memcpy(out + gdbx86_reg_offset(R_XMM0 + i), f->xmm[i], 16);
	put(out, R_MXCSR, f->mxcsr);
	put(out, R_FS_BASE, s->fs.base);
	put(out, R_GS_BASE, s->gs.base);
	for (unsigned int i = 0; i < 6; i++)
		put(out, R_CR0 + i, cr[i]);
}

void gdbx86_to_kvm(const uint8_t *in, struct kvm_regs *r, struct kvm_sregs *s, struct kvm_fpu *f)
{
	__u64 *gpr[16] = { &r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			   &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };
	uint32_t tag = (uint32_t)get(in, R_FCTRL + 2);

	for (unsigned int i = 0; i < 16; i++)
		*gpr[i] = get(in, i);
	r->rip = get(in, R_RIP);
	/* Bit 1 of RFLAGS is always 1; KVM rejects nothing, the CPU would. */
	r->rflags = get(in, R_EFLAGS) | 2;
	f->ftwx = 0;
	for (unsigned int i = 0; i < 8; i++) {
		memcpy(f->fpr[i], in + gdbx86_reg_offset(R_ST0 + i), 10);
		if (((tag >> (2 * i)) & 3) != 3)
			f->ftwx |= (uint8_t)(1u << i);
	}
	f->fcw = (uint16_t)get(in, R_FCTRL);
	f->fsw = (uint16_t)get(in, R_FCTRL + 1);
	f->last_ip = get(in, R_FCTRL + 4);
	f->last_dp = get(in, R_FCTRL + 6);
	f->last_opcode = (uint16_t)get(in, R_FCTRL + 7);
	for (unsigned int i = 0; i < 16; i++)
		memcpy(f->xmm[i], in + gdbx86_reg_offset(R_XMM0 + i), 16);
	f->mxcsr = (uint32_t)get(in, R_MXCSR);
	s->fs.base = get(in, R_FS_BASE);
	s->gs.base = get(in, R_GS_BASE);
}
