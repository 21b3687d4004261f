/* SPDX-License-Identifier: MIT */
/*
 * Snapshot containers written byte by byte (snapshot/file.h's layout), for
 * tests that must reach one bad field with everything before it right:
 * the header, section heads with any name length, version and claimed
 * payload length, and the checksum over what is there.
 */
#ifndef PETREL_TEST_SNAP_RAW_H
#define PETREL_TEST_SNAP_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "le.h"
#include "snapshot/crc32c.h"

struct raw {
	uint8_t b[8192];
	size_t len;
};

/* Append v as n little-endian bytes. */
static inline void raw_put(struct raw *r, uint64_t v, unsigned int n)
{
	le_put(r->b + r->len, v, n);
	r->len += n;
}

/* Start over with the container's header. */
static inline void raw_header(struct raw *r, uint32_t version, uint32_t flags, uint32_t count)
{
	memcpy(r->b, "PETRELSN", 8);
	r->len = 8;
	raw_put(r, version, 4);
	raw_put(r, flags, 4);
	raw_put(r, count, 4);
}

/* A section's head: name length `nlen` (the bytes from `name`), layout
 * `version`, payload length `claim`; no payload. */
static inline void raw_section_head(struct raw *r, const char *name, size_t nlen, uint32_t version,
				    uint64_t claim)
{
	r->b[r->len++] = (uint8_t)nlen;
	memcpy(r->b + r->len, name, nlen);
	r->len += nlen;
	raw_put(r, version, 4);
	raw_put(r, claim, 8);
}

/* Append the checksum of everything so far. */
static inline void raw_sum(struct raw *r)
{
	raw_put(r, crc32c(0, r->b, r->len), 4);
}

#endif
