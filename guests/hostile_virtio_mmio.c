/* SPDX-License-Identifier: MIT */
/*
 * Hostile-guest cases against the virtio-mmio transport (src/virtio/mmio.c:
 * registers, the status machine, feature negotiation, kicks), aimed at the
 * entropy device (tests/hostile/virtio.cases; hostile_virtio_rng.h). A bad
 * access must be ignored (reads 0, the write dropped) or fail the device
 * as documented; then petrel must still serve a good read.
 */
#include "hostile_virtio_rng.h"

/* ------------------------------------------------------------ registers */

static void queue_sel(void)
{
	static const uint32_t sel[] = { 1, 7, 8, 16, 0xffff, 0xffffffff };
	uint8_t *r;

	rng_up();
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	r = virtio_alloc(8192, 4096);
	for (unsigned int i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, sel[i]);
		hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == 0,
			      "QueueNumMax of queue %#x is not 0", sel[i]);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM, QSIZE);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DESC_LOW, (uint32_t)(uint64_t)r);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)(uint64_t)r + 1024);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)(uint64_t)r + 4096);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_READY, 1);
		hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0,
			      "queue %#x, which does not exist, became ready", sel[i]);
		hostile_check(!(virtio_status(&dev) & NEEDS_RESET),
			      "setting up queue %#x: NEEDS_RESET (it should be ignored)", sel[i]);
	}
	hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_SEL, 0);
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_READY) == 0,
		      "queue 0 became ready through another selector");
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == QSIZE,
		      "QueueNumMax of queue 0 changed");
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0 && virtio_driver_ok(&dev) == 0,
		      "queue 0 set up after bad selectors");
	good_read("writes to queues that do not exist");
	recover("bad queue selectors");
}

static void queue_num(void)
{
	static const uint32_t num[] = { 0, 3, 48, QSIZE * 2, 0x10000, 0x10040, 0xffffffff };
	char what[48];

	rng_up();
	for (unsigned int i = 0; i < sizeof(num) / sizeof(num[0]); i++) {
		uint8_t *r = virtio_alloc(8192, 4096);

		what[fmt_num(what, fmt_str(what, 0, "QueueNum 0x"), num[i], 16, 1)] = 0;
		bad_rings(what, num[i], (uint64_t)r, (uint64_t)r + 1024, (uint64_t)r + 4096);
	}
}

/* 4.2.2.2: registers take aligned 32-bit accesses only; others are
 * ignored (reads 0). */
static void access_width(void)
{
	uint64_t b;
	uint32_t s;

	rng_up();
	b = dev.base;
	s = virtio_status(&dev);
	hostile_check(hostile_mmio_rd(b, 1) == 0, "8-bit read of MagicValue is not 0");
	hostile_check(hostile_mmio_rd(b, 2) == 0, "16-bit read of MagicValue is not 0");
	hostile_check(hostile_mmio_rd(b, 8) == 0, "64-bit read of MagicValue is not 0");
	hostile_check(mmio_read32(b + 2) == 0, "misaligned 32-bit read is not 0");
	hostile_check(hostile_mmio_rd(b + VIRTIO_MMIO_REG_STATUS, 1) == 0,
		      "8-bit read of Status is not 0");
	hostile_check(hostile_mmio_rd(b + VIRTIO_MMIO_REG_DEVICE_ID, 2) == 0,
		      "16-bit read of DeviceID is not 0");
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_STATUS, 1, 0);
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_STATUS, 2, 0);
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_STATUS, 8, 0);
	mmio_write32(b + VIRTIO_MMIO_REG_STATUS + 1, 0);
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_QUEUE_DESC_LOW, 8, PETREL_RAM_HOLE_START);
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_QUEUE_NOTIFY, 1, 0);
	hostile_mmio_wr(b + VIRTIO_MMIO_REG_QUEUE_SEL, 2, 5);
	hostile_check(virtio_status(&dev) == s,
		      "a narrow or wide write changed Status from %#x to %#x", s,
		      virtio_status(&dev));
	hostile_check(hostile_reg(&dev, VIRTIO_MMIO_REG_QUEUE_NUM_MAX) == QSIZE,
		      "a 16-bit write moved QueueSel");
	good_read("bad access widths");
}

