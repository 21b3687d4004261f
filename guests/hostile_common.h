/* SPDX-License-Identifier: MIT */
/*
 * The harness of the hostile-platform guests (tests/hostile/run): the case
 * comes from "hostile=NAME" on the command line; a check that does not hold
 * prints "HOSTILE FAIL NAME: what (got V)"; hostile_finish then checks that
 * petrel still serves (COM1 answers, the VERSION hypercall is answered),
 * prints "HOSTILE PASS NAME" if nothing failed and exits with status 0 (the
 * verdict is the output, so the runner can name the failed check).
 * hostile_report does the same without the exit.
 */
#ifndef GUEST_HOSTILE_COMMON_H
#define GUEST_HOSTILE_COMMON_H

#include "hc.h"
#include "rt.h"

struct hostile_case {
	const char *name;
	void (*fn)(void);
	int cpl3; /* run at CPL3 (native speed on PVM); interrupts need CPL0 */
};

static char hostile_name[48];
static unsigned int hostile_fails;
static uint8_t hostile_user_stack[16384] __attribute__((aligned(16)));
static const struct hostile_case *hostile_selected;

/* Failures are kept and printed by hostile_finish: a check may fail while
 * COM1 is in loopback or interrupts are being counted. */
static struct {
	const char *what;
	uint64_t got;
} hostile_failed[8];

static void expect(int ok, const char *what, uint64_t got)
{
	if (ok)
		return;
	if (hostile_fails < sizeof(hostile_failed) / sizeof(hostile_failed[0]))
		hostile_failed[hostile_fails] = (typeof(hostile_failed[0])){ what, got };
	hostile_fails++;
}

/* Checks that petrel still serves and prints the verdict; how many checks
 * failed. For a case that stops the VM its own way afterwards. */
static unsigned int hostile_report(void)
{
	uint64_t major = 0, minor = 0, v = 0;
	int64_t ret = hc_version(&major, &minor, &v);

	expect(ret == 0 && major == PETREL_HC_ABI_MAJOR, "VERSION hypercall after the attack",
	       (uint64_t)ret);
	/* LSR: transmitter empty and idle, as a 16550A with nothing queued. */
	expect((inb(PETREL_COM1_PORT + 5) & 0x60) == 0x60, "COM1 LSR after the attack",
	       inb(PETREL_COM1_PORT + 5));
	for (unsigned int i = 0; i < hostile_fails && i < 8; i++)
		printf("\nHOSTILE FAIL %s: %s (got %#lx)\n", hostile_name, hostile_failed[i].what,
		       (unsigned long)hostile_failed[i].got);
	if (!hostile_fails)
		printf("\nHOSTILE PASS %s\n", hostile_name);
	return hostile_fails;
}

__attribute__((noreturn)) static void hostile_finish(void)
{
	hostile_report();
	guest_exit(0);
}

static void hostile_user(void)
{
	hostile_selected->fn();
	hostile_finish();
}

/* Looks the case up and runs it; never returns. */
__attribute__((noreturn)) static void hostile_run(const struct hostile_case *cases, unsigned int n)
{
	if (cmdline_get("hostile", hostile_name, sizeof(hostile_name)) < 0)
		memcpy(hostile_name, "?", 2);
	for (unsigned int i = 0; i < n; i++) {
		if (strlen(cases[i].name) != strlen(hostile_name) ||
		    strncmp(cases[i].name, hostile_name, sizeof(hostile_name)))
			continue;
		hostile_selected = &cases[i];
		if (cases[i].cpl3)
			enter_user(hostile_user, hostile_user_stack + sizeof(hostile_user_stack));
		cases[i].fn();
		hostile_finish();
	}
	expect(0, "no such case in this guest", 0);
	guest_exit(1);
}

/* End of the RAM below 4 GiB from the loader's memory map (PVH start_info
 * or the zero page's e820), 0 when there is none. */
static uint64_t hostile_ram_end(void)
{
	uint64_t map, end = 0;
	uint32_t n;

	if (boot.kind == BOOT_KIND_PVH) {
		map = *(volatile uint64_t *)(boot.info_paddr + 40);
		n = *(volatile uint32_t *)(boot.info_paddr + 48);
	} else {
		map = boot.info_paddr + 0x2d0;
		n = *(volatile uint8_t *)(boot.info_paddr + 0x1e8);
	}
	for (uint32_t i = 0; i < n && i < 32; i++) {
		const volatile uint8_t *e = (const volatile uint8_t *)(map + 24 * (uint64_t)i);
		uint64_t a, s;
		uint32_t type;

		if (boot.kind != BOOT_KIND_PVH)
			e = (const volatile uint8_t *)(map + 20 * (uint64_t)i);
		a = *(const volatile uint64_t *)e;
		s = *(const volatile uint64_t *)(e + 8);
		type = *(const volatile uint32_t *)(e + 16);
		if (type == 1 && a + s <= PETREL_RAM_HOLE_START && a + s > end)
			end = a + s;
	}
	return end;
}

#endif
