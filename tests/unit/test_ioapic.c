/* SPDX-License-Identifier: MIT */
/* The I/O APIC model: register access, interrupt messages, edge and level
 * delivery with Remote IRR and EOI, masking, routes, hostile accesses. */
#include <string.h>

#include "dev/ioapic.h"
#include "harness.h"
#include "le.h"

struct sink {
	struct ioapic_msi sent[64];
	unsigned int nsent;
	struct ioapic_msi routes[IOAPIC_NR_PINS];
	unsigned int nroutes;
};

static void sink_deliver(void *opaque, struct ioapic_msi msi)
{
	struct sink *s = opaque;

	if (s->nsent < 64)
		s->sent[s->nsent] = msi;
	s->nsent++;
}

static void sink_routes(void *opaque, const struct ioapic_msi msi[IOAPIC_NR_PINS])
{
	struct sink *s = opaque;

	memcpy(s->routes, msi, sizeof(s->routes));
	s->nroutes++;
}

static const struct ioapic_ops sink_ops = { .deliver = sink_deliver, .routes = sink_routes };

static void mmio_write(struct ioapic *io, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	le_put(b, v, 4);
	ioapic_mmio(io, off, b, 4, true);
}

static uint32_t mmio_read(struct ioapic *io, uint64_t off)
{
	uint8_t b[4] = { 0 };

	ioapic_mmio(io, off, b, 4, false);
	return (uint32_t)le_get(b, 4);
}

static void reg_write(struct ioapic *io, uint8_t reg, uint32_t v)
{
	mmio_write(io, 0x00, reg);
	mmio_write(io, 0x10, v);
}

static uint32_t reg_read(struct ioapic *io, uint8_t reg)
{
	mmio_write(io, 0x00, reg);
	return mmio_read(io, 0x10);
}

/* Redirection entry of `pin`: vector, flags (low dword bits 8..16), dest. */
static void rte_write(struct ioapic *io, unsigned int pin, uint32_t low, uint8_t dest)
{
	reg_write(io, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
	reg_write(io, (uint8_t)(0x10 + 2 * pin), low);
}

#define LEVEL (1U << 15)
#define MASKED (1U << 16)
#define REMOTE_IRR (1U << 14)

static void ioapic_version_and_id(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	CHECK(reg_read(io, 0x01) == (0x11 | 23U << 16));
	reg_write(io, 0x00, 0xffffffff);
	CHECK(reg_read(io, 0x00) == 0x0f000000); /* only bits 24-27 */
	CHECK(reg_read(io, 0x02) == 0x0f000000);
	reg_write(io, 0x01, 0); /* read-only */
	CHECK(reg_read(io, 0x01) == (0x11 | 23U << 16));
	CHECK(mmio_read(io, 0x00) == 0x01); /* IOREGSEL reads back */
	ioapic_free(io);
}

static void ioapic_reset_all_masked(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		CHECK(reg_read(io, (uint8_t)(0x10 + 2 * pin)) == MASKED);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		ioapic_set_irq(io, pin, true);
	CHECK(s.nsent == 0);
	CHECK(s.nroutes == 0); /* creating it calls no ops */
	ioapic_free(io);
}

static void ioapic_edge_message(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	/* pin 4, vector 0x34, fixed, logical destination 0x05 */
	rte_write(io, 4, 0x34 | (1U << 11), 0x05);
	ioapic_set_irq(io, 4, true);
	REQUIRE(s.nsent == 1);
	CHECK(s.sent[0].addr == (0xfee00000ULL | 0x05 << 12 | 1 << 2));
	CHECK(s.sent[0].data == 0x34);
	/* Held high: no second edge. Low then high: a second one. */
	ioapic_set_irq(io, 4, true);
	CHECK(s.nsent == 1);
	ioapic_set_irq(io, 4, false);
	ioapic_set_irq(io, 4, true);
	CHECK(s.nsent == 2);
	/* Edge pins never get Remote IRR. */
	CHECK(!(reg_read(io, 0x10 + 8) & REMOTE_IRR));
	ioapic_free(io);
}

static void ioapic_edge_while_masked_is_dropped(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	rte_write(io, 3, 0x40 | MASKED, 0);
	ioapic_set_irq(io, 3, true);
	rte_write(io, 3, 0x40, 0); /* unmask with the line high: an edge pin stays quiet */
	CHECK(s.nsent == 0);
	ioapic_set_irq(io, 3, false);
	ioapic_set_irq(io, 3, true);
	CHECK(s.nsent == 1);
	ioapic_free(io);
}

static void ioapic_level_remote_irr_and_eoi(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	rte_write(io, 9, 0x51 | LEVEL, 0x01);
	CHECK(s.routes[9].data == (0x51 | 1U << 15 | 1U << 14));
	CHECK(s.routes[9].addr == (0xfee00000ULL | 0x01 << 12));
	ioapic_set_irq(io, 9, true);
	REQUIRE(s.nsent == 1);
	CHECK(reg_read(io, 0x10 + 18) & REMOTE_IRR);
	/* In service: re-asserting does nothing until the EOI. */
	ioapic_set_irq(io, 9, true);
	ioapic_eoi(io, 0x52); /* another vector */
	CHECK(s.nsent == 1);
	/* EOI with the line still high: delivered again. */
	ioapic_eoi(io, 0x51);
	CHECK(s.nsent == 2);
	/* Line dropped, then EOI: Remote IRR clears, nothing sent. */
	ioapic_set_irq(io, 9, false);
	ioapic_eoi(io, 0x51);
	CHECK(s.nsent == 2);
	CHECK(!(reg_read(io, 0x10 + 18) & REMOTE_IRR));
	ioapic_free(io);
}

static void ioapic_level_unmask_delivers(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	rte_write(io, 10, 0x60 | LEVEL | MASKED, 0);
	ioapic_set_irq(io, 10, true);
	CHECK(s.nsent == 0);
	rte_write(io, 10, 0x60 | LEVEL, 0);
	CHECK(s.nsent == 1);
	ioapic_free(io);
}

static void ioapic_read_only_bits(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	/* Delivery status, Remote IRR and reserved bits cannot be written. */
	reg_write(io, 0x10, 0xffffffff);
	CHECK(reg_read(io, 0x10) == (0xffffffffU & ~(1U << 12 | 1U << 14) & 0x1ffff));
	reg_write(io, 0x11, 0xffffffff);
	CHECK(reg_read(io, 0x11) == 0xff000000);
	/* Switching a pin in service to edge drops its Remote IRR. */
	rte_write(io, 0, 0x70 | LEVEL, 0);
	ioapic_set_irq(io, 0, true);
	REQUIRE(reg_read(io, 0x10) & REMOTE_IRR);
	rte_write(io, 0, 0x70, 0);
	CHECK(!(reg_read(io, 0x10) & REMOTE_IRR));
	ioapic_free(io);
}

static void ioapic_hostile_accesses(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);
	uint8_t b[8];

	REQUIRE(io);
	/* Registers past the table read as zero and ignore writes. */
	reg_write(io, 0x40, 0x12345678);
	CHECK(reg_read(io, 0x40) == 0);
	CHECK(reg_read(io, 0xff) == 0);
	CHECK(reg_read(io, 0x03) == 0);
	/* Wrong sizes and offsets do nothing. */
	memset(b, 0xaa, sizeof(b));
	ioapic_mmio(io, 0x00, b, 1, true);
	ioapic_mmio(io, 0x10, b, 8, true);
	ioapic_mmio(io, 0x04, b, 4, true);
	ioapic_mmio(io, 0xffc, b, 4, true);
	CHECK(mmio_read(io, 0x00) == 0x03); /* still what reg_read last selected */
	CHECK(reg_read(io, 0x10) == MASKED);
	/* Pins out of range are ignored. */
	ioapic_set_irq(io, IOAPIC_NR_PINS, true);
	ioapic_set_irq(io, 1000, true);
	CHECK(s.nsent == 0);
	ioapic_free(io);
}

