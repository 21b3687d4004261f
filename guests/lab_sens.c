/* SPDX-License-Identifier: MIT */
/*
 * lab/03-sensitive-unprivileged and lab/04-binary-rewriting: the monitor.
 * Classic trap-and-emulate virtualization in miniature: this CPL0 code
 * runs a "guest kernel" (lab_sens_kernel.S) deprivileged at CPL3, with
 * IOPL 0 and no I/O bitmap, so each privileged instruction it executes
 * faults (#GP) here and is emulated against a virtual CPU (struct vcpu,
 * lab_sens_insn.c). The kernel's sensitive but unprivileged instructions
 * do not fault: they run on the real CPU and show it. The kernel records
 * what it saw and what a CPU at CPL0 would have shown; the monitor counts
 * traps per row and prints
 *   "lab_sens: row=I name=NAME class=C traps=T seen=HEX expect=HEX"
 *   "lab_sens: time what=WHAT n=N cycles=C"        (the kernel's loops)
 *   "lab_sens: rewrite sites=S insns=I bytes=B cycles=C"
 *   "lab_sens: done traps=T"
 * Command line: "umip=1" sets CR4.UMIP where CPUID offers it (the line
 * "lab_sens: umip=absent|off|on|refused" says what happened); "rewrite=1"
 * first scans the kernel's code and replaces each sensitive unprivileged
 * instruction with int3, emulating the original when it traps; "n=" the
 * trapping loops' iterations (default 200), "nn=" the native loop's
 * (default 100000).
 *
 * The monitor returns to CPL3 with SYSEXIT (KVM's emulator runs it on PVM
 * hosts, where every CPL0 instruction is emulated: keep this code short)
 * through user_resume, which restores the RCX and RDX that SYSEXIT uses.
 */
#include "lab_sens.h"
#include "rt.h"

#define CR4_UMIP (1ULL << 11)
#define MAX_PATCHES 64
#define INT3 0xcc

struct vcpu vcpu;

/* The trap stubs, 16 bytes apart from monitor_vecs: vector n pushes an
 * error code of 0 where the CPU pushes none, then n. trap_entry saves the
 * registers (struct frame) and calls monitor_trap; monitor_resume(frame)
 * returns to CPL3 at frame->rip: it leaves RCX, RDX, RFLAGS and RIP on the
 * CPL3 stack for user_resume to pop. */
__asm__(".text\n"
	".p2align 4\n"
	".globl monitor_vecs, monitor_resume, user_resume\n"
	"monitor_vecs:\n"
	".irp n, "
	"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	".p2align 4\n"
	".if (\\n != 8) && ((\\n < 10) || (\\n > 14)) && (\\n != 17) && (\\n != 21) && (\\n != 29) "
	"&& (\\n != 30)\n"
	"pushq $0\n"
	".endif\n"
	"pushq $\\n\n"
	"jmp trap_entry\n"
	".endr\n"
	"trap_entry:\n\t"
	"pushq %rax\n\tpushq %rcx\n\tpushq %rdx\n\tpushq %rbx\n\tpushq %rbp\n\t"
	"pushq %rsi\n\tpushq %rdi\n\tpushq %r8\n\tpushq %r9\n\tpushq %r10\n\t"
	"pushq %r11\n\tpushq %r12\n\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n\t"
	"movq %rsp, %rdi\n\t"
	"call monitor_trap\n\t"
	"movq %rsp, %rdi\n"
	"monitor_resume:\n\t"
	"movq %rdi, %rsp\n\t"
	"movq 160(%rsp), %rcx\n\t" /* CPL3 RSP */
	"subq $32, %rcx\n\t"
	"movq 104(%rsp), %rax\n\tmovq %rax, (%rcx)\n\t"	  /* RCX */
	"movq 96(%rsp), %rax\n\tmovq %rax, 8(%rcx)\n\t"	  /* RDX */
	"movq 152(%rsp), %rax\n\tmovq %rax, 16(%rcx)\n\t" /* RFLAGS */
	"movq 136(%rsp), %rax\n\tmovq %rax, 24(%rcx)\n\t" /* RIP */
	"popq %r15\n\tpopq %r14\n\tpopq %r13\n\tpopq %r12\n\tpopq %r11\n\t"
	"popq %r10\n\tpopq %r9\n\tpopq %r8\n\tpopq %rdi\n\tpopq %rsi\n\t"
	"popq %rbp\n\tpopq %rbx\n\t"
	"addq $16, %rsp\n\t" /* RDX, RCX: user_resume's */
	"popq %rax\n\t"
	"movl $user_resume, %edx\n\t"
	"sysexitq\n"
	"user_resume:\n\t" /* CPL3 */
	"popq %rcx\n\tpopq %rdx\n\tpopfq\n\tretq\n");