/* Write-only registers read 0; writes to read-only ones are dropped. */
static void wo_reads(void)
{
	static const uint32_t wo[] = {
		VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL,
		VIRTIO_MMIO_REG_DRIVER_FEATURES,
		VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_REG_QUEUE_SEL,
		VIRTIO_MMIO_REG_QUEUE_NUM,
		VIRTIO_MMIO_REG_QUEUE_NOTIFY,
		VIRTIO_MMIO_REG_INTERRUPT_ACK,
		VIRTIO_MMIO_REG_QUEUE_DESC_LOW,
		VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW,
		VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW,
		0x018,
		0x0ac,
		0x0c0,
		0x0f8,
	};
	static const uint32_t ro[] = {
		VIRTIO_MMIO_REG_MAGIC_VALUE,	   VIRTIO_MMIO_REG_VERSION,
		VIRTIO_MMIO_REG_DEVICE_ID,	   VIRTIO_MMIO_REG_VENDOR_ID,
		VIRTIO_MMIO_REG_DEVICE_FEATURES,   VIRTIO_MMIO_REG_QUEUE_NUM_MAX,
		VIRTIO_MMIO_REG_CONFIG_GENERATION,
	};
	uint32_t before[sizeof(ro) / sizeof(ro[0])];

	virtio_find(VIRTIO_ID_RNG, 0, &dev);
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	/* Leave values in the write-only registers, then read them. */
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 1);
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0, "queue setup");
	for (unsigned int i = 0; i < sizeof(wo) / sizeof(wo[0]); i++)
		hostile_check(hostile_reg(&dev, wo[i]) == 0, "register %#x reads %#x, not 0", wo[i],
			      hostile_reg(&dev, wo[i]));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL, 0);
	for (unsigned int i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		before[i] = hostile_reg(&dev, ro[i]);
		hostile_wreg(&dev, ro[i], ~before[i]);
		hostile_check(hostile_reg(&dev, ro[i]) == before[i],
			      "a write changed read-only register %#x", ro[i]);
	}
	hostile_check(virtio_driver_ok(&dev) == 0, "DRIVER_OK");
	good_read("writes to read-only registers");
}

/* --------------------------------------------------------- status machine */

static void status_order(void)
{
	rng_up();
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	hostile_check(virtio_status(&dev) & NEEDS_RESET, "DRIVER_OK alone: no NEEDS_RESET (%#x)",
		      virtio_status(&dev));
	recover("DRIVER_OK alone");
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	hostile_check(virtio_status(&dev) & NEEDS_RESET,
		      "DRIVER_OK before FEATURES_OK: no NEEDS_RESET (%#x)", virtio_status(&dev));
	recover("DRIVER_OK before FEATURES_OK");
	/* Everything in one write, with no features accepted (no VERSION_1):
	 * FEATURES_OK must not stick, so DRIVER_OK fails the device. */
	virtio_reset(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0f);
	hostile_check(virtio_status(&dev) & NEEDS_RESET,
		      "status 0xf without VERSION_1: no NEEDS_RESET (%#x)", virtio_status(&dev));
	hostile_check(!(virtio_status(&dev) & VIRTIO_STATUS_FEATURES_OK),
		      "FEATURES_OK stuck without VERSION_1");
	recover("status 0xf in one write");
}

static void status_clear(void)
{
	uint32_t s;

	rng_up();
	s = virtio_status(&dev);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s & ~(uint32_t)VIRTIO_STATUS_DRIVER_OK);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s & ~(uint32_t)VIRTIO_STATUS_ACKNOWLEDGE);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, VIRTIO_STATUS_FEATURES_OK);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | 0x100);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0xffffffff);
	hostile_check(virtio_status(&dev) == s, "a write clearing bits changed status %#x to %#x",
		      s, virtio_status(&dev));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | NEEDS_RESET);
	hostile_check(virtio_status(&dev) == s, "the driver set NEEDS_RESET itself (%#x)",
		      virtio_status(&dev));
	good_read("status bits cleared");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, s | VIRTIO_STATUS_FAILED);
	hostile_check(virtio_status(&dev) == (s | VIRTIO_STATUS_FAILED),
		      "FAILED did not stick (%#x)", virtio_status(&dev));
	recover("FAILED set");
}

/* Features written after FEATURES_OK are ignored: INDIRECT added late is
 * not negotiated, so an indirect chain still fails the device. */