static void ioapic_routes_reported(void)
{
	struct sink s = { 0 };
	struct ioapic *io = ioapic_new(&sink_ops, &s);

	REQUIRE(io);
	/* A masked edge pin has no route, however it changes. */
	rte_write(io, 5, 0x36 | MASKED, 0x02);
	CHECK(s.nroutes == 0);
	/* Unmasked, an edge pin is routed with its message (irqfds use it). */
	rte_write(io, 5, 0x35, 0x01);
	REQUIRE(s.nroutes == 1);
	CHECK(s.routes[5].addr == (0xfee00000ULL | 0x01 << 12) && s.routes[5].data == 0x35);
	/* A level pin is reported with its message, once per change. */
	s.nroutes = 0;
	rte_write(io, 23, 0x99 | LEVEL | (2U << 8), 0xfe);
	REQUIRE(s.nroutes > 0);
	CHECK(s.routes[23].addr == (0xfee00000ULL | 0xfeULL << 12));
	CHECK(s.routes[23].data == (0x99 | 2U << 8 | 1U << 15 | 1U << 14));
	CHECK(s.routes[4].data == 0 && s.routes[4].addr == 0);
	s.nroutes = 0;
	rte_write(io, 23, 0x99 | LEVEL | (2U << 8), 0xfe); /* the same again */
	CHECK(s.nroutes == 0);
	rte_write(io, 23, 0x99 | LEVEL | (2U << 8) | MASKED, 0xfe); /* masked: still level */
	CHECK(s.nroutes == 0);
	rte_write(io, 23, 0x99 | MASKED, 0xfe); /* masked edge: no route */
	CHECK(s.nroutes == 1 && s.routes[23].addr == 0);
	ioapic_free(io);
}

int main(void)
{
	RUN(ioapic_version_and_id);
	RUN(ioapic_reset_all_masked);
	RUN(ioapic_edge_message);
	RUN(ioapic_edge_while_masked_is_dropped);
	RUN(ioapic_level_remote_irr_and_eoi);
	RUN(ioapic_level_unmask_delivers);
	RUN(ioapic_read_only_bits);
	RUN(ioapic_hostile_accesses);
	RUN(ioapic_routes_reported);
	return harness_exit();
}
