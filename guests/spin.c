/* SPDX-License-Identifier: MIT */
/*
 * Drops to CPL3, says so once and spins forever (natively on PVM): a guest
 * that only a signal or the console escape can stop.
 */
#include "rt.h"

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static void user_main(void)
{
	printf("spin: spinning at cpl=%u\n", current_cpl());
	for (;;)
		__asm__ volatile("pause");
}

int guest_main(void)
{
	enter_user(user_main, user_stack + sizeof(user_stack));
}
