/* SPDX-License-Identifier: MIT */
#include "dev/ioapic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "snapshot/snap.h"

/* MMIO offsets */
#define IOREGSEL 0x00
#define IOWIN 0x10

/* Indirect registers */
#define REG_ID 0x00
#define REG_VERSION 0x01
#define REG_ARB 0x02
#define REG_REDIR 0x10 /* two per pin: low, high */

#define IOAPIC_VERSION 0x11
#define ID_MASK (0xfU << 24)

/* Redirection entry bits */
#define RTE_VECTOR 0xffULL
#define RTE_DELMODE_SHIFT 8
#define RTE_DELMODE (7ULL << RTE_DELMODE_SHIFT)
#define RTE_DESTMODE (1ULL << 11)
#define RTE_POLARITY (1ULL << 13)
#define RTE_REMOTE_IRR (1ULL << 14) /* read-only */
#define RTE_LEVEL (1ULL << 15)
#define RTE_MASKED (1ULL << 16)
#define RTE_DEST_SHIFT 56
/* What the guest may write: everything but the reserved bits, delivery
 * status (bit 12, always idle here) and Remote IRR. */
#define RTE_WRITABLE                                                                               \
	(RTE_VECTOR | RTE_DELMODE | RTE_DESTMODE | RTE_POLARITY | RTE_LEVEL | RTE_MASKED |         \
	 (0xffULL << RTE_DEST_SHIFT))

/* The x86 interrupt message format (Intel SDM vol. 3, "Message Signalled
 * Interrupts"). */
#define MSI_ADDR_BASE 0xfee00000ULL
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_ADDR_DESTMODE_LOGICAL (1ULL << 2)
#define MSI_DATA_DELMODE_SHIFT 8
#define MSI_DATA_ASSERT (1U << 14)
#define MSI_DATA_LEVEL (1U << 15)

struct ioapic {
	pthread_mutex_t lock;
	const struct ioapic_ops *ops;
	void *opaque;

	uint32_t id;
	uint8_t regsel;
	uint32_t line; /* input pins asserted, one bit per pin */
	uint64_t redir[IOAPIC_NR_PINS];
};

static struct ioapic_msi ioapic_entry_msi(uint64_t e)
{
	struct ioapic_msi m = {
		.addr = MSI_ADDR_BASE | ((e >> RTE_DEST_SHIFT) << MSI_ADDR_DEST_SHIFT),
		.data =
		    (uint32_t)(e & RTE_VECTOR) | (uint32_t)((e & RTE_DELMODE) >> RTE_DELMODE_SHIFT)
						     << MSI_DATA_DELMODE_SHIFT,
	};

	if (e & RTE_DESTMODE)
		m.addr |= MSI_ADDR_DESTMODE_LOGICAL;
	if (e & RTE_LEVEL)
		m.data |= MSI_DATA_LEVEL | MSI_DATA_ASSERT;
	return m;
}

/* What KVM's GSI table must hold for an entry: the message of an unmasked
 * pin, so that an irqfd on its GSI (virtio) delivers what the pin would;
 * for a level pin also while masked, since one masked while in service
 * still needs its EOI to come back and clear Remote IRR. A masked edge pin
 * has no route ({0, 0}): an irqfd edge on it is lost, as on the chip. */
static struct ioapic_msi ioapic_entry_route(uint64_t e)
{
	if ((e & RTE_MASKED) && !(e & RTE_LEVEL))
		return (struct ioapic_msi){ 0 };
	return ioapic_entry_msi(e);
}

/* Deliver `pin` if it is asserted, unmasked and (level) not already in
 * service. Edge pins are only ever called here on a rising edge. */
static void ioapic_service(struct ioapic *io, unsigned int pin)
{
	uint64_t *e = &io->redir[pin];

	if ((*e & RTE_MASKED) || !(io->line & (1U << pin)))
		return;
	if (*e & RTE_LEVEL) {
		if (*e & RTE_REMOTE_IRR)
			return;
		*e |= RTE_REMOTE_IRR;
	}
	io->ops->deliver(io->opaque, ioapic_entry_msi(*e));
}

struct ioapic *ioapic_new(const struct ioapic_ops *ops, void *opaque)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	pthread_mutex_init(&io->lock, NULL);
	io->ops = ops;
	io->opaque = opaque;
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		io->redir[pin] = RTE_MASKED;
	return io;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	pthread_mutex_destroy(&io->lock);
	free(io);
}

static uint32_t ioapic_read_reg(const struct ioapic *io, uint8_t reg)
{
	unsigned int pin = (reg - REG_REDIR) / 2U;

	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return io->id;
	case REG_VERSION:
		return IOAPIC_VERSION | (IOAPIC_NR_PINS - 1) << 16;
	}
	if (reg < REG_REDIR || pin >= IOAPIC_NR_PINS)
		return 0;
	return (uint32_t)(io->redir[pin] >> ((reg & 1) ? 32 : 0));
}

