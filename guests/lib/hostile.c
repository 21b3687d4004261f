/* SPDX-License-Identifier: MIT */
#include "hostile.h"

#include <stdarg.h>

#include "hc.h"
#include "rt.h"

#define KEPT 8

char hostile_name[64];
static const struct hostile_case *current;
static unsigned int failures, kept;
static struct {
	const char *what;
	uint64_t got;
} kept_failed[KEPT];
static uint8_t user_stack[16384] __attribute__((aligned(16)));

bool hostile_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	failures++;
	printf("\nHOSTILE FAIL %s: ", hostile_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

void hostile_expect(bool ok, const char *what, uint64_t got)
{
	if (ok)
		return;
	if (kept < KEPT)
		kept_failed[kept++] = (typeof(kept_failed[0])){ what, got };
	failures++;
}

unsigned int hostile_report(void)
{
	uint64_t major = 0, minor = 0, v = 0;
	int64_t ret = hc_version(&major, &minor, &v);

	hostile_expect(ret == 0 && major == PETREL_HC_ABI_MAJOR,
		       "VERSION hypercall after the attack", (uint64_t)ret);
	/* LSR: transmitter empty and idle, as a 16550A with nothing queued. */
	hostile_expect((inb(PETREL_COM1_PORT + 5) & 0x60) == 0x60, "COM1 LSR after the attack",
		       inb(PETREL_COM1_PORT + 5));
	for (unsigned int i = 0; i < kept; i++)
		printf("\nHOSTILE FAIL %s: %s (got %#lx)\n", hostile_name, kept_failed[i].what,
		       (unsigned long)kept_failed[i].got);
	if (!failures)
		printf("\nHOSTILE PASS %s\n", hostile_name);
	return failures;
}

void hostile_done(void)
{
	hostile_report();
	guest_exit(0);
}

static void run_current(void)
{
	current->run();
	hostile_done();
}

void hostile_main(const struct hostile_case *cases, unsigned int n)
{
	if (cmdline_get("hostile", hostile_name, sizeof(hostile_name)) < 0)
		memcpy(hostile_name, "?", 2);
	for (unsigned int i = 0; i < n; i++) {
		if (strlen(cases[i].name) != strlen(hostile_name) ||
		    strncmp(cases[i].name, hostile_name, sizeof(hostile_name)))
			continue;
		current = &cases[i];
		if (cases[i].cpl0)
			run_current();
		enter_user(run_current, user_stack + sizeof(user_stack));
	}
	hostile_check(false, "no such case in this guest");
	guest_exit(1);
}

uint64_t hostile_mmio_rd(uint64_t a, unsigned int w)
{
	switch (w) {
	case 1:
		return *(volatile uint8_t *)a;
	case 2:
		return *(volatile uint16_t *)a;
	case 4:
		return *(volatile uint32_t *)a;
	default:
		return *(volatile uint64_t *)a;
	}
}

void hostile_mmio_wr(uint64_t a, unsigned int w, uint64_t v)
{
	switch (w) {
	case 1:
		*(volatile uint8_t *)a = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)a = (uint16_t)v;
		break;
	case 4:
		*(volatile uint32_t *)a = (uint32_t)v;
		break;
	default:
		*(volatile uint64_t *)a = v;
		break;
	}
}

uint64_t hostile_ram_end(void)
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
