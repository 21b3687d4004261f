/* SPDX-License-Identifier: MIT */
/*
 * Installs a #BP (vector 3) handler at CPL0 and executes int3. The handler
 * records the saved RIP and CS; the guest checks that the RIP is the byte
 * after the int3 (it is a trap).
 *
 * On PVM hosts KVM's emulator cannot run int3 and petrel delivers the #BP
 * itself; on VT-x/SVM it runs natively. The handler returns with iretq
 * (to the same CPL, which KVM's emulator handles); with "ret=jmp" on the
 * command line it returns without IRET instead: it reloads RFLAGS and RSP
 * from the frame and jumps to the continuation.
 * tests/guest/run lets this guest (only) contain int3 and iretq.
 */
#include "rt.h"

uint64_t int3_saved_rip, int3_saved_cs, int3_count;
extern const char int3_after[], int3_handler_jmp[], int3_handler_iretq[];

/* Interrupt frame at entry (same CPL, 64-bit): RIP, CS, RFLAGS, RSP, SS. */
__asm__(".text\n"
	".globl int3_handler_jmp, int3_handler_iretq\n"
	"int3_handler_jmp:\n\t"
	"movq (%rsp), %rax\n\t"
	"movq %rax, int3_saved_rip(%rip)\n\t"
	"movq 8(%rsp), %rax\n\t"
	"movq %rax, int3_saved_cs(%rip)\n\t"
	"incq int3_count(%rip)\n\t"
	"movq 16(%rsp), %rax\n\t" /* saved RFLAGS */
	"movq 24(%rsp), %rsp\n\t" /* saved RSP */
	"pushq %rax\n\t"
	"popfq\n\t"
	"jmp int3_after\n"
	"int3_handler_iretq:\n\t"
	"movq (%rsp), %rax\n\t"
	"movq %rax, int3_saved_rip(%rip)\n\t"
	"movq 8(%rsp), %rax\n\t"
	"movq %rax, int3_saved_cs(%rip)\n\t"
	"incq int3_count(%rip)\n\t"
	"iretq\n");

static struct idt_gate idt[4] __attribute__((aligned(16)));

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	char how[8] = "iretq";
	uint64_t h;

	cmdline_get("ret", how, sizeof(how));
	h = strncmp(how, "jmp", 4) ? (uint64_t)int3_handler_iretq : (uint64_t)int3_handler_jmp;
	idt_gate_set(&idt[3], (const void *)h);
	printf("int3: handler returns with %s, int3 at %#lx\n",
	       h == (uint64_t)int3_handler_jmp ? "jmp" : "iretq", (unsigned long)int3_after - 1);
	/* rax is the handlers' scratch register. */
	__asm__ volatile("lidt %0\n\t"
			 "int3\n"
			 ".globl int3_after\n"
			 "int3_after:"
			 :
			 : "m"(idtr)
			 : "rax", "memory", "cc");
	printf("int3: back, count=%lu saved rip=%#lx cs=%#lx\n", (unsigned long)int3_count,
	       (unsigned long)int3_saved_rip, (unsigned long)int3_saved_cs);
	if (int3_count != 1 || int3_saved_rip != (uint64_t)int3_after ||
	    int3_saved_cs != SEL_KCODE) {
		printf("int3: FAILED (want rip=%#lx cs=%#x)\n", (unsigned long)int3_after,
		       SEL_KCODE);
		return 1;
	}
	printf("int3: handled, return rip ok\n");
	return 0;
}
