/* SPDX-License-Identifier: MIT */
/*
 * MC146818-style CMOS RTC at ports 0x70 (index) / 0x71 (data). The clock
 * registers always show host UTC time in the format register B selects
 * (BCD or binary, 12 or 24 hour); guest writes to them are ignored, the
 * rest of the 128 bytes is plain NVRAM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/pc_devices.h"
#include "device.h"
#include "petrel/platform.h"
#include "snapshot/snap.h"
#include "vmm.h"

#define REG_SEC 0x00
#define REG_MIN 0x02
#define REG_HOUR 0x04
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY PETREL_RTC_CENTURY

#define A_UIP 0x80 /* update in progress: read-only, always 0 */
#define B_24H 0x02
#define B_BINARY 0x04
#define D_VRT 0x80 /* RAM and time valid */

struct cmos_rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
};

static uint8_t rtc_encode(const struct cmos_rtc *rtc, unsigned int v)
{
	return (rtc->ram[REG_B] & B_BINARY) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

uint8_t cmos_rtc_read(struct cmos_rtc *rtc, uint8_t reg, int64_t now)
{
	time_t t = (time_t)now;
	struct tm tm;
	unsigned int hour;

	reg &= 0x7f;
	if (reg > REG_YEAR && reg != REG_CENTURY)
		return rtc->ram[reg];
	gmtime_r(&t, &tm);
	switch (reg) {
	case REG_SEC:
		return rtc_encode(rtc, (unsigned int)tm.tm_sec);
	case REG_MIN:
		return rtc_encode(rtc, (unsigned int)tm.tm_min);
	case REG_HOUR:
		if (rtc->ram[REG_B] & B_24H)
			return rtc_encode(rtc, (unsigned int)tm.tm_hour);
		hour = (unsigned int)tm.tm_hour % 12;
		return (uint8_t)(rtc_encode(rtc, hour ? hour : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
	case REG_WDAY:
		return rtc_encode(rtc, (unsigned int)tm.tm_wday + 1);
	case REG_MDAY:
		return rtc_encode(rtc, (unsigned int)tm.tm_mday);
	case REG_MON:
		return rtc_encode(rtc, (unsigned int)tm.tm_mon + 1);
	case REG_YEAR:
		return rtc_encode(rtc, (unsigned int)tm.tm_year % 100);
	case REG_CENTURY:
		return rtc_encode(rtc, (unsigned int)(tm.tm_year + 1900) / 100);
	default: /* alarm registers */
		return rtc->ram[reg];
	}
}

void cmos_rtc_write(struct cmos_rtc *rtc, uint8_t reg, uint8_t value)
{
	reg &= 0x7f;
	switch (reg) {
	case REG_SEC:
	case REG_MIN:
	case REG_HOUR:
	case REG_WDAY:
	case REG_MDAY:
	case REG_MON:
	case REG_YEAR:
	case REG_CENTURY:
	case REG_C:
	case REG_D:
		break; /* the clock follows the host; C and D are read-only */
	case REG_A:
		rtc->ram[REG_A] = value & (uint8_t)~A_UIP;
		break;
	default:
		rtc->ram[reg] = value;
		break;
	}
}

struct cmos_rtc *cmos_rtc_new(void)
{
	struct cmos_rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	/* glibc's gmtime_r reads /etc/localtime on its first call: let that
	 * be now, in setup, not on a vCPU under its seccomp filter (nor in a
	 * jail without the file). */
	tzset();
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->ram[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	rtc->ram[REG_B] = B_24H;
	rtc->ram[REG_D] = D_VRT;
	return rtc;
}

static void cmos_rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct cmos_rtc *rtc = opaque;

	(void)len;
	pthread_mutex_lock(&rtc->lock);
	if (offset == 0 && is_write)
		rtc->index = data[0] & 0x7f; /* bit 7 is the NMI mask */
	else if (offset == 1 && is_write)
		cmos_rtc_write(rtc, rtc->index, data[0]);
	else if (offset == 1)
		data[0] = cmos_rtc_read(rtc, rtc->index, (int64_t)time(NULL));
	pthread_mutex_unlock(&rtc->lock);
}

void cmos_rtc_free(struct cmos_rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static void cmos_rtc_destroy(void *opaque)
{
	cmos_rtc_free(opaque);
}

static int cmos_rtc_dev_snapshot(void *opaque, struct snap *s)
{
	return cmos_rtc_snapshot(opaque, s);
}

static const struct device_ops cmos_rtc_dev_ops = {
	.snapshot = cmos_rtc_dev_snapshot,
	.snapshot_version = 1,
	.destroy = cmos_rtc_destroy,
};

int cmos_rtc_create(struct vm *vm)
{
	struct cmos_rtc *rtc = cmos_rtc_new();

	if (!rtc)
		return -ENOMEM;
	if (device_add(&vm->devices, "rtc", "rtc", NULL, &cmos_rtc_dev_ops, rtc)) {
		cmos_rtc_free(rtc);
		return -ENOSPC;
	}
	return bus_register(&vm->pio, PETREL_RTC_PORT, 2, cmos_rtc_io, rtc, "cmos-rtc");
}

/* ------------------------------------------------------------ snapshot */

/* Registers the guest cannot write: what they must hold. */
static bool rtc_fixed_ok(const uint8_t *ram)
{
	static const uint8_t clock[] = { REG_SEC,  REG_MIN, REG_HOUR, REG_WDAY,
					 REG_MDAY, REG_MON, REG_YEAR, REG_CENTURY };

	for (unsigned int i = 0; i < sizeof(clock); i++)
		if (ram[clock[i]])
			return false;
	return !(ram[REG_A] & A_UIP) && ram[REG_C] == 0 && ram[REG_D] == D_VRT;
}

int cmos_rtc_snapshot(struct cmos_rtc *rtc, struct snap *s)
{
	uint8_t index, ram[sizeof(rtc->ram)];
	int err;

	pthread_mutex_lock(&rtc->lock);
	index = rtc->index;
	memcpy(ram, rtc->ram, sizeof(ram));
	snap_u8(s, &index);
	snap_bytes(s, ram, sizeof(ram));
	snap_check(s, index <= 0x7f, "rtc index register %#x is over 0x7f", index);
	snap_check(s, rtc_fixed_ok(ram),
		   "rtc CMOS RAM has the clock, UIP or registers C and D set (they are read-only)");
	err = snap_finish(s);
	if (!err && !snap_saving(s)) {
		rtc->index = index;
		memcpy(rtc->ram, ram, sizeof(ram));
	}
	pthread_mutex_unlock(&rtc->lock);
	return err;
}
