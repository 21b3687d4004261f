/* SPDX-License-Identifier: MIT */
#include "rt.h"

/* Offsets in struct hvm_start_info (PVH boot ABI). */
#define HVM_START_MAGIC 0x336ec578U
#define HVM_OFF_MAGIC 0x00
#define HVM_OFF_VERSION 0x04
#define HVM_OFF_CMDLINE 0x18
#define HVM_OFF_RSDP 0x20

/* Offsets in struct boot_params (the Linux "zero page"). */
#define BP_OFF_ACPI_RSDP 0x070
#define BP_OFF_EXT_CMDLINE 0x0c8
#define BP_OFF_CMDLINE 0x228

struct boot_info boot;

static uint64_t rd64(uint64_t a)
{
	return *(volatile uint64_t *)a;
}
static uint32_t rd32(uint64_t a)
{
	return *(volatile uint32_t *)a;
}

void rt_start(int kind, uint64_t info);

void rt_start(int kind, uint64_t info)
{
	uint64_t cmd = 0;

	boot.kind = kind;
	boot.info_paddr = info;
	if (kind == BOOT_KIND_PVH) {
		if (info && rd32(info + HVM_OFF_MAGIC) == HVM_START_MAGIC) {
			cmd = rd64(info + HVM_OFF_CMDLINE);
			if (rd32(info + HVM_OFF_VERSION) >= 1)
				boot.rsdp = rd64(info + HVM_OFF_RSDP);
		} else {
			printf("guest: bad hvm_start_info at %#lx\n", info);
		}
	} else if (info) {
		cmd =
		    rd32(info + BP_OFF_CMDLINE) | ((uint64_t)rd32(info + BP_OFF_EXT_CMDLINE) << 32);
		boot.rsdp = rd64(info + BP_OFF_ACPI_RSDP);
	}
	boot.cmdline = cmd ? (const char *)cmd : "";
	guest_exit((uint8_t)guest_main());
}

void guest_exit(uint8_t status)
{
	outb(PETREL_EXIT_PORT, status);
	/* Not reached under petrel. At CPL3, hlt faults: spin instead. */
	if (current_cpl() == 0)
		halt_forever();
	for (;;)
		__asm__ volatile("pause");
}

void putc_serial(char c)
{
	const uint16_t port = PETREL_COM1_PORT;
	int spins = 100000;

	/* LSR bit 5: transmit holding register empty. */
	while (!(inb(port + 5) & 0x20) && --spins)
		;
	outb(port, (uint8_t)c);
}

void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

uint32_t fmt_str(char *p, uint32_t n, const char *s)
{
	while (*s)
		p[n++] = *s++;
	return n;
}

uint32_t fmt_num(char *p, uint32_t n, uint64_t v, unsigned int base, int width)
{
	char t[24];
	int k = 0;

	do {
		t[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > k)
		p[n++] = '0';
	while (k)
		p[n++] = t[--k];
	return n;
}

/* The sign goes between the padding and the digits, inside `width`. */
static void put_num(uint64_t v, unsigned int base, int width, char pad, int neg)
{
	char buf[24];
	uint32_t n = fmt_num(buf, 0, v, base, 0);

	for (width -= (int)n + neg; width > 0; width--)
		putc_serial(pad);
	if (neg)
		putc_serial('-');
	for (uint32_t k = 0; k < n; k++)
		putc_serial(buf[k]);
}

int vprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, lng = 0, alt = 0, left = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '#') {
			alt = 1;
			fmt++;
		}
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			s = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(s < 0 ? -(uint64_t)s : (uint64_t)s, 10, width, pad, s < 0);
			break;
		case 'u':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			put_num(u, 10, width, pad, 0);
			break;
		case 'x':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (alt)
				puts_serial("0x");
			put_num(u, 16, width, pad, 0);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int n = (int)strlen(str);

			while (!left && width-- > n)
				putc_serial(' ');
			puts_serial(str);
			while (left && width-- > n)
				putc_serial(' ');
			break;
		}
		case 'c':
			putc_serial((char)va_arg(ap, int));
			break;
		case '%':
			putc_serial('%');
			break;
		default:
			putc_serial('?');
			if (!*fmt)
				return 0;
		}
	}
	return 0;
}

int printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	return 0;
}

int cmdline_get(const char *key, char *buf, size_t len)
{
	const char *p = boot.cmdline;
	size_t klen = strlen(key);

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t n = 0;

			p += klen + 1;
			while (p[n] && p[n] != ' ' && n + 1 < len) {
				buf[n] = p[n];
				n++;
			}
			buf[n] = 0;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}

long parse_ulong(const char *s)
{
	unsigned int base = 10;
	long v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		v = v * base + d;
		if (v > 0x7fffffff)
			return -1;
	}
	return v;
}

long cmdline_long(const char *key, long min, long def)
{
	char val[24];
	long v;

	if (cmdline_get(key, val, sizeof(val)) < 0)
		return def;
	v = parse_ulong(val);
	return v >= min ? v : def;
}

void bench_report(const char *guest, const char *name, uint64_t bytes, uint64_t cycles)
{
	printf("%s: %s %lu %lu\n", guest, name, (unsigned long)bytes, (unsigned long)cycles);
}

const char *test_name = "guest";
unsigned int test_failures;

void test_fail(const char *what)
{
	printf("%s: FAIL %s\n", test_name, what);
	test_failures++;
}

void test_done(void)
{
	printf("%s: done, %u failures\n", test_name, test_failures);
	guest_exit(test_failures ? 1 : 0);
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dd = d;
	const unsigned char *ss = s;

	while (n--)
		*dd++ = *ss++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *dd = d;

	while (n--)
		*dd++ = (unsigned char)c;
	return d;
}

/*
 * 64-bit TSS whose I/O permission bitmap allows every port, so that CPL3
 * code can use in/out whatever RFLAGS.IOPL is (PVM runs guest CPL3 with
 * IOPL 0). The byte after the bitmap must be all-ones and inside the limit.
 */
static struct {
	struct tss64 t;
	uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed, aligned(16))) tss;
extern uint64_t gdt_tss[2];
extern char boot_stack_top[];
void sysexit_to_user(void (*fn)(void), void *stack_top) __attribute__((noreturn));

void tss_install(const void *t, uint32_t size)
{
	uint64_t base = (uint64_t)t;
	uint32_t limit = size - 1;

	gdt_tss[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		     (0x89ULL << 40) /* present, DPL0, available 64-bit TSS */ |
		     ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt_tss[1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS) : "memory");
}

static void tss_load(void)
{
	tss.t.rsp[0] = (uint64_t)boot_stack_top;
	tss.t.iomap_base = sizeof(tss.t);
	tss.iomap[sizeof(tss.iomap) - 1] = 0xff;
	tss_install(&tss, sizeof(tss));
}

void enter_user(void (*fn)(void), void *stack_top)
{
	tss_load();
	sysexit_to_user(fn, stack_top);
}

/* Guests that start APs (smp.c) override this; others never send a SIPI. */
__attribute__((weak)) void ap_main(unsigned int index)
{
	(void)index;
	halt_forever();
}
