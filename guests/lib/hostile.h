/* SPDX-License-Identifier: MIT */
/*
 * The frame of every hostile-suite guest (tests/hostile/run): the guest
 * runs the one case "hostile=NAME" names, at CPL3 (native speed on PVM
 * hosts) unless the case needs CPL0. Each failed check prints
 * "HOSTILE FAIL NAME: what" (hostile_check at once, hostile_expect later).
 * When the case returns, hostile_report checks that petrel still serves
 * (COM1 answers, the VERSION hypercall is answered) and prints "HOSTILE
 * PASS NAME" if no check failed; the guest then exits with status 0 either
 * way: the verdict is the output, so the runner can name the failed check.
 * A case that stops the VM its own way (another status) reports first.
 *
 * Virtio attacks have their own helpers on top (hostile_vq.h).
 */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

struct hostile_case {
	const char *name;
	void (*run)(void);
	bool cpl0; /* run at CPL0 (interrupts, faults, starting APs); else at CPL3 */
};

/* The case's name from "hostile=" ("?" when there is none). */
extern char hostile_name[64];

/* Runs the case "hostile=" names from `cases` (n of them), then
 * hostile_done. An unknown name is a failure (exit status 1). */
__attribute__((noreturn)) void hostile_main(const struct hostile_case *cases, unsigned int n);

/* Counts a failed check and prints "HOSTILE FAIL case: what" at once.
 * Returns ok. */
bool hostile_check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Counts a failed check and keeps it (the first 8) for hostile_report to
 * print as "HOSTILE FAIL case: what (got V)": for checks made while
 * printing would disturb the attack (COM1 in loopback, interrupts being
 * counted). */
void hostile_expect(bool ok, const char *what, uint64_t got);

/* Checks that petrel still serves, then prints the kept failures and, if
 * no check failed, "HOSTILE PASS case". Returns how many checks failed.
 * For a case that stops the VM its own way afterwards. */
unsigned int hostile_report(void);

/* hostile_report, then exit with status 0. */
__attribute__((noreturn)) void hostile_done(void);

/* One access of `w` bytes (1, 2, 4, else 8) at address `a`, whatever
 * lies there. */
uint64_t hostile_mmio_rd(uint64_t a, unsigned int w);
void hostile_mmio_wr(uint64_t a, unsigned int w, uint64_t v);

/* End of the RAM below 4 GiB from the loader's memory map (PVH start_info
 * or the zero page's e820), 0 when there is none. */
uint64_t hostile_ram_end(void);

#endif