extern const char monitor_vecs[];
void monitor_resume(struct frame *f) __attribute__((noreturn));
void monitor_trap(struct frame *f);

/* The TSS has no I/O permission bitmap (its offset is past the limit):
 * with IOPL 0, every IN and OUT at CPL3 faults. */
static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static uint8_t trap_stack[8192] __attribute__((aligned(16)));
static struct frame boot_frame;

/* The rewriter's table: where each int3 is and the instruction it hides. */
static struct patch {
	uint64_t addr;
	uint8_t bytes[16];
} patches[MAX_PATCHES];
static unsigned int npatches;

static long cur_row = -1;
static uint64_t row_traps[64], other_traps, total_traps;
static uint64_t time_cycles[4], time_n[4];
static const char *umip = "off";
static int rewrite_on;
static uint64_t rw_insns, rw_cycles;

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t read_cr(int n)
{
	uint64_t v = 0;

	if (n == 0)
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	else if (n == 3)
		__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	else if (n == 4)
		__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static __attribute__((noreturn)) void fatal(const struct frame *f, const char *what)
{
	const uint8_t *b = (const uint8_t *)f->rip;

	printf("lab_sens: FATAL %s: vector=%lu error=%#lx rip=%#lx cs=%#lx bytes=%02x %02x %02x "
	       "%02x\n",
	       what, (unsigned long)f->vector, (unsigned long)f->error, (unsigned long)f->rip,
	       (unsigned long)f->cs, b[0], b[1], b[2], b[3]);
	guest_exit(3);
}

static uint64_t vstate(uint64_t which)
{
	switch (which) {
	case VS_IF:
		return vcpu.vif;
	case VS_CR0:
		return vcpu.cr[0];
	case VS_GDTR:
		return (uint64_t)vcpu.gdt_limit << 48 | vcpu.gdt_base;
	case VS_IDTR:
		return (uint64_t)vcpu.idt_limit << 48 | vcpu.idt_base;
	case VS_LDTR:
		return vcpu.ldtr;
	case VS_TR:
		return vcpu.tr;
	case VS_HLT:
		return vcpu.hlts;
	case VS_OUT:
		return vcpu.outs;
	}
	return 0;
}

static __attribute__((noreturn)) void report(void)
{
	static const char *const times[4] = { "", "add", "sgdt", "cli" };

	printf("lab_sens: kernel's console: %lu bytes through the monitor\n",
	       (unsigned long)vcpu.outs);
	for (uint64_t i = 0; i < dpk_nrows && i < 64; i++)
		printf("lab_sens: row=%lu name=%s class=%c traps=%lu seen=%lx expect=%lx\n",
		       (unsigned long)i, dpk_rows[i].name, (char)dpk_rows[i].cls,
		       (unsigned long)row_traps[i], (unsigned long)dpk_rows[i].seen,
		       (unsigned long)dpk_rows[i].expect);
	for (int i = 1; i < 4; i++)
		printf("lab_sens: time what=%s n=%lu cycles=%lu\n", times[i],
		       (unsigned long)time_n[i], (unsigned long)time_cycles[i]);
	if (rewrite_on)
		printf("lab_sens: rewrite sites=%u insns=%lu bytes=%lu cycles=%lu\n", npatches,
		       (unsigned long)rw_insns, (unsigned long)(dpk_text_end - dpk_text_start),
		       (unsigned long)rw_cycles);
	printf("lab_sens: done traps=%lu outside-rows=%lu\n", (unsigned long)total_traps,
	       (unsigned long)other_traps);
	guest_exit(0);
}

/* An OUT of the kernel: the lab port's commands, its console (COM1's
 * data register, passed on), others ignored as by an absent device. */
static void port_out(struct frame *f, uint16_t port, uint32_t v)
{
	if (port == PETREL_COM1_PORT) {
		putc_serial((char)v);
		vcpu.outs++;
		return;
	}
	if (port != LAB_PORT)
		return;
	switch (f->rbx) {
	case CMD_ROW:
		if (f->rsi >= dpk_nrows || f->rsi >= 64)
			fatal(f, "row out of range");
		cur_row = (long)f->rsi;
		break;
	case CMD_ROWEND:
		if (cur_row >= 0 && f->rsi != VS_NONE)
			dpk_rows[cur_row].seen = vstate(f->rsi);
		cur_row = -1;
		break;
	case CMD_TIME:
		if (f->rsi >= 1 && f->rsi < 4) {
			time_cycles[f->rsi] = f->rdi;
			time_n[f->rsi] = f->r8;
		}
		break;
	case CMD_DONE:
		report();
	}
}

void monitor_trap(struct frame *f)
{
	const uint8_t *bytes = (const uint8_t *)f->rip;
	struct insn in;

	if ((f->cs & 3) != 3)
		fatal(f, "trap in the monitor");
	if (f->vector == 3) { /* a rewritten instruction: int3 is a trap, RIP is past it */
		unsigned int i = 0;

		while (i < npatches && patches[i].addr != f->rip - 1)
			i++;
		if (i == npatches)
			fatal(f, "int3 the rewriter did not place");
		f->rip = patches[i].addr;
		bytes = patches[i].bytes;
	} else if (f->vector != 13 || f->error != 0) {
		fatal(f, "unexpected exception");
	}
	if (insn_decode(bytes, f->rip, f, &in))
		fatal(f, "cannot decode");
	total_traps++;
	if (!((in.op == 0xe6 || in.op == 0xee) && (in.op == 0xe6 ? in.imm : f->rdx) == LAB_PORT)) {
		if (cur_row >= 0)
			row_traps[cur_row]++;
		else
			other_traps++;
	}
	if (insn_emulate(&in, f, port_out))
		fatal(f, "cannot emulate");
}

/* Binary rewriting (VMware's idea, in place and eagerly instead of into a
 * translation cache block by block): a linear sweep over the kernel's code
 * that replaces the first byte of every sensitive unprivileged instruction
 * with int3 and keeps the original. -1 if an instruction cannot be
 * decoded: a rewriter that guesses lengths would corrupt the code. */
static int rewrite(void)
{
	uint8_t *p = (uint8_t *)dpk_text_start;
	struct insn in;

	while (p < (uint8_t *)dpk_text_end) {
		if (insn_decode(p, (uint64_t)p, NULL, &in)) {
			printf("lab_sens: rewrite: cannot decode %02x %02x %02x at %#lx\n", p[0],
			       p[1], p[2], (unsigned long)p);
			return -1;
		}
		rw_insns++;
		if (insn_is_sensitive(&in)) {
			if (npatches == MAX_PATCHES)
				return -1;
			patches[npatches].addr = (uint64_t)p;
			memcpy(patches[npatches++].bytes, p, in.len);
			*p = INT3;
		}
		p += in.len;
	}
	return 0;
}

/* Whether CPUID offers UMIP ("absent" if not); with `set`, sets CR4.UMIP
 * and reads it back ("on", or "refused" where the write did not stick). */
static void setup_umip(int set)
{
	uint32_t r[4];
	uint64_t cr4;

	cpuid(0, 0, r);
	if (r[0] < 7 || (cpuid(7, 0, r), !(r[2] & 4))) {
		umip = "absent";
		return;
	}
	if (!set)
		return;
	cr4 = read_cr(4) | CR4_UMIP;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	umip = read_cr(4) & CR4_UMIP ? "on" : "refused";
}

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };

	for (int v = 0; v < 32; v++)
		idt_gate_set(&idt[v], monitor_vecs + 16 * v);
	idt[3].type = 0xee; /* int3 from CPL3: a DPL3 gate */
	__asm__ volatile("lidt %0" : : "m"(idtr));
	tss.rsp[0] = (uint64_t)trap_stack + sizeof(trap_stack);
	tss.iomap_base = sizeof(tss);
	tss_install(&tss, sizeof(tss));
	wrmsr(MSR_SYSENTER_CS, SEL_KCODE);

	dpk_n_trap = (uint64_t)cmdline_long("n", 1, 200);
	dpk_n_native = (uint64_t)cmdline_long("nn", 1, 100000);
	setup_umip(cmdline_long("umip", 0, 0) != 0);
	vcpu.cr[0] = read_cr(0);
	vcpu.cr[3] = read_cr(3);
	vcpu.cr[4] = 0;
	printf("lab_sens: umip=%s\n", umip);
	if (cmdline_long("rewrite", 0, 0)) {
		uint64_t t0 = rdtsc();

		rewrite_on = 1;
		if (rewrite())
			printf("lab_sens: rewrite failed after %u sites\n", npatches);
		rw_cycles = rdtsc() - t0;
	}
	boot_frame.rip = (uint64_t)dpk_entry;
	boot_frame.rsp = (uint64_t)dpk_stack_top;
	boot_frame.rflags = 0x2; /* IF 0 in reality; the kernel's IF is vcpu.vif */
	monitor_resume(&boot_frame);
}
