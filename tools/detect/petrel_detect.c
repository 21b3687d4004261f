/* SPDX-License-Identifier: MIT */
/*
 * petrel-detect: does this Linux run in a VM, and under which hypervisor?
 * One line per piece of evidence, then "verdict: vm NAME (...)" or
 * "verdict: bare-metal (...)". Exit status 0 for a VM, 1 for bare metal
 * (as systemd-detect-virt), 2 for a usage error. Built static, so it runs
 * in any Linux guest's initramfs as it is.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "detect_linux.h"

#define SAMPLES 1001

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/*
 * SIDT, SGDT, SLDT and STR at CPL3. With UMIP on, the processor raises #GP;
 * Linux answers SIDT/SGDT with fixed placeholders and sends SIGSEGV for
 * SLDT/STR, caught here. The handler only jumps back: the faulting
 * instruction is never resumed.
 */
static void read_dtables(struct detect_dtables *d)
{
	struct sigaction sa = { .sa_handler = on_fault }, old_segv, old_ill;

	*d = (struct detect_dtables){ .cpl = 3 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGILL, &sa, &old_ill);
	if (!sigsetjmp(fault_jmp, 1)) {
		detect_sidt(&d->idt_base, &d->idt_limit);
		d->sidt_ok = true;
	}
	if (!sigsetjmp(fault_jmp, 1)) {
		detect_sgdt(&d->gdt_base, &d->gdt_limit);
		d->sgdt_ok = true;
	}
	if (!sigsetjmp(fault_jmp, 1)) {
		d->ldt = detect_sldt();
		d->sldt_ok = true;
	}
	if (!sigsetjmp(fault_jmp, 1)) {
		d->tr = detect_str();
		d->str_ok = true;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGILL, &old_ill, NULL);
}

int main(int argc, char **argv)
{
	static struct detect_report r;
	static uint64_t scratch[SAMPLES];
	struct detect_timing t;
	struct detect_dtables d;
	const char *root = "/";
	char line[DETECT_LINE_LEN];
	bool vm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			root = argv[++i];
		} else {
			fprintf(stderr,
				"usage: petrel-detect [--root DIR]\n"
				"  --root DIR  read sysfs and procfs under DIR (default /)\n");
			return !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	detect_cpuid(&r, detect_cpuid_native);
	detect_timing_measure(&t, scratch, SAMPLES);
	detect_timing(&r, &t);
	read_dtables(&d);
	detect_dtables(&r, &d);
	detect_linux_scan(&r, root);
	for (unsigned int i = 0; i < r.n; i++) {
		detect_format(&r.ev[i], line);
		puts(line);
	}
	if (r.dropped)
		printf("(%u more pieces of evidence not shown)\n", r.dropped);
	vm = detect_verdict(&r, line);
	puts(line);
	return vm ? 0 : 1;
}