static void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t val)
{
	unsigned int pin = (reg - REG_REDIR) / 2U;
	struct ioapic_msi before, after, routes[IOAPIC_NR_PINS];
	uint64_t *e, v;

	if (reg == REG_ID) {
		io->id = val & ID_MASK;
		return;
	}
	if (reg < REG_REDIR || pin >= IOAPIC_NR_PINS)
		return; /* version, arbitration and reserved registers are read-only */
	e = &io->redir[pin];
	before = ioapic_entry_route(*e);
	v = (reg & 1) ? ((uint64_t)val << 32) | (*e & 0xffffffffULL) : (*e & ~0xffffffffULL) | val;
	*e = (v & RTE_WRITABLE) | (*e & RTE_REMOTE_IRR);
	if (!(*e & RTE_LEVEL))
		*e &= ~RTE_REMOTE_IRR; /* meaningless for an edge pin */
	/* Only a change that matters to KVM is reported: updating KVM's table
	 * waits for an SRCU grace period, and Linux writes every entry at boot. */
	after = ioapic_entry_route(*e);
	if (after.addr != before.addr || after.data != before.data) {
		for (unsigned int i = 0; i < IOAPIC_NR_PINS; i++)
			routes[i] = ioapic_entry_route(io->redir[i]);
		io->ops->routes(io->opaque, routes);
	}
	/* Unmasking an asserted level pin delivers it now. */
	if (*e & RTE_LEVEL)
		ioapic_service(io, pin);
}

void ioapic_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct ioapic *io = opaque;

	if (len != 4 || (offset != IOREGSEL && offset != IOWIN))
		return; /* reads see zeros (the bus zero-fills) */
	pthread_mutex_lock(&io->lock);
	if (offset == IOREGSEL) {
		if (is_write)
			io->regsel = data[0];
		else
			le_put(data, io->regsel, 4);
	} else if (is_write) {
		ioapic_write_reg(io, io->regsel, (uint32_t)le_get(data, 4));
	} else {
		le_put(data, ioapic_read_reg(io, io->regsel), 4);
	}
	pthread_mutex_unlock(&io->lock);
}

void ioapic_set_irq(struct ioapic *io, unsigned int pin, bool level)
{
	uint32_t bit, was;

	if (pin >= IOAPIC_NR_PINS)
		return;
	bit = 1U << pin;
	pthread_mutex_lock(&io->lock);
	was = io->line & bit;
	if (level)
		io->line |= bit;
	else
		io->line &= ~bit;
	if (level && (!was || (io->redir[pin] & RTE_LEVEL)))
		ioapic_service(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t *e = &io->redir[pin];

		if ((*e & RTE_VECTOR) != vector || !(*e & RTE_LEVEL) || !(*e & RTE_REMOTE_IRR))
			continue;
		*e &= ~RTE_REMOTE_IRR;
		ioapic_service(io, pin); /* still asserted: the next one */
	}
	pthread_mutex_unlock(&io->lock);
}

int ioapic_snapshot(struct ioapic *io, struct snap *s)
{
	struct ioapic_msi routes[IOAPIC_NR_PINS];
	uint64_t redir[IOAPIC_NR_PINS];
	uint32_t id, line;
	uint8_t regsel;
	int err;

	pthread_mutex_lock(&io->lock);
	id = io->id;
	regsel = io->regsel;
	line = io->line;
	memcpy(redir, io->redir, sizeof(redir));
	snap_u32(s, &id);
	snap_u8(s, &regsel);
	snap_u32(s, &line);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
		snap_u64(s, &redir[pin]);
	snap_check(s, !(id & ~ID_MASK), "ioapic ID register %#x has reserved bits", id);
	snap_check(s, !(line >> IOAPIC_NR_PINS), "ioapic input lines %#x beyond its %u pins", line,
		   IOAPIC_NR_PINS);
	for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = redir[pin];

		snap_check(s, !(e & ~(RTE_WRITABLE | RTE_REMOTE_IRR)),
			   "ioapic pin %u entry %#llx has reserved bits", pin,
			   (unsigned long long)e);
		snap_check(s, !(e & RTE_REMOTE_IRR) || (e & RTE_LEVEL),
			   "ioapic pin %u has Remote IRR set but is edge-triggered", pin);
	}
	err = snap_finish(s);
	if (!err && !snap_saving(s)) {
		io->id = id;
		io->regsel = regsel;
		io->line = line;
		memcpy(io->redir, redir, sizeof(redir));
		for (unsigned int pin = 0; pin < IOAPIC_NR_PINS; pin++)
			routes[pin] = ioapic_entry_route(redir[pin]);
		io->ops->routes(io->opaque, routes);
	}
	pthread_mutex_unlock(&io->lock);
	return err;
}
