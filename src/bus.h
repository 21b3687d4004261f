/* SPDX-License-Identifier: MIT */
/*
 * An address space of device ranges: one for port I/O, one for MMIO, with
 * the same handler signature. Ranges are registered before the vCPUs start
 * and are read-only afterwards, so lookups take no lock; each device
 * serialises its own state.
 */
#ifndef PETREL_BUS_H
#define PETREL_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

/* `offset` is relative to the range base; `data` holds `len` bytes
 * (1..8), zero-filled before a read is dispatched. */
typedef void (*bus_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range *range; /* sorted by base, never overlapping */
	unsigned int nranges;
	unsigned int cap;
};

/* 0; -EINVAL for len 0 or a range that wraps; -EEXIST if it overlaps a
 * registered range; -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *opaque,
		 const char *name) MUST_CHECK;

/* The range holding [addr, addr + len), or NULL. An access that straddles
 * two ranges or runs past one is unhandled. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);

/* Dispatch an access. Returns false when no device claims it; a read then
 * sees all-ones, as an ISA or PCI bus with nothing driving it does. */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

void bus_destroy(struct bus *bus);

#endif
