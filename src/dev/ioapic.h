/* SPDX-License-Identifier: MIT */
/*
 * An I/O APIC (registers per the Intel 82093AA datasheet, version 0x11,
 * 24 pins) in userspace, next to KVM's in-kernel local APICs (the split
 * irqchip). A pin's redirection entry turns into an x86 interrupt message
 * (the MSI address/data format), which `deliver` hands to the local APICs.
 *
 * Level-triggered pins follow the datasheet: delivery sets Remote IRR,
 * and only the local APIC's EOI of that vector (ioapic_eoi) clears it and
 * lets a still-asserted pin deliver again. Edges and level changes on a
 * masked pin are ignored; unmasking an asserted level pin delivers.
 * Polarity is the guest's business: `level` is always "asserted".
 */
#ifndef PETREL_IOAPIC_H
#define PETREL_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define IOAPIC_NR_PINS 24
#define IOAPIC_MMIO_SIZE 0x1000

/* An x86 interrupt message, as a PCI MSI would write it. */
struct ioapic_msi {
	uint64_t addr;
	uint32_t data;
};

struct ioapic_ops {
	/* Send one interrupt message to the local APICs. */
	void (*deliver)(void *opaque, struct ioapic_msi msi);
	/* The routes changed: msi[pin] is what an interrupt on GSI `pin` must
	 * send ({0, 0}: nothing). KVM needs them to deliver irqfd signals and
	 * to know which vectors' EOIs to report. Called when a route
	 * changes (so not while every pin stays masked and edge-triggered,
	 * as after reset) and after a snapshot load. */
	void (*routes)(void *opaque, const struct ioapic_msi msi[IOAPIC_NR_PINS]);
};

struct ioapic;
struct snap;

/* All pins masked, as after reset. NULL on ENOMEM. Calls no ops. */
struct ioapic *ioapic_new(const struct ioapic_ops *ops, void *opaque);
void ioapic_free(struct ioapic *io);

/* Bus handler (a bus_fn) for IOREGSEL at 0x00 and IOWIN at 0x10. Only
 * aligned 32-bit accesses do anything, as on the 82093AA. */
void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* Drive input `pin` (0..IOAPIC_NR_PINS-1; others are ignored). */
void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level);

/* A local APIC took an EOI for a level-triggered `vector`. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Save or load the I/O APIC's state (snapshot/snap.h, by s->op): ID,
 * IOREGSEL, the input lines and the redirection table with Remote IRR.
 * A load checks every value (no reserved bits, Remote IRR only on level
 * pins) before it changes anything, and leaves the chip as it was if the
 * stream fails; then it publishes the restored routes (ops->routes), so
 * that the board's interrupt routing matches them. It delivers nothing:
 * an asserted pin's interrupt was delivered before the save. The stream's
 * only reader: it ends it (snap_finish). Returns snap_error(s). Layout
 * version 1. */
int ioapic_snapshot(struct ioapic *io, struct snap *s) MUST_CHECK;

#endif
