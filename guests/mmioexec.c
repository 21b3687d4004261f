/* SPDX-License-Identifier: MIT */
/*
 * Jumps into the MMIO hole, where no memory backs the address: to run the
 * first instruction KVM would have to emulate a fetch from a device, which
 * it cannot, so it stops with KVM_EXIT_INTERNAL_ERROR (emulation failure)
 * on every kind of host. petrel ends with status 4 and its register dump.
 */
#include "rt.h"

#define TARGET 0xd0002000UL /* in the 32-bit hole, no device there */

int guest_main(void)
{
	printf("mmioexec: jumping to %#lx\n", TARGET);
	((void (*)(void))TARGET)();
	printf("mmioexec: still alive!\n");
	return 1;
}
