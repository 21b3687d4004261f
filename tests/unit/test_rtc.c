/* SPDX-License-Identifier: MIT */
/* The CMOS RTC register file at a fixed host time. */
#include <stdlib.h>
#include <time.h>

#include "dev/pc_devices.h"
#include "harness.h"

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

static int64_t utc(int year, int mon, int mday, int hour, int min, int sec)
{
	struct tm tm = { .tm_year = year - 1900,
			 .tm_mon = mon - 1,
			 .tm_mday = mday,
			 .tm_hour = hour,
			 .tm_min = min,
			 .tm_sec = sec };

	return (int64_t)timegm(&tm);
}

/* 2026-11-25 13:45:07 UTC, a Wednesday */
#define NOW utc(2026, 11, 25, 13, 45, 7)

static void rtc_bcd_default(void)
{
	struct cmos_rtc *r = cmos_rtc_new();
	const int64_t now = NOW;

	REQUIRE(r);
	CHECK(now == 1795614307);
	CHECK(cmos_rtc_read(r, REG_B, now) == 0x02); /* 24-hour, BCD */
	CHECK(cmos_rtc_read(r, 0x00, now) == 0x07);
	CHECK(cmos_rtc_read(r, 0x02, now) == 0x45);
	CHECK(cmos_rtc_read(r, 0x04, now) == 0x13);
	CHECK(cmos_rtc_read(r, 0x06, now) == 0x04); /* Wednesday, Sunday = 1 */
	CHECK(cmos_rtc_read(r, 0x07, now) == 0x25);
	CHECK(cmos_rtc_read(r, 0x08, now) == 0x11);
	CHECK(cmos_rtc_read(r, 0x09, now) == 0x26);
	CHECK(cmos_rtc_read(r, REG_CENTURY, now) == 0x20);
	free(r);
}

static void rtc_binary_mode(void)
{
	struct cmos_rtc *r = cmos_rtc_new();
	const int64_t now = NOW;

	REQUIRE(r);
	cmos_rtc_write(r, REG_B, 0x06);
	CHECK(cmos_rtc_read(r, REG_B, now) == 0x06);
	CHECK(cmos_rtc_read(r, 0x00, now) == 7);
	CHECK(cmos_rtc_read(r, 0x02, now) == 45);
	CHECK(cmos_rtc_read(r, 0x04, now) == 13);
	CHECK(cmos_rtc_read(r, 0x06, now) == 4);
	CHECK(cmos_rtc_read(r, 0x07, now) == 25);
	CHECK(cmos_rtc_read(r, 0x08, now) == 11);
	CHECK(cmos_rtc_read(r, 0x09, now) == 26);
	CHECK(cmos_rtc_read(r, REG_CENTURY, now) == 20);
	free(r);
}

static void rtc_12_hour_mode(void)
{
	struct cmos_rtc *r = cmos_rtc_new();

	REQUIRE(r);
	cmos_rtc_write(r, REG_B, 0x00);					    /* 12-hour, BCD */
	CHECK(cmos_rtc_read(r, 0x04, NOW) == 0x81);			    /* 1 PM */
	CHECK(cmos_rtc_read(r, 0x04, utc(2026, 11, 25, 0, 5, 0)) == 0x12);  /* 12 AM */
	CHECK(cmos_rtc_read(r, 0x04, utc(2026, 11, 25, 12, 5, 0)) == 0x92); /* 12 PM */
	CHECK(cmos_rtc_read(r, 0x04, utc(2026, 11, 25, 11, 5, 0)) == 0x11); /* 11 AM */
	CHECK(cmos_rtc_read(r, 0x04, utc(2026, 11, 25, 23, 5, 0)) == 0x91); /* 11 PM */
	cmos_rtc_write(r, REG_B, 0x04);					    /* 12-hour, binary */
	CHECK(cmos_rtc_read(r, 0x04, NOW) == (0x80 | 1));
	CHECK(cmos_rtc_read(r, 0x04, utc(2026, 11, 25, 23, 5, 0)) == (0x80 | 11));
	free(r);
}

