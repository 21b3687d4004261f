/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first range whose base is greater than addr. */
static unsigned int bus_upper(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nranges;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (bus->range[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *opaque,
		 const char *name)
{
	unsigned int at;

	if (len == 0 || base + len < base)
		return -EINVAL;
	at = bus_upper(bus, base);
	if (at > 0) {
		const struct bus_range *prev = &bus->range[at - 1];

		if (base - prev->base < prev->len)
			return -EEXIST;
	}
	if (at < bus->nranges && bus->range[at].base - base < len)
		return -EEXIST;
	if (bus->nranges == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->range, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->range = r;
		bus->cap = cap;
	}
	memmove(&bus->range[at + 1], &bus->range[at], (bus->nranges - at) * sizeof(*bus->range));
	bus->range[at] = (struct bus_range){ base, len, fn, opaque, name };
	bus->nranges++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned int at = bus_upper(bus, addr);
	const struct bus_range *r;

	if (at == 0)
		return NULL;
	r = &bus->range[at - 1];
	if (addr - r->base >= r->len || len > r->len - (addr - r->base))
		return NULL;
	return r;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!is_write)
		memset(data, r ? 0x00 : 0xff, len);
	if (!r)
		return false;
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}

void bus_destroy(struct bus *bus)
{
	free(bus->range);
	bus->range = NULL;
	bus->nranges = bus->cap = 0;
}
