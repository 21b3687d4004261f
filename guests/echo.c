/* SPDX-License-Identifier: MIT */
/*
 * Reads bytes from COM1 (polling LSR bit 0, then RBR) until a 0x04 byte,
 * "max=N" bytes, or "polls=N" consecutive empty polls (default: no limit),
 * and prints the byte count and their FNV-1a 64 hash (the 0x04 excluded):
 *   echo: count=N fnv1a64=HEX end=eot|max|idle empty_polls=N
 * Runs at CPL3 (native loop, only the port reads exit) unless "cpl=0" is
 * on the command line: on PVM hosts each CPL0 instruction is emulated but a
 * port exit from CPL0 costs several times less than one from CPL3.
 */
#include "rt.h"

#define LSR_DR 0x01

static uint8_t user_stack[16384] __attribute__((aligned(16)));

static void user_main(void)
{
	const uint16_t port = PETREL_COM1_PORT;
	uint64_t h = 0xcbf29ce484222325ULL, count = 0, empty = 0;
	long max = -1, polls = -1, idle = 0;
	const char *end = "max";
	char val[24];

	if (cmdline_get("max", val, sizeof(val)) == 0)
		max = parse_ulong(val);
	if (cmdline_get("polls", val, sizeof(val)) == 0)
		polls = parse_ulong(val);
	printf("echo: ready at cpl=%u\n", current_cpl());
	while (max < 0 || count < (uint64_t)max) {
		uint8_t c;

		if (!(inb(port + 5) & LSR_DR)) {
			if (polls >= 0 && ++idle >= polls) {
				end = "idle";
				break;
			}
			empty++;
			__asm__ volatile("pause");
			continue;
		}
		idle = 0;
		c = inb(port);
		if (c == 0x04) {
			end = "eot";
			break;
		}
		h ^= c;
		h *= 0x100000001b3ULL;
		count++;
	}
	printf("echo: count=%lu fnv1a64=%016lx end=%s empty_polls=%lu\n", (unsigned long)count,
	       (unsigned long)h, end, (unsigned long)empty);
	guest_exit(0);
}

int guest_main(void)
{
	char val[4];

	if (cmdline_get("cpl", val, sizeof(val)) == 0 && val[0] == '0')
		user_main();
	enter_user(user_main, user_stack + sizeof(user_stack));
}
