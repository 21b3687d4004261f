/* SPDX-License-Identifier: MIT */
#include "rt.h"

int guest_main(void)
{
	puts_serial("hello from petrel guest\n");
	return 0;
}
