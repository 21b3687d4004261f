/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit C runtime of the test guests: serial output, the command line,
 * the exit port and a few CPU helpers. Works at CPL0 and at CPL3 (with
 * IOPL=3, see enter_user).
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "petrel/platform.h"
#include "guest_layout.h"

struct boot_info {
	int kind;	     /* BOOT_KIND_PVH or BOOT_KIND_LINUX */
	const char *cmdline; /* never NULL; "" when none */
	uint64_t rsdp;	     /* 0 when the loader gave none */
	uint64_t info_paddr; /* hvm_start_info or boot_params */
};

extern struct boot_info boot;

/* Each guest defines this; its return value goes to the exit port. */
int guest_main(void);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline unsigned int current_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

/* A 64-bit IDT gate. */
struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __attribute__((packed));

/* Point `g` at `handler`: present, DPL0, 64-bit interrupt gate, kernel CS. */
static inline void idt_gate_set(struct idt_gate *g, const void *handler)
{
	uint64_t h = (uint64_t)handler;

	*g = (struct idt_gate){ .off_lo = (uint16_t)h,
				.sel = SEL_KCODE,
				.type = 0x8e,
				.off_mid = (uint16_t)(h >> 16),
				.off_hi = (uint32_t)(h >> 32) };
}

void putc_serial(char c);
void puts_serial(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* Writes status to PETREL_EXIT_PORT; halts if the VMM did not stop. */
__attribute__((noreturn)) void guest_exit(uint8_t status);

/* Value of "key=" on the command line, copied into buf; -1 when absent. */
int cmdline_get(const char *key, char *buf, size_t len);
/* Parses a decimal or 0x-hex number; returns -1 on bad input. */
long parse_ulong(const char *s);
/* The number "key=" gives when it is present, parses and is at least
 * `min` (>= 0); `def` otherwise. */
long cmdline_long(const char *key, long min, long def);

/* Formatting into a caller's buffer for lines that do not go to COM1:
 * each appends at offset `n` of `p` (no terminator; the caller sizes `p`)
 * and returns the new offset. fmt_num writes `v` in `base` (10 or 16,
 * lower case), zero-padded to `width` digits. */
uint32_t fmt_str(char *p, uint32_t n, const char *s);
uint32_t fmt_num(char *p, uint32_t n, uint64_t v, unsigned int base, int width);

/* A benchmark guest's result line, "GUEST: NAME BYTES CYCLES" (TSC
 * cycles), which bench/run parses. */
void bench_report(const char *guest, const char *name, uint64_t bytes, uint64_t cycles);

/* The verdict of a test guest: test_fail prints "NAME: FAIL what" and
 * counts it in test_failures; test_done prints "NAME: done, N failures"
 * and exits with 0 iff N = 0. NAME is test_name, which the guest sets
 * first. */
extern const char *test_name;
extern unsigned int test_failures;
void test_fail(const char *what);
__attribute__((noreturn)) void test_done(void);

/* A 64-bit TSS up to its I/O permission bitmap, which, if any, follows
 * at iomap_base. */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* Points the GDT's TSS descriptor (SEL_TSS) at `tss`, `size` bytes long
 * with its bitmap, and loads TR with it. */
void tss_install(const void *tss, uint32_t size);

/* Drops to CPL3 (SYSEXIT) running fn on stack_top with IOPL=3. */
__attribute__((noreturn)) void enter_user(void (*fn)(void), void *stack_top);
__attribute__((noreturn)) void halt_forever(void);
/* First C code of an application processor; index is 1, 2, ... */
void ap_main(unsigned int index);

size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

#endif
