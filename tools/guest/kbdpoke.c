/* SPDX-License-Identifier: MIT */
/*
 * kbdpoke BYTE...: "type" bytes on the keyboard from inside the guest,
 * through the i8042's command 0xd2 (write the keyboard output buffer): the
 * controller hands each byte to the guest's i8042 driver on IRQ 1 exactly
 * as a keystroke from the keyboard. BYTE is hex, in the form the driver
 * receives (scan code set 1 on a translating controller). The linux test
 * suite presses Ctrl-Alt-Del with it (kbdpoke 1d 38 e0 53 e0 d3 b8 9d),
 * the same bytes petrel's i8042_ctrl_alt_del sends, to test the guest's
 * side without the control plane. Needs root: the ports through ioperm,
 * or /dev/port where the kernel has no ioperm (tinyconfig's lacks
 * CONFIG_X86_IOPL_IOPERM; Debian's has no /dev/port).
 *
 * Exit status: 0, 1 if the controller did not take or deliver a byte
 * within a second (or neither way to the ports works), 2 for bad usage.
 *
 * Freestanding x86-64 Linux (raw syscalls, no libc): a static glibc
 * would add some 700 KiB to each initramfs for these few lines.
 */
#include <stdint.h>

#define SYS_WRITE 1
#define SYS_OPEN 2
#define SYS_PREAD 17
#define SYS_PWRITE 18
#define SYS_NANOSLEEP 35
#define SYS_EXIT 60
#define SYS_IOPERM 173

#define DATA 0x60
#define STATUS 0x64
#define STS_OBF 0x01
#define STS_IBF 0x02
#define CMD_KBD_LOOP 0xd2

static long sys4(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

static long sys3(long n, long a, long b, long c)
{
	return sys4(n, a, b, c, 0);
}

static int port_fd = -1; /* /dev/port, when ioperm is not there */

static uint8_t inb(uint16_t port)
{
	uint8_t v = 0xff;

	if (port_fd >= 0)
		sys4(SYS_PREAD, port_fd, (long)&v, 1, port);
	else
		__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void outb(uint8_t v, uint16_t port)
{
	if (port_fd >= 0)
		sys4(SYS_PWRITE, port_fd, (long)&v, 1, port);
	else
		__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static __attribute__((noreturn)) void die(int status, const char *msg)
{
	long n = 0;

	while (msg[n])
		n++;
	sys3(SYS_WRITE, 2, (long)msg, n);
	for (;;)
		sys3(SYS_EXIT, status, 0, 0);
}

/* Wait until none of `bits` is set in the status register: 0, or -1
 * after a second. */
static int wait_clear(unsigned int bits)
{
	const long ms[2] = { 0, 1000000 };

	for (int i = 0; i < 1000; i++) {
		if (!(inb(STATUS) & bits))
			return 0;
		sys3(SYS_NANOSLEEP, (long)ms, 0, 0);
	}
	return -1;
}

/* One or two hex digits, else -1. */
static int hex_byte(const char *s)
{
	int v = 0, n = 0;

	for (; *s; s++, n++) {
		int d = *s >= '0' && *s <= '9'	 ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
			: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
						 : -1;

		if (d < 0 || n == 2)
			return -1;
		v = v * 16 + d;
	}
	return n ? v : -1;
}

/* Called by _start with the initial stack: argc, then argv. */
__attribute__((used, noreturn)) void kbdpoke(long *sp);
__attribute__((used, noreturn)) void kbdpoke(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);

	if (argc < 2)
		die(2, "usage: kbdpoke BYTE... (hex)\n");
	for (int i = 1; i < argc; i++)
		if (hex_byte(argv[i]) < 0)
			die(2, "kbdpoke: a BYTE is not one or two hex digits\n");
	if (sys3(SYS_IOPERM, DATA, STATUS - DATA + 1, 1)) {
		port_fd = (int)sys3(SYS_OPEN, (long)"/dev/port", 2 /* O_RDWR */, 0);
		if (port_fd < 0)
			die(1, "kbdpoke: neither ioperm nor /dev/port (not root?)\n");
	}
	for (int i = 1; i < argc; i++) {
		/* The driver read the last byte: the buffer is free. */
		if (wait_clear(STS_OBF | STS_IBF))
			die(1, "kbdpoke: the output buffer stays full\n");
		outb(CMD_KBD_LOOP, STATUS);
		if (wait_clear(STS_IBF))
			die(1, "kbdpoke: the controller takes no command\n");
		outb((uint8_t)hex_byte(argv[i]), DATA);
	}
	if (wait_clear(STS_OBF))
		die(1, "kbdpoke: the guest's driver does not read the keyboard\n");
	die(0, "");
}

__asm__(".globl _start\n"
	"_start:\n\t"
	"mov %rsp, %rdi\n\t"
	"and $-16, %rsp\n\t"
	"call kbdpoke\n");
