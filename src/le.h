/* SPDX-License-Identifier: MIT */
/* Little-endian fields in byte buffers (images, tables, device registers),
 * independent of alignment. */
#ifndef PETREL_LE_H
#define PETREL_LE_H

#include <stdint.h>

static inline uint64_t le_get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static inline void le_put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
