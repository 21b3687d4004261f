/* SPDX-License-Identifier: MIT */
/*
 * Loads an empty IDT and executes ud2: #UD cannot be delivered (#GP), nor
 * can the #GP (#DF), nor the #DF: the CPU shuts down (triple fault), which
 * KVM reports as KVM_EXIT_SHUTDOWN.
 */
#include "rt.h"

int guest_main(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty_idt = { 0, 0 };
	extern const char triplefault_ud2[];

	printf("triplefault: empty IDT, ud2 at %#lx\n", (unsigned long)triplefault_ud2);
	__asm__ volatile("lidt %0\n\t"
			 ".globl triplefault_ud2\n"
			 "triplefault_ud2:\n\t"
			 "ud2"
			 :
			 : "m"(empty_idt));
	printf("triplefault: still alive after ud2!\n");
	return 1;
}