static void features_late(void)
{
	want = 0;
	virtio_find(VIRTIO_ID_RNG, 0, &dev);
	hostile_check(virtio_negotiate(&dev, 0) == 0, "negotiation");
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
	hostile_wreg(
	    &dev, VIRTIO_MMIO_REG_DRIVER_FEATURES,
	    (uint32_t)(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
	hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, 0);
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0 && virtio_driver_ok(&dev) == 0,
		      "device refused after late feature writes (%#x)", virtio_status(&dev));
	if (!buf)
		buf = hostile_guarded(BUF, FILL);
	good_read("features written after FEATURES_OK");
	bad_indirect("indirect after INDIRECT was written late", (uint64_t)table_new(2), 32, 0);
}

static void features_unoffered(void)
{
	static const unsigned int bits[] = { 0, 27, 31, 40, 63 };

	rng_up();
	for (unsigned int i = 0; i < sizeof(bits) / sizeof(bits[0]) + 1; i++) {
		uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

		if (i < sizeof(bits) / sizeof(bits[0]))
			f |= VIRTIO_BIT(bits[i]);
		else
			f = VIRTIO_BIT(VIRTIO_F_EVENT_IDX); /* no VERSION_1 */
		virtio_reset(&dev);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS,
			     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 0);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)f);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL, 1);
		hostile_wreg(&dev, VIRTIO_MMIO_REG_DRIVER_FEATURES, (uint32_t)(f >> 32));
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0b);
		hostile_check(virtio_status(&dev) == 0x03,
			      "features %#lx: status %#x after FEATURES_OK, not 0x3",
			      (unsigned long)f, virtio_status(&dev));
		hostile_wreg(&dev, VIRTIO_MMIO_REG_STATUS, 0x0f);
		hostile_check(virtio_status(&dev) & NEEDS_RESET,
			      "features %#lx: DRIVER_OK without FEATURES_OK: status %#x",
			      (unsigned long)f, virtio_status(&dev));
	}
	recover("unoffered features");
}

/* ----------------------------------------------------------------- kicks */

static void notify_bogus(void)
{
	static const uint32_t q[] = { 1, 7, 8, 64, 0xffff, 0x10000, 0xffffffff };

	rng_up();
	for (unsigned int i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		hostile_wreg(&dev, VIRTIO_MMIO_REG_QUEUE_NOTIFY, q[i]);
	hostile_check(!(virtio_status(&dev) & NEEDS_RESET), "a kick of a bogus queue: status %#x",
		      virtio_status(&dev));
	for (int i = 0; i < 3; i++)
		good_read("kicks of bogus queues");
	check_untouched("kicks of bogus queues");
}

/* A kick before DRIVER_OK: nothing is used until DRIVER_OK. */
static void notify_early(void)
{
	uint8_t *b = hostile_guarded(64, FILL);
	struct virtq_buf vb = { b, 64 };

	rng_up();
	hostile_check(virtio_negotiate(&dev, want) == 0, "negotiation");
	hostile_check(virtq_setup(&dev, &vq, 0, QSIZE) == 0, "queue setup");
	hostile_check(virtq_add(&vq, &vb, 0, 1, false) >= 0, "virtq_add");
	hostile_notify(&vq);
	hostile_check(!hostile_wait_used(&vq, 1, HOSTILE_QUIET),
		      "a buffer was used before DRIVER_OK");
	hostile_check(hostile_filled(b, 64, FILL), "the device wrote before DRIVER_OK");
	hostile_check(virtio_driver_ok(&dev) == 0, "DRIVER_OK");
	hostile_check(hostile_wait_used(&vq, 1, HOSTILE_WAIT),
		      "the early buffer was not used after DRIVER_OK");
	hostile_check(hostile_guard_ok(b, 64), "the device wrote past the early buffer");
}

static const struct hostile_case cases[] = {
	{ "virtio-queue-sel", queue_sel, false },
	{ "virtio-queue-num", queue_num, false },
	{ "virtio-access-width", access_width, false },
	{ "virtio-wo-reads", wo_reads, false },
	{ "virtio-status-order", status_order, false },
	{ "virtio-status-clear", status_clear, false },
	{ "virtio-features-late", features_late, false },
	{ "virtio-features-unoffered", features_unoffered, false },
	{ "virtio-notify-bogus", notify_bogus, false },
	{ "virtio-notify-early", notify_early, false },
};

int guest_main(void)
{
	hostile_vq_main(cases, sizeof(cases) / sizeof(cases[0]));
}