static void rtc_century(void)
{
	struct cmos_rtc *r = cmos_rtc_new();
	const int64_t y1999 = utc(1999, 12, 31, 23, 59, 59);

	REQUIRE(r);
	CHECK(cmos_rtc_read(r, 0x09, y1999) == 0x99);
	CHECK(cmos_rtc_read(r, REG_CENTURY, y1999) == 0x19);
	CHECK(cmos_rtc_read(r, 0x09, y1999 + 1) == 0x00);
	CHECK(cmos_rtc_read(r, REG_CENTURY, y1999 + 1) == 0x20);
	CHECK(cmos_rtc_read(r, 0x08, y1999 + 1) == 0x01);
	CHECK(cmos_rtc_read(r, 0x07, y1999 + 1) == 0x01);
	free(r);
}

static void rtc_status_registers(void)
{
	struct cmos_rtc *r = cmos_rtc_new();

	REQUIRE(r);
	CHECK(cmos_rtc_read(r, REG_D, NOW) == 0x80); /* VRT */
	cmos_rtc_write(r, REG_D, 0x00);
	CHECK(cmos_rtc_read(r, REG_D, NOW) == 0x80);
	CHECK(!(cmos_rtc_read(r, REG_A, NOW) & 0x80)); /* UIP clear */
	cmos_rtc_write(r, REG_A, 0xff);
	CHECK(cmos_rtc_read(r, REG_A, NOW) == 0x7f);
	cmos_rtc_write(r, REG_C, 0xff);
	CHECK(cmos_rtc_read(r, REG_C, NOW) == 0x00);
	free(r);
}

static void rtc_nvram_roundtrip(void)
{
	struct cmos_rtc *r = cmos_rtc_new();
	static const uint8_t alarms[] = { 0x01, 0x03, 0x05 };

	REQUIRE(r);
	for (unsigned int reg = 0x0e; reg < 0x80; reg++)
		if (reg != REG_CENTURY)
			cmos_rtc_write(r, (uint8_t)reg, (uint8_t)(reg ^ 0x5a));
	for (unsigned int reg = 0x0e; reg < 0x80; reg++)
		if (reg != REG_CENTURY)
			CHECK(cmos_rtc_read(r, (uint8_t)reg, NOW) == (uint8_t)(reg ^ 0x5a));
	/* bit 7 of the index (the NMI mask on the port) does not select a register */
	CHECK(cmos_rtc_read(r, 0x8e, NOW) == (0x0e ^ 0x5a));
	cmos_rtc_write(r, 0x8f, 0x11);
	CHECK(cmos_rtc_read(r, 0x0f, NOW) == 0x11);
	for (unsigned int i = 0; i < ARRAY_SIZE(alarms); i++) {
		cmos_rtc_write(r, alarms[i], (uint8_t)(0x30 + i));
		CHECK(cmos_rtc_read(r, alarms[i], NOW) == 0x30 + i);
	}
	free(r);
}

static void rtc_time_writes_ignored(void)
{
	struct cmos_rtc *r = cmos_rtc_new();
	static const uint8_t regs[] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, REG_CENTURY };
	uint8_t before[ARRAY_SIZE(regs)];

	REQUIRE(r);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++)
		before[i] = cmos_rtc_read(r, regs[i], NOW);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++)
		cmos_rtc_write(r, regs[i], 0x59);
	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++)
		CHECK(cmos_rtc_read(r, regs[i], NOW) == before[i]);
	free(r);
}

int main(void)
{
	RUN(rtc_bcd_default);
	RUN(rtc_binary_mode);
	RUN(rtc_12_hour_mode);
	RUN(rtc_century);
	RUN(rtc_status_registers);
	RUN(rtc_nvram_roundtrip);
	RUN(rtc_time_writes_ignored);
	return harness_exit();
}
