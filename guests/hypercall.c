/* SPDX-License-Identifier: MIT */
/*
 * Exercises petrel's hypercalls (docs/hypercalls.md): VERSION and NOP at
 * CPL0, then at CPL3 every call, the error cases (bad buffers, an unknown
 * call, the wrong major, flags, a bad status) and blocks petrel must ignore
 * (misaligned, straddling the end of RAM, in the MMIO hole, a 16-bit OUT).
 * Prints one "hypercall: ..." line per case; tests/guest/run checks them.
 * Ends with SHUTDOWN and the status from "status=" (default 0).
 *
 * Command line: ramend=ADDR (end of RAM, for the straddling cases),
 * status=N.
 */
#include "hc.h"
#include "rt.h"

#define N_USER 2000
#define N_KERNEL 50
#define HOLE 0xe0000000U /* in the 32-bit MMIO hole: no RAM */

static uint8_t user_stack[16384] __attribute__((aligned(16)));
static char big[PETREL_HC_CONSOLE_MAX + 1];
static unsigned long ramend;

static void do_version(void)
{
	uint64_t major = 0, minor = 0, v = 0;
	int64_t ret = hc_version(&major, &minor, &v);

	printf("hypercall: version ret=%ld abi=%lu.%lu petrel=%lu.%lu.%lu cpl=%u\n", (long)ret,
	       (unsigned long)major, (unsigned long)minor, (unsigned long)(v >> 32),
	       (unsigned long)(v >> 16 & 0xffff), (unsigned long)(v & 0xffff), current_cpl());
}

static void nop_cost(unsigned int n)
{
	int64_t rt, bad = 0;
	uint64_t m0, m1, t0, t1;

	hc_time(&rt, &m0);
	t0 = rdtsc();
	for (unsigned int i = 0; i < n; i++)
		bad |= hc_nop();
	t1 = rdtsc();
	hc_time(&rt, &m1);
	printf("hypercall: nop ret=%ld %u calls, %lu ns/call, %lu cycles/call (cpl=%u)\n",
	       (long)bad, n, (unsigned long)((m1 - m0) / n), (unsigned long)((t1 - t0) / n),
	       current_cpl());
}

static void do_console(void)
{
	static const char msg[] = "hypercall console: hello through port 0x510\n";
	int64_t ret = hc_console_write(msg, sizeof(msg) - 1);

	printf("hypercall: console_write ret=%ld len=%lu\n", (long)ret,
	       (unsigned long)(sizeof(msg) - 1));
	/* The largest write: one line of exactly PETREL_HC_CONSOLE_MAX bytes. */
	memcpy(big, "hypercall big: ", 15);
	memset(big + 15, '=', PETREL_HC_CONSOLE_MAX - 16);
	big[PETREL_HC_CONSOLE_MAX - 1] = '\n';
	ret = hc_console_write(big, PETREL_HC_CONSOLE_MAX);
	printf("hypercall: console_write max ret=%ld\n", (long)ret);
}

static void do_time(void)
{
	int64_t rt0, rt1, ret0, ret1;
	uint64_t m0, m1;

	ret0 = hc_time(&rt0, &m0);
	ret1 = hc_time(&rt1, &m1);
	printf("hypercall: time ret=%ld realtime=%ld monotonic=%lu\n", (long)ret0, (long)rt0,
	       (unsigned long)m0);
	printf("hypercall: time again ret=%ld monotonic %s\n", (long)ret1,
	       m1 >= m0 && rt1 >= rt0 - 1000000000L ? "ok" : "WENT BACKWARDS");
}

/* One call built by hand: returns its ret. */
static int64_t raw(uint32_t nr, uint16_t major, uint16_t flags, uint64_t a0, uint64_t a1)
{
	struct petrel_hc_block b;

	hc_prepare(&b, nr);
	b.abi_major = major;
	b.flags = flags;
	b.arg[0] = a0;
	b.arg[1] = a1;
	return hc_call(&b);
}

static void do_errors(void)
{
	printf("hypercall: console_write hole ret=%ld\n",
	       (long)hc_console_write((const void *)(uintptr_t)HOLE, 16));
	if (ramend)
		printf("hypercall: console_write end-of-ram ret=%ld\n",
		       (long)hc_console_write((const void *)(ramend - 2), 4));
	printf("hypercall: console_write len=4097 ret=%ld\n",
	       (long)hc_console_write(big, PETREL_HC_CONSOLE_MAX + 1));
	printf("hypercall: console_write len=2^40 ret=%ld\n",
	       (long)hc_console_write(big, 1ULL << 40));
	printf("hypercall: unknown ret=%ld\n", (long)raw(1000, PETREL_HC_ABI_MAJOR, 0, 0, 0));
	printf("hypercall: major=2 ret=%ld\n",
	       (long)raw(PETREL_HC_NOP, PETREL_HC_ABI_MAJOR + 1, 0, 0, 0));
	printf("hypercall: flags ret=%ld\n",
	       (long)raw(PETREL_HC_NOP, PETREL_HC_ABI_MAJOR, 1, 0, 0));
	printf("hypercall: shutdown 256 ret=%ld\n", (long)hc_shutdown(256));
}

/* Blocks petrel cannot use: the call is ignored, ret keeps its preset. */
static void do_ignored(void)
{
	static struct petrel_hc_block pair[2];
	struct petrel_hc_block *mis = (struct petrel_hc_block *)((char *)&pair[0] + 4);

	hc_prepare(mis, PETREL_HC_SHUTDOWN);
	mis->arg[0] = 7;
	printf("hypercall: misaligned ret=%ld\n", (long)hc_call(mis));
	if (ramend) {
		/* The first 24 bytes of a SHUTDOWN(7) block, cut off by the end
		 * of RAM: petrel must not act on it. */
		volatile uint32_t *p = (volatile uint32_t *)(ramend - 24);

		p[0] = PETREL_HC_SHUTDOWN;
		p[1] = PETREL_HC_ABI_MAJOR;
		p[4] = 7;
		p[5] = 0;
		hc_out((uint32_t)(ramend - 24));
		printf("hypercall: block across end of RAM ignored\n");
	}
	hc_out(HOLE);
	printf("hypercall: block in MMIO hole ignored\n");
	hc_prepare(&pair[1], PETREL_HC_SHUTDOWN);
	pair[1].arg[0] = 7;
	pair[1].ret = -PETREL_HC_ENOSYS;
	outw(PETREL_HYPERCALL_PORT, (uint16_t)(uintptr_t)&pair[1]);
	printf("hypercall: 16-bit out ret=%ld\n", (long)pair[1].ret);
}

static void finish(void)
{
	char val[24];
	long status = 0;

	if (cmdline_get("status", val, sizeof(val)) == 0)
		status = parse_ulong(val);
	printf("hypercall: shutting down with status %ld\n", status);
	printf("hypercall: shutdown returned ret=%ld\n", (long)hc_shutdown((uint64_t)status));
	guest_exit(99);
}

static void user_main(void)
{
	do_version();
	do_console();
	do_time();
	do_errors();
	do_ignored();
	nop_cost(N_USER);
	finish();
}

int guest_main(void)
{
	char val[24];

	if (cmdline_get("ramend", val, sizeof(val)) == 0 && parse_ulong(val) > 0)
		ramend = (unsigned long)parse_ulong(val);
	do_version();
	nop_cost(N_KERNEL);
	enter_user(user_main, user_stack + sizeof(user_stack));
}
