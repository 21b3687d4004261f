/* SPDX-License-Identifier: MIT */
/*
 * Drives one platform device, chosen by "op=" on the command line:
 *   pvpanic    writes PANICKED to the pvpanic port  (petrel: status 5)
 *   reset      i8042 reset command                  (status 0, "rebooted")
 *   reset-d1   i8042 output port write, reset bit 0 clear (the same)
 *   poweroff   ACPI sleep control SLP_EN | S5       (status 0, "powered off")
 *   boottimer  boot-timer magic, then the exit port (status 0, boot time)
 *   rtc        prints the CMOS clock as "rtc: YYYY-MM-DD HH:MM:SS" (UTC)
 * A device that does not stop the VM leaves the guest at exit status 10.
 */
#include "rt.h"

static uint8_t cmos_read(uint8_t reg)
{
	outb(PETREL_RTC_PORT, reg);
	return inb(PETREL_RTC_PORT + 1);
}

static unsigned int rtc_val(uint8_t v, int binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

struct rtc_time {
	uint8_t r[7]; /* sec min hour mday mon year century */
};

static void rtc_snapshot(struct rtc_time *t)
{
	static const uint8_t regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32 };

	/* Register 0x0a bit 7: update in progress, the fields may be torn. */
	for (int spins = 0; (cmos_read(0x0a) & 0x80) && spins < 100000; spins++)
		;
	for (int i = 0; i < 7; i++)
		t->r[i] = cmos_read(regs[i]);
}

static int op_rtc(void)
{
	struct rtc_time a, b;
	uint8_t regb = cmos_read(0x0b);
	int binary = regb & 0x04, h24 = regb & 0x02;
	unsigned int hour;

	/* Read until two snapshots agree: no update happened in between. */
	rtc_snapshot(&a);
	for (int tries = 0; tries < 10; tries++) {
		rtc_snapshot(&b);
		if (!memcmp(&a, &b, sizeof(a)))
			break;
		a = b;
	}
	hour = rtc_val(a.r[2] & 0x7f, binary);
	if (!h24) {
		hour %= 12;
		if (a.r[2] & 0x80)
			hour += 12;
	}
	printf("rtc: register b=%#x (%s, %s)\n", regb, binary ? "binary" : "bcd",
	       h24 ? "24h" : "12h");
	printf("rtc: %02u%02u-%02u-%02u %02u:%02u:%02u\n", rtc_val(a.r[6], binary),
	       rtc_val(a.r[5], binary), rtc_val(a.r[4], binary), rtc_val(a.r[3], binary), hour,
	       rtc_val(a.r[1], binary), rtc_val(a.r[0], binary));
	return 0;
}

int guest_main(void)
{
	char op[16];

	if (cmdline_get("op", op, sizeof(op)) < 0) {
		printf("devices: no op= on the command line\n");
		return 99;
	}
	printf("devices: op=%s\n", op);
	if (!strncmp(op, "pvpanic", sizeof(op))) {
		outb(PETREL_PVPANIC_PORT, PETREL_PVPANIC_PANICKED);
	} else if (!strncmp(op, "reset", sizeof(op))) {
		outb(PETREL_I8042_CMD_PORT, PETREL_I8042_CMD_RESET);
	} else if (!strncmp(op, "reset-d1", sizeof(op))) {
		outb(PETREL_I8042_CMD_PORT, 0xd1); /* write output port */
		outb(PETREL_I8042_DATA_PORT, 0xfe);
	} else if (!strncmp(op, "poweroff", sizeof(op))) {
		outb(PETREL_ACPI_SLEEP_CTL_PORT,
		     PETREL_ACPI_SLP_EN | (PETREL_ACPI_S5_TYP << PETREL_ACPI_SLP_TYP_SHIFT));
	} else if (!strncmp(op, "boottimer", sizeof(op))) {
		*(volatile uint8_t *)PETREL_BOOT_TIMER_ADDR = PETREL_BOOT_TIMER_MAGIC;
		printf("devices: boot timer signalled\n");
		return 0;
	} else if (!strncmp(op, "rtc", sizeof(op))) {
		return op_rtc();
	} else {
		printf("devices: unknown op '%s'\n", op);
		return 98;
	}
	printf("devices: still running after op=%s\n", op);
	return 10;
}
